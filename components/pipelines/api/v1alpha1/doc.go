// Package v1alpha1 holds kfup's pipelines.kfup.dev/v1alpha1 PipelineRun and RecurringRun:
// a run of a Kubeflow Pipelines v2 pipeline (a PipelineVersion, or IR embedded in the
// run) with its runtime parameters, and a cron schedule that starts such runs. KFP's own
// runs live in its database; kfup keeps them as Kubernetes objects, so kubectl, GitOps and
// the kfup CLI all see the same state: per-task phase, timings, outputs, cache hits and
// the run's error. The CRDs are generated into manifests/crds/.
//
// +kubebuilder:object:generate=true
// +groupName=pipelines.kfup.dev
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is pipelines.kfup.dev/v1alpha1.
	GroupVersion = schema.GroupVersion{Group: "pipelines.kfup.dev", Version: "v1alpha1"}

	// SchemeBuilder registers the types of this package.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the types of this package to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
