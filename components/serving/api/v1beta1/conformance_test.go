package v1beta1_test

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	servingv1beta1 "github.com/kfup/kfup/components/serving/api/v1beta1"
	"github.com/kfup/kfup/internal/conformance"
)

// Every KServe sample and the seed InferenceService decode into the Go types with no
// field unknown to them, and marshal back to the same JSON: nothing a user wrote is
// lost on the way through the controller's types.
func TestConformanceExamplesRoundTrip(t *testing.T) {
	files := conformance.Files(t, filepath.Join("serving", "*.yaml"))
	files = append(files, conformance.Files(t, filepath.Join("seed", "inferenceservice.yaml"))...)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			for _, u := range conformance.Objects(t, f) {
				if u.GetKind() != servingv1beta1.InferenceServiceKind || u.GroupVersionKind().GroupVersion() != servingv1beta1.GroupVersion {
					t.Fatalf("want a serving.kserve.io/v1beta1 InferenceService, got %s", u.GroupVersionKind())
				}
				sent, err := json.Marshal(u.Object)
				if err != nil {
					t.Fatal(err)
				}
				dec := json.NewDecoder(bytes.NewReader(sent))
				dec.DisallowUnknownFields()
				var isvc servingv1beta1.InferenceService
				if err := dec.Decode(&isvc); err != nil {
					t.Fatalf("strict decode: %v", err)
				}
				back, err := json.Marshal(&isvc)
				if err != nil {
					t.Fatal(err)
				}
				var got map[string]any
				if err := json.Unmarshal(back, &got); err != nil {
					t.Fatal(err)
				}
				if lost := slices.DeleteFunc(conformance.Pruned(u.Object, got), sameQuantity); len(lost) > 0 {
					t.Errorf("fields lost or changed through the Go types: %v", lost)
				}
			}
		})
	}
}

// sameQuantityRE matches a difference that is only a quantity's spelling: a quantity
// written as a YAML number (cpu: 1) marshals as its canonical string ("1").
var sameQuantityRE = regexp.MustCompile(`^[^:]+: sent (\S+), stored (\S+)$`)

func sameQuantity(diff string) bool {
	m := sameQuantityRE.FindStringSubmatch(diff)
	return m != nil && m[1] == m[2]
}
