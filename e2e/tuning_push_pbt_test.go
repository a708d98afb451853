//go:build e2e

package e2e

import (
	"context"
	"math"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	tuningv1beta1 "github.com/kfup/kfup/components/tuning/api/v1beta1"
	"github.com/kfup/kfup/internal/conformance"
)

// kfupImage is the image kfup's manager runs (which runs every helper too).
func kfupImage(t *testing.T) string {
	t.Helper()
	d, err := clientset.AppsV1().Deployments("kfup-system").Get(context.Background(), "kfup-manager", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("manager deployment: %v", err)
	}
	return d.Spec.Template.Spec.Containers[0].Image
}

// TestPushCollectorOnKind runs the seed's random experiment (4 trials) with the Push
// collector: each trial's container is kfup's own image running `kfup agent push
// loss=<lr>` to Katib's default address (katib-db-manager.kubeflow:6789, kfup's alias
// of its manager), as katib.report_metrics does. Every trial's collected loss is its
// lr, and the least-lr trial is the optimal one.
func TestPushCollectorOnKind(t *testing.T) {
	ns := testNamespace(t)
	u := conformance.Objects(t, conformance.Files(t, "tuning/hp-tuning_random.yaml")[0])[0]
	u.SetNamespace(ns)
	set := func(v any, path ...string) {
		if err := unstructured.SetNestedField(u.Object, v, path...); err != nil {
			t.Fatal(err)
		}
	}
	set(int64(4), "spec", "maxTrialCount")
	set(int64(2), "spec", "parallelTrialCount")
	set(map[string]any{"collector": map[string]any{"kind": "Push"}}, "spec", "metricsCollectorSpec")
	containers := []any{map[string]any{
		"name":    "training-container",
		"image":   kfupImage(t),
		"command": []any{"/kfup", "agent", "push", "loss=${trialParameters.learningRate}"},
		"env":     []any{map[string]any{"name": "MOMENTUM", "value": "${trialParameters.momentum}"}},
	}}
	set(containers, "spec", "trialTemplate", "trialSpec", "spec", "template", "spec", "containers")

	exp, trials, _ := runExperiment(t, u, 5*time.Minute)
	succeededWith(t, exp, tuningv1beta1.ExperimentMaxTrialsReachedReason)
	best, bestName := math.Inf(1), ""
	n := 0
	for i := range trials {
		tr := &trials[i]
		if !hasCond(tr.Status.Conditions, tuningv1beta1.TrialSucceeded) {
			t.Errorf("trial %s did not succeed: %+v", tr.Name, tr.Status.Conditions)
			continue
		}
		n++
		lr, _ := params(tr)
		loss, ok := metric(tr, "loss")
		if !ok || math.Abs(loss-lr) > 1e-9 {
			t.Errorf("trial %s: pushed loss %v (%v), want its lr %v", tr.Name, loss, ok, lr)
		}
		if lr < best {
			best, bestName = lr, tr.Name
		}
	}
	if n != 4 {
		t.Fatalf("%d trials succeeded, want 4", n)
	}
	if got := exp.Status.CurrentOptimalTrial.BestTrialName; got != bestName {
		t.Errorf("currentOptimalTrial %s, want %s (loss %v)", got, bestName, best)
	}
}

// pbtObjective resumes from the checkpoint in argv[2] (accuracy 0 without one), prints
// the accuracy it resumed from as `resumed`, trains two epochs whose gain grows with the
// learning rate argv[1], prints Validation-accuracy after each and saves the checkpoint
// (atomically) for its children.
const pbtObjective = `
import json, os, sys
lr, d = float(sys.argv[1]), sys.argv[2]
p = os.path.join(d, "state.json")
acc = json.load(open(p))["acc"] if os.path.exists(p) else 0.0
print(f"resumed={acc:.6f}", flush=True)
for e in range(2):
    acc += (1 - acc) * min(lr * 20, 0.5)
    print(f"Validation-accuracy={acc:.6f}", flush=True)
with open(p + ".tmp", "w") as f:
    json.dump({"acc": acc}, f)
os.rename(p + ".tmp", p)
`

// TestPBTCheckpointsOnKind runs kfup's simple-pbt case (upstream's example: population
// 5, 15 trials, 3 at once) on kind with a Python trial that checkpoints to
// suggestion_trial_dir: the experiment's claim is bound by the cluster's default storage
// class, and every child of a later generation resumes from exactly its parent's
// checkpoint (the accuracy it prints as `resumed` is the parent's last), as the
// kfup-checkpoint init container copied it.
func TestPBTCheckpointsOnKind(t *testing.T) {
	ns := testNamespace(t)
	u := conformance.Objects(t, filepath.Join("..", "components", "tuning", "controller", "testdata", "simple-pbt.yaml"))[0]
	u.SetNamespace(ns)
	set := func(v any, path ...string) {
		if err := unstructured.SetNestedField(u.Object, v, path...); err != nil {
			t.Fatal(err)
		}
	}
	set([]any{"resumed"}, "spec", "objective", "additionalMetricNames")
	cs, _, _ := unstructured.NestedSlice(u.Object, "spec", "trialTemplate", "trialSpec", "spec", "template", "spec", "containers")
	c := cs[0].(map[string]any)
	c["image"] = pythonML
	c["command"] = []any{"python3", "-c", pbtObjective, "${trialParameters.learningRate}", "/var/log/katib/checkpoints/"}
	set(cs, "spec", "trialTemplate", "trialSpec", "spec", "template", "spec", "containers")

	exp, trials, maxActive := runExperiment(t, u, 10*time.Minute)
	succeededWith(t, exp, tuningv1beta1.ExperimentMaxTrialsReachedReason, tuningv1beta1.ExperimentGoalReachedReason)
	if maxActive > 3 {
		t.Errorf("%d trials at once, parallelTrialCount is 3", maxActive)
	}
	final := map[string]float64{}
	for i := range trials {
		if acc, ok := metric(&trials[i], "Validation-accuracy"); ok {
			final[trials[i].Name] = acc
		}
	}
	const genLabel, parentLabel = "pbt.suggestion.katib.kubeflow.org/generation", "pbt.suggestion.katib.kubeflow.org/parent"
	children := 0
	for i := range trials {
		tr := &trials[i]
		if !hasCond(tr.Status.Conditions, tuningv1beta1.TrialSucceeded) {
			continue
		}
		gen, err := strconv.Atoi(tr.Labels[genLabel])
		if err != nil {
			t.Errorf("trial %s: generation label %q", tr.Name, tr.Labels[genLabel])
			continue
		}
		resumed, ok := metric(tr, "resumed")
		if !ok {
			t.Errorf("trial %s reported no resumed accuracy", tr.Name)
			continue
		}
		parent := tr.Labels[parentLabel]
		switch {
		case gen == 0 || parent == "":
			if resumed != 0 {
				t.Errorf("trial %s (generation %d, no parent) resumed from %v, want a fresh start", tr.Name, gen, resumed)
			}
		default:
			want, ok := final[parent]
			if !ok {
				t.Errorf("trial %s: parent %s has no accuracy", tr.Name, parent)
				continue
			}
			if math.Abs(resumed-want) > 1e-6 {
				t.Errorf("trial %s (generation %d) resumed from %v, its parent %s ended at %v", tr.Name, gen, resumed, parent, want)
			}
			children++
		}
	}
	if children == 0 {
		t.Fatalf("no trial of a later generation succeeded: %+v", exp.Status)
	}
	t.Logf("%d of %d trials resumed from their parent's checkpoint", children, len(trials))
}
