package v1

import (
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	// PyTorchJobKind is the kind name.
	PyTorchJobKind = "PyTorchJob"
	// PyTorchJobDefaultContainerName is the container the framework runs in.
	PyTorchJobDefaultContainerName = "pytorch"
	// PyTorchJobDefaultPortName names the port replicas talk on.
	PyTorchJobDefaultPortName = "pytorchjob-port"
	// PyTorchJobDefaultPort is the port replicas talk on when the template names none.
	PyTorchJobDefaultPort int32 = 23456
	// PyTorchJobReplicaTypeMaster is the Master replica type of a PyTorchJob.
	PyTorchJobReplicaTypeMaster ReplicaType = "Master"
	// PyTorchJobReplicaTypeWorker is the Worker replica type of a PyTorchJob.
	PyTorchJobReplicaTypeWorker ReplicaType = "Worker"
)

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:path=pytorchjobs,scope=Namespaced
// +kubebuilder:subresource:scale:specpath=.spec.pytorchReplicaSpecs.Worker.replicas,statuspath=.status.replicaStatuses.Worker.active,selectorpath=.status.replicaStatuses.Worker.selector
// +kubebuilder:printcolumn:name="State",type=string,JSONPath=`.status.conditions[-1:].type`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')",message="name must be a DNS-1035 label (lowercase letters, digits, '-', starting with a letter): pods and services are named after it"
// +kubebuilder:validation:XValidation:rule="self.metadata.name.size() <= 52",message="name must be at most 52 characters: the names of the job's pods and services (<name>-worker-999) must fit in 63"

// PyTorchJob is a distributed pytorch training job.
type PyTorchJob struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the desired state of the job.
	Spec PyTorchJobSpec `json:"spec,omitempty"`
	// Status is the observed state of the job.
	Status JobStatus `json:"status,omitempty"`
}

// PyTorchJobSpec is the desired state of a PyTorchJob.
type PyTorchJobSpec struct {
	// RunPolicy holds the job's run-time policies.
	// +kubebuilder:validation:Optional
	RunPolicy RunPolicy `json:"runPolicy"`

	// ElasticPolicy turns on elastic training (torchrun rendezvous, optional HPA).
	// +optional
	ElasticPolicy *ElasticPolicy `json:"elasticPolicy,omitempty"`

	// NprocPerNode is the number of processes per pod: auto, cpu, gpu or a number.
	// +optional
	NprocPerNode *string `json:"nprocPerNode,omitempty"`

	// PyTorchReplicaSpecs maps each replica type (Master, Worker) to its spec.
	// +kubebuilder:validation:MinProperties=1
	// +kubebuilder:validation:MaxProperties=5
	// +kubebuilder:validation:XValidation:rule="self.all(k, k in ['Master', 'Worker'])",message="replica types of a PyTorchJob are Master, Worker"
	// +kubebuilder:validation:XValidation:rule="self.all(k, has(self[k].template.spec) && self[k].template.spec.containers.exists(c, c.name == 'pytorch'))",message="every replica's pod template needs a container named 'pytorch'"
	// +kubebuilder:validation:XValidation:rule="!has(self.Master) || !has(self.Master.replicas) || self.Master.replicas == 1",message="Master replicas must be 1"
	PyTorchReplicaSpecs map[ReplicaType]*ReplicaSpec `json:"pytorchReplicaSpecs"`
}

// +kubebuilder:object:root=true

// PyTorchJobList is a list of PyTorchJobs.
type PyTorchJobList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []PyTorchJob `json:"items"`
}

func init() {
	SchemeBuilder.Register(&PyTorchJob{}, &PyTorchJobList{})
}

// ElasticPolicy configures elastic PyTorch training (torchrun rendezvous).
// +kubebuilder:validation:XValidation:rule="!has(self.minReplicas) || !has(self.maxReplicas) || self.minReplicas <= self.maxReplicas",message="elasticPolicy.minReplicas must not exceed elasticPolicy.maxReplicas"
type ElasticPolicy struct {
	// MinReplicas is the fewest workers the job runs with: 1 to 1000 (MaxReplicas).
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	// +optional
	MinReplicas *int32 `json:"minReplicas,omitempty"`
	// MaxReplicas is the most workers the job (and its HPA) scales to: 1 to 1000
	// (MaxReplicas), at least minReplicas.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	// +optional
	MaxReplicas *int32 `json:"maxReplicas,omitempty"`
	// RDZVBackend is the rendezvous backend: c10d, etcd or etcd-v2.
	// +optional
	RDZVBackend *RDZVBackend `json:"rdzvBackend,omitempty"`
	// RDZVPort is the rendezvous port.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	// +optional
	RDZVPort *int32 `json:"rdzvPort,omitempty"`
	// RDZVHost is the rendezvous host.
	// +optional
	RDZVHost *string `json:"rdzvHost,omitempty"`
	// RDZVID is the rendezvous id; defaults to the job name.
	// +optional
	RDZVID *string `json:"rdzvId,omitempty"`
	// RDZVConf is extra rendezvous configuration (key=value pairs).
	// +optional
	RDZVConf []RDZVConf `json:"rdzvConf,omitempty"`
	// Standalone starts a local c10d rendezvous in each pod.
	// +optional
	Standalone *bool `json:"standalone,omitempty"`
	// NProcPerNode is the number of processes per pod. Deprecated: use spec.nprocPerNode.
	// +kubebuilder:validation:Minimum=1
	// +optional
	NProcPerNode *int32 `json:"nProcPerNode,omitempty"`
	// MaxRestarts is torchrun's --max-restarts.
	// +kubebuilder:validation:Minimum=0
	// +optional
	MaxRestarts *int32 `json:"maxRestarts,omitempty"`
	// Metrics drive a HorizontalPodAutoscaler of the workers; none creates no HPA.
	// +optional
	Metrics []autoscalingv2.MetricSpec `json:"metrics,omitempty"`
}

// RDZVConf is one extra rendezvous setting.
type RDZVConf struct {
	Key   string `json:"key,omitempty"`
	Value string `json:"value,omitempty"`
}

// RDZVBackend is a torchrun rendezvous backend.
// +kubebuilder:validation:Enum=c10d;etcd;etcd-v2
type RDZVBackend string

// Rendezvous backends.
const (
	BackendC10D   RDZVBackend = "c10d"
	BackendETCD   RDZVBackend = "etcd"
	BackendETCDV2 RDZVBackend = "etcd-v2"
)
