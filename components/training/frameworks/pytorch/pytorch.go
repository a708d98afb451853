// Package pytorch is the PyTorchJob plug-in of the training engine. Replicas get the
// environment torch.distributed and torchrun read, exactly as the Kubeflow Training
// Operator v1.9 computes it:
//
//   - every container: PYTHONUNBUFFERED=1;
//   - with a Master: MASTER_PORT, PET_MASTER_PORT, MASTER_ADDR, PET_MASTER_ADDR (the master's
//     service "<job>-master-0" and its pytorchjob-port), WORLD_SIZE (all replicas times
//     nprocPerNode when that is a number, else times 1), RANK and PET_NODE_RANK (master 0,
//     worker i is i+1);
//   - PET_NPROC_PER_NODE from spec.nprocPerNode (defaulted to "auto");
//   - elastic jobs: PET_RDZV_ENDPOINT ("<job>-worker-0:<port>" unless rdzvHost/rdzvPort),
//     PET_RDZV_BACKEND (c10d by default), PET_NNODES as "min:max", and when set
//     PET_MAX_RESTARTS, PET_NPROC_PER_NODE (deprecated elasticPolicy.nProcPerNode),
//     PET_RDZV_ID, PET_RDZV_CONF ("k=v,k=v") and PET_STANDALONE; other jobs: PET_NNODES as
//     the number of replicas.
//
// Workers of a job with a Master wait for the master's DNS name in an init container.
// Elastic jobs with metrics get a HorizontalPodAutoscaler on the job's scale subresource.
package pytorch

import (
	"fmt"
	"strconv"
	"strings"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	"github.com/kfup/kfup/components/training/engine"
)

const (
	// ControllerName is the operator-name label of PyTorchJob children.
	ControllerName = "pytorchjob-controller"
	// DefaultRestartPolicy is the restart policy of replicas that set none.
	DefaultRestartPolicy = trainingv1.RestartPolicyOnFailure
	// DefaultNprocPerNode is spec.nprocPerNode when unset.
	DefaultNprocPerNode = "auto"

	// DefaultInitContainerImage is the image of the init container that waits for the master
	// (upstream's --pytorch-init-container-image default).
	DefaultInitContainerImage = "alpine:3.10"
	// DefaultInitContainerMaxTries is how many times (2s apart) it looks the master up.
	DefaultInitContainerMaxTries = 100
	// InitContainerName is the name of that init container.
	InitContainerName = "init-pytorch"
)

// Environment variables set on PyTorchJob containers.
const (
	EnvPythonUnbuffered = "PYTHONUNBUFFERED"
	EnvMasterPort       = "MASTER_PORT"
	EnvMasterAddr       = "MASTER_ADDR"
	EnvPETMasterPort    = "PET_MASTER_PORT"
	EnvPETMasterAddr    = "PET_MASTER_ADDR"
	EnvWorldSize        = "WORLD_SIZE"
	EnvRank             = "RANK"
	EnvNodeRank         = "PET_NODE_RANK"
	EnvNprocPerNode     = "PET_NPROC_PER_NODE"
	EnvNnodes           = "PET_NNODES"
	EnvRDZVBackend      = "PET_RDZV_BACKEND"
	EnvRDZVID           = "PET_RDZV_ID"
	EnvRDZVConf         = "PET_RDZV_CONF"
	EnvRDZVEndpoint     = "PET_RDZV_ENDPOINT"
	EnvStandalone       = "PET_STANDALONE"
	EnvMaxRestarts      = "PET_MAX_RESTARTS"
)

