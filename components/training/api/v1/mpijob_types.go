package v1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	// MPIJobKind is the kind name.
	MPIJobKind = "MPIJob"
	// MPIJobDefaultContainerName is the container the framework runs in.
	MPIJobDefaultContainerName = "mpi"
	// MPIJobReplicaTypeLauncher is the Launcher replica type of a MPIJob.
	MPIJobReplicaTypeLauncher ReplicaType = "Launcher"
	// MPIJobReplicaTypeWorker is the Worker replica type of a MPIJob.
	MPIJobReplicaTypeWorker ReplicaType = "Worker"
)

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:path=mpijobs,scope=Namespaced
// +kubebuilder:printcolumn:name="State",type=string,JSONPath=`.status.conditions[-1:].type`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')",message="name must be a DNS-1035 label (lowercase letters, digits, '-', starting with a letter): pods and services are named after it"
// +kubebuilder:validation:XValidation:rule="self.metadata.name.size() <= 52",message="name must be at most 52 characters: the names of the job's pods, ConfigMap and RBAC (<name>-worker-999, <name>-launcher, <name>-config) must fit in 63"

// MPIJob is a distributed mpi training job.
type MPIJob struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the desired state of the job.
	Spec MPIJobSpec `json:"spec,omitempty"`
	// Status is the observed state of the job.
	Status JobStatus `json:"status,omitempty"`
}

// MPIJobSpec is the desired state of a MPIJob.
type MPIJobSpec struct {
	// RunPolicy holds the job's run-time policies.
	// +kubebuilder:validation:Optional
	RunPolicy RunPolicy `json:"runPolicy"`

	// SlotsPerWorker is the number of MPI slots (processes) per worker; default 1, at most
	// 1024 (MaxSlotsPerWorker).
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1024
	// +optional
	SlotsPerWorker *int32 `json:"slotsPerWorker,omitempty"`

	// CleanPodPolicy is the deprecated place of runPolicy.cleanPodPolicy; it wins when set.
	// +optional
	CleanPodPolicy *CleanPodPolicy `json:"cleanPodPolicy,omitempty"`

	// MainContainer names the container that runs MPI in launcher and worker pods;
	// default "mpi". It is a container name, a DNS-1123 label (kubexec.sh passes it to
	// kubectl exec --container).
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +optional
	MainContainer string `json:"mainContainer,omitempty"`

	// MPIReplicaSpecs maps each replica type (Launcher, Worker) to its spec.
	// +kubebuilder:validation:MinProperties=1
	// +kubebuilder:validation:MaxProperties=5
	// +kubebuilder:validation:XValidation:rule="self.all(k, k in ['Launcher', 'Worker'])",message="replica types of a MPIJob are Launcher, Worker"
	// +kubebuilder:validation:XValidation:rule="has(self.Launcher)",message="an MPIJob needs a Launcher replica"
	// +kubebuilder:validation:XValidation:rule="!has(self.Launcher) || !has(self.Launcher.replicas) || self.Launcher.replicas == 1",message="Launcher replicas must be 1"
	MPIReplicaSpecs map[ReplicaType]*ReplicaSpec `json:"mpiReplicaSpecs"`
}

// +kubebuilder:object:root=true

// MPIJobList is a list of MPIJobs.
type MPIJobList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []MPIJob `json:"items"`
}

func init() {
	SchemeBuilder.Register(&MPIJob{}, &MPIJobList{})
}
