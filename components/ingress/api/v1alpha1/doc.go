// Package v1alpha1 holds the part of Knative's networking.internal.knative.dev/v1alpha1
// API that kfup's ingress serves: Ingress (KIngress), the object Knative Serving writes
// for each Route. The types are JSON-compatible with knative.dev/networking at Knative
// Serving 1.15 and are kfup's own: that module pins Kubernetes libraries 0.29 and
// knative.dev/pkg, which kfup's manager does not link. The CRD is Knative's own (in its
// serving manifests), so none is generated here.
//
// +kubebuilder:object:generate=true
// +kubebuilder:skip
// +groupName=networking.internal.knative.dev
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is networking.internal.knative.dev/v1alpha1.
	GroupVersion = schema.GroupVersion{Group: "networking.internal.knative.dev", Version: "v1alpha1"}

	// SchemeBuilder registers the types of this package.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the types of this package to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
