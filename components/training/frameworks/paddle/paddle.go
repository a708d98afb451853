// Package paddle is the PaddleJob plug-in of the training engine. Every container of every
// replica gets what paddle.distributed.launch reads, exactly as the Kubeflow Training
// Operator v1.9 sets it: PYTHONUNBUFFERED=1, PADDLE_JOB_ID (the job name), PADDLE_NNODES
// (all replicas) and PADDLE_MASTER, the rendezvous endpoint. Without a Master (collective
// mode) worker 0 is the rendezvous: it gets "$(POD_IP_DUMMY):<port>" with POD_IP_DUMMY its
// own pod IP, the others "<job>-worker-0:<port>". With a Master (parameter-server mode)
// master 0 plays that part, and masters get PADDLE_SERVER_NUM=1, workers
// PADDLE_TRAINER_NUM=1.
package paddle

import (
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	"github.com/kfup/kfup/components/training/engine"
)

const (
	// ControllerName is the operator-name label of PaddleJob children.
	ControllerName = "paddlejob-controller"
	// DefaultRestartPolicy is the restart policy of replicas that set none.
	DefaultRestartPolicy = trainingv1.RestartPolicyOnFailure
)

// Environment variables set on PaddleJob containers.
const (
	EnvPythonUnbuffered = "PYTHONUNBUFFERED"
	EnvMasterEndpoint   = "PADDLE_MASTER"
	EnvNumNodes         = "PADDLE_NNODES"
	EnvJobID            = "PADDLE_JOB_ID"
	EnvServerNum        = "PADDLE_SERVER_NUM"
	EnvTrainerNum       = "PADDLE_TRAINER_NUM"
	// EnvPodIP holds the pod's own IP (downward API), for the rendezvous replica.
	EnvPodIP = "POD_IP_DUMMY"
)

// Framework is the PaddleJob plug-in.
type Framework struct{}

var _ engine.Framework = (*Framework)(nil)

// New returns the PaddleJob plug-in.
func New() *Framework { return &Framework{} }

// Kind is "PaddleJob".
func (*Framework) Kind() string { return trainingv1.PaddleJobKind }

// NewJob returns an empty PaddleJob.
func (*Framework) NewJob() engine.Job { return &trainingv1.PaddleJob{} }

// ControllerName is "paddlejob-controller".
func (*Framework) ControllerName() string { return ControllerName }

// DefaultContainerName is "paddle".
func (*Framework) DefaultContainerName() string { return trainingv1.PaddleJobDefaultContainerName }

// DefaultPortName is "master".
func (*Framework) DefaultPortName() string { return trainingv1.PaddleJobDefaultPortName }

// DefaultPort is 36543.
func (*Framework) DefaultPort() int32 { return trainingv1.PaddleJobDefaultPort }

// ReplicaTypes are Master, Worker.
func (*Framework) ReplicaTypes() []trainingv1.ReplicaType {
	return []trainingv1.ReplicaType{trainingv1.PaddleJobReplicaTypeMaster, trainingv1.PaddleJobReplicaTypeWorker}
}

func paddleJob(job engine.Job) *trainingv1.PaddleJob { return job.(*trainingv1.PaddleJob) }

// ReplicaSpecs returns spec.paddleReplicaSpecs.
func (*Framework) ReplicaSpecs(job engine.Job) map[trainingv1.ReplicaType]*trainingv1.ReplicaSpec {
	return paddleJob(job).Spec.PaddleReplicaSpecs
}

// RunPolicy returns spec.runPolicy.
func (*Framework) RunPolicy(job engine.Job) *trainingv1.RunPolicy {
	return &paddleJob(job).Spec.RunPolicy
}

// Status returns status.
func (*Framework) Status(job engine.Job) *trainingv1.JobStatus { return &paddleJob(job).Status }

