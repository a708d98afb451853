package v1

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ReplicaType names a group of replicas of a job ("Master", "Worker", "PS", ...).
type ReplicaType string

// ReplicaSpec describes one replica type of a job.
// +kubebuilder:validation:XValidation:rule="!has(self.template) || !has(self.template.spec) || self.template.spec.containers.all(c, has(c.image) && c.image.size() > 0)",message="every container needs an image: set template.spec.containers[*].image"
// +kubebuilder:validation:XValidation:rule="!has(self.template) || !has(self.template.spec) || !has(self.template.spec.initContainers) || self.template.spec.initContainers.all(c, has(c.image) && c.image.size() > 0)",message="every init container needs an image: set template.spec.initContainers[*].image"
type ReplicaSpec struct {
	// Replicas is the desired number of pods of this type; defaults to 1; at most 1000
	// (MaxReplicas).
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1000
	// +optional
	Replicas *int32 `json:"replicas,omitempty"`

	// Template is the pod template of every replica of this type.
	// +optional
	Template corev1.PodTemplateSpec `json:"template,omitempty"`

	// RestartPolicy says when a replica's pod is restarted: Always, OnFailure, Never, or
	// ExitCode (exit codes 1-127 are permanent failures, 128-255 are retried).
	// +optional
	RestartPolicy RestartPolicy `json:"restartPolicy,omitempty"`
}

// RestartPolicy of a replica.
// +kubebuilder:validation:Enum=Always;OnFailure;Never;ExitCode
type RestartPolicy string

// Restart policies.
const (
	RestartPolicyAlways    RestartPolicy = "Always"
	RestartPolicyOnFailure RestartPolicy = "OnFailure"
	RestartPolicyNever     RestartPolicy = "Never"
	// RestartPolicyExitCode restarts on retryable exit codes (128-255, e.g. SIGKILL = 137)
	// and fails the job on permanent ones (1-127).
	RestartPolicyExitCode RestartPolicy = "ExitCode"
)

// CleanPodPolicy says which pods to delete when a job finishes.
// +kubebuilder:validation:Enum=All;Running;None
type CleanPodPolicy string

// Clean pod policies.
const (
	CleanPodPolicyAll     CleanPodPolicy = "All"
	CleanPodPolicyRunning CleanPodPolicy = "Running"
	CleanPodPolicyNone    CleanPodPolicy = "None"
)

// RunPolicy holds the run-time policies of a job.
type RunPolicy struct {
	// CleanPodPolicy says which pods to delete when the job finishes; default None
	// (Running for MPIJob).
	// +optional
	CleanPodPolicy *CleanPodPolicy `json:"cleanPodPolicy,omitempty"`

	// TTLSecondsAfterFinished deletes a finished job after this many seconds; unset keeps it.
	// At most ten years (MaxTTLSecondsAfterFinished).
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=315360000
	// +optional
	TTLSecondsAfterFinished *int32 `json:"ttlSecondsAfterFinished,omitempty"`

	// ActiveDeadlineSeconds bounds how long the job may be active before it is failed; at
	// most ten years (MaxActiveDeadlineSeconds).
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=315360000
	// +optional
	ActiveDeadlineSeconds *int64 `json:"activeDeadlineSeconds,omitempty"`

	// BackoffLimit is the number of restarts after which the job is failed; at most 10000
	// (MaxBackoffLimit); unset means no limit.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=10000
	// +optional
	BackoffLimit *int32 `json:"backoffLimit,omitempty"`

	// SchedulingPolicy configures gang scheduling (Volcano, scheduler-plugins).
	// +optional
	SchedulingPolicy *SchedulingPolicy `json:"schedulingPolicy,omitempty"`

	// Suspend deletes the job's pods while true and recreates them when it turns false.
	// +kubebuilder:default=false
	// +optional
	Suspend *bool `json:"suspend,omitempty"`

	// ManagedBy names the controller that reconciles the job; kfup reconciles jobs with
	// no value or kubeflow.org/training-operator, and leaves others (e.g. Kueue's
	// MultiKueue) alone.
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="managedBy is immutable"
	// +kubebuilder:validation:XValidation:rule="self in ['kubeflow.org/training-operator', 'kueue.x-k8s.io/multikueue']",message="managedBy must be kubeflow.org/training-operator or kueue.x-k8s.io/multikueue"
	// +optional
	ManagedBy *string `json:"managedBy,omitempty"`
}

