package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Annotations and values Knative uses to pick an ingress implementation.
const (
	// ClassAnnotation names the implementation that serves a KIngress
	// (networking.knative.dev/ingress.class; Knative also accepts ClassAnnotationAlt).
	ClassAnnotation = "networking.knative.dev/ingress.class"
	// ClassAnnotationAlt is the alternative spelling Knative accepts.
	ClassAnnotationAlt = "networking.knative.dev/ingress-class"
	// Class is kfup's ingress class, the value of config-network's ingress-class that
	// makes Knative Serving hand its routes to kfup.
	Class = "kfup.ingress.networking.knative.dev"
)

// Ingress is Knative's KIngress: the hosts, paths and weighted backends of a Route.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
type Ingress struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   IngressSpec   `json:"spec,omitempty"`
	Status IngressStatus `json:"status,omitempty"`
}

// IngressList is a list of Ingresses.
//
// +kubebuilder:object:root=true
type IngressList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Ingress `json:"items"`
}

// IngressSpec is the desired routing.
type IngressSpec struct {
	TLS        []IngressTLS  `json:"tls,omitempty"`
	Rules      []IngressRule `json:"rules,omitempty"`
	HTTPOption HTTPOption    `json:"httpOption,omitempty"`
}

// HTTPOption says whether plain HTTP is served (Enabled) or redirected to HTTPS.
type HTTPOption string

// The HTTP options.
const (
	HTTPOptionEnabled    HTTPOption = "Enabled"
	HTTPOptionRedirected HTTPOption = "Redirected"
)

// IngressVisibility says who reaches a rule.
type IngressVisibility string

// The visibilities.
const (
	IngressVisibilityExternalIP   IngressVisibility = "ExternalIP"
	IngressVisibilityClusterLocal IngressVisibility = "ClusterLocal"
)

// IngressTLS names a certificate for some hosts.
type IngressTLS struct {
	Hosts           []string `json:"hosts,omitempty"`
	SecretName      string   `json:"secretName,omitempty"`
	SecretNamespace string   `json:"secretNamespace,omitempty"`
}

// IngressRule routes the requests for some hosts (all when none).
type IngressRule struct {
	Hosts      []string              `json:"hosts,omitempty"`
	Visibility IngressVisibility     `json:"visibility,omitempty"`
	HTTP       *HTTPIngressRuleValue `json:"http,omitempty"`
}

// HTTPIngressRuleValue holds a rule's paths.
type HTTPIngressRuleValue struct {
	Paths []HTTPIngressPath `json:"paths"`
}

// HTTPIngressPath routes a literal path prefix (and header matches) to weighted splits.
type HTTPIngressPath struct {
	Path          string                 `json:"path,omitempty"`
	RewriteHost   string                 `json:"rewriteHost,omitempty"`
	Headers       map[string]HeaderMatch `json:"headers,omitempty"`
	Splits        []IngressBackendSplit  `json:"splits"`
	AppendHeaders map[string]string      `json:"appendHeaders,omitempty"`
}

// IngressBackendSplit is a backend and its share of a path's traffic.
type IngressBackendSplit struct {
	IngressBackend `json:",inline"`
	Percent        int               `json:"percent,omitempty"`
	AppendHeaders  map[string]string `json:"appendHeaders,omitempty"`
}

// IngressBackend is a Service port.
type IngressBackend struct {
	ServiceNamespace string             `json:"serviceNamespace"`
	ServiceName      string             `json:"serviceName"`
	ServicePort      intstr.IntOrString `json:"servicePort"`
}

// HeaderMatch is an exact header value.
type HeaderMatch struct {
	Exact string `json:"exact"`
}

// IngressStatus is Knative's duck status plus the load balancers that serve the rules.
type IngressStatus struct {
	ObservedGeneration  int64               `json:"observedGeneration,omitempty"`
	Conditions          []Condition         `json:"conditions,omitempty"`
	Annotations         map[string]string   `json:"annotations,omitempty"`
	PublicLoadBalancer  *LoadBalancerStatus `json:"publicLoadBalancer,omitempty"`
	PrivateLoadBalancer *LoadBalancerStatus `json:"privateLoadBalancer,omitempty"`
}

// LoadBalancerStatus lists where a load balancer is reached.
type LoadBalancerStatus struct {
	Ingress []LoadBalancerIngressStatus `json:"ingress,omitempty"`
}

// LoadBalancerIngressStatus is one address of a load balancer.
type LoadBalancerIngressStatus struct {
	IP             string `json:"ip,omitempty"`
	Domain         string `json:"domain,omitempty"`
	DomainInternal string `json:"domainInternal,omitempty"`
	MeshOnly       bool   `json:"meshOnly,omitempty"`
}

// Condition is Knative's apis.Condition.
type Condition struct {
	Type               string      `json:"type"`
	Status             string      `json:"status"`
	Severity           string      `json:"severity,omitempty"`
	LastTransitionTime metav1.Time `json:"lastTransitionTime,omitempty"`
	Reason             string      `json:"reason,omitempty"`
	Message            string      `json:"message,omitempty"`
}

// The KIngress condition types.
const (
	ConditionReady             = "Ready"
	ConditionNetworkConfigured = "NetworkConfigured"
	ConditionLoadBalancerReady = "LoadBalancerReady"
)

func init() { SchemeBuilder.Register(&Ingress{}, &IngressList{}) }
