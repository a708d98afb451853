package engine

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
)

// Object is a Kubernetes object with metadata: a job, or a child the engine computes for it.
// It has the method set of controller-runtime's client.Object, so either converts to the other.
type Object interface {
	metav1.Object
	runtime.Object
}

// Job is a training job of one of the kubeflow.org/v1 kinds (TFJob, PyTorchJob, ...).
type Job = Object

// Framework is the plug-in that teaches the engine one job kind. The engine handles what
// every kind shares (one pod per replica index, its headless service, names, labels,
// owner references, restart policies); the framework says what its kind calls things and
// how its processes find each other (SetClusterSpec).
//
// The engine calls a framework only with jobs of the type NewJob returns, already
// defaulted by SetDefaults; methods may assume both.
type Framework interface {
	// Kind is the job kind, e.g. "PyTorchJob".
	Kind() string
	// NewJob returns an empty job of the framework's kind, e.g. &PyTorchJob{}.
	NewJob() Job
	// ControllerName is the value of the operator-name label, e.g. "pytorchjob-controller".
	ControllerName() string
	// DefaultContainerName is the container the framework runs in, e.g. "pytorch"; its
	// exit code decides the fate of a failed pod and its ports become the service's ports.
	DefaultContainerName() string
	// DefaultPortName names the port replicas talk on ("" for kinds without one).
	DefaultPortName() string
	// DefaultPort is the port replicas talk on when the template names none.
	DefaultPort() int32
	// ReplicaTypes lists the kind's replica types in the order their pods are listed.
	ReplicaTypes() []trainingv1.ReplicaType

	// SetDefaults applies upstream's defaults to job in place: replicas, restart policies,
	// the default port, policies. It is idempotent.
	SetDefaults(job Job)
	// ReplicaSpecs returns the job's replica specs by type.
	ReplicaSpecs(job Job) map[trainingv1.ReplicaType]*trainingv1.ReplicaSpec
	// RunPolicy returns the job's run policy.
	RunPolicy(job Job) *trainingv1.RunPolicy
	// Status returns the job's status, for the reconciler to update.
	Status(job Job) *trainingv1.JobStatus

	// IsMasterRole says whether replica index of type rtype gets the job-role=master label.
	IsMasterRole(specs map[trainingv1.ReplicaType]*trainingv1.ReplicaSpec, rtype trainingv1.ReplicaType, index int) bool
	// SetClusterSpec adds what replica (rtype, index) needs to find its peers to its pod
	// template: environment variables (TF_CONFIG, MASTER_ADDR, ...), init containers, volumes.
	SetClusterSpec(job Job, rtype trainingv1.ReplicaType, index int, template *corev1.PodTemplateSpec) error
}

// PodCustomizer is implemented by frameworks whose pods differ from the generic layout after
// SetClusterSpec: MPIJob names its launcher "<job>-launcher" without a replica-index label.
type PodCustomizer interface {
	// CustomizePod adjusts the desired pod of replica (rtype, index) in place.
	CustomizePod(job Job, rtype trainingv1.ReplicaType, index int, pod *corev1.Pod) error
}

// Serviceless is implemented by frameworks whose replicas get no Service: MPIJob's launcher
// reaches its workers by pod name through the API server, not through DNS.
type Serviceless interface {
	// Serviceless is a marker; its presence means DesiredServices returns nothing.
	Serviceless()
}

// ExtraObjects is implemented by frameworks that need more children than pods and services:
// MPIJob's hostfile ConfigMap and launcher RBAC, PyTorchJob's HorizontalPodAutoscaler.
type ExtraObjects interface {
	// DesiredExtras returns the extra children of job. pods are the job's current pods, for
	// children that reflect them (MPIJob's discover_hosts.sh lists the running workers).
	DesiredExtras(job Job, pods []*corev1.Pod) ([]Object, error)
}
