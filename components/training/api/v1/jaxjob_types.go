package v1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	// JAXJobKind is the kind name.
	JAXJobKind = "JAXJob"
	// JAXJobDefaultContainerName is the container the framework runs in.
	JAXJobDefaultContainerName = "jax"
	// JAXJobDefaultPortName names the port replicas talk on.
	JAXJobDefaultPortName = "jaxjob-port"
	// JAXJobDefaultPort is the port replicas talk on when the template names none.
	JAXJobDefaultPort int32 = 6666
	// JAXJobReplicaTypeWorker is the Worker replica type of a JAXJob.
	JAXJobReplicaTypeWorker ReplicaType = "Worker"
)

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:path=jaxjobs,scope=Namespaced
// +kubebuilder:printcolumn:name="State",type=string,JSONPath=`.status.conditions[-1:].type`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')",message="name must be a DNS-1035 label (lowercase letters, digits, '-', starting with a letter): pods and services are named after it"
// +kubebuilder:validation:XValidation:rule="self.metadata.name.size() <= 52",message="name must be at most 52 characters: the names of the job's pods and services (<name>-worker-999) must fit in 63"

// JAXJob is a distributed jax training job.
type JAXJob struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the desired state of the job.
	Spec JAXJobSpec `json:"spec,omitempty"`
	// Status is the observed state of the job.
	Status JobStatus `json:"status,omitempty"`
}

// JAXJobSpec is the desired state of a JAXJob.
type JAXJobSpec struct {
	// RunPolicy holds the job's run-time policies.
	// +kubebuilder:validation:Optional
	RunPolicy RunPolicy `json:"runPolicy"`

	// JAXReplicaSpecs maps each replica type (Worker) to its spec.
	// +kubebuilder:validation:MinProperties=1
	// +kubebuilder:validation:MaxProperties=5
	// +kubebuilder:validation:XValidation:rule="self.all(k, k in ['Worker'])",message="replica types of a JAXJob are Worker"
	// +kubebuilder:validation:XValidation:rule="self.all(k, has(self[k].template.spec) && self[k].template.spec.containers.exists(c, c.name == 'jax'))",message="every replica's pod template needs a container named 'jax'"
	JAXReplicaSpecs map[ReplicaType]*ReplicaSpec `json:"jaxReplicaSpecs"`
}

// +kubebuilder:object:root=true

// JAXJobList is a list of JAXJobs.
type JAXJobList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []JAXJob `json:"items"`
}

func init() {
	SchemeBuilder.Register(&JAXJob{}, &JAXJobList{})
}