// kind is the PyTorchJob kind: its names, default container and port, replica types and
// where the job keeps its replica specs, run policy and status.
var kind = engine.KindSpec[*trainingv1.PyTorchJob]{
	KindName: trainingv1.PyTorchJobKind, Controller: ControllerName,
	Container: trainingv1.PyTorchJobDefaultContainerName,
	PortName:  trainingv1.PyTorchJobDefaultPortName, Port: trainingv1.PyTorchJobDefaultPort,
	Types: []trainingv1.ReplicaType{trainingv1.PyTorchJobReplicaTypeMaster, trainingv1.PyTorchJobReplicaTypeWorker},
	New:   func() *trainingv1.PyTorchJob { return &trainingv1.PyTorchJob{} },
	Specs: func(j *trainingv1.PyTorchJob) map[trainingv1.ReplicaType]*trainingv1.ReplicaSpec {
		return j.Spec.PyTorchReplicaSpecs
	},
	Policy:   func(j *trainingv1.PyTorchJob) *trainingv1.RunPolicy { return &j.Spec.RunPolicy },
	StatusOf: func(j *trainingv1.PyTorchJob) *trainingv1.JobStatus { return &j.Status },
}

// Framework is the PyTorchJob plug-in.
type Framework struct {
	engine.KindSpec[*trainingv1.PyTorchJob]

	initImage    string
	initMaxTries int
	initCommand  []string
}

var (
	_ engine.Framework    = (*Framework)(nil)
	_ engine.ExtraObjects = (*Framework)(nil)
)

// Option configures the plug-in.
type Option interface{ apply(*Framework) }

type optionFunc func(*Framework)

func (f optionFunc) apply(fw *Framework) { f(fw) }

// WithInitContainerImage sets the image of the init container that makes workers wait for
// the master's DNS name; it needs sh, seq and nslookup. Empty turns the init container off.
func WithInitContainerImage(image string) Option {
	return optionFunc(func(fw *Framework) { fw.initImage = image })
}

// WithInitContainerCommand runs command plus the master's name in the init container
// instead of the shell loop (kfup's own image: ["/kfup", "agent", "wait-for-host"]); the
// command must retry by itself.
func WithInitContainerCommand(command []string) Option {
	return optionFunc(func(fw *Framework) { fw.initCommand = append([]string(nil), command...) })
}

// WithInitContainerMaxTries sets how many lookups (2s apart) the init container tries.
func WithInitContainerMaxTries(n int) Option {
	return optionFunc(func(fw *Framework) { fw.initMaxTries = n })
}

// New returns the PyTorchJob plug-in.
func New(opts ...Option) *Framework {
	fw := &Framework{KindSpec: kind, initImage: DefaultInitContainerImage, initMaxTries: DefaultInitContainerMaxTries}
	for _, o := range opts {
		o.apply(fw)
	}
	return fw
}

func ptJob(job engine.Job) *trainingv1.PyTorchJob { return job.(*trainingv1.PyTorchJob) }

// SetDefaults applies upstream's PyTorchJob defaults: cleanPodPolicy None, canonical
// replica type names, 1 replica, restart policy OnFailure, port pytorchjob-port=23456 on
// the pytorch container, elastic min/max replicas from each other or from the workers, and
// nprocPerNode "auto" unless the deprecated elasticPolicy.nProcPerNode is set.
func (fw *Framework) SetDefaults(job engine.Job) {
	j := ptJob(job)
	engine.SetDefaultCleanPodPolicy(&j.Spec.RunPolicy, trainingv1.CleanPodPolicyNone)
	engine.NormalizeReplicaTypes(j.Spec.PyTorchReplicaSpecs, fw.ReplicaTypes())
	for _, spec := range j.Spec.PyTorchReplicaSpecs {
		if spec == nil {
			continue
		}
		engine.SetDefaultReplicas(spec, 1)
		engine.SetDefaultRestartPolicy(spec, DefaultRestartPolicy)
		engine.SetDefaultPort(&spec.Template.Spec, trainingv1.PyTorchJobDefaultContainerName,
			trainingv1.PyTorchJobDefaultPortName, trainingv1.PyTorchJobDefaultPort)
	}
	if ep := j.Spec.ElasticPolicy; ep != nil {
		switch {
		case ep.MinReplicas != nil && ep.MaxReplicas != nil:
		case ep.MaxReplicas != nil:
			ep.MinReplicas = ptr.To(*ep.MaxReplicas)
		case ep.MinReplicas != nil:
			ep.MaxReplicas = ptr.To(*ep.MinReplicas)
		default:
			if w := j.Spec.PyTorchReplicaSpecs[trainingv1.PyTorchJobReplicaTypeWorker]; w != nil && w.Replicas != nil {
				ep.MinReplicas = ptr.To(*w.Replicas)
				ep.MaxReplicas = ptr.To(*w.Replicas)
			}
		}
	}
	if (j.Spec.ElasticPolicy == nil || j.Spec.ElasticPolicy.NProcPerNode == nil) && j.Spec.NprocPerNode == nil {
		j.Spec.NprocPerNode = ptr.To(DefaultNprocPerNode)
	}
}

