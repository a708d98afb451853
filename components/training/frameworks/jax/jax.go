// Package jax is the JAXJob plug-in of the training engine. Every container of every
// worker gets what jax.distributed.initialize needs, exactly as the Kubeflow Training
// Operator v1.9 sets it: PYTHONUNBUFFERED=1, COORDINATOR_PORT and COORDINATOR_ADDRESS
// (worker 0's service "<job>-worker-0" and its jaxjob-port), NUM_PROCESSES (all replicas)
// and PROCESS_ID (the worker's index).
package jax

import (
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	"github.com/kfup/kfup/components/training/engine"
)

const (
	// ControllerName is the operator-name label of JAXJob children.
	ControllerName = "jaxjob-controller"
	// DefaultRestartPolicy is the restart policy of replicas that set none.
	DefaultRestartPolicy = trainingv1.RestartPolicyNever
)

// Environment variables set on JAXJob containers.
const (
	EnvPythonUnbuffered   = "PYTHONUNBUFFERED"
	EnvCoordinatorPort    = "COORDINATOR_PORT"
	EnvCoordinatorAddress = "COORDINATOR_ADDRESS"
	EnvNumProcesses       = "NUM_PROCESSES"
	EnvProcessID          = "PROCESS_ID"
)

// kind is the JAXJob kind: its names, default container and port, replica types and
// where the job keeps its replica specs, run policy and status.
var kind = engine.KindSpec[*trainingv1.JAXJob]{
	KindName: trainingv1.JAXJobKind, Controller: ControllerName,
	Container: trainingv1.JAXJobDefaultContainerName,
	PortName:  trainingv1.JAXJobDefaultPortName, Port: trainingv1.JAXJobDefaultPort,
	Types: []trainingv1.ReplicaType{trainingv1.JAXJobReplicaTypeWorker},
	New:   func() *trainingv1.JAXJob { return &trainingv1.JAXJob{} },
	Specs: func(j *trainingv1.JAXJob) map[trainingv1.ReplicaType]*trainingv1.ReplicaSpec {
		return j.Spec.JAXReplicaSpecs
	},
	Policy:   func(j *trainingv1.JAXJob) *trainingv1.RunPolicy { return &j.Spec.RunPolicy },
	StatusOf: func(j *trainingv1.JAXJob) *trainingv1.JobStatus { return &j.Status },
}

// Framework is the JAXJob plug-in.
type Framework struct {
	engine.KindSpec[*trainingv1.JAXJob]
}

var _ engine.Framework = (*Framework)(nil)

// New returns the JAXJob plug-in.
func New() *Framework { return &Framework{KindSpec: kind} }

func jaxJob(job engine.Job) *trainingv1.JAXJob { return job.(*trainingv1.JAXJob) }

// SetDefaults applies upstream's JAXJob defaults: cleanPodPolicy None, canonical replica
// type names, 1 replica, restart policy Never and port jaxjob-port=6666 on the jax container.
func (fw *Framework) SetDefaults(job engine.Job) {
	j := jaxJob(job)
	engine.SetDefaultCleanPodPolicy(&j.Spec.RunPolicy, trainingv1.CleanPodPolicyNone)
	engine.NormalizeReplicaTypes(j.Spec.JAXReplicaSpecs, fw.ReplicaTypes())
	for _, spec := range j.Spec.JAXReplicaSpecs {
		if spec == nil {
			continue
		}
		engine.SetDefaultReplicas(spec, 1)
		engine.SetDefaultRestartPolicy(spec, DefaultRestartPolicy)
		engine.SetDefaultPort(&spec.Template.Spec, trainingv1.JAXJobDefaultContainerName,
			trainingv1.JAXJobDefaultPortName, trainingv1.JAXJobDefaultPort)
	}
}

// IsMasterRole is true for index 0.
func (*Framework) IsMasterRole(_ map[trainingv1.ReplicaType]*trainingv1.ReplicaSpec, _ trainingv1.ReplicaType, index int) bool {
	return index == 0
}

// SetClusterSpec sets the environment of every container of the replica.
func (*Framework) SetClusterSpec(job engine.Job, _ trainingv1.ReplicaType, index int, tmpl *corev1.PodTemplateSpec) error {
	env, err := Env(jaxJob(job), index)
	if err != nil {
		return err
	}
	for i := range tmpl.Spec.Containers {
		engine.AddEnv(&tmpl.Spec.Containers[i], env...)
	}
	return nil
}

// Env is the environment of worker index of a defaulted job, in upstream's order.
func Env(j *trainingv1.JAXJob, index int) ([]corev1.EnvVar, error) {
	port, ok := engine.ContainerPort(j.Spec.JAXReplicaSpecs[trainingv1.JAXJobReplicaTypeWorker],
		trainingv1.JAXJobDefaultContainerName, trainingv1.JAXJobDefaultPortName)
	if !ok {
		return nil, fmt.Errorf("worker has no port %q on container %q", trainingv1.JAXJobDefaultPortName, trainingv1.JAXJobDefaultContainerName)
	}
	return []corev1.EnvVar{
		engine.EnvVar(EnvPythonUnbuffered, "1"),
		engine.EnvVar(EnvCoordinatorPort, strconv.Itoa(int(port))),
		engine.EnvVar(EnvCoordinatorAddress, engine.ReplicaName(j.Name, trainingv1.JAXJobReplicaTypeWorker, 0)),
		engine.EnvVar(EnvNumProcesses, strconv.Itoa(int(engine.TotalReplicas(j.Spec.JAXReplicaSpecs)))),
		engine.EnvVar(EnvProcessID, strconv.Itoa(index)),
	}, nil
}
