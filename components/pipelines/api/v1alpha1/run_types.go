package v1alpha1

import (
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Limits on what a run may ask for; the schema enforces them, so that no run can make the
// manager allocate without bound.
const (
	// MaxParameters bounds a run's runtime parameters.
	MaxParameters = 256
	// MaxTasks bounds the executor tasks of one run (ParallelFor iterations included):
	// each has an entry in the status, which must fit in one object.
	MaxTasks = 1000
	// MaxParallelism bounds the task pods one run runs at once.
	MaxParallelism = 256
	// DefaultParallelism is the task pods one run runs at once unless it says.
	DefaultParallelism = 32
)

// PipelineVersionRef names the PipelineVersion a run runs.
type PipelineVersionRef struct {
	// Name of the PipelineVersion, in the run's namespace.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

// PipelineRunSpec says what to run, with which parameters.
//
// +kubebuilder:validation:XValidation:rule="has(self.pipelineVersionRef) != has(self.pipelineSpec)",message="set exactly one of pipelineVersionRef and pipelineSpec"
// +kubebuilder:validation:XValidation:rule="!has(self.platformSpec) || has(self.pipelineSpec)",message="platformSpec goes with an embedded pipelineSpec (a PipelineVersion carries its own)"
type PipelineRunSpec struct {
	// PipelineVersionRef runs a PipelineVersion of the run's namespace.
	// +optional
	PipelineVersionRef *PipelineVersionRef `json:"pipelineVersionRef,omitempty"`
	// PipelineSpec embeds the compiled IR (the first document kfp.compiler writes).
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Type=object
	// +optional
	PipelineSpec *runtime.RawExtension `json:"pipelineSpec,omitempty"`
	// PlatformSpec is the kfp-kubernetes platform spec that goes with an embedded
	// pipelineSpec (the second document), if any.
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Type=object
	// +optional
	PlatformSpec *runtime.RawExtension `json:"platformSpec,omitempty"`
	// Parameters are the runtime parameters: the pipeline's inputs, by name, as JSON
	// values; inputs left out take their defaults.
	// +kubebuilder:validation:MaxProperties=256
	// +optional
	Parameters map[string]apiextensionsv1.JSON `json:"parameters,omitempty"`
	// DisableCache runs every task even where an earlier run's outputs could be reused.
	// +optional
	DisableCache bool `json:"disableCache,omitempty"`
	// ServiceAccountName runs the task pods under this service account (the namespace's
	// default when empty).
	// +kubebuilder:validation:MaxLength=253
	// +optional
	ServiceAccountName string `json:"serviceAccountName,omitempty"`
	// Parallelism bounds the task pods running at once (32 when unset).
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=256
	// +optional
	Parallelism *int32 `json:"parallelism,omitempty"`
	// ActiveDeadlineSeconds fails the run, and stops its pods, once it has run this long
	// (since its latest retry, after one).
	// +kubebuilder:validation:Minimum=1
	// +optional
	ActiveDeadlineSeconds *int64 `json:"activeDeadlineSeconds,omitempty"`
	// Shutdown stops the run. Terminate starts no more tasks, deletes the running task
	// pods and ends the run Canceled; exit handlers do not run. Once set it stays until a
	// retry clears it; on a run already final it changes nothing.
	// +optional
	Shutdown RunShutdown `json:"shutdown,omitempty"`
	// Retry counts the retries asked for: raising it by one runs a Failed or Canceled run
	// again from the point of failure, in the same run. The tasks that succeeded (cache
	// hits included) and those a condition skipped stay; failed, canceled and unstarted
	// tasks run again as new attempts. It never goes down; status.observedRetry is the
	// latest retry the controller acted on.
	// +kubebuilder:validation:Minimum=0
	// +optional
	Retry int32 `json:"retry,omitempty"`
}

// RunShutdown is how a run is stopped before its end.
// +kubebuilder:validation:Enum=Terminate
type RunShutdown string

// ShutdownTerminate stops a run at once: no new task, running task pods deleted, exit
// handlers skipped (Argo Workflows' spec.shutdown: Terminate; a Stop that lets exit
// handlers run would be a second value).
const ShutdownTerminate RunShutdown = "Terminate"

// RunPhase is the state of a run or of one of its tasks.
// +kubebuilder:validation:Enum=Pending;Running;Succeeded;Failed;Skipped;Canceled
type RunPhase string

// The phases; Succeeded, Failed, Skipped and Canceled are final. A task is Pending once a
// retry of its run has sent it back to run again, until its next attempt starts.
const (
	PhasePending   RunPhase = "Pending"
	PhaseRunning   RunPhase = "Running"
	PhaseSucceeded RunPhase = "Succeeded"
	PhaseFailed    RunPhase = "Failed"
	PhaseSkipped   RunPhase = "Skipped"
	// PhaseCanceled: the run was terminated (spec.shutdown), or the task was still to
	// finish when it was.
	PhaseCanceled RunPhase = "Canceled"
)

// Final reports whether p is a final phase.
func (p RunPhase) Final() bool {
	return p == PhaseSucceeded || p == PhaseFailed || p == PhaseSkipped || p == PhaseCanceled
}

// Retryable reports whether a run in phase p may be retried (spec.retry): only one that
// ended Failed or Canceled.
func (p RunPhase) Retryable() bool { return p == PhaseFailed || p == PhaseCanceled }

// Artifact is one artifact a task produced or read.
type Artifact struct {
	// URI is where the artifact is stored (minio://kfup/... in kfup's store, s3://...).
	URI string `json:"uri"`
	// Type is the artifact's schema title (system.Model, system.Dataset, ...).
	// +optional
	Type string `json:"type,omitempty"`
	// Metadata is what the component recorded about it.
	// +optional
	Metadata *apiextensionsv1.JSON `json:"metadata,omitempty"`
}

// ArtifactList is one input's or output's artifacts (a list for collected outputs).
type ArtifactList struct {
	// +kubebuilder:validation:MaxItems=1000
	Artifacts []Artifact `json:"artifacts"`
}

// TaskStatus is what the run knows of one executor task.
type TaskStatus struct {
	// ID names the task within the run: DAG task names joined by "/", loop iterations as
	// [i] ("for-loop-1[2]/train").
	ID string `json:"id"`
	// Task is the task's name in its DAG.
	Task string `json:"task"`
	// Phase is the task's state.
	Phase RunPhase `json:"phase"`
	// Attempts counts the attempts started (retries included, the run's too).
	// +optional
	Attempts int32 `json:"attempts,omitempty"`
	// PriorAttempts are the attempts started before the run's latest retry: the task's
	// retryPolicy counts only those after.
	// +optional
	PriorAttempts int32 `json:"priorAttempts,omitempty"`
	// PodName is the pod of the latest attempt.
	// +optional
	PodName string `json:"podName,omitempty"`
	// StartTime is when the first attempt was started.
	// +optional
	StartTime *metav1.Time `json:"startTime,omitempty"`
	// CompletionTime is when the task reached its final phase.
	// +optional
	CompletionTime *metav1.Time `json:"completionTime,omitempty"`
	// RetryAfter is when the next attempt of a failed task may start.
	// +optional
	RetryAfter *metav1.Time `json:"retryAfter,omitempty"`
	// CacheKey fingerprints the component and its resolved inputs; empty when caching is
	// off for the task or the run.
	// +optional
	CacheKey string `json:"cacheKey,omitempty"`
	// CachedFrom is the run/task whose outputs this task reused ("run-a/train"); the task
	// started no pod.
	// +optional
	CachedFrom string `json:"cachedFrom,omitempty"`
	// Inputs are the input artifacts the task read (lineage).
	// +optional
	Inputs map[string]ArtifactList `json:"inputs,omitempty"`
	// Parameters are the output parameters.
	// +optional
	Parameters map[string]apiextensionsv1.JSON `json:"parameters,omitempty"`
	// Artifacts are the output artifacts.
	// +optional
	Artifacts map[string]ArtifactList `json:"artifacts,omitempty"`
	// Message says why the task failed or was skipped.
	// +optional
	Message string `json:"message,omitempty"`
}

// PipelineRunStatus is a run's observed state.
type PipelineRunStatus struct {
	// Phase is the run's state.
	// +optional
	Phase RunPhase `json:"phase,omitempty"`
	// Pipeline is the pipeline's name (pipelineInfo.name).
	// +optional
	Pipeline string `json:"pipeline,omitempty"`
	// StartTime is when the controller first saw the run.
	// +optional
	StartTime *metav1.Time `json:"startTime,omitempty"`
	// CompletionTime is when the run reached its final phase (its latest, after a retry).
	// +optional
	CompletionTime *metav1.Time `json:"completionTime,omitempty"`
	// ObservedRetry is the latest retry (spec.retry) the controller acted on, whether it
	// ran the run again or refused (an Event says why).
	// +optional
	ObservedRetry int32 `json:"observedRetry,omitempty"`
	// LastRetryTime is when the latest retry started; spec.activeDeadlineSeconds counts
	// from it.
	// +optional
	LastRetryTime *metav1.Time `json:"lastRetryTime,omitempty"`
	// Error names the failed task and why, or what is wrong with the run.
	// +optional
	Error string `json:"error,omitempty"`
	// Outputs are the pipeline's output parameters, once it succeeded.
	// +optional
	Outputs map[string]apiextensionsv1.JSON `json:"outputs,omitempty"`
	// Tasks are the executor tasks started, cached, skipped or failed, in start order.
	// +optional
	// +listType=map
	// +listMapKey=id
	// +kubebuilder:validation:MaxItems=1000
	Tasks []TaskStatus `json:"tasks,omitempty"`
	// Conditions: Succeeded (True/False once final, reason Succeeded, Failed or Canceled;
	// Unknown, reason Retrying, while a retry runs).
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=8
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// ObservedGeneration is the generation last acted on.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
}

// Task returns the status of the task with id, or nil.
func (s *PipelineRunStatus) Task(id string) *TaskStatus {
	for i := range s.Tasks {
		if s.Tasks[i].ID == id {
			return &s.Tasks[i]
		}
	}
	return nil
}

// PipelineRun is one run of a Kubeflow Pipelines v2 pipeline.
//
// Its spec is immutable but for shutdown and retry, the requests to terminate and to
// retry it.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:path=pipelineruns,shortName=kfprun,scope=Namespaced,categories=all;kubeflow
// +kubebuilder:printcolumn:name="Pipeline",type=string,JSONPath=`.status.pipeline`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="size(self.metadata.name) <= 50",message="a run's name is at most 50 characters: its task pods are named after it"
// +kubebuilder:validation:XValidation:rule="has(self.spec.pipelineVersionRef) == has(oldSelf.spec.pipelineVersionRef) && (!has(self.spec.pipelineVersionRef) || self.spec.pipelineVersionRef == oldSelf.spec.pipelineVersionRef)",message="spec.pipelineVersionRef is immutable (a run changes only by spec.shutdown and spec.retry): create a new run"
// +kubebuilder:validation:XValidation:rule="has(self.spec.pipelineSpec) == has(oldSelf.spec.pipelineSpec) && (!has(self.spec.pipelineSpec) || self.spec.pipelineSpec == oldSelf.spec.pipelineSpec)",message="spec.pipelineSpec is immutable (a run changes only by spec.shutdown and spec.retry): create a new run"
// +kubebuilder:validation:XValidation:rule="has(self.spec.platformSpec) == has(oldSelf.spec.platformSpec) && (!has(self.spec.platformSpec) || self.spec.platformSpec == oldSelf.spec.platformSpec)",message="spec.platformSpec is immutable (a run changes only by spec.shutdown and spec.retry): create a new run"
// +kubebuilder:validation:XValidation:rule="(has(self.spec.disableCache) && self.spec.disableCache) == (has(oldSelf.spec.disableCache) && oldSelf.spec.disableCache)",message="spec.disableCache is immutable (a run changes only by spec.shutdown and spec.retry): create a new run"
// +kubebuilder:validation:XValidation:rule="(has(self.spec.serviceAccountName) ? self.spec.serviceAccountName : \"\") == (has(oldSelf.spec.serviceAccountName) ? oldSelf.spec.serviceAccountName : \"\")",message="spec.serviceAccountName is immutable (a run changes only by spec.shutdown and spec.retry): create a new run"
// +kubebuilder:validation:XValidation:rule="has(self.spec.parallelism) == has(oldSelf.spec.parallelism) && (!has(self.spec.parallelism) || self.spec.parallelism == oldSelf.spec.parallelism)",message="spec.parallelism is immutable (a run changes only by spec.shutdown and spec.retry): create a new run"
// +kubebuilder:validation:XValidation:rule="has(self.spec.activeDeadlineSeconds) == has(oldSelf.spec.activeDeadlineSeconds) && (!has(self.spec.activeDeadlineSeconds) || self.spec.activeDeadlineSeconds == oldSelf.spec.activeDeadlineSeconds)",message="spec.activeDeadlineSeconds is immutable (a run changes only by spec.shutdown and spec.retry): create a new run"
// +kubebuilder:validation:XValidation:rule="self.spec.?retry.orValue(0) >= oldSelf.spec.?retry.orValue(0)",message="spec.retry counts the run's retries and never goes down: raise it by one to retry the run"
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.spec.shutdown) || has(self.spec.shutdown) || self.spec.?retry.orValue(0) > oldSelf.spec.?retry.orValue(0)",message="spec.shutdown stays until a retry: raise spec.retry and remove spec.shutdown in the same update"
// +kubebuilder:validation:XValidation:rule="self.spec.?retry.orValue(0) == oldSelf.spec.?retry.orValue(0) || !has(self.spec.shutdown)",message="a retry clears spec.shutdown: remove it in the same update that raises spec.retry"
type PipelineRun struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec PipelineRunSpec `json:"spec"`
	// +optional
	Status PipelineRunStatus `json:"status,omitempty"`
}

