package controller

import (
	"context"
	"encoding/json"
	"fmt"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
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

// loadPipeline returns the pipeline of a run's spec in namespace ns: embedded, or its
// PipelineVersion's, read through reader; field prefixes the problems ("spec",
// "spec.runSpec"). What no retry mends (a bad pipeline, a missing version) is permanent;
// a failed read is not.
func loadPipeline(ctx context.Context, reader client.Reader, ns, field string, spec *pipelinesv1alpha1.PipelineRunSpec) (*ir.Pipeline, error) {
	if spec.PipelineSpec != nil {
		p, err := ParseSpec(field+".pipelineSpec", *spec.PipelineSpec, spec.PlatformSpec)
		if err != nil {
			return nil, permanent{err}
		}
		return p, nil
	}
	if spec.PipelineVersionRef == nil {
		return nil, permanent{fmt.Errorf("%s names no pipeline: set pipelineVersionRef or pipelineSpec", field)}
	}
	v := &pipelinesv2beta1.PipelineVersion{}
	name := spec.PipelineVersionRef.Name
	if err := reader.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, v); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, permanent{fmt.Errorf("%s.pipelineVersionRef.name: PipelineVersion %s/%s does not exist: create it (kfup pipeline upload), or fix the name", field, ns, name)}
		}
		return nil, fmt.Errorf("read PipelineVersion %s/%s: %w", ns, name, err)
	}
	p, err := ParseSpec("PipelineVersion "+name, v.Spec.PipelineSpec, v.Spec.PlatformSpec)
	if err != nil {
		return nil, permanent{err}
	}
	return p, nil
}

// parameters decodes a run's runtime parameters; an error names parameters.<name>.
func parameters(given map[string]apiextensionsv1.JSON) (map[string]any, error) {
	out := make(map[string]any, len(given))
	for k, v := range given {
		var x any
		if err := json.Unmarshal(v.Raw, &x); err != nil {
			return nil, fmt.Errorf("parameters.%s: %w", k, err)
		}
		out[k] = x
	}
	return out, nil
}
