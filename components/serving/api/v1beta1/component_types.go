package v1beta1

import (
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/api/resource"
)

// ComponentExtensionSpec is how a component (predictor, transformer, explainer) is
// deployed and scaled.
//
// +kubebuilder:validation:XValidation:rule="!has(self.minReplicas) || !has(self.maxReplicas) || self.maxReplicas == 0 || self.minReplicas <= self.maxReplicas",message="minReplicas cannot be greater than maxReplicas"
type ComponentExtensionSpec struct {
	// MinReplicas is the least number of replicas (1 by default; 0 scales to zero in
	// Knative mode).
	// +optional
	// +kubebuilder:validation:Minimum=0
	MinReplicas *int32 `json:"minReplicas,omitempty"`
	// MaxReplicas is the most replicas the autoscaler makes (0: as many as minReplicas).
	// +optional
	// +kubebuilder:validation:Minimum=0
	MaxReplicas int32 `json:"maxReplicas,omitempty"`
	// ScaleTarget is the autoscaler's target of ScaleMetric (a utilization percentage
	// for cpu and memory; 80 by default).
	// +optional
	// +kubebuilder:validation:Minimum=1
	ScaleTarget *int32 `json:"scaleTarget,omitempty"`
	// ScaleMetric is the metric scaled on: cpu (the default), memory, concurrency, rps.
	// +optional
	ScaleMetric *ScaleMetric `json:"scaleMetric,omitempty"`
	// ScaleMetricType is Utilization or AverageValue.
	// +optional
	ScaleMetricType *MetricTargetType `json:"scaleMetricType,omitempty"`
	// AutoScaling lists the autoscaler's metrics and behaviour.
	// +optional
	AutoScaling *AutoScalingSpec `json:"autoScaling,omitempty"`
	// ContainerConcurrency is the most requests a container takes at once (0: no limit).
	// +optional
	// +kubebuilder:validation:Minimum=0
	ContainerConcurrency *int64 `json:"containerConcurrency,omitempty"`
	// TimeoutSeconds is how long a request to the component may take.
	// +optional
	// +kubebuilder:validation:Minimum=0
	TimeoutSeconds *int64 `json:"timeout,omitempty"`
	// CanaryTrafficPercent is the share of traffic the latest revision gets, the rest
	// going to the last ready one (Knative mode).
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	CanaryTrafficPercent *int64 `json:"canaryTrafficPercent,omitempty"`
	// Logger logs requests and responses.
	// +optional
	Logger *LoggerSpec `json:"logger,omitempty"`
	// Batcher batches requests.
	// +optional
	Batcher *Batcher `json:"batcher,omitempty"`
	// Labels are added to the component's pods.
	// +optional
	Labels map[string]string `json:"labels,omitempty"`
	// Annotations are added to the component's pods.
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
	// DeploymentStrategy replaces the pods of a Standard-mode Deployment.
	// +optional
	DeploymentStrategy *appsv1.DeploymentStrategy `json:"deploymentStrategy,omitempty"`
}

// ScaleMetric is a metric the autoscaler scales on.
// +kubebuilder:validation:Enum=cpu;memory;concurrency;rps
type ScaleMetric string

// The scale metrics.
const (
	MetricCPU         ScaleMetric = "cpu"
	MetricMemory      ScaleMetric = "memory"
	MetricConcurrency ScaleMetric = "concurrency"
	MetricRPS         ScaleMetric = "rps"
)

// MetricTargetType is how a metric's target is given.
// +kubebuilder:validation:Enum=Utilization;Value;AverageValue
type MetricTargetType string

// The metric target types.
const (
	UtilizationMetricType  MetricTargetType = "Utilization"
	ValueMetricType        MetricTargetType = "Value"
	AverageValueMetricType MetricTargetType = "AverageValue"
)

// AutoScalingSpec is the autoscaler's metrics and behaviour.
type AutoScalingSpec struct {
	// Metrics to scale on.
	// +optional
	// +kubebuilder:validation:MaxItems=16
	Metrics []MetricsSpec `json:"metrics,omitempty"`
	// Behavior is the HPA's scaling behaviour.
	// +optional
	Behavior *autoscalingv2.HorizontalPodAutoscalerBehavior `json:"behavior,omitempty"`
}

// MetricSourceType is the kind of a metric: Resource, External, PodMetric.
// +kubebuilder:validation:Enum=Resource;External;PodMetric
type MetricSourceType string

// The metric source types.
const (
	ResourceMetricSourceType MetricSourceType = "Resource"
	ExternalMetricSourceType MetricSourceType = "External"
	PodMetricSourceType      MetricSourceType = "PodMetric"
)

// MetricsSpec is one metric to scale on: its type and the matching field.
type MetricsSpec struct {
	// Type is the metric's kind.
	Type MetricSourceType `json:"type"`
	// Resource is a resource metric (cpu, memory).
	// +optional
	Resource *ResourceMetricSource `json:"resource,omitempty"`
	// External is a metric from outside the cluster (KEDA).
	// +optional
	External *ExternalMetricSource `json:"external,omitempty"`
	// PodMetric is a per-pod metric (KEDA).
	// +optional
	PodMetric *PodMetricSource `json:"podmetric,omitempty"`
}

// ResourceMetric is a resource scaled on.
// +kubebuilder:validation:Enum=cpu;memory
type ResourceMetric string

