package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// InferenceServiceKind is the kind of InferenceService.
const InferenceServiceKind = "InferenceService"

// InferenceService serves a model behind a URL: a predictor, optionally fronted by a
// transformer and accompanied by an explainer.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=isvc
// +kubebuilder:printcolumn:name="URL",type="string",JSONPath=".status.url"
// +kubebuilder:printcolumn:name="Ready",type="string",JSONPath=".status.conditions[?(@.type=='Ready')].status"
// +kubebuilder:printcolumn:name="Prev",type="integer",JSONPath=".status.components.predictor.traffic[?(@.tag=='prev')].percent"
// +kubebuilder:printcolumn:name="Latest",type="integer",JSONPath=".status.components.predictor.traffic[?(@.latestRevision==true)].percent"
// +kubebuilder:printcolumn:name="PrevRolledoutRevision",type="string",JSONPath=".status.components.predictor.traffic[?(@.tag=='prev')].revisionName"
// +kubebuilder:printcolumn:name="LatestReadyRevision",type="string",JSONPath=".status.components.predictor.traffic[?(@.latestRevision==true)].revisionName"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:validation:XValidation:rule="self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')",message="metadata.name must start with a lower-case letter and hold only lower-case letters, digits and '-' (KServe's rule: it becomes a host name)"
// +kubebuilder:validation:XValidation:rule="size(self.metadata.name) <= 51",message="metadata.name must be at most 51 characters: kfup names the component services <name>-transformer (63 at most)"
type InferenceService struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +optional
	Spec InferenceServiceSpec `json:"spec,omitempty"`
	// +optional
	Status InferenceServiceStatus `json:"status,omitempty"`
}

// InferenceServiceList is a list of InferenceServices.
//
// +kubebuilder:object:root=true
type InferenceServiceList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []InferenceService `json:"items"`
}

func init() {
	SchemeBuilder.Register(&InferenceService{}, &InferenceServiceList{})
}

// InferenceServiceSpec is the components of an InferenceService.
type InferenceServiceSpec struct {
	// Predictor serves the model (required).
	Predictor PredictorSpec `json:"predictor"`
	// Explainer explains the predictor's answers.
	// +optional
	Explainer *ExplainerSpec `json:"explainer,omitempty"`
	// Transformer pre- and post-processes requests in front of the predictor.
	// +optional
	Transformer *TransformerSpec `json:"transformer,omitempty"`
}

// PredictorSpec configures the predictor: at most one framework field (or model), and
// optionally containers (a custom predictor, or a transformer collocated with the
// model's container).
//
// +kubebuilder:validation:XValidation:rule="[has(self.sklearn), has(self.xgboost), has(self.tensorflow), has(self.pytorch), has(self.triton), has(self.onnx), has(self.huggingface), has(self.pmml), has(self.lightgbm), has(self.paddle), has(self.model)].filter(x, x).size() <= 1",message="set at most one of model, sklearn, xgboost, tensorflow, pytorch, triton, onnx, huggingface, pmml, lightgbm, paddle"
type PredictorSpec struct {
	// SKLearn serves a scikit-learn model (becomes model.modelFormat.name sklearn).
	// +optional
	SKLearn *PredictorExtensionSpec `json:"sklearn,omitempty"`
	// XGBoost serves an XGBoost model.
	// +optional
	XGBoost *PredictorExtensionSpec `json:"xgboost,omitempty"`
	// Tensorflow serves a TensorFlow SavedModel.
	// +optional
	Tensorflow *PredictorExtensionSpec `json:"tensorflow,omitempty"`
	// PyTorch serves a TorchServe model archive.
	// +optional
	PyTorch *PredictorExtensionSpec `json:"pytorch,omitempty"`
	// Triton serves with Triton Inference Server (protocol v2 by default).
	// +optional
	Triton *PredictorExtensionSpec `json:"triton,omitempty"`
	// ONNX serves an ONNX model (protocol v2 by default).
	// +optional
	ONNX *PredictorExtensionSpec `json:"onnx,omitempty"`
	// HuggingFace serves a Hugging Face model (protocol v2 by default).
	// +optional
	HuggingFace *PredictorExtensionSpec `json:"huggingface,omitempty"`
	// PMML serves a PMML model.
	// +optional
	PMML *PredictorExtensionSpec `json:"pmml,omitempty"`
	// LightGBM serves a LightGBM model.
	// +optional
	LightGBM *PredictorExtensionSpec `json:"lightgbm,omitempty"`
	// Paddle serves a PaddlePaddle model.
	// +optional
	Paddle *PredictorExtensionSpec `json:"paddle,omitempty"`
	// Model serves a model of any format with the runtime chosen for it.
	// +optional
	Model *ModelSpec `json:"model,omitempty"`
	// StorageUris are further locations mounted into the pod.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	StorageUris []StorageURI `json:"storageUris,omitempty"`
	// StorageContainerName names the ClusterStorageContainer that downloads the model.
	// +optional
	StorageContainerName *string `json:"storageContainerName,omitempty"`
	// WorkerSpec configures multi-node serving (not served by kfup yet).
	// +optional
	WorkerSpec *WorkerSpec `json:"workerSpec,omitempty"`

	PodSpec                `json:",inline"`
	ComponentExtensionSpec `json:",inline"`
}

// StorageURI is one more location of model files and where it is mounted.
type StorageURI struct {
	// URI is the location.
	// +kubebuilder:validation:MinLength=1
	URI string `json:"uri"`
	// MountPath is where it is mounted (/mnt/models by default).
	// +optional
	// +kubebuilder:default="/mnt/models"
	// +kubebuilder:validation:Pattern="^/.*"
	// +kubebuilder:validation:MaxLength=255
	MountPath string `json:"mountPath"`
}

