// Package v1alpha1 holds KServe's serving.kserve.io/v1alpha1 ServingRuntime and
// ClusterServingRuntime, served by kfup: the model servers an InferenceService's
// predictor may run, chosen by model format, version and protocol. The types are kfup's
// own, JSON-compatible with KServe v0.16+; the CRDs are generated from them into
// manifests/crds/ (make generate).
//
// +kubebuilder:object:generate=true
// +groupName=serving.kserve.io
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is serving.kserve.io/v1alpha1.
	GroupVersion = schema.GroupVersion{Group: "serving.kserve.io", Version: "v1alpha1"}

	// SchemeBuilder registers the types of this package.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the types of this package to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
