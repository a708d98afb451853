package controller

import (
	"context"
	"encoding/json"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pipelinesv1alpha1 "github.com/kfup/kfup/components/pipelines/api/v1alpha1"
	pipelinesv2beta1 "github.com/kfup/kfup/components/pipelines/api/v2beta1"
	"github.com/kfup/kfup/components/pipelines/ir"
)

// permanent marks an error no retry can mend (a bad pipeline, a missing version): the run
// fails with it.
type permanent struct{ error }

// ParseSpec parses and validates a pipeline held as the JSON of a pipelineSpec and, when
// set, a platformSpec; name says where it came from. The error lists every problem.
func ParseSpec(name string, spec runtime.RawExtension, platform *runtime.RawExtension) (*ir.Pipeline, error) {
	if len(spec.Raw) == 0 {
		return nil, fmt.Errorf("%s: pipelineSpec is empty: set it to the compiled pipeline (the first document kfp.compiler writes)", name)
	}
	var plat []byte
	if platform != nil {
		plat = platform.Raw
	}
	p, problems := ir.Check(name, ir.JoinDocuments(spec.Raw, plat))
	if err := problems.Err(name); err != nil {
		return nil, err
	}
	if p == nil {
		return nil, fmt.Errorf("%s: the pipeline could not be read", name)
	}
	return p, nil
}

// load returns the run's pipeline: embedded, or its PipelineVersion's.
func (r *RunReconciler) load(ctx context.Context, run *pipelinesv1alpha1.PipelineRun) (*ir.Pipeline, error) {
	if run.Spec.PipelineSpec != nil {
		p, err := ParseSpec("spec.pipelineSpec", *run.Spec.PipelineSpec, run.Spec.PlatformSpec)
		if err != nil {
			return nil, permanent{err}
		}
		return p, nil
	}
	if run.Spec.PipelineVersionRef == nil {
		return nil, permanent{fmt.Errorf("the run names no pipeline: set spec.pipelineVersionRef or spec.pipelineSpec")}
	}
	v := &pipelinesv2beta1.PipelineVersion{}
	name := run.Spec.PipelineVersionRef.Name
	if err := r.client.Get(ctx, client.ObjectKey{Namespace: run.Namespace, Name: name}, v); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, permanent{fmt.Errorf("PipelineVersion %s/%s does not exist: create it (kfup pipeline upload) or fix spec.pipelineVersionRef.name", run.Namespace, name)}
		}
		return nil, err
	}
	p, err := ParseSpec("PipelineVersion "+name, v.Spec.PipelineSpec, v.Spec.PlatformSpec)
	if err != nil {
		return nil, permanent{err}
	}
	return p, nil
}

// parameters decodes the run's runtime parameters.
func parameters(run *pipelinesv1alpha1.PipelineRun) (map[string]any, error) {
	out := make(map[string]any, len(run.Spec.Parameters))
	for k, v := range run.Spec.Parameters {
		var x any
		if err := json.Unmarshal(v.Raw, &x); err != nil {
			return nil, fmt.Errorf("spec.parameters.%s: %w", k, err)
		}
		out[k] = x
	}
	return out, nil
}
