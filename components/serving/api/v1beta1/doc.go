// Package v1beta1 holds KServe's serving.kserve.io/v1beta1 InferenceService, served by
// kfup. The types are kfup's own (KServe's Go module is not on the module proxy) and
// JSON-compatible with KServe v0.16+, so upstream YAML applies unchanged under strict
// field validation; the CRD is generated from them by controller-gen (make generate)
// into manifests/crds/. The ServingRuntime kinds are in package v1alpha1, as upstream.
//
// +kubebuilder:object:generate=true
// +groupName=serving.kserve.io
package v1beta1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is serving.kserve.io/v1beta1.
	GroupVersion = schema.GroupVersion{Group: "serving.kserve.io", Version: "v1beta1"}

	// SchemeBuilder registers the types of this package.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the types of this package to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
