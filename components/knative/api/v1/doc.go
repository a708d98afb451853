// Package v1 holds the part of Knative Serving's serving.knative.dev/v1 API that kfup's
// serving controller writes and reads: the Knative Service (ksvc) it makes for each
// component of a Serverless InferenceService. The types are JSON-compatible with
// knative.dev/serving at 1.15 and are kfup's own: that module pins Kubernetes libraries
// 0.29 and knative.dev/pkg, which kfup's manager does not link (as the KIngress types of
// components/ingress/api/v1alpha1). The CRD is Knative's own (in its serving manifests),
// so none is generated here.
//
// +kubebuilder:object:generate=true
// +kubebuilder:skip
// +groupName=serving.knative.dev
package v1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is serving.knative.dev/v1.
	GroupVersion = schema.GroupVersion{Group: "serving.knative.dev", Version: "v1"}

	// SchemeBuilder registers the types of this package.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the types of this package to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
