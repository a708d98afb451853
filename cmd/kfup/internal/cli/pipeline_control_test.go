package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pipelinesv1alpha1 "github.com/kfup/kfup/components/pipelines/api/v1alpha1"
	"github.com/kfup/kfup/internal/errs"
)

// controlRuns are fakeRuns and three more of namespace default: one running, one
// canceled by a terminate, one failed and already retried once.
func controlRuns() []client.Object {
	running := &pipelinesv1alpha1.PipelineRun{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "train-2"},
		Status: pipelinesv1alpha1.PipelineRunStatus{Phase: pipelinesv1alpha1.PhaseRunning, Tasks: []pipelinesv1alpha1.TaskStatus{
			task("train", pipelinesv1alpha1.PhaseRunning, 1),
		}},
	}
	canceled := &pipelinesv1alpha1.PipelineRun{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "train-3"},
		Spec:       pipelinesv1alpha1.PipelineRunSpec{Shutdown: pipelinesv1alpha1.ShutdownTerminate},
		Status: pipelinesv1alpha1.PipelineRunStatus{Phase: pipelinesv1alpha1.PhaseCanceled, Tasks: []pipelinesv1alpha1.TaskStatus{
			task("prep", pipelinesv1alpha1.PhaseSucceeded, 1),
			task("train", pipelinesv1alpha1.PhaseCanceled, 1),
		}},
	}
	again := &pipelinesv1alpha1.PipelineRun{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "train-4"},
		Spec:       pipelinesv1alpha1.PipelineRunSpec{Retry: 1},
		Status: pipelinesv1alpha1.PipelineRunStatus{Phase: pipelinesv1alpha1.PhaseFailed, ObservedRetry: 1, LastRetryTime: at(-time.Hour), Tasks: []pipelinesv1alpha1.TaskStatus{
			task("train", pipelinesv1alpha1.PhaseFailed, 3, func(t *pipelinesv1alpha1.TaskStatus) { t.PriorAttempts = 2 }),
		}},
	}
	return append(fakeRuns(), running, canceled, again)
}

func getSpec(t *testing.T, fc *fakeCluster, name string) pipelinesv1alpha1.PipelineRunSpec {
	t.Helper()
	run := &pipelinesv1alpha1.PipelineRun{}
	if err := fc.c.Get(context.Background(), client.ObjectKey{Namespace: "default", Name: name}, run); err != nil {
		t.Fatal(err)
	}
	return run.Spec
}

func TestPipelineTerminate(t *testing.T) {
	api, fc, out, errOut := newFakePipelineAPI(t, controlRuns()...)
	cmd := func() *cobra.Command {
		return NewCmdPipelineTerminate(api.f, func(ctx context.Context, o *PipelineTerminateOptions) error { return runPipelineTerminate(ctx, api, o) })
	}
	for _, tc := range []struct {
		run, stderr string
		shutdown    pipelinesv1alpha1.RunShutdown // afterwards
	}{
		{"train-2", "Terminating run train-2: its running task pods are being deleted ('kfup pipeline get train-2' shows it Canceled)", pipelinesv1alpha1.ShutdownTerminate},
		{"train-2", "Run train-2 is already terminating", pipelinesv1alpha1.ShutdownTerminate},
		{"add-numbers-x7k2p", "Run add-numbers-x7k2p has already ended (Succeeded): nothing to terminate", ""},
		{"train-1", "Run train-1 has already ended (Failed): nothing to terminate", ""},
	} {
		errOut.Reset()
		if err := runPipelineCmd(api.f, cmd(), "terminate", tc.run); err != nil {
			t.Fatalf("terminate %s: %v", tc.run, err)
		}
		if got := strings.TrimSpace(errOut.String()); got != tc.stderr {
			t.Errorf("terminate %s: stderr %q, want %q", tc.run, got, tc.stderr)
		}
		if s := getSpec(t, fc, tc.run); s.Shutdown != tc.shutdown || s.Retry != 0 {
			t.Errorf("terminate %s: spec.shutdown %q retry %d, want %q", tc.run, s.Shutdown, s.Retry, tc.shutdown)
		}
	}
	if out.Len() != 0 {
		t.Errorf("stdout %q: want nothing", out)
	}
	err := runPipelineCmd(api.f, cmd(), "terminate", "nope", "-n", "team-a")
	if ExitCode(err) != ExitNotFound || errs.HintOf(err) != "'kfup pipeline list -n team-a' shows the runs there are" {
		t.Errorf("missing: %v (hint %q)", err, errs.HintOf(err))
	}
	if err := runPipelineCmd(api.f, cmd(), "terminate"); ExitCode(err) != ExitUsage {
		t.Errorf("no run: %v", err)
	}
	// the list shows a run asked to stop as Terminating until the controller ends it
	out.Reset()
	list := NewCmdPipelineList(api.f, func(ctx context.Context, o *PipelineListOptions) error { return runPipelineList(ctx, api, o) })
	if err := runPipelineCmd(api.f, list, "list"); err != nil {
		t.Fatal(err)
	}
	for _, l := range lines(out.String()) {
		if f := strings.Fields(l); f[0] == "train-2" && f[2] != "Terminating" {
			t.Errorf("list: %q, want train-2 Terminating", l)
		}
	}
}

