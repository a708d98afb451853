package controller_test

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tuningv1beta1 "github.com/kfup/kfup/components/tuning/api/v1beta1"
	"github.com/kfup/kfup/components/tuning/controller"
	"github.com/kfup/kfup/components/tuning/controller/dbmanager"
	"github.com/kfup/kfup/components/tuning/engine"
	"github.com/kfup/kfup/internal/agent"
	"github.com/kfup/kfup/internal/conformance"
)

// TestConformanceLifecycle applies every Katib example unchanged (as a user does: strict
// field validation, nothing pruned) and plays the cluster's part for each trial: a pod
// whose log prints loss=<lr> (its metrics sidecar's, for the File collector), then the
// run's status set to success. kfup's controllers do
// the rest: suggestion, trials, metrics, status, the end. Examples kfup does not serve yet
// must end Failed with ExperimentInvalid naming what is missing — never hang.
func TestConformanceLifecycle(t *testing.T) {
	logs := start(t)
	notServed := map[string]string{} // file → what the ExperimentInvalid message names
	for _, file := range conformance.Files(t, "tuning/*.yaml") {
		base := filepath.Base(file)
		t.Run(base, func(t *testing.T) {
			ns := env.Namespace(t)
			obj := conformance.Objects(t, file)[0]
			obj.SetNamespace(ns)
			env.CreateAsUser(t, obj)
			key := client.ObjectKey{Namespace: ns, Name: obj.GetName()}
			if want, ok := notServed[base]; ok {
				exp := waitDone(t, key, nil)
				c := cond(exp, tuningv1beta1.ExperimentFailed)
				if c == nil || c.Reason != controller.ExperimentInvalidReason || !strings.Contains(c.Message, want) {
					t.Fatalf("conditions %+v: want Failed/%s naming %q", exp.Status.Conditions, controller.ExperimentInvalidReason, want)
				}
				trials := &tuningv1beta1.TrialList{}
				if err := env.Client.List(context.Background(), trials, client.InNamespace(ns)); err != nil || len(trials.Items) != 0 {
					t.Fatalf("an invalid experiment made %d trials (%v)", len(trials.Items), err)
				}
				return
			}
			maxParallel := 0
			exp := waitDone(t, key, func(ctx context.Context, exp *tuningv1beta1.Experiment) {
				maxParallel = max(maxParallel, int(exp.Status.TrialsRunning+exp.Status.TrialsPending))
				playTrials(t, ctx, ns, logs, 0)
			})
			c := cond(exp, tuningv1beta1.ExperimentSucceeded)
			if c == nil || c.Reason != tuningv1beta1.ExperimentMaxTrialsReachedReason {
				t.Fatalf("conditions %+v: want Succeeded/%s", exp.Status.Conditions, tuningv1beta1.ExperimentMaxTrialsReachedReason)
			}
			if maxTrials := *exp.Spec.MaxTrialCount; exp.Status.TrialsSucceeded+exp.Status.TrialsEarlyStopped != maxTrials || exp.Status.Trials != maxTrials {
				t.Errorf("trials %d, succeeded %d, early stopped %d: want %d trials, all succeeded or early stopped",
					exp.Status.Trials, exp.Status.TrialsSucceeded, exp.Status.TrialsEarlyStopped, maxTrials)
			}
			if p := int(*exp.Spec.ParallelTrialCount); maxParallel > p {
				t.Errorf("%d trials active at once, parallelTrialCount %d", maxParallel, p)
			}
			checkOptimal(t, ns, exp)
			checkObservationLogs(t, ns)
		})
	}
}

