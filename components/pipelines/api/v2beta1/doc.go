// Package v2beta1 holds Kubeflow Pipelines' Kubernetes-native pipelines.kubeflow.org/v2beta1
// Pipeline and PipelineVersion, served by kfup: a PipelineVersion carries a pipeline's
// compiled IR (and its kfp-kubernetes platform spec) as the kfp SDK writes them, owned by
// the Pipeline it names. The types are kfup's own, JSON-compatible with KFP's
// Kubernetes-native mode (KEP-11551); the CRDs are generated into manifests/crds/.
//
// +kubebuilder:object:generate=true
// +groupName=pipelines.kubeflow.org
package v2beta1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is pipelines.kubeflow.org/v2beta1.
	GroupVersion = schema.GroupVersion{Group: "pipelines.kubeflow.org", Version: "v2beta1"}

	// SchemeBuilder registers the types of this package.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the types of this package to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
