package v1beta1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// ExperimentKind is the kind name of an Experiment.
const ExperimentKind = "Experiment"

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:path=experiments,scope=Namespaced,categories=all;kubeflow;katib
// +kubebuilder:printcolumn:name="Type",type=string,JSONPath=`.status.conditions[-1:].type`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[-1:].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')",message="name must be a DNS-1035 label (lowercase letters, digits, '-', starting with a letter): trials and their pods are named after it"
// +kubebuilder:validation:XValidation:rule="self.metadata.name.size() <= 40",message="name must be at most 40 characters: trial names (<name>-<8 characters>) must fit in 49, so that the children of every trial kind fit in 63"

// Experiment is a hyperparameter tuning or neural architecture search experiment: it runs
// trials with the parameters its algorithm suggests until the objective's goal, the trial
// budget or the search space is exhausted.
type Experiment struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the desired state of the experiment.
	Spec ExperimentSpec `json:"spec,omitempty"`
	// Status is the observed state of the experiment.
	Status ExperimentStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// ExperimentList is a list of Experiments.
type ExperimentList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the experiments.
	Items []Experiment `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Experiment{}, &ExperimentList{})
}

// ExperimentSpec is the desired state of an Experiment. Once created, only
// parallelTrialCount, maxTrialCount and maxFailedTrialCount may change, as in Katib.
// +kubebuilder:validation:XValidation:rule="has(self.parameters) || has(self.nasConfig)",message="set spec.parameters (the search space), or spec.nasConfig for neural architecture search"
// +kubebuilder:validation:XValidation:rule="!has(self.maxFailedTrialCount) || !has(self.maxTrialCount) || self.maxFailedTrialCount <= self.maxTrialCount",message="maxFailedTrialCount must not exceed maxTrialCount"
// +kubebuilder:validation:XValidation:rule="!has(self.parallelTrialCount) || !has(self.maxTrialCount) || self.parallelTrialCount <= self.maxTrialCount",message="parallelTrialCount (default 3) must not exceed maxTrialCount: lower parallelTrialCount or raise maxTrialCount"
// +kubebuilder:validation:XValidation:rule="!has(self.trialTemplate) || !has(self.trialTemplate.trialParameters) || self.trialTemplate.trialParameters.all(tp, tp.reference.startsWith('${trialSpec.') || has(self.nasConfig) || (has(self.parameters) && self.parameters.exists(p, p.name == tp.reference)))",message="every trialTemplate.trialParameters[*].reference must name a parameter of spec.parameters or trial metadata (${trialSpec.Name}, ${trialSpec.Namespace}, ${trialSpec.Kind}, ${trialSpec.APIVersion}, ${trialSpec.Labels[key]}, ${trialSpec.Annotations[key]}); with nasConfig, the controller checks them against the algorithm's assignments"
type ExperimentSpec struct {
	// Parameters is the search space: 1 to 100 parameters (MaxParameters). Required
	// unless nasConfig is set.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=100
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="parameters cannot change once the experiment exists: create a new experiment"
	// +optional
	Parameters []ParameterSpec `json:"parameters,omitempty"`

	// Objective is the metric to optimize.
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="objective cannot change once the experiment exists: create a new experiment"
	// +required
	Objective *ObjectiveSpec `json:"objective,omitempty"`

	// Algorithm is the search algorithm.
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="algorithm cannot change once the experiment exists: create a new experiment"
	// +required
	Algorithm *AlgorithmSpec `json:"algorithm,omitempty"`

	// EarlyStopping is the early-stopping algorithm; unset stops no trial early.
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="earlyStopping cannot change once the experiment exists: create a new experiment"
	// +optional
	EarlyStopping *EarlyStoppingSpec `json:"earlyStopping,omitempty"`

	// TrialTemplate is the template of each trial's run.
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="trialTemplate cannot change once the experiment exists: create a new experiment"
	// +required
	TrialTemplate *TrialTemplate `json:"trialTemplate,omitempty"`

	// ParallelTrialCount is how many trials run at once; 1 to 1000
	// (MaxParallelTrialCount); the API server defaults it to 3 (DefaultTrialParallelCount).
	// +kubebuilder:default=3
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	// +optional
	ParallelTrialCount *int32 `json:"parallelTrialCount,omitempty"`

	// MaxTrialCount ends the experiment (Succeeded, reason ExperimentMaxTrialsReached)
	// once this many trials succeeded; 1 to 10000 (MaxTrialCount). Unset, the experiment
	// runs until the goal is reached or the algorithm has no more suggestions.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=10000
	// +optional
	MaxTrialCount *int32 `json:"maxTrialCount,omitempty"`

	// MaxFailedTrialCount fails the experiment (reason ExperimentFailed) once this many
	// trials failed; 0 to 10000. Unset, failed trials never fail the experiment.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=10000
	// +optional
	MaxFailedTrialCount *int32 `json:"maxFailedTrialCount,omitempty"`

	// MetricsCollectorSpec says how each trial's metrics are collected; unset means the
	// StdOut collector.
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="metricsCollectorSpec cannot change once the experiment exists: create a new experiment"
	// +optional
	MetricsCollectorSpec *MetricsCollectorSpec `json:"metricsCollectorSpec,omitempty"`

	// NasConfig is the search space of a neural architecture search (ENAS, DARTS).
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="nasConfig cannot change once the experiment exists: create a new experiment"
	// +optional
	NasConfig *NasConfig `json:"nasConfig,omitempty"`

	// ResumePolicy says whether a finished experiment can be resumed by raising
	// maxTrialCount: Never (the default), LongRunning (the suggestion keeps running) or
	// FromVolume (the suggestion's state is kept on a volume).
	// +kubebuilder:default=Never
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="resumePolicy cannot change once the experiment exists"
	// +optional
	ResumePolicy ResumePolicyType `json:"resumePolicy,omitempty"`
}

// ResumePolicyType says whether and how a finished experiment can be resumed.
// +kubebuilder:validation:Enum=Never;LongRunning;FromVolume
type ResumePolicyType string

// Resume policies.
const (
	// NeverResume means the experiment cannot be resumed; its suggestion is cleaned up
	// when it finishes.
	NeverResume ResumePolicyType = "Never"
	// LongRunning keeps the experiment's suggestion running after it finishes.
	LongRunning ResumePolicyType = "LongRunning"
	// FromVolume keeps the suggestion's state on a volume and restores it on resume.
	FromVolume ResumePolicyType = "FromVolume"
)

// ParameterSpec is one parameter of the search space.
// +kubebuilder:validation:XValidation:rule="!(self.parameterType in ['int', 'double']) || (has(self.feasibleSpace.min) && has(self.feasibleSpace.max))",message="an int or double parameter needs feasibleSpace.min and feasibleSpace.max"
// +kubebuilder:validation:XValidation:rule="!(self.parameterType in ['int', 'double']) || !has(self.feasibleSpace.list)",message="feasibleSpace.list is for discrete and categorical parameters: give an int or double parameter feasibleSpace.min and max instead"
// +kubebuilder:validation:XValidation:rule="!(self.parameterType in ['discrete', 'categorical']) || (has(self.feasibleSpace.list) && size(self.feasibleSpace.list) > 0)",message="a discrete or categorical parameter needs its values in feasibleSpace.list"
// +kubebuilder:validation:XValidation:rule="!(self.parameterType in ['discrete', 'categorical']) || !(has(self.feasibleSpace.min) || has(self.feasibleSpace.max) || has(self.feasibleSpace.step))",message="feasibleSpace.min, max and step are for int and double parameters: list the values of a discrete or categorical parameter in feasibleSpace.list"
// +kubebuilder:validation:XValidation:rule="self.parameterType != 'int' || ((!has(self.feasibleSpace.min) || self.feasibleSpace.min.matches('^[-+]?[0-9]+$')) && (!has(self.feasibleSpace.max) || self.feasibleSpace.max.matches('^[-+]?[0-9]+$')) && (!has(self.feasibleSpace.step) || self.feasibleSpace.step.matches('^[-+]?[0-9]+$')))",message="feasibleSpace.min, max and step of an int parameter must be integers, e.g. \"1\""
// +kubebuilder:validation:XValidation:rule="self.parameterType != 'double' || ((!has(self.feasibleSpace.min) || self.feasibleSpace.min.matches('^[-+]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][-+]?[0-9]+)?$')) && (!has(self.feasibleSpace.max) || self.feasibleSpace.max.matches('^[-+]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][-+]?[0-9]+)?$')) && (!has(self.feasibleSpace.step) || self.feasibleSpace.step.matches('^[-+]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][-+]?[0-9]+)?$')))",message="feasibleSpace.min, max and step of a double parameter must be numbers, e.g. \"0.01\" or \"1e-3\""
// +kubebuilder:validation:XValidation:rule="!(self.parameterType in ['int', 'double']) || !has(self.feasibleSpace.min) || !has(self.feasibleSpace.max) || !self.feasibleSpace.min.matches('^[-+]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][-+]?[0-9]+)?$') || !self.feasibleSpace.max.matches('^[-+]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][-+]?[0-9]+)?$') || double(self.feasibleSpace.min) <= double(self.feasibleSpace.max)",message="feasibleSpace.min must not exceed feasibleSpace.max"
// +kubebuilder:validation:XValidation:rule="!(self.parameterType in ['int', 'double']) || !has(self.feasibleSpace.step) || !self.feasibleSpace.step.matches('^[-+]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][-+]?[0-9]+)?$') || double(self.feasibleSpace.step) > 0.0",message="feasibleSpace.step must be greater than 0"
// +kubebuilder:validation:XValidation:rule="!has(self.feasibleSpace.distribution) || self.feasibleSpace.distribution != 'logUniform' || !has(self.feasibleSpace.min) || !self.feasibleSpace.min.matches('^[-+]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][-+]?[0-9]+)?$') || double(self.feasibleSpace.min) > 0.0",message="a logUniform parameter samples log(value): feasibleSpace.min must be greater than 0"
type ParameterSpec struct {
	// Name is the parameter's name, referenced by trialTemplate.trialParameters[*].reference.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:Pattern=`^[^${}\s]+$`
	// +required
	Name string `json:"name"`

	// ParameterType is double, int, discrete (numbers from a list; the controller
	// refuses a value that is not a number) or categorical (strings from a list).
	// +required
	ParameterType ParameterType `json:"parameterType,omitempty"`

	// FeasibleSpace is the parameter's range (int, double) or values (discrete,
	// categorical).
	// +required
	FeasibleSpace FeasibleSpace `json:"feasibleSpace,omitempty"`
}

// ParameterType is the type of a search-space parameter.
// +kubebuilder:validation:Enum=double;int;discrete;categorical
type ParameterType string

// Parameter types.
const (
	// ParameterTypeUnknown is not a type a parameter may have; kfup's code uses it for
	// "none".
	ParameterTypeUnknown ParameterType = "unknown"
	// ParameterTypeDouble is a real number between min and max.
	ParameterTypeDouble ParameterType = "double"
	// ParameterTypeInt is an integer between min and max.
	ParameterTypeInt ParameterType = "int"
	// ParameterTypeDiscrete is one of a list of numbers.
	ParameterTypeDiscrete ParameterType = "discrete"
	// ParameterTypeCategorical is one of a list of strings.
	ParameterTypeCategorical ParameterType = "categorical"
)

// FeasibleSpace is the range or the values of a parameter. Numbers are strings, as in
// Katib.
type FeasibleSpace struct {
	// Max is the largest value of an int or double parameter.
	// +kubebuilder:validation:MaxLength=64
	// +optional
	Max string `json:"max,omitempty"`

	// Min is the smallest value of an int or double parameter.
	// +kubebuilder:validation:MaxLength=64
	// +optional
	Min string `json:"min,omitempty"`

	// List holds the values of a discrete or categorical parameter: at most 1000
	// (MaxFeasibleListItems), each once.
	// +listType=set
	// +kubebuilder:validation:MaxItems=1000
	// +kubebuilder:validation:items:MaxLength=256
	// +optional
	List []string `json:"list,omitempty"`

	// Step is the distance between the values grid search tries (and the granularity of
	// an int parameter); it must be greater than 0.
	// +kubebuilder:validation:MaxLength=64
	// +optional
	Step string `json:"step,omitempty"`

	// Distribution is how values are sampled: uniform (the default), logUniform, normal
	// or logNormal.
	// +optional
	Distribution Distribution `json:"distribution,omitempty"`
}

// Distribution is how a parameter's values are sampled.
// +kubebuilder:validation:Enum=uniform;logUniform;normal;logNormal
type Distribution string

// Distributions.
const (
	// DistributionUniform samples uniformly between min and max.
	DistributionUniform Distribution = "uniform"
	// DistributionLogUniform samples uniformly between log(min) and log(max).
	DistributionLogUniform Distribution = "logUniform"
	// DistributionNormal samples a normal distribution centred between min and max.
	DistributionNormal Distribution = "normal"
	// DistributionLogNormal samples a log-normal distribution.
	DistributionLogNormal Distribution = "logNormal"
	// DistributionUnknown is not a distribution a parameter may have; kfup's code uses it
	// for "none".
	DistributionUnknown Distribution = "unknown"
)

// TrialTemplate is the template of the run of each trial.
// +kubebuilder:validation:XValidation:rule="has(self.trialSpec) != has(self.configMap)",message="set exactly one of trialSpec (the trial's run, inline) and configMap (a config map holding it)"
// +kubebuilder:validation:XValidation:rule="!has(self.trialSpec) || !has(self.trialSpec.metadata) || !has(self.trialSpec.metadata.name)",message="trialSpec.metadata.name must be omitted: each trial's run is named after its trial"
type TrialTemplate struct {
	// Retain keeps each trial's run (and its pods) after the trial finishes.
	// +optional
	Retain bool `json:"retain,omitempty"`

	// TrialSource is where the run's template comes from: trialSpec or configMap.
	TrialSource `json:",inline"`

	// TrialParameters are the placeholders ${trialParameters.<name>} of the template and
	// what each is replaced with; at most 100 (MaxTrialParameters).
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=100
	// +optional
	TrialParameters []TrialParameterSpec `json:"trialParameters,omitempty"`

	// PrimaryPodLabels select the pods of a run whose metrics are collected (for a
	// PyTorchJob, the master: training.kubeflow.org/job-role: master); unset, every pod
	// of the run. The controller defaults them for Kubeflow training jobs, as Katib does.
	// +kubebuilder:validation:MaxProperties=16
	// +optional
	PrimaryPodLabels map[string]string `json:"primaryPodLabels,omitempty"`

	// PrimaryContainerName is the container that trains (its metrics are collected).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +required
	PrimaryContainerName string `json:"primaryContainerName,omitempty"`

	// SuccessCondition is a GJSON path (github.com/tidwall/gjson) on the run object that
	// matches when the run succeeded, e.g. status.conditions.#(type=="Complete")#|#(status=="True")#.
	// The controller defaults it for Jobs and Kubeflow training jobs, as Katib does.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	SuccessCondition string `json:"successCondition,omitempty"`

	// FailureCondition is a GJSON path on the run object that matches when the run
	// failed, e.g. status.conditions.#(type=="Failed")#|#(status=="True")#. The
	// controller defaults it for Jobs and Kubeflow training jobs, as Katib does.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	FailureCondition string `json:"failureCondition,omitempty"`
}

// TrialSource is where a trial template comes from: exactly one of TrialSpec and
// ConfigMap.
type TrialSource struct {
	// TrialSpec is the run object of each trial, inline (a Job, a PyTorchJob, …): an
	// object with apiVersion and kind, with ${trialParameters.<name>} placeholders. Its
	// metadata.name must be omitted (each run is named after its trial); a
	// metadata.namespace is replaced with the experiment's.
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:validation:Type=object
	// +kubebuilder:validation:EmbeddedResource
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	TrialSpec *unstructured.Unstructured `json:"trialSpec,omitempty"`

	// ConfigMap is a key of a config map holding the run object.
	// +optional
	ConfigMap *ConfigMapSource `json:"configMap,omitempty"`
}

// ConfigMapSource is a key of a config map holding a trial template.
type ConfigMapSource struct {
	// ConfigMapName is the config map's name.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	// +required
	ConfigMapName string `json:"configMapName,omitempty"`

	// ConfigMapNamespace is the config map's namespace.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +required
	ConfigMapNamespace string `json:"configMapNamespace,omitempty"`

	// TemplatePath is the config map's key holding the template.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	// +required
	TemplatePath string `json:"templatePath,omitempty"`
}

// TrialParameterSpec is one placeholder of a trial template.
type TrialParameterSpec struct {
	// Name is the placeholder's name: ${trialParameters.<name>} in the template.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:Pattern=`^[^${}\s]+$`
	// +required
	Name string `json:"name"`

	// Description says what the placeholder is for.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Description string `json:"description,omitempty"`

	// Reference is what the placeholder is replaced with: the name of a parameter of
	// spec.parameters, or trial metadata (${trialSpec.Name}, ${trialSpec.Namespace},
	// ${trialSpec.Kind}, ${trialSpec.APIVersion}, ${trialSpec.Labels[key]},
	// ${trialSpec.Annotations[key]}).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	// +required
	Reference string `json:"reference,omitempty"`
}

// NasConfig is the search space of a neural architecture search.
// +kubebuilder:validation:XValidation:rule="has(self.operations) && size(self.operations) > 0",message="operations must list at least one operation a layer may be"
type NasConfig struct {
	// GraphConfig is the shape of the network.
	// +optional
	GraphConfig GraphConfig `json:"graphConfig,omitempty"`

	// Operations are the operations a layer may be, each with its parameters; 1 to 16
	// (MaxNasOperations).
	// +listType=map
	// +listMapKey=operationType
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	// +optional
	Operations []Operation `json:"operations,omitempty"`
}

// GraphConfig is the shape of a searched network.
type GraphConfig struct {
	// NumLayers is the number of layers.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	// +optional
	NumLayers *int32 `json:"numLayers,omitempty"`

	// InputSizes are the sizes of the network's input, each ≥ 1 (a list, not a set: an
	// image is 32, 32, 3).
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:Minimum=1
	// +optional
	InputSizes []int32 `json:"inputSizes,omitempty"`

	// OutputSizes are the sizes of the network's output, each ≥ 1.
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:Minimum=1
	// +optional
	OutputSizes []int32 `json:"outputSizes,omitempty"`
}

// Operation is one operation a layer of a searched network may be.
type Operation struct {
	// OperationType names the operation, e.g. convolution.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	// +required
	OperationType string `json:"operationType"`

	// Parameters are the operation's parameters; at most 16 (MaxNasOperationParameters).
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=16
	// +optional
	Parameters []ParameterSpec `json:"parameters,omitempty"`
}

// ExperimentStatus is the observed state of an Experiment. Its JSON is Katib's, which
// Katib's SDK and UI read.
type ExperimentStatus struct {
	// StartTime is when the controller first saw the experiment.
	// +optional
	StartTime *metav1.Time `json:"startTime,omitempty"`

	// CompletionTime is when the experiment finished.
	// +optional
	CompletionTime *metav1.Time `json:"completionTime,omitempty"`

	// LastReconcileTime is when the controller last reconciled the experiment.
	// +optional
	LastReconcileTime *metav1.Time `json:"lastReconcileTime,omitempty"`

	// Conditions are the experiment's conditions (Created, Running, Restarting,
	// Succeeded, Failed).
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []ExperimentCondition `json:"conditions,omitempty"`

	// CurrentOptimalTrial is the best trial so far.
	// +optional
	CurrentOptimalTrial OptimalTrial `json:"currentOptimalTrial,omitempty"`

	// RunningTrialList names the running trials.
	// +listType=set
	// +optional
	RunningTrialList []string `json:"runningTrialList,omitempty"`

	// PendingTrialList names the trials not running yet.
	// +listType=set
	// +optional
	PendingTrialList []string `json:"pendingTrialList,omitempty"`

	// FailedTrialList names the failed trials.
	// +listType=set
	// +optional
	FailedTrialList []string `json:"failedTrialList,omitempty"`

	// SucceededTrialList names the succeeded trials.
	// +listType=set
	// +optional
	SucceededTrialList []string `json:"succeededTrialList,omitempty"`

	// KilledTrialList names the killed trials.
	// +listType=set
	// +optional
	KilledTrialList []string `json:"killedTrialList,omitempty"`

	// EarlyStoppedTrialList names the trials stopped early.
	// +listType=set
	// +optional
	EarlyStoppedTrialList []string `json:"earlyStoppedTrialList,omitempty"`

	// MetricsUnavailableTrialList names the trials whose run succeeded without reporting
	// the objective metric.
	// +listType=set
	// +optional
	MetricsUnavailableTrialList []string `json:"metricsUnavailableTrialList,omitempty"`

	// Trials is the number of trials of the experiment.
	// +optional
	Trials int32 `json:"trials,omitempty"`

	// TrialsSucceeded is the number of succeeded trials.
	// +optional
	TrialsSucceeded int32 `json:"trialsSucceeded,omitempty"`

	// TrialsFailed is the number of failed trials.
	// +optional
	TrialsFailed int32 `json:"trialsFailed,omitempty"`

	// TrialsKilled is the number of killed trials.
	// +optional
	TrialsKilled int32 `json:"trialsKilled,omitempty"`

	// TrialsPending is the number of pending trials.
	// +optional
	TrialsPending int32 `json:"trialsPending,omitempty"`

	// TrialsRunning is the number of running trials.
	// +optional
	TrialsRunning int32 `json:"trialsRunning,omitempty"`

	// TrialsEarlyStopped is the number of trials stopped early.
	// +optional
	TrialsEarlyStopped int32 `json:"trialsEarlyStopped,omitempty"`

	// TrialMetricsUnavailable is the number of trials without the objective metric.
	// +optional
	TrialMetricsUnavailable int32 `json:"trialMetricsUnavailable,omitempty"`
}

// OptimalTrial is the best trial of an experiment: its name, parameters and metrics.
type OptimalTrial struct {
	// BestTrialName is the trial's name.
	// +optional
	BestTrialName string `json:"bestTrialName,omitempty"`

	// ParameterAssignments are the trial's parameter values.
	// +listType=map
	// +listMapKey=name
	// +optional
	ParameterAssignments []ParameterAssignment `json:"parameterAssignments,omitempty"`

	// Observation is the trial's metrics.
	// +optional
	Observation Observation `json:"observation,omitempty"`
}

// ExperimentCondition is one condition of an experiment.
type ExperimentCondition struct {
	// Type is the condition's type.
	Type ExperimentConditionType `json:"type"`

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

// ExperimentConditionType is the type of an experiment condition.
type ExperimentConditionType string

// Experiment condition types.
const (
	// ExperimentCreated is True once the controller accepted the experiment.
	ExperimentCreated ExperimentConditionType = "Created"
	// ExperimentRunning is True while trials run.
	ExperimentRunning ExperimentConditionType = "Running"
	// ExperimentRestarting is True while a finished experiment resumes.
	ExperimentRestarting ExperimentConditionType = "Restarting"
	// ExperimentSucceeded is True once the experiment finished well.
	ExperimentSucceeded ExperimentConditionType = "Succeeded"
	// ExperimentFailed is True once the experiment failed.
	ExperimentFailed ExperimentConditionType = "Failed"
)

// Reasons of experiment conditions, as Katib writes them.
const (
	// ExperimentCreatedReason is the reason of the Created condition.
	ExperimentCreatedReason = "ExperimentCreated"
	// ExperimentRunningReason is the reason of the Running condition.
	ExperimentRunningReason = "ExperimentRunning"
	// ExperimentRestartingReason is the reason of the Restarting condition.
	ExperimentRestartingReason = "ExperimentRestarting"
	// ExperimentGoalReachedReason is the reason of Succeeded when a trial reached the
	// objective's goal.
	ExperimentGoalReachedReason = "ExperimentGoalReached"
	// ExperimentMaxTrialsReachedReason is the reason of Succeeded when maxTrialCount
	// trials succeeded.
	ExperimentMaxTrialsReachedReason = "ExperimentMaxTrialsReached"
	// ExperimentSuggestionEndReachedReason is the reason of Succeeded when the algorithm
	// had no more suggestions.
	ExperimentSuggestionEndReachedReason = "ExperimentSuggestionEndReached"
	// ExperimentFailedReason is the reason of Failed, e.g. when maxFailedTrialCount
	// trials failed (Katib has no more specific reason for that).
	ExperimentFailedReason = "ExperimentFailed"
)