// checkObservationLogs checks that every succeeded trial's observation log (what
// GetObservationLog and the dashboard's charts read) holds each loss it reported, in
// order: what its collector parsed from the run's log.
func checkObservationLogs(t *testing.T, ns string) {
	t.Helper()
	trials := &tuningv1beta1.TrialList{}
	if err := env.Client.List(context.Background(), trials, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	for i := range trials.Items {
		tr := &trials.Items[i]
		if !slices.ContainsFunc(tr.Status.Conditions, func(c tuningv1beta1.TrialCondition) bool {
			return c.Type == tuningv1beta1.TrialSucceeded && c.Status == corev1.ConditionTrue
		}) {
			continue
		}
		lr := ""
		for _, p := range tr.Spec.ParameterAssignments {
			if p.Name == "lr" {
				lr = p.Value
			}
		}
		l, cm, err := dbmanager.ReadLog(context.Background(), env.Client, tr)
		if err != nil || cm == nil {
			t.Errorf("trial %s: no observation log (%v)", tr.Name, err)
			continue
		}
		var losses []string
		for _, o := range l.Observations() {
			if o.Name == "loss" {
				losses = append(losses, o.Value)
			}
		}
		want := []string{lr, lr} // the StdOut log reports it twice, the File/TfEvent sidecars once
		if k := tr.Spec.MetricsCollector.Collector; k != nil && (k.Kind == tuningv1beta1.FileCollector || k.Kind == tuningv1beta1.TfEventCollector) {
			want = want[:1]
		}
		if !slices.Equal(losses, want) {
			t.Errorf("trial %s: observation log losses %q, want %q", tr.Name, losses, want)
		}
		if !metav1.IsControlledBy(cm, tr) {
			t.Errorf("trial %s: observation log %s is not owned by the trial", tr.Name, cm.Name)
		}
	}
}

// checkOptimal checks that currentOptimalTrial is the succeeded trial of least loss, and
// that its assignments are inside the search space.
func checkOptimal(t *testing.T, ns string, exp *tuningv1beta1.Experiment) {
	t.Helper()
	trials := &tuningv1beta1.TrialList{}
	if err := env.Client.List(context.Background(), trials, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	bestLoss := math.Inf(1)
	lossOf := map[string]float64{}
	for _, tr := range trials.Items {
		for _, p := range tr.Spec.ParameterAssignments {
			v, err := strconv.ParseFloat(p.Value, 64)
			if err != nil {
				t.Fatalf("trial %s: %s=%q is not a number", tr.Name, p.Name, p.Value)
			}
			for _, sp := range exp.Spec.Parameters {
				lo, _ := strconv.ParseFloat(sp.FeasibleSpace.Min, 64)
				hi, _ := strconv.ParseFloat(sp.FeasibleSpace.Max, 64)
				if sp.Name == p.Name && (v < lo || v > hi) {
					t.Errorf("trial %s: %s=%v outside [%v, %v]", tr.Name, p.Name, v, lo, hi)
				}
			}
			if p.Name == "lr" {
				lossOf[tr.Name] = v
				bestLoss = min(bestLoss, v)
			}
		}
	}
	o := exp.Status.CurrentOptimalTrial
	if l, ok := lossOf[o.BestTrialName]; !ok || l != bestLoss { // ties (a grid) may pick any
		t.Errorf("currentOptimalTrial %s (loss %v), want one of loss %v", o.BestTrialName, l, bestLoss)
	}
	if !slices.ContainsFunc(o.Observation.Metrics, func(m tuningv1beta1.Metric) bool { return m.Name == "loss" }) {
		t.Errorf("currentOptimalTrial observation %+v: want loss", o.Observation)
	}
}

// playTrials plays the cluster for every run not yet finished: a primary pod whose log
// reports loss = lr, then the run's success.
// A run succeeds delay after its pod started (0: at once); its log reports loss = lr
// twice (two steps).
func playTrials(t *testing.T, ctx context.Context, ns string, logs *fakeLogs, delay time.Duration) {
	for _, u := range unfinished(ctx, ns) {
		tr, run := u.trial, u.run
		lr := ""
		for _, p := range tr.Spec.ParameterAssignments {
			if p.Name == "lr" {
				lr = p.Value
			}
		}
		labels := map[string]string{tuningv1beta1.LabelTrialName: tr.Name}
		for k, v := range tr.Spec.PrimaryPodLabels {
			labels[k] = v
		}
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: tr.Name + "-pod", Namespace: ns, Labels: labels},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: tr.Spec.PrimaryContainerName, Image: "busybox"}}},
		}
		container, log := tr.Spec.PrimaryContainerName, fmt.Sprintf("epoch 1\nloss=%s\nepoch 2\nloss=%s\naccuracy=0.5\n", lr, lr)
		if k := tr.Spec.MetricsCollector.Collector; k != nil && (k.Kind == tuningv1beta1.FileCollector || k.Kind == tuningv1beta1.TfEventCollector) {
			// the metrics sidecar's log: what it copied of the file, in the example's
			// metricsFormat, with an accuracy that is best where the loss is least
			pod.Spec.InitContainers = []corev1.Container{{Name: engine.MetricsContainerName, Image: "kfup", RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways)}}
			v, _ := strconv.ParseFloat(lr, 64)
			container = engine.MetricsContainerName
			log = fmt.Sprintf("{metricName: loss, metricValue: %s}\n{metricName: accuracy, metricValue: %.6f}\n", lr, 0.5-v)
			if k.Kind == tuningv1beta1.TfEventCollector { // what the sidecar prints of event files
				at := time.Unix(1700000000, 0)
				log = agent.EventLine(at, "loss", lr) + agent.EventLine(at, "train/accuracy", "9") +
					agent.EventLine(at.Add(time.Second), "accuracy", fmt.Sprintf("%.6f", 0.5-v))
			}
		}
		if err := env.Client.Create(ctx, pod); err != nil {
			if !strings.Contains(err.Error(), "already exists") {
				t.Errorf("create pod: %v", err)
				continue
			}
			if err := env.Client.Get(ctx, client.ObjectKeyFromObject(pod), pod); err != nil || time.Since(pod.CreationTimestamp.Time) < delay {
				continue
			}
		} else if delay > 0 {
			logs.set(ns, pod.Name, container, log)
			continue
		}
		logs.set(ns, pod.Name, container, log)
		if err := succeed(ctx, run); err != nil && !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) { // changed meanwhile (early stopped): next poll
			t.Errorf("set %s %s succeeded: %v", run.GetKind(), run.GetName(), err)
		}
	}
}

