package controller_test

import (
	"context"

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
	"github.com/kfup/kfup/components/tuning/engine"
	"github.com/kfup/kfup/internal/conformance"
)

// end is what the fake cluster does with a run.
type end int

const (
	keep end = iota // leave it running
	succeeds
	fails
)

// outcome is how the fake cluster ends a trial's run: the primary pod's log, and the end.
type outcome func(tr *tuningv1beta1.Trial) (log string, e end)

// pending is a trial whose run exists and has not finished, with that run.
type pending struct {
	trial *tuningv1beta1.Trial
	run   *unstructured.Unstructured
}

// unfinished lists the trials of ns whose runs exist and report no condition yet.
func unfinished(ctx context.Context, ns string) []pending {
	trials := &tuningv1beta1.TrialList{}
	if err := env.Client.List(ctx, trials, client.InNamespace(ns)); err != nil {
		return nil
	}
	var out []pending
	for i := range trials.Items {
		tr := &trials.Items[i]
		if tr.Spec.RunSpec == nil {
			continue
		}
		run := &unstructured.Unstructured{}
		run.SetGroupVersionKind(tr.Spec.RunSpec.GroupVersionKind())
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: tr.Name}, run); err != nil {
			continue
		}
		if _, found, _ := unstructured.NestedSlice(run.Object, "status", "conditions"); found {
			continue
		}
		out = append(out, pending{tr, run})
	}
	return out
}

// drive plays the cluster once for every run not finished yet: its primary pod with the
// log out gives, then the run's end.
func drive(t *testing.T, ctx context.Context, ns string, logs *fakeLogs, out outcome) {
	for _, u := range unfinished(ctx, ns) {
		tr, run := u.trial, u.run
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: tr.Name + "-pod", Namespace: ns, Labels: map[string]string{tuningv1beta1.LabelTrialName: tr.Name}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: tr.Spec.PrimaryContainerName, Image: "busybox"}}},
		}
		container := tr.Spec.PrimaryContainerName
		if k := tr.Spec.MetricsCollector.Collector; k != nil && k.Kind == tuningv1beta1.FileCollector { // the log is the sidecar's
			container = engine.MetricsContainerName
			pod.Spec.InitContainers = []corev1.Container{{Name: container, Image: "kfup", RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways)}}
		}
		if err := env.Client.Create(ctx, pod); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Errorf("create pod: %v", err)
			continue
		}
		log, e := out(tr)
		logs.set(ns, pod.Name, container, log)
		finish := succeed
		switch e {
		case keep:
			continue
		case fails:
			finish = failRun
		}
		if err := finish(ctx, run); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) { // ended meanwhile
			t.Errorf("end %s %s: %v", run.GetKind(), run.GetName(), err)
		}
	}
}

