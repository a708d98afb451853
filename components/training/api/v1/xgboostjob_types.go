package v1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	// XGBoostJobKind is the kind name.
	XGBoostJobKind = "XGBoostJob"
	// XGBoostJobDefaultContainerName is the container the framework runs in.
	XGBoostJobDefaultContainerName = "xgboost"
	// XGBoostJobDefaultPortName names the port replicas talk on.
	XGBoostJobDefaultPortName = "xgboostjob-port"
	// XGBoostJobDefaultPort is the port replicas talk on when the template names none.
	XGBoostJobDefaultPort int32 = 9999
	// XGBoostJobReplicaTypeMaster is the Master replica type of a XGBoostJob.
	XGBoostJobReplicaTypeMaster ReplicaType = "Master"
	// XGBoostJobReplicaTypeWorker is the Worker replica type of a XGBoostJob.
	XGBoostJobReplicaTypeWorker ReplicaType = "Worker"
)

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:path=xgboostjobs,scope=Namespaced
// +kubebuilder:printcolumn:name="State",type=string,JSONPath=`.status.conditions[-1:].type`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')",message="name must be a DNS-1035 label (lowercase letters, digits, '-', starting with a letter): pods and services are named after it"
// +kubebuilder:validation:XValidation:rule="self.metadata.name.size() <= 52",message="name must be at most 52 characters: the names of the job's pods and services (<name>-worker-999) must fit in 63"

// XGBoostJob is a distributed xgboost training job.
type XGBoostJob struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the desired state of the job.
	Spec XGBoostJobSpec `json:"spec,omitempty"`
	// Status is the observed state of the job.
	Status JobStatus `json:"status,omitempty"`
}

// XGBoostJobSpec is the desired state of a XGBoostJob.
type XGBoostJobSpec struct {
	// RunPolicy holds the job's run-time policies.
	// +kubebuilder:validation:Optional
	RunPolicy RunPolicy `json:"runPolicy"`

	// XGBReplicaSpecs maps each replica type (Master, Worker) to its spec.
	// +kubebuilder:validation:MinProperties=1
	// +kubebuilder:validation:MaxProperties=5
	// +kubebuilder:validation:XValidation:rule="self.all(k, k in ['Master', 'Worker'])",message="replica types of a XGBoostJob are Master, Worker"
	// +kubebuilder:validation:XValidation:rule="self.all(k, has(self[k].template.spec) && self[k].template.spec.containers.exists(c, c.name == 'xgboost'))",message="every replica's pod template needs a container named 'xgboost'"
	// +kubebuilder:validation:XValidation:rule="has(self.Master)",message="an XGBoostJob needs a Master replica"
	// +kubebuilder:validation:XValidation:rule="!has(self.Master) || !has(self.Master.replicas) || self.Master.replicas == 1",message="Master replicas must be 1"
	XGBReplicaSpecs map[ReplicaType]*ReplicaSpec `json:"xgbReplicaSpecs"`
}

// +kubebuilder:object:root=true

// XGBoostJobList is a list of XGBoostJobs.
type XGBoostJobList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []XGBoostJob `json:"items"`
}

func init() {
	SchemeBuilder.Register(&XGBoostJob{}, &XGBoostJobList{})
}
