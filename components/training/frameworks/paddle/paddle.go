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

// kind is the PaddleJob kind: its names, default container and port, replica types and
// where the job keeps its replica specs, run policy and status.
var kind = engine.KindSpec[*trainingv1.PaddleJob]{
	KindName: trainingv1.PaddleJobKind, Controller: ControllerName,
	Container: trainingv1.PaddleJobDefaultContainerName,
	PortName:  trainingv1.PaddleJobDefaultPortName, Port: trainingv1.PaddleJobDefaultPort,
	Types: []trainingv1.ReplicaType{trainingv1.PaddleJobReplicaTypeMaster, trainingv1.PaddleJobReplicaTypeWorker},
	New:   func() *trainingv1.PaddleJob { return &trainingv1.PaddleJob{} },
	Specs: func(j *trainingv1.PaddleJob) map[trainingv1.ReplicaType]*trainingv1.ReplicaSpec {
		return j.Spec.PaddleReplicaSpecs
	},
	Policy:   func(j *trainingv1.PaddleJob) *trainingv1.RunPolicy { return &j.Spec.RunPolicy },
	StatusOf: func(j *trainingv1.PaddleJob) *trainingv1.JobStatus { return &j.Status },
}

// Framework is the PaddleJob plug-in.
type Framework struct {
	engine.KindSpec[*trainingv1.PaddleJob]
}

var _ engine.Framework = (*Framework)(nil)

// New returns the PaddleJob plug-in.
func New() *Framework { return &Framework{KindSpec: kind} }

func paddleJob(job engine.Job) *trainingv1.PaddleJob { return job.(*trainingv1.PaddleJob) }

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
