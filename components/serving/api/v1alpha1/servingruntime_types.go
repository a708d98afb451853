package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The kinds of this package.
const (
	ServingRuntimeKind        = "ServingRuntime"
	ClusterServingRuntimeKind = "ClusterServingRuntime"
)

// ServingRuntime is a model server an InferenceService in its namespace may run.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Disabled",type="boolean",JSONPath=".spec.disabled"
// +kubebuilder:printcolumn:name="ModelType",type="string",JSONPath=".spec.supportedModelFormats[*].name"
// +kubebuilder:printcolumn:name="Containers",type="string",JSONPath=".spec.containers[*].name"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"
type ServingRuntime struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +optional
	Spec ServingRuntimeSpec `json:"spec,omitempty"`
	// +optional
	Status ServingRuntimeStatus `json:"status,omitempty"`
}

// ServingRuntimeList is a list of ServingRuntimes.
//
// +kubebuilder:object:root=true
type ServingRuntimeList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ServingRuntime `json:"items"`
}

// ClusterServingRuntime is a model server an InferenceService in any namespace may run.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Disabled",type="boolean",JSONPath=".spec.disabled"
// +kubebuilder:printcolumn:name="ModelType",type="string",JSONPath=".spec.supportedModelFormats[*].name"
// +kubebuilder:printcolumn:name="Containers",type="string",JSONPath=".spec.containers[*].name"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"
type ClusterServingRuntime struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +optional
	Spec ServingRuntimeSpec `json:"spec,omitempty"`
	// +optional
	Status ServingRuntimeStatus `json:"status,omitempty"`
}

// ClusterServingRuntimeList is a list of ClusterServingRuntimes.
//
// +kubebuilder:object:root=true
type ClusterServingRuntimeList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterServingRuntime `json:"items"`
}

func init() {
	SchemeBuilder.Register(&ServingRuntime{}, &ServingRuntimeList{},
		&ClusterServingRuntime{}, &ClusterServingRuntimeList{})
}

// ServingRuntimeStatus is empty, as KServe's.
type ServingRuntimeStatus struct{}

// SupportedModelFormat is a model format a runtime serves.
type SupportedModelFormat struct {
	// Name of the format.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Name string `json:"name"`
	// Version of the format ("major", "major.minor", ...).
	// +optional
	Version *string `json:"version,omitempty"`
	// AutoSelect lets the runtime be chosen for a model of this format that names no
	// runtime.
	// +optional
	AutoSelect *bool `json:"autoSelect,omitempty"`
	// Priority orders the runtimes that auto-select a format (higher first); it
	// applies only with autoSelect.
	// +optional
	// +kubebuilder:validation:Minimum=1
	Priority *int32 `json:"priority,omitempty"`
}

// ServingRuntimeSpec is a model server: the formats and protocols it serves and its pod.
type ServingRuntimeSpec struct {
	// SupportedModelFormats are the formats (and versions) served.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	SupportedModelFormats []SupportedModelFormat `json:"supportedModelFormats,omitempty"`
	// MultiModel is true for a ModelMesh runtime (not served by kfup).
	// +optional
	MultiModel *bool `json:"multiModel,omitempty"`
	// Disabled keeps the runtime from being used.
	// +optional
	Disabled *bool `json:"disabled,omitempty"`
	// ProtocolVersions are the protocols served (v1, v2, grpc-v1, grpc-v2); none: any.
	// +optional
	// +kubebuilder:validation:MaxItems=8
	ProtocolVersions []string `json:"protocolVersions,omitempty"`
	// WorkerSpec configures multi-node serving (not served by kfup yet).
	// +optional
	WorkerSpec *WorkerSpec `json:"workerSpec,omitempty"`

	ServingRuntimePodSpec `json:",inline"`

	// GrpcMultiModelManagementEndpoint is ModelMesh's model-management endpoint.
	// +optional
	GrpcMultiModelManagementEndpoint *string `json:"grpcEndpoint,omitempty"`
	// GrpcDataEndpoint is the gRPC inference endpoint.
	// +optional
	GrpcDataEndpoint *string `json:"grpcDataEndpoint,omitempty"`
	// HTTPDataEndpoint is the HTTP inference endpoint.
	// +optional
	HTTPDataEndpoint *string `json:"httpDataEndpoint,omitempty"`
	// Replicas of a ModelMesh runtime's Deployment.
	// +optional
	Replicas *uint16 `json:"replicas,omitempty"`
	// StorageHelper configures the model puller.
	// +optional
	StorageHelper *StorageHelper `json:"storageHelper,omitempty"`
	// BuiltInAdapter is ModelMesh's adapter for the runtime.
	// +optional
	BuiltInAdapter *BuiltInAdapter `json:"builtInAdapter,omitempty"`
}

