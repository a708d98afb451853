package policy

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	pipelinesv1alpha1 "github.com/kfup/kfup/components/pipelines/api/v1alpha1"
)

var (
	t0  = metav1.NewTime(time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC))
	t1  = metav1.NewTime(t0.Add(time.Minute))
	now = metav1.NewTime(t0.Add(time.Hour))
)

// task is a task's status; mods set more of it.
func task(id string, phase pipelinesv1alpha1.RunPhase, attempts int32, mods ...func(*pipelinesv1alpha1.TaskStatus)) pipelinesv1alpha1.TaskStatus {
	t := pipelinesv1alpha1.TaskStatus{ID: id, Task: id, Phase: phase, Attempts: attempts, StartTime: &t0}
	if phase.Final() {
		t.CompletionTime = &t1
	}
	for _, m := range mods {
		m(&t)
	}
	return t
}

func msg(s string) func(*pipelinesv1alpha1.TaskStatus) {
	return func(t *pipelinesv1alpha1.TaskStatus) { t.Message = s }
}

func TestFinish(t *testing.T) {
	const (
		S = pipelinesv1alpha1.PhaseSucceeded
		F = pipelinesv1alpha1.PhaseFailed
		C = pipelinesv1alpha1.PhaseCanceled
	)
	tasks := func() []pipelinesv1alpha1.TaskStatus {
		return []pipelinesv1alpha1.TaskStatus{
			task("done", S, 1),
			task("train", pipelinesv1alpha1.PhaseRunning, 2),
			task("again", pipelinesv1alpha1.PhasePending, 3, msg("to run again: retry 1 of the run")),
			task("broken", F, 1, msg("exit code 1")),
		}
	}
	for _, tc := range []struct {
		name, msg string
		phase     pipelinesv1alpha1.RunPhase
		cond      metav1.Condition
		err       string
		tasks     []pipelinesv1alpha1.TaskStatus // of the unfinished ones, train and again
	}{
		{"succeeded", "", S, metav1.Condition{Status: metav1.ConditionTrue, Reason: "Succeeded", Message: "every task succeeded or was skipped"}, "", nil},
		{"failed", "task broken: exit code 1", F, metav1.Condition{Status: metav1.ConditionFalse, Reason: "Failed", Message: "task broken: exit code 1"}, "task broken: exit code 1", []pipelinesv1alpha1.TaskStatus{
			task("train", F, 2, msg("stopped: the run ended"), func(t *pipelinesv1alpha1.TaskStatus) { t.CompletionTime = &now }),
			task("again", F, 3, msg("stopped: the run ended"), func(t *pipelinesv1alpha1.TaskStatus) { t.CompletionTime = &now }),
		}},
		{"terminated: Canceled, no error", "", C, metav1.Condition{Status: metav1.ConditionFalse, Reason: "Canceled", Message: "terminated by the user (spec.shutdown: Terminate)"}, "", []pipelinesv1alpha1.TaskStatus{
			task("train", C, 2, msg("canceled: the run was terminated"), func(t *pipelinesv1alpha1.TaskStatus) { t.CompletionTime = &now }),
			task("again", C, 3, msg("canceled: the run was terminated"), func(t *pipelinesv1alpha1.TaskStatus) { t.CompletionTime = &now }),
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := &pipelinesv1alpha1.PipelineRun{ObjectMeta: metav1.ObjectMeta{Generation: 3}}
			run.Status = pipelinesv1alpha1.PipelineRunStatus{Phase: pipelinesv1alpha1.PhaseRunning, StartTime: &t0, Tasks: tasks()}
			if tc.phase == S {
				run.Status.Tasks = run.Status.Tasks[:1] // a run succeeds with every task final
			}
			Finish(run, tc.phase, tc.msg, now)
			st := run.Status
			if st.Phase != tc.phase || st.Error != tc.err || st.CompletionTime == nil || !st.CompletionTime.Equal(&now) {
				t.Errorf("run: phase %s error %q completion %v", st.Phase, st.Error, st.CompletionTime)
			}
			tc.cond.Type, tc.cond.ObservedGeneration = ConditionSucceeded, 3
			if d := cmp.Diff(tc.cond, *meta.FindStatusCondition(st.Conditions, ConditionSucceeded), cmpopts.IgnoreFields(metav1.Condition{}, "LastTransitionTime")); d != "" {
				t.Errorf("condition (-want +got):\n%s", d)
			}
			if tc.tasks == nil {
				return
			}
			want := append(append([]pipelinesv1alpha1.TaskStatus{task("done", S, 1)}, tc.tasks...), task("broken", F, 1, msg("exit code 1")))
			if d := cmp.Diff(want, st.Tasks); d != "" {
				t.Errorf("tasks (-want +got):\n%s", d)
			}
		})
	}
}