// SchedulingPolicy configures gang scheduling.
type SchedulingPolicy struct {
	// MinAvailable is how many pods must be schedulable together; 1–5000
	// (MaxMinAvailable, the most pods a job can have); unset means all of the job's pods.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=5000
	// +optional
	MinAvailable *int32 `json:"minAvailable,omitempty"`
	// Queue is the scheduler's queue (Volcano).
	// +optional
	Queue string `json:"queue,omitempty"`
	// MinResources are the resources the gang needs before it is scheduled.
	// +optional
	MinResources *map[corev1.ResourceName]resource.Quantity `json:"minResources,omitempty"`
	// PriorityClass is the gang's priority class.
	// +optional
	PriorityClass string `json:"priorityClass,omitempty"`
	// ScheduleTimeoutSeconds is how long the gang may wait to be scheduled (scheduler-plugins);
	// 0–315360000, ten years (MaxScheduleTimeoutSeconds).
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=315360000
	// +optional
	ScheduleTimeoutSeconds *int32 `json:"scheduleTimeoutSeconds,omitempty"`
}

// JobConditionType is the type of a job condition.
type JobConditionType string

// Job condition types.
const (
	JobCreated    JobConditionType = "Created"
	JobRunning    JobConditionType = "Running"
	JobRestarting JobConditionType = "Restarting"
	JobSucceeded  JobConditionType = "Succeeded"
	JobSuspended  JobConditionType = "Suspended"
	JobFailed     JobConditionType = "Failed"
)

// JobCondition is one observation of a job's state.
type JobCondition struct {
	// Type of the condition.
	Type JobConditionType `json:"type"`
	// Status is True, False or Unknown.
	Status corev1.ConditionStatus `json:"status"`
	// Reason is a one-word CamelCase reason for the last transition.
	Reason string `json:"reason,omitempty"`
	// Message is a human-readable explanation.
	Message string `json:"message,omitempty"`
	// LastUpdateTime is when the condition was last updated.
	LastUpdateTime metav1.Time `json:"lastUpdateTime,omitempty"`
	// LastTransitionTime is when the condition last changed status.
	LastTransitionTime metav1.Time `json:"lastTransitionTime,omitempty"`
}

// ReplicaStatus counts the pods of one replica type.
type ReplicaStatus struct {
	// Active pods (pending or running).
	Active int32 `json:"active,omitempty"`
	// Succeeded pods.
	Succeeded int32 `json:"succeeded,omitempty"`
	// Failed pods.
	Failed int32 `json:"failed,omitempty"`
	// LabelSelector of the pods. Deprecated: use Selector.
	LabelSelector *metav1.LabelSelector `json:"labelSelector,omitempty"`
	// Selector is the label selector of the pods, in string form (for the scale subresource).
	Selector string `json:"selector,omitempty"`
}

// JobStatus is the observed state of a job.
type JobStatus struct {
	// Conditions of the job; the last one is its current state.
	// +optional
	// +listType=atomic
	Conditions []JobCondition `json:"conditions,omitempty"`
	// ReplicaStatuses counts pods per replica type.
	// +optional
	ReplicaStatuses map[ReplicaType]*ReplicaStatus `json:"replicaStatuses,omitempty"`
	// StartTime is when the job was first acknowledged by the controller.
	// +optional
	StartTime *metav1.Time `json:"startTime,omitempty"`
	// CompletionTime is when the job finished.
	// +optional
	CompletionTime *metav1.Time `json:"completionTime,omitempty"`
	// LastReconcileTime is when the job was last reconciled.
	// +optional
	LastReconcileTime *metav1.Time `json:"lastReconcileTime,omitempty"`
}
