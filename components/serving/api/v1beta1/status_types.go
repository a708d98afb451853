package v1beta1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// InferenceServiceStatus is what kfup observed of an InferenceService, shaped as KServe's
// (Knative's duck-typed status: observedGeneration, conditions, annotations).
//
// +kubebuilder:pruning:PreserveUnknownFields
type InferenceServiceStatus struct {
	// ObservedGeneration is the generation the status is about.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Conditions are PredictorReady, TransformerReady, ExplainerReady, IngressReady
	// and Ready.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=32
	Conditions []Condition `json:"conditions,omitempty"`
	// Annotations are extra status data.
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
	// Address is where the InferenceService is reached inside the cluster.
	// +optional
	Address *Addressable `json:"address,omitempty"`
	// URL is the InferenceService's URL.
	// +optional
	URL string `json:"url,omitempty"`
	// Components is the status of each component (predictor, transformer, explainer).
	// +optional
	Components map[ComponentType]ComponentStatusSpec `json:"components,omitempty"`
	// ModelStatus is the state of the predictor's model.
	// +optional
	ModelStatus ModelStatus `json:"modelStatus,omitempty"`
	// DeploymentMode is the mode the InferenceService was deployed in (RawDeployment,
	// Serverless).
	// +optional
	DeploymentMode string `json:"deploymentMode,omitempty"`
	// ServingRuntimeName is the namespace ServingRuntime chosen for the predictor.
	// +optional
	ServingRuntimeName string `json:"servingRuntimeName,omitempty"`
	// ClusterServingRuntimeName is the ClusterServingRuntime chosen for the predictor.
	// +optional
	ClusterServingRuntimeName string `json:"clusterServingRuntimeName,omitempty"`
}

// ConditionType is a kind of condition.
type ConditionType string

// The condition types kfup sets, as KServe's.
const (
	// Ready is true when every component and the ingress are ready.
	Ready ConditionType = "Ready"
	// PredictorReady is true when the predictor's pods are available.
	PredictorReady ConditionType = "PredictorReady"
	// TransformerReady is true when the transformer's pods are available.
	TransformerReady ConditionType = "TransformerReady"
	// ExplainerReady is true when the explainer's pods are available.
	ExplainerReady ConditionType = "ExplainerReady"
	// IngressReady is true when the InferenceService is reachable at its address.
	IngressReady ConditionType = "IngressReady"
)

// ConditionSeverity is how bad a false condition is: "" (Error), Warning or Info.
type ConditionSeverity string

// Condition is a Knative-style condition (apis.Condition).
type Condition struct {
	// Type of the condition.
	Type ConditionType `json:"type"`
	// Status is True, False or Unknown.
	Status corev1.ConditionStatus `json:"status"`
	// Severity of a false condition.
	// +optional
	Severity ConditionSeverity `json:"severity,omitempty"`
	// LastTransitionTime is when Status last changed.
	// +optional
	LastTransitionTime metav1.Time `json:"lastTransitionTime,omitempty"`
	// Reason is a CamelCase word saying why.
	// +optional
	Reason string `json:"reason,omitempty"`
	// Message says what happened and what to do.
	// +optional
	Message string `json:"message,omitempty"`
}

// Addressable is an address inside the cluster.
type Addressable struct {
	// Name of the address.
	// +optional
	Name *string `json:"name,omitempty"`
	// URL of the address.
	// +optional
	URL string `json:"url,omitempty"`
	// CACerts is the PEM of the address's CA.
	// +optional
	CACerts *string `json:"CACerts,omitempty"`
	// Audience of the address's tokens.
	// +optional
	Audience *string `json:"audience,omitempty"`
}

// ComponentType is predictor, transformer or explainer.
type ComponentType string

// The components.
const (
	PredictorComponent   ComponentType = "predictor"
	TransformerComponent ComponentType = "transformer"
	ExplainerComponent   ComponentType = "explainer"
)

// ComponentStatusSpec is the status of one component.
type ComponentStatusSpec struct {
	// LatestReadyRevision is the latest revision that became ready.
	// +optional
	LatestReadyRevision string `json:"latestReadyRevision,omitempty"`
	// LatestCreatedRevision is the latest revision created.
	// +optional
	LatestCreatedRevision string `json:"latestCreatedRevision,omitempty"`
	// PreviousRolledoutRevision is the revision that had all traffic before the latest.
	// +optional
	PreviousRolledoutRevision string `json:"previousRolledoutRevision,omitempty"`
	// LatestRolledoutRevision is the latest revision with all traffic.
	// +optional
	LatestRolledoutRevision string `json:"latestRolledoutRevision,omitempty"`
	// Traffic is the split between revisions.
	// +optional
	// +kubebuilder:validation:MaxItems=16
	Traffic []TrafficTarget `json:"traffic,omitempty"`
	// URL is the component's URL.
	// +optional
	URL string `json:"url,omitempty"`
	// RestURL is the component's REST URL.
	// +optional
	RestURL string `json:"restUrl,omitempty"`
	// GrpcURL is the component's gRPC URL.
	// +optional
	GrpcURL string `json:"grpcUrl,omitempty"`
	// Address is where the component is reached inside the cluster.
	// +optional
	Address *Addressable `json:"address,omitempty"`
}