// PipelineRunList is a list of PipelineRuns.
//
// +kubebuilder:object:root=true
type PipelineRunList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []PipelineRun `json:"items"`
}

// RecurringRunSpec starts a run on a cron schedule.
//
// +kubebuilder:validation:XValidation:rule="!has(self.runSpec.shutdown) && self.runSpec.?retry.orValue(0) == 0",message="a schedule's runs start fresh: spec.runSpec sets neither shutdown nor retry (spec.suspend stops starting runs)"
type RecurringRunSpec struct {
	// Schedule is a cron expression (five fields, or @hourly, @daily, @every 1h30m ...).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Schedule string `json:"schedule"`
	// TimeZone is the IANA zone the schedule is read in (UTC when empty).
	// +kubebuilder:validation:MaxLength=64
	// +optional
	TimeZone string `json:"timeZone,omitempty"`
	// MaxConcurrency bounds runs of this schedule that are not final; a tick while the
	// bound is reached is skipped (1 when unset).
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=10
	// +optional
	MaxConcurrency *int32 `json:"maxConcurrency,omitempty"`
	// CatchUp starts, after a pause or a manager outage, one run for each tick missed
	// (at most 10); off by default: only the latest missed tick runs.
	// +optional
	CatchUp bool `json:"catchUp,omitempty"`
	// Suspend stops starting new runs.
	// +optional
	Suspend bool `json:"suspend,omitempty"`
	// HistoryLimit is how many final runs are kept; older ones are deleted (10 when unset).
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1000
	// +optional
	HistoryLimit *int32 `json:"historyLimit,omitempty"`
	// RunSpec is the spec of each run started.
	RunSpec PipelineRunSpec `json:"runSpec"`
}

