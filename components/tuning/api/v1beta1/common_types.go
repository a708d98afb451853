package v1beta1

import (
	corev1 "k8s.io/api/core/v1"
)

// AlgorithmSpec names the search algorithm of an experiment and its settings.
type AlgorithmSpec struct {
	// AlgorithmName is the search algorithm: random, grid, bayesianoptimization, tpe,
	// multivariate-tpe, cmaes, sobol, hyperband, enas, darts, pbt, or another one kfup
	// knows (the controller refuses names it does not know with a condition).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +required
	AlgorithmName string `json:"algorithmName,omitempty"`

	// AlgorithmSettings are the algorithm's settings as name-value pairs (for example
	// random_state); at most 100 (MaxSettings).
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=100
	// +optional
	AlgorithmSettings []AlgorithmSetting `json:"algorithmSettings,omitempty"`
}

// AlgorithmSetting is one setting of a search algorithm.
type AlgorithmSetting struct {
	// Name is the setting's name.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	// +required
	Name string `json:"name"`

	// Value is the setting's value, as a string.
	// +kubebuilder:validation:MaxLength=256
	// +optional
	Value string `json:"value,omitempty"`
}

// EarlyStoppingSpec names the early-stopping algorithm of an experiment and its settings.
type EarlyStoppingSpec struct {
	// AlgorithmName is the early-stopping algorithm, e.g. medianstop.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +required
	AlgorithmName string `json:"algorithmName,omitempty"`

	// AlgorithmSettings are the algorithm's settings as name-value pairs (for example
	// min_trials_required); at most 100 (MaxSettings).
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=100
	// +optional
	AlgorithmSettings []EarlyStoppingSetting `json:"algorithmSettings,omitempty"`
}

// EarlyStoppingSetting is one setting of an early-stopping algorithm.
type EarlyStoppingSetting struct {
	// Name is the setting's name.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	// +required
	Name string `json:"name"`

	// Value is the setting's value, as a string.
	// +kubebuilder:validation:MaxLength=256
	// +optional
	Value string `json:"value,omitempty"`
}

// EarlyStoppingRule stops a trial when its metric Name compares to Value as Comparison
// says, once StartStep values of the metric have been reported.
type EarlyStoppingRule struct {
	// Name is the metric the rule watches.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	// +required
	Name string `json:"name"`

	// Value is the threshold the metric is compared to, as a string.
	// +kubebuilder:validation:MaxLength=256
	// +optional
	Value string `json:"value,omitempty"`

	// Comparison says how the metric is compared to Value: equal, less or greater.
	// +optional
	Comparison ComparisonType `json:"comparison,omitempty"`

	// StartStep is how many values of the metric must have been reported before the
	// rule applies; 0 applies it from the first value.
	// +kubebuilder:validation:Minimum=0
	// +optional
	StartStep int `json:"startStep,omitempty"`
}

// ComparisonType says how an early-stopping rule compares a metric to its value.
// +kubebuilder:validation:Enum=equal;less;greater
type ComparisonType string

// Comparison types.
const (
	// ComparisonTypeEqual stops when the metric equals the rule's value.
	ComparisonTypeEqual ComparisonType = "equal"
	// ComparisonTypeLess stops when the metric is less than the rule's value.
	ComparisonTypeLess ComparisonType = "less"
	// ComparisonTypeGreater stops when the metric is greater than the rule's value.
	ComparisonTypeGreater ComparisonType = "greater"
)

// ObjectiveSpec is what an experiment optimizes: one metric, minimized or maximized,
// optionally until a goal is reached.
// +kubebuilder:validation:XValidation:rule="!has(self.additionalMetricNames) || !(self.objectiveMetricName in self.additionalMetricNames)",message="additionalMetricNames must not repeat objectiveMetricName: the objective metric is always collected"
type ObjectiveSpec struct {
	// Type says whether the objective metric is minimized or maximized.
	// +required
	Type ObjectiveType `json:"type,omitempty"`

	// Goal ends the experiment (Succeeded, reason ExperimentGoalReached) once a trial's
	// objective metric reaches it; unset runs until maxTrialCount trials succeed or the
	// algorithm has no more suggestions. (A JSON number, as in Katib; the schema is
	// written by hand because controller-gen refuses floats.)
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:validation:Type=number
	// +optional
	Goal *float64 `json:"goal,omitempty"`

	// ObjectiveMetricName is the metric to optimize, as the training code reports it.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	// +required
	ObjectiveMetricName string `json:"objectiveMetricName,omitempty"`

	// AdditionalMetricNames are further metrics to collect from each trial; at most 100
	// (MaxMetricNames).
	// +listType=set
	// +kubebuilder:validation:MaxItems=100
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=128
	// +optional
	AdditionalMetricNames []string `json:"additionalMetricNames,omitempty"`

	// MetricStrategies say which value of each metric a trial's observation keeps (min,
	// max or latest). The controller completes the list: a metric without a strategy gets
	// min when the objective is minimized and max when it is maximized, as Katib's
	// webhook does.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=101
	// +optional
	MetricStrategies []MetricStrategy `json:"metricStrategies,omitempty"`
}

