// Package v1beta1 holds the part of Knative Serving's serving.knative.dev/v1beta1 API
// that kfup's serving controller writes: the DomainMapping that gives a Serverless
// InferenceService its own host, <name>.<namespace>.<domain>, as KServe's top-level
// VirtualService does on Istio. JSON-compatible with knative.dev/serving at 1.15 and
// kfup's own, as package v1; the CRD is Knative's.
//
// +kubebuilder:object:generate=true
// +kubebuilder:skip
// +groupName=serving.knative.dev
package v1beta1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is serving.knative.dev/v1beta1.
	GroupVersion = schema.GroupVersion{Group: "serving.knative.dev", Version: "v1beta1"}

	// SchemeBuilder registers the types of this package.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the types of this package to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
