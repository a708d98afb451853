package cli

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pipelinesv1alpha1 "github.com/kfup/kfup/components/pipelines/api/v1alpha1"
	"github.com/kfup/kfup/internal/conformance"
	"github.com/kfup/kfup/internal/errs"
)

// at is a time relative to testNow.
func at(d time.Duration) *metav1.Time { t := metav1.NewTime(testNow.Add(d)); return &t }

func task(id string, phase pipelinesv1alpha1.RunPhase, attempts int32, mod ...func(*pipelinesv1alpha1.TaskStatus)) pipelinesv1alpha1.TaskStatus {
	t := pipelinesv1alpha1.TaskStatus{ID: id, Task: id[strings.LastIndex(id, "/")+1:], Phase: phase, Attempts: attempts}
	for _, m := range mod {
		m(&t)
	}
	return t
}

func ran(start, end time.Duration) func(*pipelinesv1alpha1.TaskStatus) {
	return func(t *pipelinesv1alpha1.TaskStatus) { t.StartTime, t.CompletionTime = at(start), at(end) }
}

func rawJSON(s string) apiextensionsv1.JSON { return apiextensionsv1.JSON{Raw: []byte(s)} }

// watchUntil runs `kfup pipeline run add_numbers.yaml --watch --run-name NAME`, the fake
// run taking the states in turn, one a poll; it returns the error, the stderr lines and
// stdout.
func watchUntil(t *testing.T, name string, states []pipelinesv1alpha1.PipelineRunStatus, extra ...string) (error, []string, string) {
	t.Helper()
	file := conformance.Files(t, "pipelines/valid/add_numbers.yaml")[0]
	api, fc, out, errOut := newFakePipelineAPI(t)
	// The first look finds the run as created; each poll moves it to the next state.
	fc.tick = func(n int) error {
		if n > len(states) {
			return fmt.Errorf("polled %d times, the test has %d states", n, len(states))
		}
		run := &pipelinesv1alpha1.PipelineRun{}
		if err := fc.c.Get(context.Background(), client.ObjectKey{Namespace: "default", Name: name}, run); err != nil {
			return err
		}
		run.Status = states[n-1]
		return fc.c.Update(context.Background(), run)
	}
	cmd := NewCmdPipelineRun(api.f, func(ctx context.Context, o *PipelineRunOptions) error { return runPipelineRun(ctx, api, o) })
	err := runPipelineCmd(api.f, cmd, append([]string{"run", file, "-p", "a=1", "-p", "b=2", "--watch", "--run-name", name}, extra...)...)
	return err, lines(errOut.String()), out.String()
}