func TestPipelineRetry(t *testing.T) {
	api, fc, _, errOut := newFakePipelineAPI(t, controlRuns()...)
	cmd := func() *cobra.Command {
		return NewCmdPipelineRetry(api.f, func(ctx context.Context, o *PipelineRetryOptions) error { return runPipelineRetry(ctx, api, o) })
	}
	for _, tc := range []struct {
		run, stderr string
		retry       int32 // spec.retry afterwards; spec.shutdown is cleared
	}{
		{"train-1", "Retrying run train-1 (retry 1): 1 task(s) to run again: for-loop-1[1]/train", 1},
		{"train-1", "Run train-1: retry 1 is already asked for", 1},
		{"train-3", "Retrying run train-3 (retry 1): 1 task(s) to run again: train", 1},
		{"train-4", "Retrying run train-4 (retry 2): 1 task(s) to run again: train", 2},
	} {
		errOut.Reset()
		if err := runPipelineCmd(api.f, cmd(), "retry", tc.run); err != nil {
			t.Fatalf("retry %s: %v", tc.run, err)
		}
		if got := strings.TrimSpace(errOut.String()); got != tc.stderr {
			t.Errorf("retry %s: stderr %q, want %q", tc.run, got, tc.stderr)
		}
		if s := getSpec(t, fc, tc.run); s.Retry != tc.retry || s.Shutdown != "" {
			t.Errorf("retry %s: spec.retry %d shutdown %q, want %d and none", tc.run, s.Retry, s.Shutdown, tc.retry)
		}
	}
	for _, tc := range []struct {
		run, err, hint string
	}{
		{"add-numbers-x7k2p", "run add-numbers-x7k2p succeeded: there is nothing to retry", "start a new run to run the pipeline again: kfup pipeline run FILE (or --version V)"},
		{"train-2", "run train-2 is Running: only a run that failed or was canceled can be retried", "wait for it to end ('kfup pipeline get train-2'), or stop it first: kfup pipeline terminate train-2"},
		{"hello-abcde", "run hello-abcde is Pending: only a run that failed or was canceled can be retried", ""},
	} {
		err := runPipelineCmd(api.f, cmd(), "retry", tc.run)
		if ExitCode(err) != ExitConflict || err.Error() != tc.err || tc.hint != "" && errs.HintOf(err) != tc.hint {
			t.Errorf("retry %s: %v (exit %d, hint %q), want exit %d: %s (hint %q)", tc.run, err, ExitCode(err), errs.HintOf(err), ExitConflict, tc.err, tc.hint)
		}
		if s := getSpec(t, fc, tc.run); s.Retry != 0 {
			t.Errorf("retry %s: refused, yet spec.retry is %d", tc.run, s.Retry)
		}
	}
	if err := runPipelineCmd(api.f, cmd(), "retry", "nope"); ExitCode(err) != ExitNotFound {
		t.Errorf("missing: %v", err)
	}
	if err := runPipelineCmd(api.f, cmd(), "retry", "train-1", "--timeout", "5m"); ExitCode(err) != ExitUsage {
		t.Errorf("--timeout without --watch: %v", err)
	}
}

