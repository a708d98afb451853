// Package v1beta1 holds the kubeflow.org/v1beta1 hyperparameter tuning API served by kfup:
// Experiment, Suggestion and Trial. The types are JSON-compatible with Katib v0.19, so
// upstream YAML applies unchanged and Katib's SDK reads kfup's objects; they are kfup's own
// (Katib is not a dependency) with their own admission rules (limits.go). The CRDs are
// generated from them by controller-gen (make generate) into manifests/crds/.
//
// +kubebuilder:object:generate=true
// +groupName=kubeflow.org
package v1beta1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is kubeflow.org/v1beta1.
	GroupVersion = schema.GroupVersion{Group: "kubeflow.org", Version: "v1beta1"}

	// SchemeBuilder registers the types of this package.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the types of this package to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
