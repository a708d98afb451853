package pipelines_test

import (
	"context"
	"strings"
	"testing"

	"github.com/kfup/kfup/components/pipelines"
	"github.com/kfup/kfup/components/pipelines/controller"
)

// kfup test's pipeline passes the admission checks, and the edit its smoke test makes to
// it is refused, naming the missing component.
func TestSmokeRunIsValid(t *testing.T) {
	run := pipelines.SmokeRun("default", "kfup.local/kfup-manager:0123456789ab", "kfup-token")
	if err := controller.CheckRunSpec(context.Background(), nil, run.Namespace, "spec", &run.Spec); err != nil {
		t.Fatalf("the smoke pipeline is refused: %v", err)
	}
	bad := run.DeepCopy()
	bad.Spec.PipelineSpec.Raw = []byte(strings.Replace(string(bad.Spec.PipelineSpec.Raw), `"name":"comp-say"`, `"name":"comp-missing"`, 1))
	if err := controller.CheckRunSpec(context.Background(), nil, run.Namespace, "spec", &bad.Spec); err == nil || !strings.Contains(err.Error(), "comp-missing") {
		t.Fatalf("the smoke test's bad pipeline: got %v, want refused naming comp-missing", err)
	}
	bad = run.DeepCopy()
	bad.Spec.Parameters = nil
	if err := controller.CheckRunSpec(context.Background(), nil, run.Namespace, "spec", &bad.Spec); err == nil || !strings.Contains(err.Error(), "message") {
		t.Fatalf("without its parameter: got %v, want refused naming it", err)
	}
}