// IsMasterRole is true for the Master when the job has one, for worker 0 otherwise.
func (*Framework) IsMasterRole(specs map[trainingv1.ReplicaType]*trainingv1.ReplicaSpec, rtype trainingv1.ReplicaType, index int) bool {
	if _, ok := specs[trainingv1.PyTorchJobReplicaTypeMaster]; ok {
		return rtype == trainingv1.PyTorchJobReplicaTypeMaster
	}
	return rtype == trainingv1.PyTorchJobReplicaTypeWorker && index == 0
}

// SetClusterSpec sets the environment of every container of the replica and, on workers of
// a job with a Master, the init container that waits for the master.
func (fw *Framework) SetClusterSpec(job engine.Job, rtype trainingv1.ReplicaType, index int, tmpl *corev1.PodTemplateSpec) error {
	j := ptJob(job)
	env, err := Env(j, rtype, index)
	if err != nil {
		return err
	}
	for i := range tmpl.Spec.Containers {
		engine.AddEnv(&tmpl.Spec.Containers[i], env...)
	}
	if fw.initImage != "" && rtype == trainingv1.PyTorchJobReplicaTypeWorker && j.Spec.PyTorchReplicaSpecs[trainingv1.PyTorchJobReplicaTypeMaster] != nil {
		master := engine.ReplicaName(j.Name, trainingv1.PyTorchJobReplicaTypeMaster, 0)
		tmpl.Spec.InitContainers = append(tmpl.Spec.InitContainers, fw.initContainer(master))
	}
	return nil
}

// initContainer looks the master's service up until it resolves (the master pod is
// ready), so that workers do not crash on an unresolvable MASTER_ADDR.
func (fw *Framework) initContainer(masterAddr string) corev1.Container {
	command := []string{"sh", "-c", fmt.Sprintf("err=1;for i in $(seq %d); do if nslookup %s; then err=0 && break; fi;echo waiting for master; sleep 2; done; exit $err",
		fw.initMaxTries, masterAddr)}
	if fw.initCommand != nil {
		command = append(append([]string(nil), fw.initCommand...), masterAddr)
	}
	return corev1.Container{
		Name:            InitContainerName,
		Image:           fw.initImage,
		ImagePullPolicy: corev1.PullIfNotPresent,
		Command:         command,
		Resources: corev1.ResourceRequirements{
			Limits:   initLimits.DeepCopy(),
			Requests: initRequests.DeepCopy(),
		},
		SecurityContext: engine.HelperSecurityContext(),
	}
}

// The init container's resources, as upstream's template sets them.
var (
	initLimits = corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("100m"),
		corev1.ResourceMemory: resource.MustParse("20Mi"),
	}
	initRequests = corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("50m"),
		corev1.ResourceMemory: resource.MustParse("10Mi"),
	}
)

