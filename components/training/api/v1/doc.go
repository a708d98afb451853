// Package v1 holds the kubeflow.org/v1 training job API served by kfup: TFJob, PyTorchJob,
// MPIJob, XGBoostJob, JAXJob and PaddleJob. The types are JSON-compatible with the Kubeflow
// Training Operator v1.9, so upstream YAML applies unchanged; the CRDs are generated from
// them by controller-gen (make generate) into manifests/crds/.
//
// +kubebuilder:object:generate=true
// +groupName=kubeflow.org
package v1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is kubeflow.org/v1.
	GroupVersion = schema.GroupVersion{Group: "kubeflow.org", Version: "v1"}

	// SchemeBuilder registers the types of this package.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the types of this package to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
