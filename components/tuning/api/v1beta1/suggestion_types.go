package v1beta1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// SuggestionKind is the kind name of a Suggestion.
const SuggestionKind = "Suggestion"

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:path=suggestions,scope=Namespaced,categories=all;kubeflow;katib
// +kubebuilder:printcolumn:name="Type",type=string,JSONPath=`.status.conditions[-1:].type`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[-1:].status`
// +kubebuilder:printcolumn:name="Requested",type=string,JSONPath=`.spec.requests`
// +kubebuilder:printcolumn:name="Assigned",type=string,JSONPath=`.status.suggestionCount`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')",message="name must be a DNS-1035 label (lowercase letters, digits, '-', starting with a letter): a suggestion is named after its experiment"
// +kubebuilder:validation:XValidation:rule="self.metadata.name.size() <= 40",message="name must be at most 40 characters, as an experiment's: a suggestion is named after its experiment"

// Suggestion holds the parameter assignments an experiment's algorithm suggested: the
// experiment asks for more by raising spec.requests, the controller answers in
// status.suggestions. It is named after its experiment.
type Suggestion struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the desired state of the suggestion.
	Spec SuggestionSpec `json:"spec,omitempty"`
	// Status is the observed state of the suggestion.
	Status SuggestionStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// SuggestionList is a list of Suggestions.
type SuggestionList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the suggestions.
	Items []Suggestion `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Suggestion{}, &SuggestionList{})
}

// SuggestionSpec is the desired state of a Suggestion.
type SuggestionSpec struct {
	// Algorithm is the search algorithm (the experiment's).
	// +optional
	Algorithm *AlgorithmSpec `json:"algorithm,omitempty"`

	// EarlyStopping is the early-stopping algorithm (the experiment's).
	// +optional
	EarlyStopping *EarlyStoppingSpec `json:"earlyStopping,omitempty"`

	// Requests is how many assignments the experiment asked for in all; 0 to 10000
	// (MaxTrialCount).
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=10000
	// +optional
	Requests int32 `json:"requests,omitempty"`

	// ResumePolicy is the experiment's resume policy; Never by default.
	// +kubebuilder:default=Never
	// +optional
	ResumePolicy ResumePolicyType `json:"resumePolicy,omitempty"`
}

// SuggestionStatus is the observed state of a Suggestion.
type SuggestionStatus struct {
	// AlgorithmSettings are the algorithm's settings as the algorithm changed them
	// (they override the experiment's on the next request); empty when unchanged.
	// +listType=map
	// +listMapKey=name
	// +optional
	AlgorithmSettings []AlgorithmSetting `json:"algorithmSettings,omitempty"`

	// AlgorithmState is kfup's: the state an algorithm keeps between requests (enas's
	// controller: its weights, optimizer and random generator), base64; at most 786432
	// characters (MaxAlgorithmStateLength). Katib keeps it in its suggestion pod's memory.
	// +kubebuilder:validation:MaxLength=786432
	// +optional
	AlgorithmState string `json:"algorithmState,omitempty"`

	// SuggestionCount is the number of assignments made.
	// +optional
	SuggestionCount int32 `json:"suggestionCount,omitempty"`

	// Suggestions are the assignments made, one per trial.
	// +listType=map
	// +listMapKey=name
	// +optional
	Suggestions []TrialAssignment `json:"suggestions,omitempty"`

	// StartTime is when the controller first saw the suggestion.
	// +optional
	StartTime *metav1.Time `json:"startTime,omitempty"`

	// CompletionTime is when the suggestion finished.
	// +optional
	CompletionTime *metav1.Time `json:"completionTime,omitempty"`

	// LastReconcileTime is when the controller last reconciled the suggestion.
	// +optional
	LastReconcileTime *metav1.Time `json:"lastReconcileTime,omitempty"`

	// Conditions are the suggestion's conditions (Created, DeploymentReady, Running,
	// Succeeded, Failed).
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []SuggestionCondition `json:"conditions,omitempty"`
}

// TrialAssignment is one assignment of a suggestion: the parameters, early-stopping rules
// and labels of one trial.
type TrialAssignment struct {
	// ParameterAssignments are the trial's parameter values.
	// +listType=map
	// +listMapKey=name
	// +optional
	ParameterAssignments []ParameterAssignment `json:"parameterAssignments,omitempty"`

	// Name is the trial's name.
	// +required
	Name string `json:"name"`

	// EarlyStoppingRules stop the trial early when all of them hold.
	// +listType=map
	// +listMapKey=name
	// +optional
	EarlyStoppingRules []EarlyStoppingRule `json:"earlyStoppingRules,omitempty"`

	// Labels are put on the trial (e.g. a population-based training generation).
	// +optional
	Labels map[string]string `json:"labels,omitempty"`
}

// SuggestionCondition is one condition of a suggestion.
type SuggestionCondition struct {
	// Type is the condition's type.
	Type SuggestionConditionType `json:"type"`

	// Status is True, False or Unknown.
	Status corev1.ConditionStatus `json:"status"`

	// Reason is the condition's last transition's reason, in CamelCase.
	// +optional
	Reason string `json:"reason,omitempty"`

	// Message says what happened, for people.
	// +optional
	Message string `json:"message,omitempty"`

	// LastUpdateTime is when the condition was last updated.
	// +optional
	LastUpdateTime metav1.Time `json:"lastUpdateTime,omitempty"`

	// LastTransitionTime is when the condition last changed status.
	// +optional
	LastTransitionTime metav1.Time `json:"lastTransitionTime,omitempty"`
}

// SuggestionConditionType is the type of a suggestion condition.
type SuggestionConditionType string

// Suggestion condition types.
const (
	// SuggestionCreated is True once the controller accepted the suggestion.
	SuggestionCreated SuggestionConditionType = "Created"
	// SuggestionDeploymentReady is True once the algorithm is ready to answer.
	SuggestionDeploymentReady SuggestionConditionType = "DeploymentReady"
	// SuggestionRunning is True while the suggestion answers requests.
	SuggestionRunning SuggestionConditionType = "Running"
	// SuggestionSucceeded is True once the suggestion finished (its experiment did).
	SuggestionSucceeded SuggestionConditionType = "Succeeded"
	// SuggestionFailed is True once the algorithm failed (or has no more suggestions:
	// Katib marks the end of the search space so).
	SuggestionFailed SuggestionConditionType = "Failed"
)

// Reasons of suggestion conditions, as Katib writes them.
const (
	// SuggestionCreatedReason is the reason of the Created condition.
	SuggestionCreatedReason = "SuggestionCreated"
	// SuggestionDeploymentReadyReason is the reason of DeploymentReady when True.
	SuggestionDeploymentReadyReason = "DeploymentReady"
	// SuggestionDeploymentNotReadyReason is the reason of DeploymentReady when False.
	SuggestionDeploymentNotReadyReason = "DeploymentNotReady"
	// SuggestionRunningReason is the reason of the Running condition.
	SuggestionRunningReason = "SuggestionRunning"
	// SuggestionFailedReason is the reason of the Failed condition.
	SuggestionFailedReason = "SuggestionFailed"
)
