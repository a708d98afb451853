//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tuningv1beta1 "github.com/kfup/kfup/components/tuning/api/v1beta1"
	"github.com/kfup/kfup/internal/conformance"
)

// objective is the trials' Python objective: a bowl in (lr, momentum). It prints
// `steps` epoch reports as Katib's name=value lines (loss, and Validation-accuracy =
// 1 - loss), `pause` seconds apart, after a line the collector must skip. The loss of
// epoch e is the bowl plus decay/e (decay 0.1 unless a fifth argument says otherwise),
// so later epochs improve and the last is the bowl + decay/steps.
const objective = `
import sys, time
lr, m, steps, pause = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
decay = float(sys.argv[5]) if len(sys.argv) > 5 else 0.1
print("training", flush=True)
for e in range(1, steps + 1):
    loss = 100*(lr-0.03)**2 + (m-0.7)**2 + decay/e
    print(f"epoch {e}:", flush=True)
    print(f"loss={loss:.6f}", flush=True)
    print(f"Validation-accuracy={1-loss:.6f}", flush=True)
    if e < steps:
        time.sleep(pause)
`

// lossOf is objective's last loss (decay 0.1).
func lossOf(lr, m float64, steps int) float64 { return lossDecay(lr, m, 0.1, steps) }

// lossDecay is objective's loss at epoch step with decay.
func lossDecay(lr, m, decay float64, step int) float64 {
	return 100*(lr-0.03)*(lr-0.03) + (m-0.7)*(m-0.7) + decay/float64(step)
}

// experiment reads a conformance Experiment into ns, its trials' containers (every pod
// template under the trialSpec's containers) running objective on the python-ml image.
func experiment(t *testing.T, file, ns string, steps int, pause float64) *unstructured.Unstructured {
	t.Helper()
	exp := conformance.Objects(t, conformance.Files(t, "tuning/"+file)[0])[0]
	exp.SetNamespace(ns)
	spec, _, _ := unstructured.NestedMap(exp.Object, "spec", "trialTemplate", "trialSpec", "spec")
	n := 0
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if cs, ok := v["containers"].([]any); ok {
				for _, c := range cs {
					c := c.(map[string]any)
					c["image"] = pythonML
					c["command"] = []any{"python3", "-c", objective, "${trialParameters.learningRate}", "${trialParameters.momentum}",
						strconv.Itoa(steps), strconv.FormatFloat(pause, 'f', -1, 64)}
					n++
				}
			}
			for _, e := range v {
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(spec)
	if n == 0 {
		t.Fatalf("%s: no container in the trial template", file)
	}
	if err := unstructured.SetNestedMap(exp.Object, spec, "spec", "trialTemplate", "trialSpec", "spec"); err != nil {
		t.Fatal(err)
	}
	return exp
}

// runExperiment creates exp and waits (at most timeout) for it to end. It returns the
// experiment as it ended, its trials, and the most trials seen active at once.
func runExperiment(t *testing.T, exp *unstructured.Unstructured, timeout time.Duration) (*tuningv1beta1.Experiment, []tuningv1beta1.Trial, int32) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
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
			t.Fatalf("experiment did not end within %s: %+v", timeout, got.Status)
		case <-time.After(time.Second):
		}
	}
	trials := &tuningv1beta1.TrialList{}
	if err := k8sClient.List(context.Background(), trials, client.InNamespace(exp.GetNamespace())); err != nil {
		t.Fatal(err)
	}
	return got, trials.Items, maxActive
}

// succeededWith fails t unless exp ended Succeeded for one of reasons.
func succeededWith(t *testing.T, exp *tuningv1beta1.Experiment, reasons ...string) {
	t.Helper()
	for _, c := range exp.Status.Conditions {
		if c.Type == tuningv1beta1.ExperimentSucceeded && c.Status == corev1.ConditionTrue {
			for _, r := range reasons {
				if c.Reason == r {
					return
				}
			}
		}
	}
	t.Fatalf("experiment ended %+v: want Succeeded (%s)", exp.Status.Conditions, strings.Join(reasons, " or "))
}

// metric is a trial's latest value of name, or false.
func metric(tr *tuningv1beta1.Trial, name string) (float64, bool) {
	if tr.Status.Observation == nil {
		return 0, false
	}
	for _, m := range tr.Status.Observation.Metrics {
		if m.Name == name {
			v, err := strconv.ParseFloat(m.Latest, 64)
			return v, err == nil
		}
	}
	return 0, false
}