// TrafficTarget is one revision's share of a component's traffic (Knative's).
type TrafficTarget struct {
	// Tag names the target (prev, latest).
	// +optional
	Tag string `json:"tag,omitempty"`
	// RevisionName is the revision.
	// +optional
	RevisionName string `json:"revisionName,omitempty"`
	// ConfigurationName is the configuration whose latest revision is meant.
	// +optional
	ConfigurationName string `json:"configurationName,omitempty"`
	// LatestRevision is true for the latest ready revision.
	// +optional
	LatestRevision *bool `json:"latestRevision,omitempty"`
	// Percent of the traffic.
	// +optional
	Percent *int64 `json:"percent,omitempty"`
	// URL reaches the target alone.
	// +optional
	URL string `json:"url,omitempty"`
}

// TransitionStatus is where a model is in its rollout.
// +kubebuilder:validation:Enum="";UpToDate;InProgress;BlockedByFailedLoad;InvalidSpec
type TransitionStatus string

// The transition states.
const (
	UpToDate            TransitionStatus = "UpToDate"
	InProgress          TransitionStatus = "InProgress"
	BlockedByFailedLoad TransitionStatus = "BlockedByFailedLoad"
	InvalidSpec         TransitionStatus = "InvalidSpec"
)

// ModelState is the state of a model's copies.
// +kubebuilder:validation:Enum="";Pending;Standby;Loading;Loaded;FailedToLoad
type ModelState string

// The model states.
const (
	Pending      ModelState = "Pending"
	Standby      ModelState = "Standby"
	Loading      ModelState = "Loading"
	Loaded       ModelState = "Loaded"
	FailedToLoad ModelState = "FailedToLoad"
)

// FailureReason says why a model failed.
type FailureReason string

// The failure reasons kfup sets, as KServe's.
const (
	ModelLoadFailed      FailureReason = "ModelLoadFailed"
	RuntimeUnhealthy     FailureReason = "RuntimeUnhealthy"
	RuntimeDisabled      FailureReason = "RuntimeDisabled"
	NoSupportingRuntime  FailureReason = "NoSupportingRuntime"
	RuntimeNotRecognized FailureReason = "RuntimeNotRecognized"
	InvalidPredictorSpec FailureReason = "InvalidPredictorSpec"
)

// ModelStatus is the state of the predictor's model.
type ModelStatus struct {
	// TransitionStatus is where the model is in its rollout.
	// +kubebuilder:default=UpToDate
	TransitionStatus TransitionStatus `json:"transitionStatus"`
	// ModelRevisionStates are the active and target model states.
	// +optional
	ModelRevisionStates *ModelRevisionStates `json:"states,omitempty"`
	// LastFailureInfo is the last failure.
	// +optional
	LastFailureInfo *FailureInfo `json:"lastFailureInfo,omitempty"`
	// ModelCopies counts the model's copies.
	// +optional
	ModelCopies *ModelCopies `json:"copies,omitempty"`
}

// ModelRevisionStates are the active and target model states.
type ModelRevisionStates struct {
	// ActiveModelState is the state of the model serving now.
	// +kubebuilder:default=Pending
	ActiveModelState ModelState `json:"activeModelState"`
	// TargetModelState is the state of the model being rolled out.
	// +optional
	TargetModelState ModelState `json:"targetModelState,omitempty"`
}

// ModelCopies counts a model's copies.
type ModelCopies struct {
	// FailedCopies failed to load.
	FailedCopies int `json:"failedCopies"`
	// TotalCopies is every copy.
	// +optional
	TotalCopies int `json:"totalCopies,omitempty"`
}

// FailureInfo is a model's last failure.
type FailureInfo struct {
	// Location of the failure (a pod's name).
	// +optional
	Location string `json:"location,omitempty"`
	// Reason is a FailureReason.
	// +optional
	Reason FailureReason `json:"reason,omitempty"`
	// Message says what failed.
	// +optional
	Message string `json:"message,omitempty"`
	// ModelRevisionName is the revision that failed.
	// +optional
	ModelRevisionName string `json:"modelRevisionName,omitempty"`
	// Time of the failure.
	// +optional
	Time *metav1.Time `json:"time,omitempty"`
	// ExitCode of the failed container.
	// +optional
	ExitCode int32 `json:"exitCode,omitempty"`
}