// succeed sets a run's status as its controller would on success.
func succeed(ctx context.Context, run *unstructured.Unstructured) error {
	now := metav1.Now()
	if run.GetKind() == "Job" {
		job := &batchv1.Job{}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(run), job); err != nil {
			return err
		}
		job.Status.StartTime = &metav1.Time{Time: now.Add(-time.Second)}
		job.Status.CompletionTime = &now
		job.Status.Succeeded = 1
		job.Status.Conditions = []batchv1.JobCondition{
			{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, LastTransitionTime: now},
		}
		return env.Client.Status().Update(ctx, job)
	}
	_ = unstructured.SetNestedSlice(run.Object, []any{map[string]any{
		"type": "Succeeded", "status": "True", "reason": "JobSucceeded", "lastTransitionTime": now.UTC().Format(time.RFC3339),
	}}, "status", "conditions")
	return env.Client.Status().Update(ctx, run)
}

// waitDone polls the experiment until it ends, calling each (when set) on every poll.
func waitDone(t *testing.T, key client.ObjectKey, each func(context.Context, *tuningv1beta1.Experiment)) *tuningv1beta1.Experiment {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	exp := &tuningv1beta1.Experiment{}
	for {
		if err := env.Client.Get(ctx, key, exp); err == nil {
			if cond(exp, tuningv1beta1.ExperimentSucceeded) != nil || cond(exp, tuningv1beta1.ExperimentFailed) != nil {
				return exp
			}
			if each != nil {
				each(ctx, exp)
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("experiment %s did not end: status %+v", key, exp.Status)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func cond(exp *tuningv1beta1.Experiment, typ tuningv1beta1.ExperimentConditionType) *tuningv1beta1.ExperimentCondition {
	for i, c := range exp.Status.Conditions {
		if c.Type == typ && c.Status == corev1.ConditionTrue {
			return &exp.Status.Conditions[i]
		}
	}
	return nil
}

// TestMedianStopStopsWeakTrials runs the median-stop example with runs that report for
// a while before they succeed: once a trial succeeded (min_trials_required 1), a running
// trial whose loss after start_step 2 reports is above the rule's value is EarlyStopped
// and its run deleted; the others succeed.
func TestMedianStopStopsWeakTrials(t *testing.T) {
	logs := start(t)
	ns := env.Namespace(t)
	obj := conformance.Objects(t, conformance.Files(t, "tuning/early-stopping_median-stop.yaml")[0])[0]
	obj.SetNamespace(ns)
	env.CreateAsUser(t, obj)
	exp := waitDone(t, client.ObjectKey{Namespace: ns, Name: obj.GetName()}, func(ctx context.Context, _ *tuningv1beta1.Experiment) {
		playTrials(t, ctx, ns, logs, 1500*time.Millisecond)
	})
	if c := cond(exp, tuningv1beta1.ExperimentSucceeded); c == nil || c.Reason != tuningv1beta1.ExperimentMaxTrialsReachedReason {
		t.Fatalf("conditions %+v: want Succeeded/%s", exp.Status.Conditions, tuningv1beta1.ExperimentMaxTrialsReachedReason)
	}
	if exp.Status.TrialsEarlyStopped == 0 {
		t.Fatalf("no trial was early stopped: %+v", exp.Status)
	}
	trials := &tuningv1beta1.TrialList{}
	if err := env.Client.List(context.Background(), trials, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	for _, tr := range trials.Items {
		stopped := false
		for _, c := range tr.Status.Conditions {
			stopped = stopped || (c.Type == tuningv1beta1.TrialEarlyStopped && c.Status == corev1.ConditionTrue)
		}
		if !stopped {
			continue
		}
		if len(tr.Spec.EarlyStoppingRules) != 1 {
			t.Fatalf("early stopped trial %s has rules %+v", tr.Name, tr.Spec.EarlyStoppingRules)
		}
		rule, _ := strconv.ParseFloat(tr.Spec.EarlyStoppingRules[0].Value, 64)
		var lr float64
		for _, p := range tr.Spec.ParameterAssignments {
			if p.Name == "lr" {
				lr, _ = strconv.ParseFloat(p.Value, 64)
			}
		}
		if lr <= rule {
			t.Errorf("trial %s stopped with loss %v, not above the rule's %v", tr.Name, lr, rule)
		}
		job := &batchv1.Job{}
		err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: tr.Name}, job)
		if err == nil && job.DeletionTimestamp.IsZero() && (job.Spec.Suspend == nil || !*job.Spec.Suspend) {
			t.Errorf("early stopped trial %s: its Job still runs", tr.Name)
		}
	}
}
