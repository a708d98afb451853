package v1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ServiceKind is the Knative Service's kind.
const ServiceKind = "Service"

// Annotations and labels of Knative's that kfup's serving controller sets.
const (
	// MinScaleAnnotation is the fewest pods a revision keeps (0: it scales to zero).
	MinScaleAnnotation = "autoscaling.knative.dev/min-scale"
	// MaxScaleAnnotation is the most pods a revision gets (unset: no bound).
	MaxScaleAnnotation = "autoscaling.knative.dev/max-scale"
	// ClassAnnotation is the autoscaler: ClassKPA or ClassHPA.
	ClassAnnotation = "autoscaling.knative.dev/class"
	// MetricAnnotation is what the autoscaler scales on: concurrency or rps (KPA), cpu
	// or memory (HPA).
	MetricAnnotation = "autoscaling.knative.dev/metric"
	// TargetAnnotation is the metric's target per pod.
	TargetAnnotation = "autoscaling.knative.dev/target"
	// VisibilityLabel set to VisibilityClusterLocal keeps a Service inside the cluster.
	VisibilityLabel = "networking.knative.dev/visibility"
	// VisibilityClusterLocal is VisibilityLabel's cluster-local value.
	VisibilityClusterLocal = "cluster-local"
	// ServiceLabel is the label Knative puts on a Service's revisions and their pods.
	ServiceLabel = "serving.knative.dev/service"
	// RevisionLabel names the revision of a pod.
	RevisionLabel = "serving.knative.dev/revision"
)

// The autoscaler classes.
const (
	ClassKPA = "kpa.autoscaling.knative.dev"
	ClassHPA = "hpa.autoscaling.knative.dev"
)

// The conditions of a Service's status.
const (
	ConditionReady               = "Ready"
	ConditionConfigurationsReady = "ConfigurationsReady"
	ConditionRoutesReady         = "RoutesReady"
)

// Service is a Knative Service: a template whose every change is a new revision, and
// the traffic split between revisions.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
type Service struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ServiceSpec   `json:"spec,omitempty"`
	Status ServiceStatus `json:"status,omitempty"`
}

// ServiceList is a list of Services.
//
// +kubebuilder:object:root=true
type ServiceList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Service `json:"items"`
}

// ServiceSpec is a Service's revision template and traffic.
type ServiceSpec struct {
	// Template is the revision every change makes.
	Template RevisionTemplateSpec `json:"template"`
	// Traffic splits requests between revisions; empty: all to the latest ready one.
	Traffic []TrafficTarget `json:"traffic,omitempty"`
}

// RevisionTemplateSpec is a revision's metadata and spec.
type RevisionTemplateSpec struct {
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              RevisionSpec `json:"spec,omitempty"`
}

// RevisionSpec is a revision's pod and its request handling.
type RevisionSpec struct {
	corev1.PodSpec `json:",inline"`
	// ContainerConcurrency is the most requests a pod takes at once (0: no limit).
	ContainerConcurrency *int64 `json:"containerConcurrency,omitempty"`
	// TimeoutSeconds is how long a request may take.
	TimeoutSeconds *int64 `json:"timeoutSeconds,omitempty"`
}

// TrafficTarget is one revision's share of a Service's requests.
type TrafficTarget struct {
	// Tag gives the target its own URL (<tag>-<service>.<namespace>.<domain>).
	Tag string `json:"tag,omitempty"`
	// RevisionName is the revision; empty with LatestRevision true.
	RevisionName string `json:"revisionName,omitempty"`
	// ConfigurationName is the configuration whose latest ready revision is meant.
	ConfigurationName string `json:"configurationName,omitempty"`
	// LatestRevision is true for the latest ready revision.
	LatestRevision *bool `json:"latestRevision,omitempty"`
	// Percent of the requests.
	Percent *int64 `json:"percent,omitempty"`
	// URL reaches the target alone (status only).
	URL string `json:"url,omitempty"`
}

// ServiceStatus is what Knative reports of a Service.
type ServiceStatus struct {
	// ObservedGeneration is the generation the status is for.
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Conditions: Ready, ConfigurationsReady, RoutesReady.
	Conditions []Condition `json:"conditions,omitempty"`
	// Annotations of the status.
	Annotations map[string]string `json:"annotations,omitempty"`
	// URL is the Service's external URL.
	URL string `json:"url,omitempty"`
	// Address is its address inside the cluster.
	Address *Addressable `json:"address,omitempty"`
	// LatestReadyRevisionName is the latest revision that became ready.
	LatestReadyRevisionName string `json:"latestReadyRevisionName,omitempty"`
	// LatestCreatedRevisionName is the latest revision created.
	LatestCreatedRevisionName string `json:"latestCreatedRevisionName,omitempty"`
	// Traffic is the split as served, revisions named.
	Traffic []TrafficTarget `json:"traffic,omitempty"`
}

// Condition is a Knative condition.
type Condition struct {
	Type               string                 `json:"type"`
	Status             corev1.ConditionStatus `json:"status"`
	Severity           string                 `json:"severity,omitempty"`
	LastTransitionTime metav1.Time            `json:"lastTransitionTime,omitempty"`
	Reason             string                 `json:"reason,omitempty"`
	Message            string                 `json:"message,omitempty"`
}

// Addressable is an address inside the cluster.
type Addressable struct {
	Name     *string `json:"name,omitempty"`
	URL      string  `json:"url,omitempty"`
	CACerts  *string `json:"CACerts,omitempty"`
	Audience *string `json:"audience,omitempty"`
}

// Condition returns the condition of type t, nil when there is none.
func (s *ServiceStatus) Condition(t string) *Condition { return FindCondition(s.Conditions, t) }

// FindCondition returns the condition of type t in cs, nil when there is none.
func FindCondition(cs []Condition, t string) *Condition {
	for i := range cs {
		if cs[i].Type == t {
			return &cs[i]
		}
	}
	return nil
}

func init() {
	SchemeBuilder.Register(&Service{}, &ServiceList{})
}