func params(tr *tuningv1beta1.Trial) (lr, m float64) {
	for _, a := range tr.Spec.ParameterAssignments {
		v, _ := strconv.ParseFloat(a.Value, 64)
		switch a.Name {
		case "lr":
			lr = v
		case "momentum":
			m = v
		}
	}
	return lr, m
}

// checkCollected checks every succeeded trial's collected loss against what the
// objective printed last, and currentOptimalTrial against the best of them by the
// objective metric (smaller loss or larger Validation-accuracy).
func checkCollected(t *testing.T, exp *tuningv1beta1.Experiment, trials []tuningv1beta1.Trial, decay float64, steps int) {
	t.Helper()
	name := exp.Spec.Objective.ObjectiveMetricName
	maximize := exp.Spec.Objective.Type == tuningv1beta1.ObjectiveTypeMaximize
	best, bestName, succeeded := math.Inf(1), "", 0
	for i := range trials {
		tr := &trials[i]
		if !hasCond(tr.Status.Conditions, tuningv1beta1.TrialSucceeded) {
			continue
		}
		succeeded++
		lr, m := params(tr)
		want := lossDecay(lr, m, decay, steps)
		loss, ok := metric(tr, "loss")
		if !ok || math.Abs(loss-want) > 1e-5 {
			t.Errorf("trial %s (lr %v, momentum %v): collected loss %v (%v), the objective printed %.6f", tr.Name, lr, m, loss, ok, want)
		}
		v, ok := metric(tr, name)
		if !ok {
			t.Errorf("trial %s: no %s in %+v", tr.Name, name, tr.Status.Observation)
			continue
		}
		if maximize {
			v = -v
		}
		if v < best {
			best, bestName = v, tr.Name
		}
	}
	if succeeded == 0 {
		t.Fatalf("no trial succeeded: %+v", exp.Status)
	}
	o := exp.Status.CurrentOptimalTrial
	if o.BestTrialName == "" {
		t.Fatalf("no currentOptimalTrial: want %s", bestName)
	}
	if o.BestTrialName != bestName {
		for i := range trials { // a tie may pick either
			if v, _ := metric(&trials[i], name); trials[i].Name == o.BestTrialName && math.Abs(math.Abs(v)-math.Abs(best)) < 1e-9 {
				return
			}
		}
		t.Errorf("currentOptimalTrial %s: want %s (%s %v)", o.BestTrialName, bestName, name, math.Abs(best))
	}
}