// Env is the environment of every container of replica (rtype, index) of a defaulted job,
// in upstream's order.
func Env(j *trainingv1.PyTorchJob, rtype trainingv1.ReplicaType, index int) ([]corev1.EnvVar, error) {
	env := []corev1.EnvVar{engine.EnvVar(EnvPythonUnbuffered, "1")}
	total := int(engine.TotalReplicas(j.Spec.PyTorchReplicaSpecs))

	if master := j.Spec.PyTorchReplicaSpecs[trainingv1.PyTorchJobReplicaTypeMaster]; master != nil {
		port, ok := engine.ContainerPort(master, trainingv1.PyTorchJobDefaultContainerName, trainingv1.PyTorchJobDefaultPortName)
		if !ok {
			return nil, fmt.Errorf("master has no port %q on container %q", trainingv1.PyTorchJobDefaultPortName, trainingv1.PyTorchJobDefaultContainerName)
		}
		addr := engine.ReplicaName(j.Name, trainingv1.PyTorchJobReplicaTypeMaster, 0)
		rank := index
		if rtype == trainingv1.PyTorchJobReplicaTypeWorker {
			rank++
		}
		env = append(env,
			engine.EnvVar(EnvMasterPort, strconv.Itoa(int(port))),
			engine.EnvVar(EnvPETMasterPort, strconv.Itoa(int(port))),
			engine.EnvVar(EnvMasterAddr, addr),
			engine.EnvVar(EnvPETMasterAddr, addr),
			engine.EnvVar(EnvWorldSize, strconv.Itoa(total*nprocPerNodeInt(j))),
			engine.EnvVar(EnvRank, strconv.Itoa(rank)),
			engine.EnvVar(EnvNodeRank, strconv.Itoa(rank)),
		)
	}
	if j.Spec.NprocPerNode != nil {
		env = append(env, engine.EnvVar(EnvNprocPerNode, *j.Spec.NprocPerNode))
	}
	if j.Spec.ElasticPolicy != nil {
		elastic, err := elasticEnv(j)
		if err != nil {
			return nil, err
		}
		env = append(env, elastic...)
	} else {
		env = append(env, engine.EnvVar(EnvNnodes, strconv.Itoa(total)))
	}
	return env, nil
}

// nprocPerNodeInt is nprocPerNode as a number; "auto", "cpu", "gpu" and unset count as 1
// (the process count is decided in the pod, and WORLD_SIZE is then only a node count).
func nprocPerNodeInt(j *trainingv1.PyTorchJob) int {
	if j.Spec.NprocPerNode == nil {
		return 1
	}
	if n, err := strconv.Atoi(*j.Spec.NprocPerNode); err == nil {
		return n
	}
	return 1
}