// WorkerSpec is the pod of a multi-node predictor's workers.
type WorkerSpec struct {
	PodSpec `json:",inline"`
	// PipelineParallelSize is the number of workers.
	// +optional
	PipelineParallelSize *int `json:"pipelineParallelSize,omitempty"`
	// TensorParallelSize is the number of GPUs per node.
	// +optional
	TensorParallelSize *int `json:"tensorParallelSize,omitempty"`
}

// InferenceServiceProtocol is a protocol a model is served with: v1, v2, grpc-v1, grpc-v2.
type InferenceServiceProtocol string

// The protocols.
const (
	ProtocolV1     InferenceServiceProtocol = "v1"
	ProtocolV2     InferenceServiceProtocol = "v2"
	ProtocolGRPCV1 InferenceServiceProtocol = "grpc-v1"
	ProtocolGRPCV2 InferenceServiceProtocol = "grpc-v2"
)

// PredictorExtensionSpec is what every framework field takes: where the model is, the
// protocol, and overrides of the model server's container.
type PredictorExtensionSpec struct {
	// StorageURI is where the model is (pvc://claim/path, gs://, s3://, https://, ...).
	// +optional
	StorageURI *string `json:"storageUri,omitempty"`
	// RuntimeVersion is the model server image's tag.
	// +optional
	RuntimeVersion *string `json:"runtimeVersion,omitempty"`
	// ProtocolVersion is the protocol to serve (v1 by default; v2 for triton, onnx,
	// huggingface).
	// +optional
	ProtocolVersion *InferenceServiceProtocol `json:"protocolVersion,omitempty"`
	// Storage locates the model by a storage key instead of a URI.
	// +optional
	Storage *ModelStorageSpec `json:"storage,omitempty"`
	// Confidential serves encrypted model artifacts (not served by kfup yet).
	// +optional
	Confidential *ConfidentialSpec `json:"confidential,omitempty"`

	// Container overrides fields of the model server's container.
	Container `json:",inline"`
}

// ModelStorageSpec locates a model through a storage configuration.
type ModelStorageSpec struct {
	StorageSpec `json:",inline"`
	// SchemaPath is the path of the model's schema file.
	// +optional
	SchemaPath *string `json:"schemaPath,omitempty"`
}

// StorageSpec is a path in a storage named by a key of the storage-config secret.
type StorageSpec struct {
	// Path is the path in the storage.
	// +optional
	Path *string `json:"path,omitempty"`
	// Parameters override the storage configuration.
	// +optional
	Parameters *map[string]string `json:"parameters,omitempty"`
	// StorageKey is the key in the storage-config secret.
	// +optional
	StorageKey *string `json:"key,omitempty"`
}

// ConfidentialSpec enables decryption of encrypted model artifacts.
type ConfidentialSpec struct {
	// Enabled turns it on.
	Enabled bool `json:"enabled"`
	// ResourceID is the key broker's resource of the decryption key.
	// +optional
	ResourceID *string `json:"resourceId,omitempty"`
}

// ModelFormat is a model's format and, optionally, its version.
type ModelFormat struct {
	// Name of the format (sklearn, xgboost, tensorflow, ...).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Name string `json:"name"`
	// Version of the format: "major", "major.minor" or "major.minor.patch".
	// +optional
	Version *string `json:"version,omitempty"`
}

// ModelSpec is a model of any format, served by the runtime named or chosen for it.
type ModelSpec struct {
	// ModelFormat is the format being served.
	ModelFormat ModelFormat `json:"modelFormat"`
	// Runtime names the ServingRuntime or ClusterServingRuntime to use; unset, one is
	// chosen by format, version and protocol.
	// +optional
	Runtime *string `json:"runtime,omitempty"`

	PredictorExtensionSpec `json:",inline"`
}

// TransformerSpec is a custom transformer's pod.
type TransformerSpec struct {
	PodSpec                `json:",inline"`
	ComponentExtensionSpec `json:",inline"`
	// StorageUris are locations mounted into the pod.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	StorageUris []StorageURI `json:"storageUris,omitempty"`
}

// ExplainerSpec is an explainer: ART, or a custom pod.
type ExplainerSpec struct {
	// ART is the Adversarial Robustness Toolbox explainer.
	// +optional
	ART *ARTExplainerSpec `json:"art,omitempty"`

	PodSpec                `json:",inline"`
	ComponentExtensionSpec `json:",inline"`
	// StorageUris are locations mounted into the pod.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	StorageUris []StorageURI `json:"storageUris,omitempty"`
}

// ARTExplainerType is the kind of ART explanation.
type ARTExplainerType string

// ARTExplainerSpec configures the ART explainer.
type ARTExplainerSpec struct {
	// Type is the explanation method (SquareAttack).
	Type ARTExplainerType `json:"type"`

	ExplainerExtensionSpec `json:",inline"`
}

// ExplainerExtensionSpec is what every explainer takes.
type ExplainerExtensionSpec struct {
	// StorageURI is where the explanation model is.
	// +optional
	StorageURI string `json:"storageUri,omitempty"`
	// RuntimeVersion is the explainer image's tag.
	// +optional
	RuntimeVersion *string `json:"runtimeVersion,omitempty"`
	// Config holds the explainer's parameters.
	// +optional
	Config map[string]string `json:"config,omitempty"`
	// Storage locates the model by a storage key instead of a URI.
	// +optional
	Storage *ModelStorageSpec `json:"storage,omitempty"`

	// Container overrides fields of the explainer's container.
	Container `json:",inline"`
}