// The resource metrics.
const (
	ResourceMetricCPU    ResourceMetric = "cpu"
	ResourceMetricMemory ResourceMetric = "memory"
)

// ResourceMetricSource is a resource metric and its target.
type ResourceMetricSource struct {
	// Name is the resource.
	Name ResourceMetric `json:"name"`
	// Target is its target value.
	Target MetricTarget `json:"target"`
}

// ExternalMetricSource is an external metric and its target.
type ExternalMetricSource struct {
	// Metric is the metric's backend and query.
	Metric ExternalMetrics `json:"metric"`
	// Authentication reaches the backend.
	// +optional
	Authentication *ExtMetricAuthentication `json:"authenticationRef,omitempty"`
	// Target is its target value.
	Target MetricTarget `json:"target"`
}

// PodMetricSource is a per-pod metric and its target.
type PodMetricSource struct {
	// Metric is the metric's backend and query.
	Metric PodMetrics `json:"metric"`
	// Target is its target value.
	Target MetricTarget `json:"target"`
}

// AuthenticationRef names an authentication secret.
type AuthenticationRef struct {
	// Name of the secret.
	Name string `json:"name"`
}

// ExtMetricAuthentication is how the metrics backend is authenticated to.
type ExtMetricAuthentication struct {
	// AuthenticationRef is the secret.
	AuthenticationRef AuthenticationRef `json:"authenticationRef"`
	// AuthModes: bearer, basic, tls.
	// +optional
	AuthModes string `json:"authModes,omitempty"`
}

// MetricTarget is a metric's target value.
type MetricTarget struct {
	// Type is Utilization, Value or AverageValue.
	// +optional
	Type MetricTargetType `json:"type"`
	// Value is the target value.
	// +optional
	Value *resource.Quantity `json:"value,omitempty"`
	// AverageValue is the target of the average over the pods.
	// +optional
	AverageValue *resource.Quantity `json:"averageValue,omitempty"`
	// AverageUtilization is the target percentage of the requested resource.
	// +optional
	AverageUtilization *int32 `json:"averageUtilization,omitempty"`
}

// MetricsBackend is an external metrics backend: prometheus, graphite.
type MetricsBackend string

// ExternalMetrics is an external metric's backend and query.
type ExternalMetrics struct {
	// Backend is prometheus or graphite.
	// +optional
	Backend MetricsBackend `json:"backend"`
	// ServerAddress is the backend's address.
	// +optional
	ServerAddress string `json:"serverAddress,omitempty"`
	// Query reads the metric.
	// +optional
	Query string `json:"query,omitempty"`
	// Namespace of a namespaced query.
	// +optional
	Namespace string `json:"namespace,omitempty"`
}

// PodsMetricsBackend is a per-pod metrics backend: opentelemetry.
type PodsMetricsBackend string

// PodMetrics is a per-pod metric's backend and query.
type PodMetrics struct {
	// Backend is opentelemetry.
	// +optional
	Backend PodsMetricsBackend `json:"backend"`
	// ServerAddress is the backend's address.
	// +optional
	ServerAddress string `json:"serverAddress,omitempty"`
	// MetricNames are the backend's metric names.
	// +optional
	MetricNames []string `json:"metricNames,omitempty"`
	// Query reads the metric.
	// +optional
	Query string `json:"query,omitempty"`
	// OperationOverTime aggregates over time: last_one, avg, max, min, rate, count.
	// +optional
	OperationOverTime string `json:"operationOverTime,omitempty"`
}

// LoggerType is what the logger logs: all, request, response.
// +kubebuilder:validation:Enum=all;request;response
type LoggerType string

// LoggerSpec configures request and response logging.
type LoggerSpec struct {
	// URL receives the logged events.
	// +optional
	URL *string `json:"url,omitempty"`
	// Mode is what is logged (all by default).
	// +optional
	Mode LoggerType `json:"mode,omitempty"`
	// MetadataHeaders are request headers added to the events.
	// +optional
	MetadataHeaders []string `json:"metadataHeaders,omitempty"`
	// MetadataAnnotations are InferenceService annotations added to the events.
	// +optional
	MetadataAnnotations []string `json:"metadataAnnotations,omitempty"`
	// Storage stores the events.
	// +optional
	Storage *LoggerStorageSpec `json:"storage,omitempty"`
	// MarshallerURL formats the events.
	// +optional
	MarshallerURL *string `json:"marshallerUrl,omitempty"`
	// BatchSize is how many events are sent together.
	// +optional
	BatchSize *int `json:"batchSize,omitempty"`
	// BatchInterval is how long events wait to be sent.
	// +optional
	BatchInterval *string `json:"batchInterval,omitempty"`
}

// LoggerStorageSpec is where logged events are stored.
type LoggerStorageSpec struct {
	StorageSpec `json:",inline"`
	// ServiceAccountName writes to the storage.
	// +optional
	ServiceAccountName *string `json:"serviceAccountName,omitempty"`
}

// Batcher batches requests.
type Batcher struct {
	// MaxBatchSize is the most requests in one batch.
	// +optional
	MaxBatchSize *int `json:"maxBatchSize,omitempty"`
	// MaxLatency is the longest a request waits for its batch, in milliseconds.
	// +optional
	MaxLatency *int `json:"maxLatency,omitempty"`
	// Timeout is a batch's timeout, in seconds.
	// +optional
	Timeout *int `json:"timeout,omitempty"`
}
