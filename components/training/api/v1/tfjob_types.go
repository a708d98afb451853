package v1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	// TFJobKind is the kind name.
	TFJobKind = "TFJob"
	// TFJobDefaultContainerName is the container the framework runs in.
	TFJobDefaultContainerName = "tensorflow"
	// TFJobDefaultPortName names the port replicas talk on.
	TFJobDefaultPortName = "tfjob-port"
	// TFJobDefaultPort is the port replicas talk on when the template names none.
	TFJobDefaultPort int32 = 2222
	// TFJobReplicaTypePS is the PS replica type of a TFJob.
	TFJobReplicaTypePS ReplicaType = "PS"
	// TFJobReplicaTypeWorker is the Worker replica type of a TFJob.
	TFJobReplicaTypeWorker ReplicaType = "Worker"
	// TFJobReplicaTypeChief is the Chief replica type of a TFJob.
	TFJobReplicaTypeChief ReplicaType = "Chief"
	// TFJobReplicaTypeMaster is the Master replica type of a TFJob.
	TFJobReplicaTypeMaster ReplicaType = "Master"
	// TFJobReplicaTypeEvaluator is the Evaluator replica type of a TFJob.
	TFJobReplicaTypeEvaluator ReplicaType = "Evaluator"
)

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:path=tfjobs,scope=Namespaced
// +kubebuilder:printcolumn:name="State",type=string,JSONPath=`.status.conditions[-1:].type`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')",message="name must be a DNS-1035 label (lowercase letters, digits, '-', starting with a letter): pods and services are named after it"
// +kubebuilder:validation:XValidation:rule="self.metadata.name.size() <= 49",message="name must be at most 49 characters: the names of the job's pods and services (<name>-evaluator-999) must fit in 63"

// TFJob is a distributed tensorflow training job.
type TFJob struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the desired state of the job.
	Spec TFJobSpec `json:"spec,omitempty"`
	// Status is the observed state of the job.
	Status JobStatus `json:"status,omitempty"`
}

// TFJobSpec is the desired state of a TFJob.
type TFJobSpec struct {
	// RunPolicy holds the job's run-time policies.
	// +kubebuilder:validation:Optional
	RunPolicy RunPolicy `json:"runPolicy"`

	// SuccessPolicy says when the job succeeds: "" (the chief, or worker 0 when there is
	// no chief, finished) or "AllWorkers".
	// +kubebuilder:validation:Enum="";AllWorkers
	// +optional
	SuccessPolicy *SuccessPolicy `json:"successPolicy,omitempty"`

	// EnableDynamicWorker lets workers join and leave (TF_CONFIG lists no other workers).
	// +optional
	EnableDynamicWorker bool `json:"enableDynamicWorker,omitempty"`

	// TFReplicaSpecs maps each replica type (PS, Worker, Chief, Master, Evaluator) to its spec.
	// +kubebuilder:validation:MinProperties=1
	// +kubebuilder:validation:MaxProperties=5
	// +kubebuilder:validation:XValidation:rule="self.all(k, k in ['PS', 'Worker', 'Chief', 'Master', 'Evaluator'])",message="replica types of a TFJob are PS, Worker, Chief, Master, Evaluator"
	// +kubebuilder:validation:XValidation:rule="self.all(k, has(self[k].template.spec) && self[k].template.spec.containers.exists(c, c.name == 'tensorflow'))",message="every replica's pod template needs a container named 'tensorflow'"
	// +kubebuilder:validation:XValidation:rule="!has(self.Chief) || !has(self.Chief.replicas) || self.Chief.replicas <= 1",message="Chief replicas must be at most 1"
	// +kubebuilder:validation:XValidation:rule="!has(self.Master) || !has(self.Master.replicas) || self.Master.replicas <= 1",message="Master replicas must be at most 1"
	// +kubebuilder:validation:XValidation:rule="!(has(self.Chief) && has(self.Master))",message="use either Chief or Master, not both"
	TFReplicaSpecs map[ReplicaType]*ReplicaSpec `json:"tfReplicaSpecs"`
}

// +kubebuilder:object:root=true

// TFJobList is a list of TFJobs.
type TFJobList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []TFJob `json:"items"`
}

func init() {
	SchemeBuilder.Register(&TFJob{}, &TFJobList{})
}

// SuccessPolicy of a TFJob.
type SuccessPolicy string

// Success policies.
const (
	SuccessPolicyDefault    SuccessPolicy = ""
	SuccessPolicyAllWorkers SuccessPolicy = "AllWorkers"
)