func hasCond(cs []tuningv1beta1.TrialCondition, typ tuningv1beta1.TrialConditionType) bool {
	for _, c := range cs {
		if c.Type == typ && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// TestSeedRandomExperiment runs the seed's random Experiment on kind, its trials real
// batch Jobs of the python-ml image printing loss=…: kfup's manager suggests, runs 3 at a
// time, reads each loss from the log and ends the experiment at maxTrialCount or the goal,
// with the best trial in status.
func TestSeedRandomExperiment(t *testing.T) {
	ns := testNamespace(t)
	exp, trials, maxActive := runExperiment(t, experiment(t, "hp-tuning_random.yaml", ns, 1, 0), 6*time.Minute)
	succeededWith(t, exp, tuningv1beta1.ExperimentMaxTrialsReachedReason, tuningv1beta1.ExperimentGoalReachedReason)
	if maxActive > 3 {
		t.Errorf("%d trials active at once: parallelTrialCount is 3", maxActive)
	}
	if exp.Status.TrialsSucceeded == 0 || exp.Status.Trials > 12 {
		t.Errorf("trials %d, succeeded %d: want 1..12 succeeded", exp.Status.Trials, exp.Status.TrialsSucceeded)
	}
	checkCollected(t, exp, trials, 0.1, 1)
}

// TestTPEExperimentMaximizesAccuracy runs upstream's TPE example turned to maximize
// Validation-accuracy (loss an additional metric): 12 trials of real batch Jobs, each
// reporting three epochs; the best accuracy is currentOptimalTrial and every trial keeps
// both metrics.
func TestTPEExperimentMaximizesAccuracy(t *testing.T) {
	ns := testNamespace(t)
	u := experiment(t, "hp-tuning_tpe.yaml", ns, 3, 0)
	if err := unstructured.SetNestedMap(u.Object, map[string]any{
		"type": "maximize", "goal": 0.999, "objectiveMetricName": "Validation-accuracy",
		"additionalMetricNames": []any{"loss"},
	}, "spec", "objective"); err != nil {
		t.Fatal(err)
	}
	exp, trials, maxActive := runExperiment(t, u, 6*time.Minute)
	succeededWith(t, exp, tuningv1beta1.ExperimentMaxTrialsReachedReason)
	if maxActive > 3 || exp.Status.TrialsSucceeded != 12 {
		t.Errorf("at most %d active (want ≤ 3), %d succeeded (want 12)", maxActive, exp.Status.TrialsSucceeded)
	}
	checkCollected(t, exp, trials, 0.1, 3)
	for _, m := range exp.Status.CurrentOptimalTrial.Observation.Metrics {
		if m.Name == "loss" {
			return
		}
	}
	t.Errorf("currentOptimalTrial observation %+v: want loss as well", exp.Status.CurrentOptimalTrial.Observation)
}

// TestMedianStopStopsWeakTrialsOnKind runs upstream's median-stop example: trials report
// one epoch every 2 s for 8 epochs; once a trial has succeeded, a running trial whose
// loss at step 2 is worse than the rule is EarlyStopped and (retain: true) its Job is
// suspended, its pod gone — while trials at least as good as the rule run to success.
func TestMedianStopStopsWeakTrialsOnKind(t *testing.T) {
	ns := testNamespace(t)
	u := experiment(t, "early-stopping_median-stop.yaml", ns, 8, 2)
	if err := unstructured.SetNestedField(u.Object, int64(8), "spec", "maxTrialCount"); err != nil {
		t.Fatal(err)
	}
	// a flat loss per epoch (decay 0): a trial is stopped when its loss is above the mean
	// of those succeeded, about half of them. With the usual decay, step 2's loss is
	// 0.025 below the rule's mean of steps 1 and 2, and weak trials would rarely be seen.
	cs, _, _ := unstructured.NestedSlice(u.Object, "spec", "trialTemplate", "trialSpec", "spec", "template", "spec", "containers")
	c0 := cs[0].(map[string]any)
	c0["command"] = append(c0["command"].([]any), "0")
	if err := unstructured.SetNestedSlice(u.Object, cs, "spec", "trialTemplate", "trialSpec", "spec", "template", "spec", "containers"); err != nil {
		t.Fatal(err)
	}
	exp, trials, _ := runExperiment(t, u, 8*time.Minute)
	succeededWith(t, exp, tuningv1beta1.ExperimentMaxTrialsReachedReason)
	if exp.Status.TrialsEarlyStopped == 0 {
		t.Fatalf("no trial was early stopped: %+v", exp.Status)
	}
	for i := range trials {
		tr := &trials[i]
		if !hasCond(tr.Status.Conditions, tuningv1beta1.TrialEarlyStopped) {
			continue
		}
		lr, m := params(tr)
		step2 := lossDecay(lr, m, 0, 2)
		for _, rule := range tr.Spec.EarlyStoppingRules {
			v, _ := strconv.ParseFloat(rule.Value, 64)
			if rule.Name == "loss" && step2 <= v {
				t.Errorf("trial %s early stopped with loss %.6f at step 2, rule %s %s %s", tr.Name, step2, rule.Name, rule.Comparison, rule.Value)
			}
		}
		job := &batchv1.Job{}
		if err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: tr.Name}, job); err != nil {
			t.Errorf("trial %s: its Job (retain: true): %v", tr.Name, err)
		} else if job.Spec.Suspend == nil || !*job.Spec.Suspend {
			t.Errorf("trial %s early stopped, its Job not suspended", tr.Name)
		}
		if err := waitNoPods(ns, tr.Name); err != nil {
			t.Errorf("trial %s: %v", tr.Name, err)
		}
	}
	checkCollected(t, exp, trials, 0, 8)
}

// waitNoPods waits up to a minute for trial's pods to be gone.
func waitNoPods(ns, trial string) error {
	var names []string
	for range 60 {
		pods := &corev1.PodList{}
		if err := k8sClient.List(context.Background(), pods, client.InNamespace(ns), client.MatchingLabels{"katib.kubeflow.org/trial": trial}); err != nil {
			return err
		}
		names = names[:0]
		for _, p := range pods.Items {
			if p.DeletionTimestamp == nil && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
				names = append(names, p.Name)
			}
		}
		if len(names) == 0 {
			return nil
		}
		time.Sleep(time.Second)
	}
	return fmt.Errorf("pods still running a minute after early stop: %v", names)
}

