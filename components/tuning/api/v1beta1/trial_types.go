package v1beta1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TrialKind is the kind name of a Trial.
const TrialKind = "Trial"

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:path=trials,scope=Namespaced,categories=all;kubeflow;katib
// +kubebuilder:printcolumn:name="Type",type=string,JSONPath=`.status.conditions[-1:].type`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[-1:].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')",message="name must be a DNS-1035 label (lowercase letters, digits, '-', starting with a letter): the trial's run and its pods are named after it"
// +kubebuilder:validation:XValidation:rule="self.metadata.name.size() <= 49",message="name must be at most 49 characters: the children of the trial's run (<name>-evaluator-999 for a TFJob) must fit in 63"

// Trial is one run of an experiment's template with one assignment of its parameters,
// and the metrics that run reported.
type Trial struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the desired state of the trial.
	Spec TrialSpec `json:"spec,omitempty"`
	// Status is the observed state of the trial.
	Status TrialStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// TrialList is a list of Trials.
type TrialList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the trials.
	Items []Trial `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Trial{}, &TrialList{})
}

// TrialSpec is the desired state of a Trial.
type TrialSpec struct {
	// Objective is the experiment's objective.
	// +optional
	Objective *ObjectiveSpec `json:"objective,omitempty"`

	// ParameterAssignments are the trial's parameter values.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=100
	// +optional
	ParameterAssignments []ParameterAssignment `json:"parameterAssignments,omitempty"`

	// EarlyStoppingRules stop the trial early when all of them hold.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=100
	// +optional
	EarlyStoppingRules []EarlyStoppingRule `json:"earlyStoppingRules,omitempty"`

	// RunSpec is the run object, the experiment's template with the placeholders
	// replaced: any object with apiVersion and kind, created as written and run by its
	// own controller.
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:validation:Type=object
	// +kubebuilder:validation:EmbeddedResource
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	RunSpec *unstructured.Unstructured `json:"runSpec,omitempty"`

	// RetainRun keeps the run object after the trial finishes.
	// +optional
	RetainRun bool `json:"retainRun,omitempty"`

	// MetricsCollector says how the run's metrics are collected.
	// +optional
	MetricsCollector MetricsCollectorSpec `json:"metricsCollector,omitempty"`

	// PrimaryPodLabels select the pods of the run whose metrics are collected; unset,
	// every pod.
	// +kubebuilder:validation:MaxProperties=16
	// +optional
	PrimaryPodLabels map[string]string `json:"primaryPodLabels,omitempty"`

	// PrimaryContainerName is the container that trains.
	// +kubebuilder:validation:MaxLength=63
	// +optional
	PrimaryContainerName string `json:"primaryContainerName,omitempty"`

	// SuccessCondition is a GJSON path on the run object that matches when it succeeded.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	SuccessCondition string `json:"successCondition,omitempty"`

	// FailureCondition is a GJSON path on the run object that matches when it failed.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	FailureCondition string `json:"failureCondition,omitempty"`

	// Labels are metadata the suggestion attached to the trial.
	// +optional
	Labels map[string]string `json:"labels,omitempty"`
}

// TrialStatus is the observed state of a Trial.
type TrialStatus struct {
	// StartTime is when the controller first saw the trial.
	// +optional
	StartTime *metav1.Time `json:"startTime,omitempty"`

	// CompletionTime is when the trial finished.
	// +optional
	CompletionTime *metav1.Time `json:"completionTime,omitempty"`

	// LastReconcileTime is when the controller last reconciled the trial.
	// +optional
	LastReconcileTime *metav1.Time `json:"lastReconcileTime,omitempty"`

	// Conditions are the trial's conditions (Created, Running, Succeeded, Killed, Failed,
	// MetricsUnavailable, EarlyStopped).
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []TrialCondition `json:"conditions,omitempty"`

	// Observation is the metrics the run reported.
	// +optional
	Observation *Observation `json:"observation,omitempty"`
}

// TrialCondition is one condition of a trial.
type TrialCondition struct {
	// Type is the condition's type.
	Type TrialConditionType `json:"type"`

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

// TrialConditionType is the type of a trial condition.
type TrialConditionType string

// Trial condition types.
const (
	// TrialCreated is True once the trial's run was created.
	TrialCreated TrialConditionType = "Created"
	// TrialRunning is True while the run runs.
	TrialRunning TrialConditionType = "Running"
	// TrialSucceeded is True once the run succeeded and its metrics were collected.
	TrialSucceeded TrialConditionType = "Succeeded"
	// TrialKilled is True once the trial was deleted or stopped from outside.
	TrialKilled TrialConditionType = "Killed"
	// TrialFailed is True once the run failed.
	TrialFailed TrialConditionType = "Failed"
	// TrialMetricsUnavailable is True when the run succeeded without reporting the
	// objective metric.
	TrialMetricsUnavailable TrialConditionType = "MetricsUnavailable"
	// TrialEarlyStopped is True once an early-stopping rule stopped the trial.
	TrialEarlyStopped TrialConditionType = "EarlyStopped"
)

// Reasons of trial conditions, as Katib writes them.
const (
	// TrialCreatedReason is the reason of the Created condition.
	TrialCreatedReason = "TrialCreated"
	// TrialRunningReason is the reason of the Running condition.
	TrialRunningReason = "TrialRunning"
	// TrialSucceededReason is the reason of the Succeeded condition.
	TrialSucceededReason = "TrialSucceeded"
	// TrialMetricsUnavailableReason is the reason of the MetricsUnavailable condition.
	TrialMetricsUnavailableReason = "MetricsUnavailable"
	// TrialFailedReason is the reason of the Failed condition.
	TrialFailedReason = "TrialFailed"
	// TrialEarlyStoppedReason is the reason of the EarlyStopped condition.
	TrialEarlyStoppedReason = "TrialEarlyStopped"

	// JobCreatedReason is the reason of Created once the run object exists.
	JobCreatedReason = "JobCreated"
	// JobDeletedReason is the reason of Killed when the run object was deleted.
	JobDeletedReason = "JobDeleted"
	// JobSucceededReason is the reason of Succeeded when the run succeeded.
	JobSucceededReason = "JobSucceeded"
	// JobMetricsUnavailableReason is the reason of MetricsUnavailable for the run.
	JobMetricsUnavailableReason = "MetricsUnavailable"
	// JobFailedReason is the reason of Failed when the run failed.
	JobFailedReason = "JobFailed"
	// JobRunningReason is the reason of Running while the run runs.
	JobRunningReason = "JobRunning"

	// ReconcileErrorReason is the reason of a condition the controller set because it
	// could not reconcile the object.
	ReconcileErrorReason = "ReconcileError"
)