// SetDefaults applies upstream's PaddleJob defaults: cleanPodPolicy None, canonical
// replica type names, 1 replica, restart policy OnFailure, port master=36543 on the paddle
// container, and elastic min/max replicas from each other or from the workers.
func (fw *Framework) SetDefaults(job engine.Job) {
	j := paddleJob(job)
	engine.SetDefaultCleanPodPolicy(&j.Spec.RunPolicy, trainingv1.CleanPodPolicyNone)
	engine.NormalizeReplicaTypes(j.Spec.PaddleReplicaSpecs, fw.ReplicaTypes())
	for _, spec := range j.Spec.PaddleReplicaSpecs {
		if spec == nil {
			continue
		}
		engine.SetDefaultReplicas(spec, 1)
		engine.SetDefaultRestartPolicy(spec, DefaultRestartPolicy)
		engine.SetDefaultPort(&spec.Template.Spec, trainingv1.PaddleJobDefaultContainerName,
			trainingv1.PaddleJobDefaultPortName, trainingv1.PaddleJobDefaultPort)
	}
	if ep := j.Spec.ElasticPolicy; ep != nil {
		switch {
		case ep.MinReplicas != nil && ep.MaxReplicas != nil:
		case ep.MaxReplicas != nil:
			v := *ep.MaxReplicas
			ep.MinReplicas = &v
		case ep.MinReplicas != nil:
			v := *ep.MinReplicas
			ep.MaxReplicas = &v
		default:
			if w := j.Spec.PaddleReplicaSpecs[trainingv1.PaddleJobReplicaTypeWorker]; w != nil && w.Replicas != nil {
				lo, hi := *w.Replicas, *w.Replicas
				ep.MinReplicas, ep.MaxReplicas = &lo, &hi
			}
		}
	}
}

// IsMasterRole is true for the Master.
func (*Framework) IsMasterRole(_ map[trainingv1.ReplicaType]*trainingv1.ReplicaSpec, rtype trainingv1.ReplicaType, _ int) bool {
	return rtype == trainingv1.PaddleJobReplicaTypeMaster
}

// SetClusterSpec sets the environment of every container of the replica.
func (*Framework) SetClusterSpec(job engine.Job, rtype trainingv1.ReplicaType, index int, tmpl *corev1.PodTemplateSpec) error {
	env := Env(paddleJob(job), rtype, index)
	for i := range tmpl.Spec.Containers {
		engine.AddEnv(&tmpl.Spec.Containers[i], env...)
	}
	return nil
}

// port is the replica type's "master" port on the paddle container, 36543 when it has none.
func port(j *trainingv1.PaddleJob, rtype trainingv1.ReplicaType) int32 {
	if p, ok := engine.ContainerPort(j.Spec.PaddleReplicaSpecs[rtype], trainingv1.PaddleJobDefaultContainerName, trainingv1.PaddleJobDefaultPortName); ok {
		return p
	}
	return trainingv1.PaddleJobDefaultPort
}

// Env is the environment of replica (rtype, index) of a defaulted job, in upstream's order.
func Env(j *trainingv1.PaddleJob, rtype trainingv1.ReplicaType, index int) []corev1.EnvVar {
	env := []corev1.EnvVar{
		engine.EnvVar(EnvPythonUnbuffered, "1"),
		engine.EnvVar(EnvJobID, j.Name),
		engine.EnvVar(EnvNumNodes, strconv.Itoa(int(engine.TotalReplicas(j.Spec.PaddleReplicaSpecs)))),
	}
	// The rendezvous replica: master 0, or worker 0 in collective mode (no Master).
	rdzvType := trainingv1.PaddleJobReplicaTypeMaster
	collective := j.Spec.PaddleReplicaSpecs[trainingv1.PaddleJobReplicaTypeMaster] == nil
	if collective {
		rdzvType = trainingv1.PaddleJobReplicaTypeWorker
	}
	p := port(j, rdzvType)
	if rtype == rdzvType && index == 0 {
		env = append(env,
			corev1.EnvVar{Name: EnvPodIP, ValueFrom: &corev1.EnvVarSource{
				FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"},
			}},
			engine.EnvVar(EnvMasterEndpoint, fmt.Sprintf("$(%s):%d", EnvPodIP, p)),
		)
	} else {
		env = append(env, engine.EnvVar(EnvMasterEndpoint, fmt.Sprintf("%s:%d", engine.ReplicaName(j.Name, rdzvType, 0), p)))
	}
	if !collective {
		// Each pod runs one server (master) or one trainer (worker).
		if rtype == trainingv1.PaddleJobReplicaTypeMaster {
			env = append(env, engine.EnvVar(EnvServerNum, "1"))
		} else {
			env = append(env, engine.EnvVar(EnvTrainerNum, "1"))
		}
	}
	return env
}
