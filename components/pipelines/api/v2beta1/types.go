package v2beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// PipelineSpec describes a pipeline; its versions carry the IR.
type PipelineSpec struct {
	// DisplayName is the name shown to people; the object's name when empty.
	// +kubebuilder:validation:MaxLength=256
	// +optional
	DisplayName string `json:"displayName,omitempty"`
	// Description says what the pipeline does.
	// +kubebuilder:validation:MaxLength=4096
	// +optional
	Description string `json:"description,omitempty"`
}

// PipelineStatus is a Pipeline's observed state.
type PipelineStatus struct {
	// Conditions: Ready when the pipeline is usable.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=8
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// Pipeline is a named pipeline, whose PipelineVersions hold its compiled IR.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:path=pipelines,scope=Namespaced,categories=all;kubeflow
// +kubebuilder:printcolumn:name="Display Name",type=string,JSONPath=`.spec.displayName`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Pipeline struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +optional
	Spec PipelineSpec `json:"spec,omitempty"`
	// +optional
	Status PipelineStatus `json:"status,omitempty"`
}

// PipelineList is a list of Pipelines.
//
// +kubebuilder:object:root=true
type PipelineList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Pipeline `json:"items"`
}

// PipelineVersionSpec is one version of a pipeline: its compiled IR.
type PipelineVersionSpec struct {
	// DisplayName is the name shown to people; the object's name when empty.
	// +kubebuilder:validation:MaxLength=256
	// +optional
	DisplayName string `json:"displayName,omitempty"`
	// Description says what changed in this version.
	// +kubebuilder:validation:MaxLength=4096
	// +optional
	Description string `json:"description,omitempty"`
	// CodeSourceURL points at the code the version was compiled from.
	// +kubebuilder:validation:MaxLength=2048
	// +optional
	CodeSourceURL string `json:"codeSourceURL,omitempty"`
	// PipelineName names the Pipeline (in the same namespace) this is a version of.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="pipelineName is immutable"
	PipelineName string `json:"pipelineName"`
	// PipelineSpec is the compiled pipeline: the first document of the YAML kfp.compiler
	// writes (pipelineInfo, root, components, deploymentSpec, schemaVersion, ...).
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Type=object
	PipelineSpec runtime.RawExtension `json:"pipelineSpec"`
	// PlatformSpec is the kfp-kubernetes platform spec: the second YAML document, when
	// there is one (platforms.kubernetes...).
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Type=object
	// +optional
	PlatformSpec *runtime.RawExtension `json:"platformSpec,omitempty"`
}

// PipelineVersionStatus is a PipelineVersion's observed state.
type PipelineVersionStatus struct {
	// Conditions: Ready when the IR parsed and validated; otherwise its reason and the
	// problems found.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=8
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// PipelineVersion is a version of a Pipeline: its compiled IR, immutable once created.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:path=pipelineversions,scope=Namespaced,categories=all;kubeflow
// +kubebuilder:printcolumn:name="Pipeline",type=string,JSONPath=`.spec.pipelineName`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.spec) || self.spec.pipelineSpec == oldSelf.spec.pipelineSpec",message="a pipeline version's pipelineSpec is immutable: create a new version"
type PipelineVersion struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec PipelineVersionSpec `json:"spec"`
	// +optional
	Status PipelineVersionStatus `json:"status,omitempty"`
}

// PipelineVersionList is a list of PipelineVersions.
//
// +kubebuilder:object:root=true
type PipelineVersionList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []PipelineVersion `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Pipeline{}, &PipelineList{}, &PipelineVersion{}, &PipelineVersionList{})
}