// failRun sets a batch Job's status as the Job controller does when it fails.
func failRun(ctx context.Context, run *unstructured.Unstructured) error {
	now := metav1.Now()
	job := &batchv1.Job{}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(run), job); err != nil {
		return err
	}
	job.Status.StartTime = &metav1.Time{Time: now.Add(-time.Second)}
	job.Status.Failed = 1
	job.Status.Conditions = []batchv1.JobCondition{
		{Type: batchv1.JobFailureTarget, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded", LastTransitionTime: now},
		{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded", LastTransitionTime: now},
	}
	return env.Client.Status().Update(ctx, job)
}

// randomExperiment is upstream's random example in ns, edited by edit (unstructured paths).
func randomExperiment(t *testing.T, ns string, edit func(u *unstructured.Unstructured)) client.ObjectKey {
	t.Helper()
	obj := conformance.Objects(t, conformance.Files(t, "tuning/hp-tuning_random.yaml")[0])[0]
	obj.SetNamespace(ns)
	if edit != nil {
		edit(obj)
	}
	env.CreateAsUser(t, obj)
	return client.ObjectKey{Namespace: ns, Name: obj.GetName()}
}

func set(t *testing.T, u *unstructured.Unstructured, v any, path ...string) {
	t.Helper()
	if err := unstructured.SetNestedField(u.Object, v, path...); err != nil {
		t.Fatal(err)
	}
}

func trialsOf(t *testing.T, ns string) []tuningv1beta1.Trial {
	t.Helper()
	trials := &tuningv1beta1.TrialList{}
	if err := env.Client.List(context.Background(), trials, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	return trials.Items
}

func trialCond(tr *tuningv1beta1.Trial, typ tuningv1beta1.TrialConditionType) *tuningv1beta1.TrialCondition {
	for i, c := range tr.Status.Conditions {
		if c.Type == typ && c.Status == corev1.ConditionTrue {
			return &tr.Status.Conditions[i]
		}
	}
	return nil
}

// Every run fails: the experiment fails once maxFailedTrialCount (3) trials have failed,
// having made no more trials than that plus the others running alongside, and nothing
// is left running.
func TestMaxFailedTrialCountFailsExperiment(t *testing.T) {
	logs := start(t)
	ns := env.Namespace(t)
	key := randomExperiment(t, ns, nil)
	exp := waitDone(t, key, func(ctx context.Context, _ *tuningv1beta1.Experiment) {
		drive(t, ctx, ns, logs, func(*tuningv1beta1.Trial) (string, end) { return "Traceback: CUDA out of memory\n", fails })
	})
	c := cond(exp, tuningv1beta1.ExperimentFailed)
	if c == nil || c.Reason != tuningv1beta1.ExperimentFailedReason {
		t.Fatalf("conditions %+v: want Failed/%s", exp.Status.Conditions, tuningv1beta1.ExperimentFailedReason)
	}
	st := exp.Status
	if st.TrialsFailed < 3 || st.Trials > 3+3-1 || st.TrialsRunning+st.TrialsPending != 0 || st.TrialsSucceeded != 0 {
		t.Errorf("status %+v: want ≥ 3 failed, ≤ 5 trials, none active", st)
	}
	if exp.Status.CompletionTime == nil {
		t.Error("a failed experiment has no completionTime")
	}
}

// Runs succeed but never print the objective: each trial is MetricsUnavailable with a
// message naming the metric, and they count toward maxFailedTrialCount.
func TestMetricsUnavailableCountsAsFailed(t *testing.T) {
	logs := start(t)
	ns := env.Namespace(t)
	key := randomExperiment(t, ns, nil)
	exp := waitDone(t, key, func(ctx context.Context, _ *tuningv1beta1.Experiment) {
		drive(t, ctx, ns, logs, func(*tuningv1beta1.Trial) (string, end) { return "epoch 1\naccuracy=0.9\n", succeeds })
	})
	if c := cond(exp, tuningv1beta1.ExperimentFailed); c == nil {
		t.Fatalf("conditions %+v: want Failed", exp.Status.Conditions)
	}
	if exp.Status.TrialMetricsUnavailable < 3 {
		t.Errorf("status %+v: want ≥ 3 trials without metrics", exp.Status)
	}
	for _, tr := range trialsOf(t, ns) {
		if c := trialCond(&tr, tuningv1beta1.TrialMetricsUnavailable); c != nil && !strings.Contains(c.Message, "loss") {
			t.Errorf("trial %s: %q does not name the objective metric", tr.Name, c.Message)
		}
	}
}

// A metrics file in the JSON format with a line that is not JSON: each trial ends
// MetricsUnavailable saying which pod's log and which line (no retry can fix it), and the
// experiment fails at maxFailedTrialCount instead of reconciling forever.
func TestUnreadableMetricsEndTrials(t *testing.T) {
	logs := start(t)
	ns := env.Namespace(t)
	key := randomExperiment(t, ns, func(u *unstructured.Unstructured) {
		set(t, u, map[string]any{
			"collector": map[string]any{"kind": "File"},
			"source":    map[string]any{"fileSystemPath": map[string]any{"path": "/var/log/katib/metrics.json", "kind": "File", "format": "JSON"}},
		}, "spec", "metricsCollectorSpec")
	})
	exp := waitDone(t, key, func(ctx context.Context, _ *tuningv1beta1.Experiment) {
		drive(t, ctx, ns, logs, func(*tuningv1beta1.Trial) (string, end) {
			return "{\"loss\": \"0.5\"}\nepoch 2 done\n", succeeds
		})
	})
	if c := cond(exp, tuningv1beta1.ExperimentFailed); c == nil {
		t.Fatalf("conditions %+v: want Failed", exp.Status.Conditions)
	}
	n := 0
	for _, tr := range trialsOf(t, ns) {
		if c := trialCond(&tr, tuningv1beta1.TrialMetricsUnavailable); c != nil {
			n++
			if !strings.Contains(c.Message, "line 2") || !strings.Contains(c.Message, tr.Name+"-pod") {
				t.Errorf("trial %s: %q does not name the pod and the bad line", tr.Name, c.Message)
			}
		}
	}
	if n < 3 {
		t.Errorf("%d trials MetricsUnavailable, want ≥ 3 (maxFailedTrialCount)", n)
	}
}

// The first trial to succeed reaches the goal (loss 0.0005 < 0.001) while two others
// run: the experiment ends GoalReached with it as currentOptimalTrial; the two are
// Killed and their Jobs deleted.
func TestGoalReachedKillsTheRest(t *testing.T) {
	logs := start(t)
	ns := env.Namespace(t)
	key := randomExperiment(t, ns, nil)
	winner := ""
	exp := waitDone(t, key, func(ctx context.Context, _ *tuningv1beta1.Experiment) {
		if winner == "" && len(trialsOf(t, ns)) < 3 { // let all three start first
			return
		}
		drive(t, ctx, ns, logs, func(tr *tuningv1beta1.Trial) (string, end) {
			if winner == "" || winner == tr.Name {
				winner = tr.Name
				return "loss=0.0005\n", succeeds
			}
			return "loss=0.5\n", keep
		})
	})
	c := cond(exp, tuningv1beta1.ExperimentSucceeded)
	if c == nil || c.Reason != tuningv1beta1.ExperimentGoalReachedReason {
		t.Fatalf("conditions %+v: want Succeeded/%s", exp.Status.Conditions, tuningv1beta1.ExperimentGoalReachedReason)
	}
	if exp.Status.CurrentOptimalTrial.BestTrialName != winner {
		t.Errorf("currentOptimalTrial %s, want %s", exp.Status.CurrentOptimalTrial.BestTrialName, winner)
	}
	// the others are killed (status settles right after the experiment's end)
	deadline := time.Now().Add(20 * time.Second)
	for {
		var active, killed []string
		for _, tr := range trialsOf(t, ns) {
			switch {
			case trialCond(&tr, tuningv1beta1.TrialKilled) != nil:
				killed = append(killed, tr.Name)
			case tr.Name != winner:
				active = append(active, tr.Name)
			}
		}
		jobs := &batchv1.JobList{}
		if err := env.Client.List(context.Background(), jobs, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		live := 0
		for _, j := range jobs.Items {
			if j.DeletionTimestamp.IsZero() {
				live++
			}
		}
		if len(active) == 0 && len(killed) == 2 && live == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the goal: killed %v, still active %v, %d Jobs not deleted", killed, active, live)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// resumable is the random example with maxTrialCount 2, one trial at a time, and policy.
func resumable(t *testing.T, ns string, policy tuningv1beta1.ResumePolicyType) client.ObjectKey {
	return randomExperiment(t, ns, func(u *unstructured.Unstructured) {
		set(t, u, int64(2), "spec", "maxTrialCount")
		set(t, u, int64(1), "spec", "parallelTrialCount")
		set(t, u, int64(1), "spec", "maxFailedTrialCount")
		set(t, u, string(policy), "spec", "resumePolicy")
	})
}

func raiseMaxTrials(t *testing.T, key client.ObjectKey, n int32) {
	t.Helper()
	exp := &tuningv1beta1.Experiment{}
	if err := env.Client.Get(context.Background(), key, exp); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(exp.DeepCopy())
	exp.Spec.MaxTrialCount = &n
	if err := env.Client.Patch(context.Background(), exp, patch); err != nil {
		t.Fatalf("raise maxTrialCount: %v", err)
	}
}

func succeedAll(*tuningv1beta1.Trial) (string, end) { return "loss=0.5\n", succeeds }

// LongRunning: an experiment that reached maxTrialCount resumes when it is raised, keeps
// its trials, makes only the new ones and ends again at the new count.
func TestResumeLongRunningWhenMaxTrialsRaised(t *testing.T) {
	logs := start(t)
	ns := env.Namespace(t)
	key := resumable(t, ns, tuningv1beta1.LongRunning)
	play := func(ctx context.Context, _ *tuningv1beta1.Experiment) { drive(t, ctx, ns, logs, succeedAll) }
	exp := waitDone(t, key, play)
	if c := cond(exp, tuningv1beta1.ExperimentSucceeded); c == nil || c.Reason != tuningv1beta1.ExperimentMaxTrialsReachedReason {
		t.Fatalf("conditions %+v: want Succeeded/%s", exp.Status.Conditions, tuningv1beta1.ExperimentMaxTrialsReachedReason)
	}
	first := map[string]bool{}
	for _, tr := range trialsOf(t, ns) {
		first[tr.Name] = true
	}
	raiseMaxTrials(t, key, 4)
	// wait for the restart to be seen, then for the new end
	deadline := time.Now().Add(30 * time.Second)
	for {
		if err := env.Client.Get(context.Background(), key, exp); err != nil {
			t.Fatal(err)
		}
		if cond(exp, tuningv1beta1.ExperimentSucceeded) == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a LongRunning experiment did not restart after maxTrialCount was raised: %+v", exp.Status.Conditions)
		}
		time.Sleep(100 * time.Millisecond)
	}
	exp = waitDone(t, key, play)
	if c := cond(exp, tuningv1beta1.ExperimentSucceeded); c == nil || c.Reason != tuningv1beta1.ExperimentMaxTrialsReachedReason || exp.Status.TrialsSucceeded != 4 {
		t.Fatalf("after the resume: conditions %+v, %d succeeded: want MaxTrialsReached with 4", exp.Status.Conditions, exp.Status.TrialsSucceeded)
	}
	trials := trialsOf(t, ns)
	kept := 0
	for _, tr := range trials {
		if first[tr.Name] {
			kept++
		}
	}
	if len(trials) != 4 || kept != 2 {
		t.Errorf("%d trials, %d of the first two kept: want 4 and 2", len(trials), kept)
	}
}

// Never: raising maxTrialCount of an ended experiment changes nothing (upstream's rule:
// it cannot be restarted); its suggestion has ended.
func TestResumeNeverStaysEnded(t *testing.T) {
	logs := start(t)
	ns := env.Namespace(t)
	key := resumable(t, ns, tuningv1beta1.NeverResume)
	exp := waitDone(t, key, func(ctx context.Context, _ *tuningv1beta1.Experiment) { drive(t, ctx, ns, logs, succeedAll) })
	if c := cond(exp, tuningv1beta1.ExperimentSucceeded); c == nil || c.Reason != tuningv1beta1.ExperimentMaxTrialsReachedReason {
		t.Fatalf("conditions %+v: want Succeeded/%s", exp.Status.Conditions, tuningv1beta1.ExperimentMaxTrialsReachedReason)
	}
	raiseMaxTrials(t, key, 4)
	time.Sleep(3 * time.Second) // 15 poll intervals
	if err := env.Client.Get(context.Background(), key, exp); err != nil {
		t.Fatal(err)
	}
	if n := len(trialsOf(t, ns)); n != 2 || cond(exp, tuningv1beta1.ExperimentSucceeded) == nil {
		t.Fatalf("resumePolicy Never restarted: %d trials, conditions %+v", n, exp.Status.Conditions)
	}
	sug := &tuningv1beta1.Suggestion{}
	if err := env.Client.Get(context.Background(), key, sug); err != nil {
		t.Fatal(err)
	}
	ended := false
	for _, c := range sug.Status.Conditions {
		ended = ended || (c.Type == tuningv1beta1.SuggestionSucceeded && c.Status == corev1.ConditionTrue)
	}
	if !ended {
		t.Errorf("suggestion conditions %+v: want Succeeded (ended with the experiment)", sug.Status.Conditions)
	}
}

// What admission cannot check ends the experiment Failed/ExperimentInvalid, naming the
// problem, before any trial exists.
func TestInvalidExperimentsMakeNoTrials(t *testing.T) {
	start(t)
	for _, c := range []struct {
		name, want string
		edit       func(u *unstructured.Unstructured)
	}{
		{"unknown algorithm", "goptuna-magic", func(u *unstructured.Unstructured) {
			set(t, u, "goptuna-magic", "spec", "algorithm", "algorithmName")
		}},
		{"unknown setting", "random_state", func(u *unstructured.Unstructured) {
			set(t, u, []any{map[string]any{"name": "n_startup", "value": "3"}}, "spec", "algorithm", "algorithmSettings")
		}},
		{"template parameter not defined", "numberEpochs", func(u *unstructured.Unstructured) {
			cs, _, _ := unstructured.NestedSlice(u.Object, "spec", "trialTemplate", "trialSpec", "spec", "template", "spec", "containers")
			c0 := cs[0].(map[string]any)
			c0["command"] = append(c0["command"].([]any), "--epochs=${trialParameters.numberEpochs}")
			set(t, u, cs, "spec", "trialTemplate", "trialSpec", "spec", "template", "spec", "containers")
		}},
		{"unknown early stopping", "medianstop", func(u *unstructured.Unstructured) {
			set(t, u, map[string]any{"algorithmName": "truncation"}, "spec", "earlyStopping")
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ns := env.Namespace(t)
			exp := waitDone(t, randomExperiment(t, ns, c.edit), nil)
			fc := cond(exp, tuningv1beta1.ExperimentFailed)
			if fc == nil || fc.Reason != controller.ExperimentInvalidReason || !strings.Contains(fc.Message, c.want) {
				t.Fatalf("conditions %+v: want Failed/%s naming %q", exp.Status.Conditions, controller.ExperimentInvalidReason, c.want)
			}
			if n := len(trialsOf(t, ns)); n != 0 {
				t.Fatalf("an invalid experiment made %d trials", n)
			}
		})
	}
}