// TestPyTorchJobTrials runs upstream's PyTorchJob example (Master + Worker, kfup's
// training controller running each trial) to maxTrialCount, reduced to 6: each trial's
// loss is read from the master's pytorch container.
func TestPyTorchJobTrials(t *testing.T) {
	ns := testNamespace(t)
	u := experiment(t, "kubeflow-training-operator_pytorchjob-mnist.yaml", ns, 1, 0)
	if err := unstructured.SetNestedField(u.Object, int64(6), "spec", "maxTrialCount"); err != nil {
		t.Fatal(err)
	}
	exp, trials, maxActive := runExperiment(t, u, 8*time.Minute)
	succeededWith(t, exp, tuningv1beta1.ExperimentMaxTrialsReachedReason, tuningv1beta1.ExperimentGoalReachedReason)
	if maxActive > 3 {
		t.Errorf("%d trials active at once: parallelTrialCount is 3", maxActive)
	}
	checkCollected(t, exp, trials, 0.1, 1)
	for i := range trials {
		pj := &unstructured.Unstructured{}
		pj.SetAPIVersion("kubeflow.org/v1")
		pj.SetKind("PyTorchJob")
		err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: trials[i].Name}, pj)
		if err == nil {
			t.Errorf("trial %s ended, its PyTorchJob is kept (retain is false)", trials[i].Name)
		}
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

// fileObjective writes the bowl's metrics in the File example's metricsFormat to the
// file argv[3], and prints a decoy to stdout that the File collector must not read.
const fileObjective = `
import sys, time
lr, m, path = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
loss = 100*(lr-0.03)**2 + (m-0.7)**2 + 0.1
print("accuracy=0.0001 loss=99", flush=True)
with open(path, "a") as f:
    f.write("epoch 1 done\n")
    f.write("{metricName: loss, metricValue: %.6f}\n" % loss)
    f.write("{metricName: accuracy, metricValue: %.6f}\n" % (1-loss))
time.sleep(1)
`

// TestFileCollectorOnKind runs upstream's File-collector example (reduced to 3 trials):
// the trials write their metrics to /katib/mnist.log and a decoy to stdout; kfup's
// kfup-metrics native sidecar follows the file, and every trial's accuracy and loss are
// the file's, not stdout's.
func TestFileCollectorOnKind(t *testing.T) {
	ns := testNamespace(t)
	u := experiment(t, "metrics-collector_file-metrics-collector.yaml", ns, 1, 0)
	set := func(v any, path ...string) {
		if err := unstructured.SetNestedField(u.Object, v, path...); err != nil {
			t.Fatal(err)
		}
	}
	set(int64(3), "spec", "maxTrialCount")
	cs, _, _ := unstructured.NestedSlice(u.Object, "spec", "trialTemplate", "trialSpec", "spec", "template", "spec", "containers")
	cs[0].(map[string]any)["command"] = []any{"python3", "-c", fileObjective, "${trialParameters.learningRate}", "${trialParameters.momentum}", "/katib/mnist.log"}
	set(cs, "spec", "trialTemplate", "trialSpec", "spec", "template", "spec", "containers")
	exp, trials, _ := runExperiment(t, u, 5*time.Minute)
	succeededWith(t, exp, tuningv1beta1.ExperimentMaxTrialsReachedReason, tuningv1beta1.ExperimentGoalReachedReason)
	n := 0
	for i := range trials {
		tr := &trials[i]
		if !hasCond(tr.Status.Conditions, tuningv1beta1.TrialSucceeded) {
			continue
		}
		n++
		lr, m := params(tr)
		want := lossOf(lr, m, 1)
		loss, ok1 := metric(tr, "loss")
		acc, ok2 := metric(tr, "accuracy")
		if !ok1 || !ok2 || math.Abs(loss-want) > 1e-5 || math.Abs(acc-(1-want)) > 1e-5 {
			t.Errorf("trial %s: collected loss %v accuracy %v (%v %v), the file had %.6f and %.6f", tr.Name, loss, acc, ok1, ok2, want, 1-want)
		}
	}
	if n == 0 {
		t.Fatalf("no trial succeeded: %+v", exp.Status)
	}
}
