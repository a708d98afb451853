package v1

import (
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	// PaddleJobKind is the kind name.
	PaddleJobKind = "PaddleJob"
	// PaddleJobDefaultContainerName is the container the framework runs in.
	PaddleJobDefaultContainerName = "paddle"
	// PaddleJobDefaultPortName names the port replicas talk on.
	PaddleJobDefaultPortName = "master"
	// PaddleJobDefaultPort is the port replicas talk on when the template names none.
	PaddleJobDefaultPort int32 = 36543
	// PaddleJobReplicaTypeMaster is the Master replica type of a PaddleJob.
	PaddleJobReplicaTypeMaster ReplicaType = "Master"
	// PaddleJobReplicaTypeWorker is the Worker replica type of a PaddleJob.
	PaddleJobReplicaTypeWorker ReplicaType = "Worker"
)

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:path=paddlejobs,scope=Namespaced
// +kubebuilder:printcolumn:name="State",type=string,JSONPath=`.status.conditions[-1:].type`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')",message="name must be a DNS-1035 label (lowercase letters, digits, '-', starting with a letter): pods and services are named after it"
// +kubebuilder:validation:XValidation:rule="self.metadata.name.size() <= 52",message="name must be at most 52 characters: the names of the job's pods and services (<name>-worker-999) must fit in 63"

// PaddleJob is a distributed paddle training job.
type PaddleJob struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the desired state of the job.
	Spec PaddleJobSpec `json:"spec,omitempty"`
	// Status is the observed state of the job.
	Status JobStatus `json:"status,omitempty"`
}

// PaddleJobSpec is the desired state of a PaddleJob.
type PaddleJobSpec struct {
	// RunPolicy holds the job's run-time policies.
	// +kubebuilder:validation:Optional
	RunPolicy RunPolicy `json:"runPolicy"`

	// ElasticPolicy turns on elastic training.
	// +optional
	ElasticPolicy *PaddleElasticPolicy `json:"elasticPolicy,omitempty"`

	// PaddleReplicaSpecs maps each replica type (Master, Worker) to its spec.
	// +kubebuilder:validation:MinProperties=1
	// +kubebuilder:validation:MaxProperties=5
	// +kubebuilder:validation:XValidation:rule="self.all(k, k in ['Master', 'Worker'])",message="replica types of a PaddleJob are Master, Worker"
	// +kubebuilder:validation:XValidation:rule="self.all(k, has(self[k].template.spec) && self[k].template.spec.containers.exists(c, c.name == 'paddle'))",message="every replica's pod template needs a container named 'paddle'"
	// +kubebuilder:validation:XValidation:rule="!has(self.Master) || !has(self.Master.replicas) || self.Master.replicas == 1",message="Master replicas must be 1"
	PaddleReplicaSpecs map[ReplicaType]*ReplicaSpec `json:"paddleReplicaSpecs"`
}

// +kubebuilder:object:root=true

// PaddleJobList is a list of PaddleJobs.
type PaddleJobList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []PaddleJob `json:"items"`
}

func init() {
	SchemeBuilder.Register(&PaddleJob{}, &PaddleJobList{})
}

// PaddleElasticPolicy configures elastic PaddlePaddle training.
// +kubebuilder:validation:XValidation:rule="!has(self.minReplicas) || !has(self.maxReplicas) || self.minReplicas <= self.maxReplicas",message="elasticPolicy.minReplicas must not exceed elasticPolicy.maxReplicas"
type PaddleElasticPolicy struct {
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
	// MaxRestarts bounds restarts of the elastic job.
	// +kubebuilder:validation:Minimum=0
	// +optional
	MaxRestarts *int32 `json:"maxRestarts,omitempty"`
	// Metrics drive a HorizontalPodAutoscaler of the workers; none creates no HPA.
	// +optional
	Metrics []autoscalingv2.MetricSpec `json:"metrics,omitempty"`
}
