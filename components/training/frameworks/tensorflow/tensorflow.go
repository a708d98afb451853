// Package tensorflow is the TFJob plug-in of the training engine. Each replica of a
// distributed TFJob gets TF_CONFIG, the JSON document TensorFlow reads to learn the cluster
// (every replica's service address, by type), its own task (type and index) and the
// environment "cloud", exactly as the Kubeflow Training Operator v1.9 writes it.
package tensorflow

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	"github.com/kfup/kfup/components/training/engine"
)

const (
	// ControllerName is the operator-name label of TFJob children.
	ControllerName = "tfjob-controller"
	// DefaultRestartPolicy is the restart policy of replicas that set none.
	DefaultRestartPolicy = trainingv1.RestartPolicyNever
	// EnvTFConfig is the environment variable holding the cluster spec.
	EnvTFConfig = "TF_CONFIG"
)

// kind is the TFJob kind: its names, default container and port, replica types and
// where the job keeps its replica specs, run policy and status.
var kind = engine.KindSpec[*trainingv1.TFJob]{
	KindName: trainingv1.TFJobKind, Controller: ControllerName,
	Container: trainingv1.TFJobDefaultContainerName,
	PortName:  trainingv1.TFJobDefaultPortName, Port: trainingv1.TFJobDefaultPort,
	Types: []trainingv1.ReplicaType{
		trainingv1.TFJobReplicaTypeChief, trainingv1.TFJobReplicaTypeMaster, trainingv1.TFJobReplicaTypePS,
		trainingv1.TFJobReplicaTypeWorker, trainingv1.TFJobReplicaTypeEvaluator,
	},
	New: func() *trainingv1.TFJob { return &trainingv1.TFJob{} },
	Specs: func(j *trainingv1.TFJob) map[trainingv1.ReplicaType]*trainingv1.ReplicaSpec {
		return j.Spec.TFReplicaSpecs
	},
	Policy:   func(j *trainingv1.TFJob) *trainingv1.RunPolicy { return &j.Spec.RunPolicy },
	StatusOf: func(j *trainingv1.TFJob) *trainingv1.JobStatus { return &j.Status },
}

// Framework is the TFJob plug-in.
type Framework struct {
	engine.KindSpec[*trainingv1.TFJob]

	clusterDomain string
}

var (
	_ engine.Framework = (*Framework)(nil)
)

// Option configures the plug-in.
type Option interface{ apply(*Framework) }

type optionFunc func(*Framework)

func (f optionFunc) apply(fw *Framework) { f(fw) }

// WithClusterDomain appends domain (e.g. "cluster.local") to the service names in
// TF_CONFIG: "<job>-worker-0.<ns>.svc.<domain>:2222". Upstream reads it from the
// operator's CUSTOM_CLUSTER_DOMAIN environment variable; empty (the default) leaves
// "<job>-worker-0.<ns>.svc:2222".
func WithClusterDomain(domain string) Option {
	return optionFunc(func(fw *Framework) { fw.clusterDomain = domain })
}

// New returns the TFJob plug-in.
func New(opts ...Option) *Framework {
	fw := &Framework{KindSpec: kind}
	for _, o := range opts {
		o.apply(fw)
	}
	return fw
}

func tfJob(job engine.Job) *trainingv1.TFJob { return job.(*trainingv1.TFJob) }

// SetDefaults applies upstream's TFJob defaults: cleanPodPolicy None, successPolicy "",
// canonical replica type names, 1 replica, restart policy Never and port tfjob-port=2222
// on the tensorflow container.
func (fw *Framework) SetDefaults(job engine.Job) {
	j := tfJob(job)
	engine.SetDefaultCleanPodPolicy(&j.Spec.RunPolicy, trainingv1.CleanPodPolicyNone)
	if j.Spec.SuccessPolicy == nil {
		p := trainingv1.SuccessPolicyDefault
		j.Spec.SuccessPolicy = &p
	}
	engine.NormalizeReplicaTypes(j.Spec.TFReplicaSpecs, fw.ReplicaTypes())
	for _, spec := range j.Spec.TFReplicaSpecs {
		if spec == nil {
			continue
		}
		engine.SetDefaultReplicas(spec, 1)
		engine.SetDefaultRestartPolicy(spec, DefaultRestartPolicy)
		engine.SetDefaultPort(&spec.Template.Spec, trainingv1.TFJobDefaultContainerName,
			trainingv1.TFJobDefaultPortName, trainingv1.TFJobDefaultPort)
	}
}

// HasChiefOrMaster says whether the job has a Chief or Master replica type.
func HasChiefOrMaster(specs map[trainingv1.ReplicaType]*trainingv1.ReplicaSpec) bool {
	_, chief := specs[trainingv1.TFJobReplicaTypeChief]
	_, master := specs[trainingv1.TFJobReplicaTypeMaster]
	return chief || master
}

// IsMasterRole is true for the Chief or Master when the job has one, for worker 0 otherwise.
func (*Framework) IsMasterRole(specs map[trainingv1.ReplicaType]*trainingv1.ReplicaSpec, rtype trainingv1.ReplicaType, index int) bool {
	if HasChiefOrMaster(specs) {
		return rtype == trainingv1.TFJobReplicaTypeChief || rtype == trainingv1.TFJobReplicaTypeMaster
	}
	return rtype == trainingv1.TFJobReplicaTypeWorker && index == 0
}