func TestPipelineRunWatch(t *testing.T) {
	states := []pipelinesv1alpha1.PipelineRunStatus{
		{Phase: pipelinesv1alpha1.PhaseRunning, Tasks: []pipelinesv1alpha1.TaskStatus{
			task("prep", pipelinesv1alpha1.PhaseRunning, 1),
		}},
		{Phase: pipelinesv1alpha1.PhaseRunning, Tasks: []pipelinesv1alpha1.TaskStatus{
			task("prep", pipelinesv1alpha1.PhaseSucceeded, 1, ran(0, 3200*time.Millisecond)),
			task("load", pipelinesv1alpha1.PhaseSucceeded, 0, func(t *pipelinesv1alpha1.TaskStatus) { t.CachedFrom = "run-a/load" }),
			task("for-loop-1[0]/train", pipelinesv1alpha1.PhaseRunning, 1),
		}},
		{Phase: pipelinesv1alpha1.PhaseRunning, Tasks: []pipelinesv1alpha1.TaskStatus{
			task("prep", pipelinesv1alpha1.PhaseSucceeded, 1, ran(0, 3200*time.Millisecond)),
			task("load", pipelinesv1alpha1.PhaseSucceeded, 0, func(t *pipelinesv1alpha1.TaskStatus) { t.CachedFrom = "run-a/load" }),
			task("for-loop-1[0]/train", pipelinesv1alpha1.PhasePending, 2),
			task("report", pipelinesv1alpha1.PhaseSkipped, 0, func(t *pipelinesv1alpha1.TaskStatus) { t.Message = "condition\nfalse" }),
		}},
		{Phase: pipelinesv1alpha1.PhaseRunning, Tasks: []pipelinesv1alpha1.TaskStatus{
			task("prep", pipelinesv1alpha1.PhaseSucceeded, 1, ran(0, 3200*time.Millisecond)),
			task("load", pipelinesv1alpha1.PhaseSucceeded, 0, func(t *pipelinesv1alpha1.TaskStatus) { t.CachedFrom = "run-a/load" }),
			task("for-loop-1[0]/train", pipelinesv1alpha1.PhaseRunning, 2),
			task("report", pipelinesv1alpha1.PhaseSkipped, 0, func(t *pipelinesv1alpha1.TaskStatus) { t.Message = "condition\nfalse" }),
		}},
		{Phase: pipelinesv1alpha1.PhaseSucceeded, Outputs: map[string]apiextensionsv1.JSON{"Output": rawJSON("3"), "note": rawJSON(`"ok"`)}, Tasks: []pipelinesv1alpha1.TaskStatus{
			task("prep", pipelinesv1alpha1.PhaseSucceeded, 1, ran(0, 3200*time.Millisecond)),
			task("load", pipelinesv1alpha1.PhaseSucceeded, 0, func(t *pipelinesv1alpha1.TaskStatus) { t.CachedFrom = "run-a/load" }),
			task("for-loop-1[0]/train", pipelinesv1alpha1.PhaseSucceeded, 2, ran(4*time.Second, 69*time.Second), func(t *pipelinesv1alpha1.TaskStatus) {
				t.Parameters = map[string]apiextensionsv1.JSON{"loss": rawJSON("0.25")}
				t.Artifacts = map[string]pipelinesv1alpha1.ArtifactList{"model": {Artifacts: []pipelinesv1alpha1.Artifact{{URI: "minio://kfup/w-1/train/model"}}}}
			}),
			task("report", pipelinesv1alpha1.PhaseSkipped, 0, func(t *pipelinesv1alpha1.TaskStatus) { t.Message = "condition\nfalse" }),
		}},
	}
	err, stderr, stdout := watchUntil(t, "w-1", states)
	if err != nil {
		t.Fatalf("watch: %v\n%s", err, strings.Join(stderr, "\n"))
	}
	want := []string{
		" • Running w-1 ...",
		"   • prep  running",
		"   ✓ prep  3s",
		"   ⤳ load  cached (from run-a/load)",
		"   • for-loop-1[0]/train  running",
		"   ↻ for-loop-1[0]/train  attempt 2",
		"   - report  skipped: condition false",
		"   ✓ for-loop-1[0]/train  1m5s (2 attempts)",
	}
	if len(stderr) != len(want)+1 || !strings.HasPrefix(stderr[len(want)], " ✓ Running w-1 (") {
		t.Errorf("last stderr line: %q", stderr)
	} else if diff := cmp.Diff(want, stderr[:len(want)]); diff != "" {
		t.Errorf("stderr (-want +got):\n%s", diff)
	}
	wantOut := `w-1

Outputs:
  Output  3
  note    ok

Task outputs:
  for-loop-1[0]/train  loss   0.25
  for-loop-1[0]/train  model  minio://kfup/w-1/train/model
`
	if diff := cmp.Diff(wantOut, stdout); diff != "" {
		t.Errorf("stdout (-want +got):\n%s", diff)
	}
}