// elasticEnv is the torchrun rendezvous environment of an elastic job.
func elasticEnv(j *trainingv1.PyTorchJob) ([]corev1.EnvVar, error) {
	ep := j.Spec.ElasticPolicy

	host := engine.ReplicaName(j.Name, trainingv1.PyTorchJobReplicaTypeWorker, 0)
	if ep.RDZVHost != nil {
		host = *ep.RDZVHost
	}
	var port int32
	if ep.RDZVPort != nil {
		port = *ep.RDZVPort
	} else {
		p, ok := engine.ContainerPort(j.Spec.PyTorchReplicaSpecs[trainingv1.PyTorchJobReplicaTypeWorker],
			trainingv1.PyTorchJobDefaultContainerName, trainingv1.PyTorchJobDefaultPortName)
		if !ok {
			return nil, fmt.Errorf("elastic job: worker has no port %q on container %q and elasticPolicy.rdzvPort is unset",
				trainingv1.PyTorchJobDefaultPortName, trainingv1.PyTorchJobDefaultContainerName)
		}
		port = p
	}
	backend := trainingv1.BackendC10D
	if ep.RDZVBackend != nil {
		backend = *ep.RDZVBackend
	}
	env := []corev1.EnvVar{
		engine.EnvVar(EnvRDZVEndpoint, fmt.Sprintf("%s:%d", host, port)),
		engine.EnvVar(EnvRDZVBackend, string(backend)),
	}

	if ep.MinReplicas == nil && ep.MaxReplicas == nil {
		w := j.Spec.PyTorchReplicaSpecs[trainingv1.PyTorchJobReplicaTypeWorker]
		if w == nil {
			return nil, fmt.Errorf("elastic job has no Worker replicas")
		}
		env = append(env, engine.EnvVar(EnvNnodes, strconv.Itoa(int(engine.ReplicaCount(w)))))
	} else {
		env = append(env, engine.EnvVar(EnvNnodes, fmt.Sprintf("%d:%d", ptr.Deref(ep.MinReplicas, 0), ptr.Deref(ep.MaxReplicas, 0))))
	}

	if ep.MaxRestarts != nil {
		env = append(env, engine.EnvVar(EnvMaxRestarts, strconv.Itoa(int(*ep.MaxRestarts))))
	}
	if ep.NProcPerNode != nil {
		env = append(env, engine.EnvVar(EnvNprocPerNode, strconv.Itoa(int(*ep.NProcPerNode))))
	}
	if ep.RDZVID != nil {
		env = append(env, engine.EnvVar(EnvRDZVID, *ep.RDZVID))
	}
	if ep.RDZVConf != nil {
		kv := make([]string, 0, len(ep.RDZVConf))
		for _, c := range ep.RDZVConf {
			kv = append(kv, c.Key+"="+c.Value)
		}
		env = append(env, engine.EnvVar(EnvRDZVConf, strings.Join(kv, ",")))
	}
	if ep.Standalone != nil && *ep.Standalone {
		env = append(env, engine.EnvVar(EnvStandalone, ""))
	}
	return env, nil
}

// DesiredExtras is the job's HorizontalPodAutoscaler when elasticPolicy.metrics is set and
// the job is not suspended; nothing otherwise.
func (*Framework) DesiredExtras(job engine.Job, _ []*corev1.Pod) ([]engine.Object, error) {
	j := ptJob(job)
	if hpa := DesiredHPA(j); hpa != nil {
		return []engine.Object{hpa}, nil
	}
	return nil, nil
}

// DesiredHPA is the HorizontalPodAutoscaler of an elastic job with metrics: named after the
// job, scaling the job's Worker replicas (through the PyTorchJob scale subresource) between
// elasticPolicy.minReplicas and maxReplicas on elasticPolicy.metrics. It is nil for jobs
// without metrics and for suspended jobs.
func DesiredHPA(j *trainingv1.PyTorchJob) *autoscalingv2.HorizontalPodAutoscaler {
	ep := j.Spec.ElasticPolicy
	if ep == nil || ep.Metrics == nil || ep.MaxReplicas == nil || ptr.Deref(j.Spec.RunPolicy.Suspend, false) {
		return nil
	}
	metrics := make([]autoscalingv2.MetricSpec, len(ep.Metrics))
	for i := range ep.Metrics {
		ep.Metrics[i].DeepCopyInto(&metrics[i])
	}
	var minReplicas *int32
	if ep.MinReplicas != nil {
		minReplicas = ptr.To(*ep.MinReplicas)
	}
	return &autoscalingv2.HorizontalPodAutoscaler{
		TypeMeta: metav1.TypeMeta{APIVersion: autoscalingv2.SchemeGroupVersion.String(), Kind: "HorizontalPodAutoscaler"},
		ObjectMeta: metav1.ObjectMeta{
			Name:      j.Name,
			Namespace: j.Namespace,
			Labels:    engine.JobLabels(New(), j.Name), // an orphan of an earlier job of the name is adopted by them
			OwnerReferences: []metav1.OwnerReference{
				engine.OwnerReference(New(), j),
			},
		},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{
				APIVersion: trainingv1.GroupVersion.String(),
				Kind:       trainingv1.PyTorchJobKind,
				Name:       j.Name,
			},
			MinReplicas: minReplicas,
			MaxReplicas: *ep.MaxReplicas,
			Metrics:     metrics,
		},
	}
}
