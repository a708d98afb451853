//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tuningv1beta1 "github.com/kfup/kfup/components/tuning/api/v1beta1"
	"github.com/kfup/kfup/internal/conformance"
)

// objective is the trials' Python objective: a bowl in (lr, momentum) printed as Katib's
// name=value line, after two epoch lines the collector must skip.
const objective = `
import sys
lr, m = float(sys.argv[1]), float(sys.argv[2])
print("epoch 1: training")
print("epoch 2: training")
print(f"loss={100*(lr-0.03)**2 + (m-0.7)**2:.6f}")
`

func lossOf(lr, m float64) float64 { return 100*(lr-0.03)*(lr-0.03) + (m-0.7)*(m-0.7) }

// TestSeedRandomExperiment runs the seed's random Experiment on kind, its trials real
// batch Jobs of the python-ml image printing loss=…: kfup's manager suggests, runs 3 at a
// time, reads each loss from the log and ends the experiment at maxTrialCount or the goal,
// with the best trial in status.
func TestSeedRandomExperiment(t *testing.T) {
	ns := testNamespace(t)
	exp := conformance.Objects(t, conformance.Files(t, "tuning/hp-tuning_random.yaml")[0])[0]
	exp.SetNamespace(ns)
	containers, _, _ := unstructured.NestedSlice(exp.Object, "spec", "trialTemplate", "trialSpec", "spec", "template", "spec", "containers")
	c := containers[0].(map[string]any)
	c["image"] = pythonML
	c["command"] = []any{"python3", "-c", objective, "${trialParameters.learningRate}", "${trialParameters.momentum}"}
	if err := unstructured.SetNestedSlice(exp.Object, containers, "spec", "trialTemplate", "trialSpec", "spec", "template", "spec", "containers"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	if err := k8sClient.Create(ctx, exp); err != nil {
		t.Fatalf("create experiment: %v", err)
	}
	got := &tuningv1beta1.Experiment{}
	maxActive := int32(0)
	for {
		if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(exp), got); err != nil {
			t.Fatalf("get experiment: %v", err)
		}
		maxActive = max(maxActive, got.Status.TrialsRunning+got.Status.TrialsPending)
		if ended(got) {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("experiment did not end: %+v", got.Status)
		case <-time.After(time.Second):
		}
	}
	var reason string
	for _, c := range got.Status.Conditions {
		if c.Type == tuningv1beta1.ExperimentSucceeded && c.Status == corev1.ConditionTrue {
			reason = c.Reason
		}
	}
	if reason != tuningv1beta1.ExperimentMaxTrialsReachedReason && reason != tuningv1beta1.ExperimentGoalReachedReason {
		t.Fatalf("experiment ended %+v: want Succeeded (max trials or goal)", got.Status.Conditions)
	}
	if maxActive > 3 {
		t.Errorf("%d trials active at once: parallelTrialCount is 3", maxActive)
	}
	if got.Status.TrialsSucceeded == 0 || got.Status.Trials > 12 {
		t.Errorf("trials %d, succeeded %d: want 1..12 succeeded", got.Status.Trials, got.Status.TrialsSucceeded)
	}
	trials := &tuningv1beta1.TrialList{}
	if err := k8sClient.List(ctx, trials, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	best := math.Inf(1)
	for _, tr := range trials.Items {
		if tr.Status.Observation == nil || len(tr.Status.Observation.Metrics) == 0 {
			continue
		}
		p := map[string]float64{}
		for _, a := range tr.Spec.ParameterAssignments {
			p[a.Name], _ = strconv.ParseFloat(a.Value, 64)
		}
		reported, err := strconv.ParseFloat(tr.Status.Observation.Metrics[0].Latest, 64)
		if err != nil {
			t.Errorf("trial %s: loss %q", tr.Name, tr.Status.Observation.Metrics[0].Latest)
			continue
		}
		if want := lossOf(p["lr"], p["momentum"]); math.Abs(reported-want) > 1e-5 {
			t.Errorf("trial %s (lr %v, momentum %v): collected loss %v, the objective printed %v", tr.Name, p["lr"], p["momentum"], reported, want)
		}
		best = math.Min(best, reported)
	}
	o := got.Status.CurrentOptimalTrial
	if o.BestTrialName == "" || len(o.Observation.Metrics) == 0 || o.Observation.Metrics[0].Latest != fmt.Sprintf("%.6f", best) {
		t.Errorf("currentOptimalTrial %+v: want the trial of loss %.6f", o, best)
	}
}

func ended(e *tuningv1beta1.Experiment) bool {
	for _, c := range e.Status.Conditions {
		if (c.Type == tuningv1beta1.ExperimentSucceeded || c.Type == tuningv1beta1.ExperimentFailed) && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}