// RecurringRunStatus is a schedule's observed state.
type RecurringRunStatus struct {
	// LastScheduleTime is the latest tick a run was started for.
	// +optional
	LastScheduleTime *metav1.Time `json:"lastScheduleTime,omitempty"`
	// NextScheduleTime is the next tick.
	// +optional
	NextScheduleTime *metav1.Time `json:"nextScheduleTime,omitempty"`
	// Active are the runs started and not final.
	// +optional
	// +kubebuilder:validation:MaxItems=10
	Active []string `json:"active,omitempty"`
	// Conditions: Ready, false with the reason when the schedule is not valid.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=8
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// RecurringRun starts PipelineRuns on a cron schedule.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:path=recurringruns,shortName=kfprr,scope=Namespaced,categories=all;kubeflow
// +kubebuilder:printcolumn:name="Schedule",type=string,JSONPath=`.spec.schedule`
// +kubebuilder:printcolumn:name="Suspend",type=boolean,JSONPath=`.spec.suspend`
// +kubebuilder:printcolumn:name="Last",type=date,JSONPath=`.status.lastScheduleTime`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="size(self.metadata.name) <= 39",message="a recurring run's name is at most 39 characters: its runs are named after it"
type RecurringRun struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec RecurringRunSpec `json:"spec"`
	// +optional
	Status RecurringRunStatus `json:"status,omitempty"`
}

// RecurringRunList is a list of RecurringRuns.
//
// +kubebuilder:object:root=true
type RecurringRunList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []RecurringRun `json:"items"`
}

func init() {
	SchemeBuilder.Register(&PipelineRun{}, &PipelineRunList{}, &RecurringRun{}, &RecurringRunList{})
}
