package conformance

import (
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPruned(t *testing.T) {
	sent := map[string]any{
		"spec": map[string]any{
			"replicas": float64(2),
			"template": map[string]any{
				"metadata": map[string]any{"annotations": map[string]any{"sidecar.istio.io/inject": "false"}},
				"spec":     map[string]any{"containers": []any{map[string]any{"name": "a", "image": "x"}}},
			},
			"gone": nil,
		},
	}
	for _, tc := range []struct {
		name   string
		stored map[string]any
		want   []string
	}{
		{"kept with defaults added", map[string]any{
			"spec": map[string]any{
				"replicas": int64(2),
				"template": map[string]any{
					"metadata": map[string]any{"annotations": map[string]any{"sidecar.istio.io/inject": "false"}},
					"spec":     map[string]any{"containers": []any{map[string]any{"name": "a", "image": "x", "imagePullPolicy": "Always"}}},
				},
			},
			"status": map[string]any{},
		}, nil},
		{"template metadata pruned", map[string]any{
			"spec": map[string]any{
				"replicas": int64(2),
				"template": map[string]any{
					"metadata": map[string]any{},
					"spec":     map[string]any{"containers": []any{map[string]any{"name": "a", "image": "x"}}},
				},
			},
		}, []string{"spec.template.metadata.annotations: pruned"}},
		{"value changed and list shortened", map[string]any{
			"spec": map[string]any{
				"replicas": int64(3),
				"template": map[string]any{
					"metadata": map[string]any{"annotations": map[string]any{"sidecar.istio.io/inject": "true"}},
					"spec":     map[string]any{"containers": []any{}},
				},
			},
		}, []string{
			"spec.replicas: sent 2, stored 3",
			"spec.template.metadata.annotations.sidecar.istio.io/inject: sent false, stored true",
			"spec.template.spec.containers: sent a list of 1, stored a list of 0",
		}},
		{"object replaced by scalar", map[string]any{"spec": "x"}, []string{"spec: sent an object, stored x"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Pruned(sent, tc.stored)); diff != "" {
				t.Errorf("Pruned (-want +got):\n%s", diff)
			}
		})
	}
}

// Every conformance file parses into at least one object with a kind.
func TestObjects(t *testing.T) {
	for _, f := range Files(t, "*/*.yaml") {
		if filepath.Base(f) == "empty_file.yaml" || filepath.Base(f) == "invalid_yaml.yaml" {
			continue // the pipelines' invalid corpus
		}
		for _, o := range Objects(t, f) {
			if o.GetKind() == "" && o.Object["pipelineInfo"] == nil && o.Object["platforms"] == nil {
				t.Errorf("%s: a document without kind", f)
			}
		}
	}
}