func TestPipelineRunWatchFails(t *testing.T) {
	states := []pipelinesv1alpha1.PipelineRunStatus{
		{Phase: pipelinesv1alpha1.PhaseFailed, Error: `task "for-loop-1[1]/train" failed: exit code 1`, Tasks: []pipelinesv1alpha1.TaskStatus{
			task("prep", pipelinesv1alpha1.PhaseSucceeded, 1, ran(0, 400*time.Millisecond)),
			task("for-loop-1[1]/train", pipelinesv1alpha1.PhaseFailed, 3, func(t *pipelinesv1alpha1.TaskStatus) { t.Message = "exit code 1" }),
		}},
	}
	err, stderr, stdout := watchUntil(t, "w-2", states)
	if ExitCode(err) != ExitError || !strings.Contains(err.Error(), `run w-2 failed: task "for-loop-1[1]/train" failed: exit code 1`) {
		t.Fatalf("error = %v (exit %d)", err, ExitCode(err))
	}
	if hint := errs.HintOf(err); hint != "see the task's logs: kfup pipeline logs w-2 'for-loop-1[1]/train'" {
		t.Errorf("hint = %q", hint)
	}
	want := []string{" • Running w-2 ...", "   ✓ prep  <1s", "   ✗ for-loop-1[1]/train  exit code 1 (3 attempts)"}
	if len(stderr) < 4 || !strings.HasPrefix(stderr[3], " ✗ Running w-2 (") {
		t.Errorf("stderr: %q", stderr)
	} else if diff := cmp.Diff(want, stderr[:3]); diff != "" {
		t.Errorf("stderr (-want +got):\n%s", diff)
	}
	if stdout != "w-2\n" {
		t.Errorf("stdout = %q", stdout)
	}
}

func TestPipelineRunWatchTimeout(t *testing.T) {
	running := pipelinesv1alpha1.PipelineRunStatus{Phase: pipelinesv1alpha1.PhaseRunning}
	file := conformance.Files(t, "pipelines/valid/add_numbers.yaml")[0]
	api, fc, _, _ := newFakePipelineAPI(t)
	fc.tick = func(n int) error {
		if n == 3 {
			return context.DeadlineExceeded // what sleep returns once --timeout passes
		}
		run := &pipelinesv1alpha1.PipelineRun{}
		if err := fc.c.Get(context.Background(), client.ObjectKey{Namespace: "default", Name: "w-3"}, run); err != nil {
			return err
		}
		run.Status = running
		return fc.c.Update(context.Background(), run)
	}
	cmd := NewCmdPipelineRun(api.f, func(ctx context.Context, o *PipelineRunOptions) error { return runPipelineRun(ctx, api, o) })
	err := runPipelineCmd(api.f, cmd, "run", file, "-p", "a=1", "-p", "b=2", "--watch", "--timeout", "5m", "--run-name", "w-3")
	if ExitCode(err) != ExitTimeout || !strings.Contains(err.Error(), "run w-3 is not done after 5m0s") {
		t.Fatalf("error = %v (exit %d)", err, ExitCode(err))
	}
	if !strings.Contains(errs.HintOf(err), "the run goes on: 'kfup pipeline get w-3' shows it") {
		t.Errorf("hint = %q", errs.HintOf(err))
	}
	if fc.polls != 3 {
		t.Errorf("polls = %d", fc.polls)
	}
}

func TestTaskTransitionsOnce(t *testing.T) {
	seen := taskTransitions{}
	tasks := []pipelinesv1alpha1.TaskStatus{task("a", pipelinesv1alpha1.PhaseRunning, 1)}
	if got := seen.update(tasks); len(got) != 1 {
		t.Fatalf("first: %q", got)
	}
	if got := seen.update(tasks); len(got) != 0 {
		t.Errorf("unchanged: %q", got)
	}
	// A task first seen final, after retries: one line.
	tasks = append(tasks, task("b", pipelinesv1alpha1.PhaseSucceeded, 2))
	if got := seen.update(tasks); !cmp.Equal(got, []string{"✓ b  done (2 attempts)"}) {
		t.Errorf("final: %q", got)
	}
}