// retry --watch waits for the controller to act on the retry (the run still shows its
// failure meanwhile), then follows the failed task's next attempt to the run's end.
func TestPipelineRetryWatch(t *testing.T) {
	api, fc, out, errOut := newFakePipelineAPI(t, controlRuns()...)
	states := []pipelinesv1alpha1.PipelineRunStatus{
		{Phase: pipelinesv1alpha1.PhaseRunning, ObservedRetry: 2, Tasks: []pipelinesv1alpha1.TaskStatus{
			task("train", pipelinesv1alpha1.PhasePending, 3, func(t *pipelinesv1alpha1.TaskStatus) { t.PriorAttempts = 3 }),
		}},
		{Phase: pipelinesv1alpha1.PhaseRunning, ObservedRetry: 2, Tasks: []pipelinesv1alpha1.TaskStatus{
			task("train", pipelinesv1alpha1.PhaseRunning, 4, func(t *pipelinesv1alpha1.TaskStatus) { t.PriorAttempts = 3 }),
		}},
		{Phase: pipelinesv1alpha1.PhaseSucceeded, ObservedRetry: 2, Tasks: []pipelinesv1alpha1.TaskStatus{
			task("train", pipelinesv1alpha1.PhaseSucceeded, 4, ran(0, 2*time.Second), func(t *pipelinesv1alpha1.TaskStatus) { t.PriorAttempts = 3 }),
		}},
	}
	// the first poll finds the run as it was (the controller has not acted yet)
	fc.tick = func(n int) error {
		if n == 1 {
			return nil
		}
		run := &pipelinesv1alpha1.PipelineRun{}
		if err := fc.c.Get(context.Background(), client.ObjectKey{Namespace: "default", Name: "train-4"}, run); err != nil {
			return err
		}
		run.Status = states[n-2]
		return fc.c.Update(context.Background(), run)
	}
	cmd := NewCmdPipelineRetry(api.f, func(ctx context.Context, o *PipelineRetryOptions) error { return runPipelineRetry(ctx, api, o) })
	if err := runPipelineCmd(api.f, cmd, "retry", "train-4", "--watch"); err != nil {
		t.Fatalf("retry --watch: %v\n%s", err, errOut)
	}
	got := lines(errOut.String())
	want := []string{
		"Retrying run train-4 (retry 2): 1 task(s) to run again: train",
		" • Running train-4 ...",
		"   ↻ train  attempt 4",
		"   ✓ train  2s (4 attempts)",
	}
	if len(got) != len(want)+1 || !strings.HasPrefix(got[len(want)], " ✓ Running train-4 (") {
		t.Errorf("stderr: %q", got)
	} else if d := cmp.Diff(want, got[:len(want)]); d != "" {
		t.Errorf("stderr (-want +got):\n%s", d)
	}
	if out.Len() != 0 {
		t.Errorf("stdout %q: the run has no outputs", out)
	}
}

// A run canceled under --watch ends the watch with an error that says how to run it
// again.
func TestPipelineRunWatchCanceled(t *testing.T) {
	states := []pipelinesv1alpha1.PipelineRunStatus{
		{Phase: pipelinesv1alpha1.PhaseCanceled, Tasks: []pipelinesv1alpha1.TaskStatus{
			task("prep", pipelinesv1alpha1.PhaseSucceeded, 1, ran(0, time.Second)),
			task("train", pipelinesv1alpha1.PhaseCanceled, 1, func(t *pipelinesv1alpha1.TaskStatus) { t.Message = "canceled: the run was terminated" }),
		}, Conditions: []metav1.Condition{{Type: "Succeeded", Status: metav1.ConditionFalse, Reason: "Canceled", Message: "terminated by the user (spec.shutdown: Terminate)"}}},
	}
	err, stderr, _ := watchUntil(t, "w-5", states)
	if ExitCode(err) != ExitError || err.Error() != "run w-5 was canceled: terminated by the user (spec.shutdown: Terminate)" {
		t.Fatalf("error = %v (exit %d)", err, ExitCode(err))
	}
	if hint := errs.HintOf(err); hint != "'kfup pipeline retry w-5' runs it again from where it stopped" {
		t.Errorf("hint = %q", hint)
	}
	if want := []string{" • Running w-5 ...", "   ✓ prep  1s", "   ⊘ train  canceled"}; len(stderr) < 4 || !cmp.Equal(want, stderr[:3]) {
		t.Errorf("stderr: %q", stderr)
	}
}

func TestPipelineGetRetried(t *testing.T) {
	api, _, out, _ := newFakePipelineAPI(t, controlRuns()...)
	cmd := NewCmdPipelineGet(api.f, func(ctx context.Context, o *PipelineGetOptions) error { return runPipelineGet(ctx, api, o) })
	if err := runPipelineCmd(api.f, cmd, "get", "train-4"); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"Phase:      Failed", "Retried:    60m ago (retry 1)"} {
		if !strings.Contains(out.String(), line+"\n") {
			t.Errorf("get train-4 lacks %q:\n%s", line, out)
		}
	}
}

// A task seen failed that a retry of the run sends back is followed again: its next
// attempt, then its new end.
func TestTaskTransitionsAfterRetry(t *testing.T) {
	seen := taskTransitions{}
	for _, step := range []struct {
		task pipelinesv1alpha1.TaskStatus
		want []string
	}{
		{task("train", pipelinesv1alpha1.PhaseFailed, 1, func(t *pipelinesv1alpha1.TaskStatus) { t.Message = "exit code 1" }), []string{"✗ train  exit code 1"}},
		{task("train", pipelinesv1alpha1.PhasePending, 1), nil},
		{task("train", pipelinesv1alpha1.PhaseRunning, 2), []string{"↻ train  attempt 2"}},
		{task("train", pipelinesv1alpha1.PhaseSucceeded, 2), []string{"✓ train  done (2 attempts)"}},
	} {
		if got := seen.update([]pipelinesv1alpha1.TaskStatus{step.task}); !cmp.Equal(got, step.want) {
			t.Errorf("%s: %q, want %q", step.task.Phase, got, step.want)
		}
	}
}