// SetClusterSpec adds TF_CONFIG to the tensorflow container of a distributed job's replica.
// A job of a single replica in total is not distributed and gets none (upstream issue
// #1078: TensorFlow would otherwise wait for a cluster).
func (fw *Framework) SetClusterSpec(job engine.Job, rtype trainingv1.ReplicaType, index int, tmpl *corev1.PodTemplateSpec) error {
	j := tfJob(job)
	if !IsDistributed(j) {
		return nil
	}
	cfg, err := fw.TFConfig(j, rtype, index)
	if err != nil {
		return err
	}
	for i := range tmpl.Spec.Containers {
		if tmpl.Spec.Containers[i].Name == trainingv1.TFJobDefaultContainerName {
			engine.AddEnv(&tmpl.Spec.Containers[i], engine.EnvVar(EnvTFConfig, cfg))
			break
		}
	}
	return nil
}

// IsDistributed says whether the job has more than one replica in total; a replica type
// with unset replicas counts as one.
func IsDistributed(j *trainingv1.TFJob) bool {
	n := 0
	for _, spec := range j.Spec.TFReplicaSpecs {
		if spec == nil {
			continue
		}
		if spec.Replicas == nil {
			n++
		} else {
			n += int(*spec.Replicas)
		}
	}
	return n != 1
}

// ClusterSpec maps each lowercased replica type to its replicas' addresses, in index order.
type ClusterSpec map[string][]string

// TaskSpec is a replica's own identity in TF_CONFIG.
type TaskSpec struct {
	Type  string `json:"type"`
	Index int    `json:"index"`
}

// tfConfig is TF_CONFIG's document.
type tfConfig struct {
	Cluster ClusterSpec `json:"cluster"`
	Task    TaskSpec    `json:"task"`
	// Environment "cloud" is what tf.contrib.learn (TF <= 1.3) needs to not run locally.
	Environment string `json:"environment"`
}

// sparseClusterSpec is the cluster of a job with dynamic workers: a worker knows the PS
// replicas and itself only, so workers can come and go.
type sparseClusterSpec struct {
	Worker map[int32]string `json:"worker"`
	PS     []string         `json:"ps"`
}

type sparseTFConfig struct {
	Cluster sparseClusterSpec `json:"cluster"`
	Task    TaskSpec          `json:"task"`
}

// GenClusterSpec lists the address of every replica of the job, by lowercased type:
// "<job>-<type>-<i>.<ns>.svc[.<domain>]:<port>", the port being the replica's tfjob-port
// (2222 when it names none). Every replica type is listed, Evaluator included, as upstream
// v1.9 does.
func (fw *Framework) GenClusterSpec(j *trainingv1.TFJob) ClusterSpec {
	cs := ClusterSpec{}
	for rtype, spec := range j.Spec.TFReplicaSpecs {
		if spec != nil {
			cs[strings.ToLower(string(rtype))] = fw.addresses(j, rtype, 0, int(engine.ReplicaCount(spec)))
		}
	}
	return cs
}

// addresses are the addresses of replicas [from, to) of type rtype (see GenClusterSpec).
func (fw *Framework) addresses(j *trainingv1.TFJob, rtype trainingv1.ReplicaType, from, to int) []string {
	spec := j.Spec.TFReplicaSpecs[rtype]
	if spec == nil {
		return nil
	}
	port, ok := engine.ContainerPort(spec, trainingv1.TFJobDefaultContainerName, trainingv1.TFJobDefaultPortName)
	if !ok {
		port = trainingv1.TFJobDefaultPort
	}
	addrs := make([]string, 0, max(to-from, 0))
	for i := from; i < to; i++ {
		host := engine.ReplicaName(j.Name, rtype, i) + "." + j.Namespace + ".svc"
		if fw.clusterDomain != "" {
			host += "." + fw.clusterDomain
		}
		addrs = append(addrs, host+":"+strconv.Itoa(int(port)))
	}
	return addrs
}

// TFConfig is the TF_CONFIG value of replica (rtype, index). With enableDynamicWorker the
// cluster is sparse: a worker sees all PS replicas and only itself, a PS only itself, and
// there is no environment field.
func (fw *Framework) TFConfig(j *trainingv1.TFJob, rtype trainingv1.ReplicaType, index int) (string, error) {
	rt := strings.ToLower(string(rtype))
	task := TaskSpec{Type: rt, Index: index}
	var doc any
	if j.Spec.EnableDynamicWorker {
		// only the addresses the sparse cluster lists, not every replica's
		sparse := sparseClusterSpec{Worker: map[int32]string{}, PS: []string{}}
		switch rt {
		case strings.ToLower(string(trainingv1.TFJobReplicaTypePS)):
			sparse.PS = append(sparse.PS, fw.addresses(j, rtype, index, index+1)...)
		case strings.ToLower(string(trainingv1.TFJobReplicaTypeWorker)):
			ps := trainingv1.TFJobReplicaTypePS
			sparse.PS = fw.addresses(j, ps, 0, int(engine.ReplicaCount(j.Spec.TFReplicaSpecs[ps])))
			if a := fw.addresses(j, rtype, index, index+1); len(a) == 1 {
				sparse.Worker[int32(index)] = a[0]
			}
		}
		doc = sparseTFConfig{Cluster: sparse, Task: task}
	} else {
		doc = tfConfig{Cluster: fw.GenClusterSpec(j), Task: task, Environment: "cloud"}
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return "", fmt.Errorf("marshal %s: %w", EnvTFConfig, err)
	}
	return string(b), nil
}
