//go:build e2e

package e2e

import (
	"context"
	"strconv"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tuningv1beta1 "github.com/kfup/kfup/components/tuning/api/v1beta1"
	"github.com/kfup/kfup/components/tuning/trials"
	"github.com/kfup/kfup/internal/conformance"
)

// enasExperiment reads upstream's enas-cpu example into ns with its trial turned into
// kfup's offline NAS trial (trials.NASDigits) on the python-ml image, given Katib's
// flags as upstream's trial is, plus extra, and the network's shape set to digits'.
func enasExperiment(t *testing.T, ns string, extra ...string) *unstructured.Unstructured {
	t.Helper()
	exp := conformance.Objects(t, "../components/tuning/controller/testdata/nas/enas-cpu.yaml")[0]
	exp.SetNamespace(ns)
	cmd := []any{"python3", "-c", trials.NASDigits,
		"--architecture=${trialParameters.neuralNetworkArchitecture}", "--nn_config=${trialParameters.neuralNetworkConfig}"}
	for _, e := range extra {
		cmd = append(cmd, e)
	}
	containers := []any{map[string]any{"name": "training-container", "image": pythonML, "command": cmd}}
	must(t, unstructured.SetNestedSlice(exp.Object, containers, "spec", "trialTemplate", "trialSpec", "spec", "template", "spec", "containers"))
	must(t, unstructured.SetNestedSlice(exp.Object, []any{int64(8), int64(8), int64(1)}, "spec", "nasConfig", "graphConfig", "inputSizes"))
	must(t, unstructured.SetNestedField(exp.Object, int64(2), "spec", "nasConfig", "graphConfig", "numLayers"))
	unstructured.RemoveNestedField(exp.Object, "spec", "objective", "goal") // run every trial
	return exp
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// accuracyOf is a trial's collected Validation-Accuracy.
func accuracyOf(t *testing.T, tr *tuningv1beta1.Trial) float64 {
	t.Helper()
	if tr.Status.Observation != nil {
		for _, m := range tr.Status.Observation.Metrics {
			if m.Name == "Validation-Accuracy" {
				v, err := strconv.ParseFloat(m.Latest, 64)
				if err == nil {
					return v
				}
			}
		}
	}
	t.Fatalf("trial %s has no Validation-Accuracy: %+v", tr.Name, tr.Status.Observation)
	return 0
}

// inOrder is the experiment's trials in the order the controller suggested them.
func inOrder(t *testing.T, exp *tuningv1beta1.Experiment, list []tuningv1beta1.Trial) []*tuningv1beta1.Trial {
	t.Helper()
	sug := &tuningv1beta1.Suggestion{}
	must(t, k8sClient.Get(context.Background(), client.ObjectKeyFromObject(exp), sug))
	byName := map[string]*tuningv1beta1.Trial{}
	for i := range list {
		byName[list[i].Name] = &list[i]
	}
	var out []*tuningv1beta1.Trial
	for _, a := range sug.Status.Suggestions {
		if tr, ok := byName[a.Name]; ok {
			out = append(out, tr)
		}
	}
	if len(out) != len(list) {
		t.Fatalf("%d trials, %d of them in the Suggestion", len(list), len(out))
	}
	if sug.Status.AlgorithmState == "" {
		t.Error("the Suggestion keeps no enas state")
	}
	return out
}

// TestNASENASDigitsOnKind: upstream's enas-cpu example (its operations and settings) with
// kfup's offline trial: 6 trials, 2 at once, each building its suggested 2-layer network
// and training it 2 epochs on digits; the experiment completes with every trial's
// accuracy collected and the best as currentOptimalTrial.
func TestNASENASDigitsOnKind(t *testing.T) {
	ns := testNamespace(t)
	u := enasExperiment(t, ns, "--num_epochs=2")
	must(t, unstructured.SetNestedField(u.Object, int64(6), "spec", "maxTrialCount"))
	exp, list, maxActive := runExperiment(t, u, 8*time.Minute)
	succeededWith(t, exp, tuningv1beta1.ExperimentMaxTrialsReachedReason)
	if exp.Status.TrialsSucceeded != 6 || maxActive > 2 {
		t.Errorf("%d succeeded (want 6), at most %d active (want ≤ 2)", exp.Status.TrialsSucceeded, maxActive)
	}
	best, bestName := -1.0, ""
	for _, tr := range inOrder(t, exp, list) {
		a := accuracyOf(t, tr)
		t.Logf("trial %s: %s → Validation-Accuracy %.4f", tr.Name, nasAssignment(tr, "architecture"), a)
		if a <= 0 || a > 1 {
			t.Errorf("trial %s: accuracy %v", tr.Name, a)
		}
		if a > best {
			best, bestName = a, tr.Name
		}
	}
	if o := exp.Status.CurrentOptimalTrial; o.BestTrialName != bestName {
		t.Errorf("currentOptimalTrial %s, want %s (%.4f)", o.BestTrialName, bestName, best)
	}
}

// TestNASENASLearnsSyntheticOnKind: the same experiment, its search space cut to two
// operations expanded to 4 (so a few dozen trials can learn it) and the trial scoring
// each architecture by its decisions equal to [[1], [3, 1]]'s: 32 trials, 4 at once;
// the controller's last 8 score better on average than its first 8.
func TestNASENASLearnsSyntheticOnKind(t *testing.T) {
	ns := testNamespace(t)
	u := enasExperiment(t, ns, "--synthetic-target=[[1], [3, 1]]")
	ops := []any{
		map[string]any{"operationType": "convolution", "parameters": []any{
			map[string]any{"name": "filter_size", "parameterType": "categorical", "feasibleSpace": map[string]any{"list": []any{"3", "5"}}},
			map[string]any{"name": "num_filter", "parameterType": "categorical", "feasibleSpace": map[string]any{"list": []any{"16"}}},
			map[string]any{"name": "stride", "parameterType": "categorical", "feasibleSpace": map[string]any{"list": []any{"1"}}},
		}},
		map[string]any{"operationType": "reduction", "parameters": []any{
			map[string]any{"name": "reduction_type", "parameterType": "categorical", "feasibleSpace": map[string]any{"list": []any{"max_pooling", "avg_pooling"}}},
			map[string]any{"name": "pool_size", "parameterType": "int", "feasibleSpace": map[string]any{"min": "2", "max": "2", "step": "1"}},
		}},
	}
	must(t, unstructured.SetNestedSlice(u.Object, ops, "spec", "nasConfig", "operations"))
	// upstream's keys, livelier than its defaults (see suggest's synthSettings)
	settings := []any{}
	for _, kv := range [][2]string{{"controller_hidden_size", "32"}, {"controller_learning_rate", "0.05"}, {"controller_baseline_decay", "0.8"},
		{"controller_train_steps", "10"}, {"controller_temperature", "1"}, {"controller_skip_weight", "None"}} {
		settings = append(settings, map[string]any{"name": kv[0], "value": kv[1]})
	}
	must(t, unstructured.SetNestedSlice(u.Object, settings, "spec", "algorithm", "algorithmSettings"))
	must(t, unstructured.SetNestedField(u.Object, int64(32), "spec", "maxTrialCount"))
	must(t, unstructured.SetNestedField(u.Object, int64(4), "spec", "parallelTrialCount"))
	must(t, unstructured.SetNestedField(u.Object, int64(3), "spec", "maxFailedTrialCount"))
	exp, list, _ := runExperiment(t, u, 10*time.Minute)
	succeededWith(t, exp, tuningv1beta1.ExperimentMaxTrialsReachedReason)
	ordered := inOrder(t, exp, list)
	if len(ordered) != 32 {
		t.Fatalf("%d trials, want 32", len(ordered))
	}
	first, last := 0.0, 0.0
	for i, tr := range ordered {
		a := accuracyOf(t, tr)
		switch {
		case i < 8:
			first += a / 8
		case i >= 24:
			last += a / 8
		}
	}
	t.Logf("synthetic reward: first 8 trials %.3f, last 8 %.3f", first, last)
	if last <= first {
		t.Errorf("the controller's last 8 trials score %.3f on average, its first 8 %.3f: it did not learn", last, first)
	}
}

func nasAssignment(tr *tuningv1beta1.Trial, name string) string {
	for _, p := range tr.Spec.ParameterAssignments {
		if p.Name == name {
			return p.Value
		}
	}
	return ""
}
