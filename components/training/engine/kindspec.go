package engine

import trainingv1 "github.com/kfup/kfup/components/training/api/v1"

// KindSpec describes a job kind by its constants and where its job type keeps replica
// specs, run policy and status. It implements the descriptive half of Framework (Kind,
// NewJob, ControllerName, DefaultContainerName, DefaultPortName, DefaultPort,
// ReplicaTypes, ReplicaSpecs, RunPolicy, Status); a plug-in embeds it and adds the
// behaviour: SetDefaults, IsMasterRole, SetClusterSpec and the optional interfaces.
type KindSpec[J Job] struct {
	// KindName is the job kind, e.g. "PyTorchJob".
	KindName string
	// Controller is the operator-name label value, e.g. "pytorchjob-controller".
	Controller string
	// Container, PortName and Port are the framework's container and its default port.
	Container, PortName string
	Port                int32
	// Types are the replica types in the order their pods are listed.
	Types []trainingv1.ReplicaType
	// New returns an empty job; Specs, Policy and StatusOf reach into one.
	New      func() J
	Specs    func(J) map[trainingv1.ReplicaType]*trainingv1.ReplicaSpec
	Policy   func(J) *trainingv1.RunPolicy
	StatusOf func(J) *trainingv1.JobStatus
}

// Kind returns KindName.
func (k *KindSpec[J]) Kind() string { return k.KindName }

// NewJob returns New().
func (k *KindSpec[J]) NewJob() Job { return k.New() }

// ControllerName returns Controller.
func (k *KindSpec[J]) ControllerName() string { return k.Controller }

// DefaultContainerName returns Container.
func (k *KindSpec[J]) DefaultContainerName() string { return k.Container }

// DefaultPortName returns PortName.
func (k *KindSpec[J]) DefaultPortName() string { return k.PortName }

// DefaultPort returns Port.
func (k *KindSpec[J]) DefaultPort() int32 { return k.Port }

// ReplicaTypes returns Types.
func (k *KindSpec[J]) ReplicaTypes() []trainingv1.ReplicaType { return k.Types }

// ReplicaSpecs returns the job's replica specs by type.
func (k *KindSpec[J]) ReplicaSpecs(job Job) map[trainingv1.ReplicaType]*trainingv1.ReplicaSpec {
	return k.Specs(job.(J))
}

// RunPolicy returns the job's run policy.
func (k *KindSpec[J]) RunPolicy(job Job) *trainingv1.RunPolicy { return k.Policy(job.(J)) }

// Status returns the job's status.
func (k *KindSpec[J]) Status(job Job) *trainingv1.JobStatus { return k.StatusOf(job.(J)) }