// ObjectiveType says whether an objective is minimized or maximized.
// +kubebuilder:validation:Enum=minimize;maximize
type ObjectiveType string

// Objective types.
const (
	// ObjectiveTypeUnknown is the zero value: no type given.
	ObjectiveTypeUnknown ObjectiveType = ""
	// ObjectiveTypeMinimize minimizes the objective metric.
	ObjectiveTypeMinimize ObjectiveType = "minimize"
	// ObjectiveTypeMaximize maximizes the objective metric.
	ObjectiveTypeMaximize ObjectiveType = "maximize"
)

// ParameterAssignment is the value one trial gives one parameter.
type ParameterAssignment struct {
	// Name is the parameter's name (spec.parameters[*].name of the experiment).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	// +required
	Name string `json:"name"`

	// Value is the parameter's value, as a string; at most 65536 characters
	// (MaxAssignmentValueLength: a neural architecture search's architecture and its
	// description are long).
	// +kubebuilder:validation:MaxLength=65536
	// +optional
	Value string `json:"value,omitempty"`
}

// MetricStrategyType says which of a metric's reported values a trial's observation keeps.
// +kubebuilder:validation:Enum=min;max;latest
type MetricStrategyType string

// Metric strategies.
const (
	// ExtractByMin keeps the smallest value.
	ExtractByMin MetricStrategyType = "min"
	// ExtractByMax keeps the largest value.
	ExtractByMax MetricStrategyType = "max"
	// ExtractByLatest keeps the last value.
	ExtractByLatest MetricStrategyType = "latest"
)

// MetricStrategy is the strategy of one metric.
type MetricStrategy struct {
	// Name is the metric's name.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	// +required
	Name string `json:"name"`

	// Value is the strategy: min, max or latest.
	// +required
	Value MetricStrategyType `json:"value,omitempty"`
}

// Metric is what was observed of one metric of a trial: its smallest, largest and last
// reported value, as strings (Katib reports "unavailable" when there was none).
type Metric struct {
	// Name is the metric's name.
	// +kubebuilder:validation:MaxLength=128
	// +required
	Name string `json:"name"`
	// Min is the smallest value reported.
	// +optional
	Min string `json:"min,omitempty"`
	// Max is the largest value reported.
	// +optional
	Max string `json:"max,omitempty"`
	// Latest is the last value reported.
	// +optional
	Latest string `json:"latest,omitempty"`
}

// MetricUnavailableValue is the value of a Metric's Min, Max and Latest when the trial
// reported none.
const MetricUnavailableValue = "unavailable"

// Observation is what was observed of a trial's metrics.
type Observation struct {
	// Metrics holds one entry per metric.
	// +listType=map
	// +listMapKey=name
	// +optional
	Metrics []Metric `json:"metrics,omitempty"`
}

// MetricsCollectorSpec says where a trial's metrics come from and how they are collected.
// +kubebuilder:validation:XValidation:rule="!has(self.collector) || self.collector.kind != 'File' || !has(self.source) || !has(self.source.fileSystemPath) || !has(self.source.fileSystemPath.kind) || self.source.fileSystemPath.kind == 'File'",message="the File collector reads one file: set source.fileSystemPath.kind to File"
// +kubebuilder:validation:XValidation:rule="!has(self.collector) || self.collector.kind != 'TensorFlowEvent' || !has(self.source) || !has(self.source.fileSystemPath) || !has(self.source.fileSystemPath.kind) || self.source.fileSystemPath.kind == 'Directory'",message="the TensorFlowEvent collector reads a directory of event files: set source.fileSystemPath.kind to Directory"
// +kubebuilder:validation:XValidation:rule="!has(self.collector) || self.collector.kind != 'TensorFlowEvent' || !has(self.source) || !has(self.source.fileSystemPath) || !has(self.source.fileSystemPath.format)",message="the TensorFlowEvent collector reads event files, which have no format: remove source.fileSystemPath.format"
// +kubebuilder:validation:XValidation:rule="!has(self.source) || !has(self.source.filter) || !has(self.source.fileSystemPath) || !has(self.source.fileSystemPath.format) || self.source.fileSystemPath.format != 'JSON'",message="a JSON metrics file is read without a filter: remove source.filter or use format TEXT"
type MetricsCollectorSpec struct {
	// Source says where the metrics are read: a file or directory, or an HTTP endpoint.
	// Unset, the controller uses the collector kind's default (Katib's defaults:
	// /var/log/katib/metrics.log for File, /var/log/katib/tfevent/ for TensorFlowEvent,
	// /metrics on port 8080 for PrometheusMetric).
	// +optional
	Source *SourceSpec `json:"source,omitempty"`

	// Collector says how the metrics are collected. Unset means StdOut, as in Katib.
	// +optional
	Collector *CollectorSpec `json:"collector,omitempty"`
}

