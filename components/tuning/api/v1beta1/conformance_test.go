package v1beta1_test

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"testing"

	tuningv1beta1 "github.com/kfup/kfup/components/tuning/api/v1beta1"
	"github.com/kfup/kfup/internal/conformance"
)

// Every upstream example decodes into an Experiment with no field unknown to the Go types,
// and marshals back to the same JSON: nothing a user wrote is lost on the way through the
// controller's types, and nothing is invented.
func TestConformanceExamplesRoundTrip(t *testing.T) {
	for _, f := range conformance.Files(t, filepath.Join("tuning", "*.yaml")) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			for _, u := range conformance.Objects(t, f) {
				if u.GetKind() != tuningv1beta1.ExperimentKind || u.GroupVersionKind().GroupVersion() != tuningv1beta1.GroupVersion {
					t.Fatalf("%s: want a kubeflow.org/v1beta1 Experiment, got %s", f, u.GroupVersionKind())
				}
				sent, err := json.Marshal(u.Object)
				if err != nil {
					t.Fatal(err)
				}
				dec := json.NewDecoder(bytes.NewReader(sent))
				dec.DisallowUnknownFields()
				var exp tuningv1beta1.Experiment
				if err := dec.Decode(&exp); err != nil {
					t.Fatalf("strict decode: %v", err)
				}
				back, err := json.Marshal(&exp)
				if err != nil {
					t.Fatal(err)
				}
				var got map[string]any
				if err := json.Unmarshal(back, &got); err != nil {
					t.Fatal(err)
				}
				if lost := conformance.Pruned(u.Object, got); len(lost) > 0 {
					t.Errorf("fields lost or changed through the Go types: %v", lost)
				}
				if added := conformance.Pruned(dropEmpty(got).(map[string]any), u.Object); len(added) > 0 {
					t.Errorf("fields invented by the Go types: %v", added)
				}
			}
		})
	}
}

// dropEmpty removes the nulls, empty objects and empty lists that the Go types marshal
// for fields a user left out (status: {}, creationTimestamp: null).
func dropEmpty(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			e = dropEmpty(e)
			if e == nil {
				continue
			}
			if m, ok := e.(map[string]any); ok && len(m) == 0 {
				continue
			}
			if l, ok := e.([]any); ok && len(l) == 0 {
				continue
			}
			out[k] = e
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = dropEmpty(e)
		}
		return out
	}
	return v
}