// ServingRuntimePodSpec is the runtime's pod: its containers and scheduling.
type ServingRuntimePodSpec struct {
	// Containers of the model server; the one named kserve-container (or the first)
	// serves the model.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	Containers []corev1.Container `json:"containers"`
	// Volumes of the pod.
	// +optional
	Volumes []corev1.Volume `json:"volumes,omitempty"`
	// NodeSelector must match the pod's node.
	// +optional
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`
	// Affinity is the pod's scheduling constraints.
	// +optional
	Affinity *corev1.Affinity `json:"affinity,omitempty"`
	// Tolerations of the pod.
	// +optional
	Tolerations []corev1.Toleration `json:"tolerations,omitempty"`
	// Labels added to the pod.
	// +optional
	Labels map[string]string `json:"labels,omitempty"`
	// Annotations added to the pod.
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
	// ImagePullSecrets pull the runtime's images.
	// +optional
	ImagePullSecrets []corev1.LocalObjectReference `json:"imagePullSecrets,omitempty"`
	// HostIPC shares the host's IPC namespace.
	// +optional
	HostIPC bool `json:"hostIPC,omitempty"`
	// SchedulerName schedules the pod.
	// +optional
	SchedulerName string `json:"schedulerName,omitempty"`
	// ResourceClaims the pod needs allocated (DRA).
	// +optional
	// +listType=map
	// +listMapKey=name
	ResourceClaims []corev1.PodResourceClaim `json:"resourceClaims,omitempty"`
}

// WorkerSpec is a multi-node runtime's worker pod.
type WorkerSpec struct {
	ServingRuntimePodSpec `json:",inline"`
	// PipelineParallelSize is the number of workers.
	// +optional
	PipelineParallelSize *int `json:"pipelineParallelSize,omitempty"`
	// TensorParallelSize is the number of GPUs per node.
	// +optional
	TensorParallelSize *int `json:"tensorParallelSize,omitempty"`
}

// StorageHelper configures the model puller.
type StorageHelper struct {
	// Disabled turns it off.
	// +optional
	Disabled bool `json:"disabled,omitempty"`
}

// ServerType is a ModelMesh built-in server: triton, mlserver, ovms.
type ServerType string

// BuiltInAdapter is ModelMesh's adapter for a runtime.
type BuiltInAdapter struct {
	// ServerType is the built-in server.
	// +optional
	ServerType ServerType `json:"serverType,omitempty"`
	// RuntimeManagementPort is the server's model-management port.
	// +optional
	RuntimeManagementPort int `json:"runtimeManagementPort,omitempty"`
	// MemBufferBytes is memory not counted as model capacity.
	// +optional
	MemBufferBytes int `json:"memBufferBytes,omitempty"`
	// ModelLoadingTimeoutMillis bounds model loading.
	// +optional
	ModelLoadingTimeoutMillis int `json:"modelLoadingTimeoutMillis,omitempty"`
	// Env of the adapter.
	// +optional
	Env []corev1.EnvVar `json:"env,omitempty"`
}
