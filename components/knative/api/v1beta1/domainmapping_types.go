package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	knservingv1 "github.com/kfup/kfup/components/knative/api/v1"
)

// DomainMappingKind is the DomainMapping's kind.
const DomainMappingKind = "DomainMapping"

// DomainMapping maps a domain, its name, to an addressable object in its namespace (a
// Knative Service): Knative routes the domain to it, rewriting the host.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
type DomainMapping struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   DomainMappingSpec   `json:"spec,omitempty"`
	Status DomainMappingStatus `json:"status,omitempty"`
}

// DomainMappingList is a list of DomainMappings.
//
// +kubebuilder:object:root=true
type DomainMappingList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []DomainMapping `json:"items"`
}

// DomainMappingSpec names the target.
type DomainMappingSpec struct {
	// Ref is the object the domain maps to.
	Ref KReference `json:"ref"`
}

// KReference is Knative's reference to an object.
type KReference struct {
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name"`
	APIVersion string `json:"apiVersion,omitempty"`
}

// DomainMappingStatus is what Knative reports of a DomainMapping.
type DomainMappingStatus struct {
	// ObservedGeneration is the generation the status is for.
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Conditions: Ready, IngressReady, DomainClaimed, ReferenceResolved,
	// CertificateProvisioned.
	Conditions []knservingv1.Condition `json:"conditions,omitempty"`
	// URL is the domain's URL.
	URL string `json:"url,omitempty"`
	// Address is where the domain is reached inside the cluster.
	Address *knservingv1.Addressable `json:"address,omitempty"`
}

func init() {
	SchemeBuilder.Register(&DomainMapping{}, &DomainMappingList{})
}