func TestRetry(t *testing.T) {
	const (
		S = pipelinesv1alpha1.PhaseSucceeded
		F = pipelinesv1alpha1.PhaseFailed
		C = pipelinesv1alpha1.PhaseCanceled
		K = pipelinesv1alpha1.PhaseSkipped
		P = pipelinesv1alpha1.PhasePending
	)
	cached := func(t *pipelinesv1alpha1.TaskStatus) { t.CachedFrom = "run-a/load" }
	pod := func(name string) func(*pipelinesv1alpha1.TaskStatus) {
		return func(t *pipelinesv1alpha1.TaskStatus) { t.PodName = name }
	}
	again := func(prior int32, retry int) func(*pipelinesv1alpha1.TaskStatus) {
		return func(t *pipelinesv1alpha1.TaskStatus) {
			t.PriorAttempts, t.CompletionTime, t.RetryAfter = prior, nil, nil
			t.Message = "to run again: retry " + strconv.Itoa(retry) + " of the run"
		}
	}
	for _, tc := range []struct {
		name   string
		phase  pipelinesv1alpha1.RunPhase
		retry  int32
		tasks  []pipelinesv1alpha1.TaskStatus
		want   []pipelinesv1alpha1.TaskStatus // nil: the tasks unchanged
		again  []string
		refuse string
	}{
		{
			name: "failed: the failed task goes again, the rest stay", phase: F, retry: 1,
			tasks: []pipelinesv1alpha1.TaskStatus{
				task("prep", S, 1, pod("r-prep-1")),
				task("load", S, 0, cached),
				task("train", F, 3, pod("r-train-3"), msg("exit code 1 (after 3 attempts)"), func(t *pipelinesv1alpha1.TaskStatus) { t.RetryAfter = &t1 }),
				task("report", K, 0, msg("condition is false: x > 1")),
				task("deploy", K, 0, msg("upstream task train failed")),
				task("bad-input", F, 0, msg("input x: no such output")),
			},
			want: []pipelinesv1alpha1.TaskStatus{
				task("prep", S, 1, pod("r-prep-1")),
				task("load", S, 0, cached),
				task("train", P, 3, pod("r-train-3"), again(3, 1)),
				task("report", K, 0, msg("condition is false: x > 1")),
				task("deploy", K, 0, msg("upstream task train failed")), // the planner lets it wait
				task("bad-input", F, 0, msg("input x: no such output")), // the planner fails it again, or not
			},
			again: []string{"train"},
		},
		{
			name: "canceled, the second retry: canceled tasks go again, prior attempts move up", phase: C, retry: 2,
			tasks: []pipelinesv1alpha1.TaskStatus{
				task("prep", S, 1),
				task("a", C, 5, func(t *pipelinesv1alpha1.TaskStatus) { t.PriorAttempts = 3 }, msg("canceled: the run was terminated")),
				task("b", C, 2, msg("canceled: the run was terminated")),
				task("c", F, 1, msg("exit code 2")),
			},
			want: []pipelinesv1alpha1.TaskStatus{
				task("prep", S, 1),
				task("a", P, 5, again(5, 2)),
				task("b", P, 2, again(2, 2)),
				task("c", P, 1, again(1, 2)),
			},
			again: []string{"a", "b", "c"},
		},
		{name: "succeeded: nothing to retry", phase: S, retry: 1, tasks: []pipelinesv1alpha1.TaskStatus{task("prep", S, 1)}, refuse: "the run succeeded: there is nothing to retry"},
		{name: "running", phase: pipelinesv1alpha1.PhaseRunning, retry: 1, tasks: []pipelinesv1alpha1.TaskStatus{task("prep", pipelinesv1alpha1.PhaseRunning, 1)}, refuse: "the run is Running: only a Failed or Canceled run can be retried"},
		{name: "not seen yet", phase: "", retry: 1, refuse: "the run is Pending"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := &pipelinesv1alpha1.PipelineRun{ObjectMeta: metav1.ObjectMeta{Generation: 4}}
			run.Spec.Retry = tc.retry
			run.Status = pipelinesv1alpha1.PipelineRunStatus{Phase: tc.phase, StartTime: &t0, ObservedRetry: tc.retry - 1, Tasks: tc.tasks}
			if tc.phase.Final() {
				run.Status.CompletionTime = &t1
				Finish(run, tc.phase, "", t1)
				if tc.phase == F {
					run.Status.Error = "task train: exit code 1"
				}
			}
			before := run.Status.DeepCopy()
			got, err := Retry(run, now)
			st := run.Status
			if st.ObservedRetry != tc.retry {
				t.Errorf("observedRetry %d, want %d: the request is answered either way", st.ObservedRetry, tc.retry)
			}
			if tc.refuse != "" {
				if err == nil || !strings.Contains(err.Error(), tc.refuse) {
					t.Fatalf("got %v, want refused with %q", err, tc.refuse)
				}
				before.ObservedRetry = tc.retry
				if d := cmp.Diff(before, &st); d != "" {
					t.Errorf("a refused retry changed the status (-before +after):\n%s", d)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.again, got); d != "" {
				t.Errorf("sent back (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.want, st.Tasks); d != "" {
				t.Errorf("tasks (-want +got):\n%s", d)
			}
			if st.Phase != pipelinesv1alpha1.PhaseRunning || st.Error != "" || st.CompletionTime != nil || st.LastRetryTime == nil || !st.LastRetryTime.Equal(&now) || !st.StartTime.Equal(&t0) {
				t.Errorf("run: phase %s error %q completion %v last retry %v start %v", st.Phase, st.Error, st.CompletionTime, st.LastRetryTime, st.StartTime)
			}
			c := meta.FindStatusCondition(st.Conditions, ConditionSucceeded)
			if c == nil || c.Status != metav1.ConditionUnknown || c.Reason != "Retrying" || c.ObservedGeneration != 4 || !strings.HasPrefix(c.Message, "retry "+strconv.Itoa(int(tc.retry))+":") {
				t.Errorf("condition %+v, want Unknown, Retrying", c)
			}
		})
	}
}

func TestCheckRetry(t *testing.T) {
	for _, tc := range []struct {
		phase    pipelinesv1alpha1.RunPhase
		shutdown pipelinesv1alpha1.RunShutdown
		want     string
	}{
		{pipelinesv1alpha1.PhaseFailed, "", ""},
		{pipelinesv1alpha1.PhaseCanceled, "", ""},
		{pipelinesv1alpha1.PhaseCanceled, pipelinesv1alpha1.ShutdownTerminate, "spec.shutdown is still set"},
		{pipelinesv1alpha1.PhaseSucceeded, "", "nothing to retry"},
		{pipelinesv1alpha1.PhaseRunning, "", "the run is Running"},
		{pipelinesv1alpha1.PhaseRunning, pipelinesv1alpha1.ShutdownTerminate, "the run is Running"},
	} {
		err := CheckRetry(tc.phase, &pipelinesv1alpha1.PipelineRunSpec{Shutdown: tc.shutdown})
		if (err == nil) != (tc.want == "") || err != nil && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s, shutdown %q: %v, want %q", tc.phase, tc.shutdown, err, tc.want)
		}
	}
}