// SourceSpec says where a trial's metrics are read.
type SourceSpec struct {
	// HttpGet is the HTTP endpoint serving the metrics (PrometheusMetric collector).
	// +optional
	HttpGet *corev1.HTTPGetAction `json:"httpGet,omitempty"` //nolint:revive // Katib's name, kept for source compatibility

	// FileSystemPath is the file or directory the training code writes its metrics to.
	// +optional
	FileSystemPath *FileSystemPath `json:"fileSystemPath,omitempty"`

	// Filter says how metrics are found in text output; unset, the controller uses
	// Katib's default ("<name>=<value>" pairs).
	// +optional
	Filter *FilterSpec `json:"filter,omitempty"`
}

// FilterSpec holds the regular expressions that find metrics in text output.
type FilterSpec struct {
	// MetricsFormat are regular expressions (RE2) with two groups each: the first matches
	// the metric's name, the second its value. At most 10 (MaxMetricsFormats).
	// +listType=set
	// +kubebuilder:validation:MaxItems=10
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=1024
	// +kubebuilder:validation:XValidation:rule="self.all(f, f.matches('[(].*[)].*[(].*[)]'))",message="each metricsFormat needs two groups, the metric's name and its value, e.g. '([\\w|-]+)\\s*=\\s*([+-]?\\d*(\\.\\d+)?([Ee][+-]?\\d+)?)'"
	// +optional
	MetricsFormat []string `json:"metricsFormat,omitempty"`
}

// FileSystemKind says whether a metrics path is a file or a directory.
// +kubebuilder:validation:Enum=File;Directory
type FileSystemKind string

// File system kinds.
const (
	// DirectoryKind is a directory (TensorFlow event files).
	DirectoryKind FileSystemKind = "Directory"
	// FileKind is one file.
	FileKind FileSystemKind = "File"
)

// FileFormat is the format of a metrics file.
// +kubebuilder:validation:Enum=TEXT;JSON
type FileFormat string

// File formats.
const (
	// TextFormat is text lines searched with the filter's expressions.
	TextFormat FileFormat = "TEXT"
	// JsonFormat is one JSON object per line, e.g. {"loss": "0.2", "epoch": 1}.
	JsonFormat FileFormat = "JSON" //nolint:revive // Katib's name
)

// FileSystemPath is a file or directory metrics are read from.
type FileSystemPath struct {
	// Path is the absolute path, in the primary container.
	// +kubebuilder:validation:MaxLength=4096
	// +kubebuilder:validation:Pattern=`^/`
	// +optional
	Path string `json:"path,omitempty"`

	// Kind says whether Path is a File or a Directory.
	// +optional
	Kind FileSystemKind `json:"kind,omitempty"`

	// Format is the file's format, TEXT or JSON; the controller defaults it to TEXT for
	// the File collector, as Katib does.
	// +optional
	Format FileFormat `json:"format,omitempty"`
}

// CollectorKind says how a trial's metrics are collected.
// +kubebuilder:validation:Enum=StdOut;File;TensorFlowEvent;PrometheusMetric;Custom;None;Push
type CollectorKind string

// Collector kinds and their default sources.
const (
	// StdOutCollector reads the primary container's standard output (the default).
	StdOutCollector CollectorKind = "StdOut"

	// FileCollector reads a file the training code writes.
	FileCollector CollectorKind = "File"
	// DefaultFilePath is the File collector's default file.
	DefaultFilePath = "/var/log/katib/metrics.log"

	// TfEventCollector reads TensorFlow event files from a directory.
	TfEventCollector CollectorKind = "TensorFlowEvent"
	// DefaultTensorflowEventDirPath is the TensorFlowEvent collector's default directory.
	DefaultTensorflowEventDirPath = "/var/log/katib/tfevent/"

	// PrometheusMetricCollector scrapes a Prometheus endpoint of the primary container.
	PrometheusMetricCollector CollectorKind = "PrometheusMetric"
	// DefaultPrometheusPath is the PrometheusMetric collector's default path.
	DefaultPrometheusPath = "/metrics"
	// DefaultPrometheusPort is the PrometheusMetric collector's default port.
	DefaultPrometheusPort = 8080

	// CustomCollector runs the user's collector container (CollectorSpec.CustomCollector).
	CustomCollector CollectorKind = "Custom"

	// NoneCollector collects nothing.
	NoneCollector CollectorKind = "None"

	// PushCollector injects no collector: the training code reports its metrics itself.
	PushCollector CollectorKind = "Push"
)

// CollectorSpec says how a trial's metrics are collected.
// +kubebuilder:validation:XValidation:rule="self.kind == 'Custom' ? has(self.customCollector) : !has(self.customCollector)",message="customCollector is the container of the Custom collector: set it with kind Custom, and only then"
type CollectorSpec struct {
	// Kind is the collector: StdOut (the default), File, TensorFlowEvent,
	// PrometheusMetric, Custom, None or Push.
	// +kubebuilder:default=StdOut
	// +optional
	Kind CollectorKind `json:"kind,omitempty"`

	// CustomCollector is the collector container of kind Custom.
	// +optional
	CustomCollector *corev1.Container `json:"customCollector,omitempty"`
}
