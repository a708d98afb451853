package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clienttesting "k8s.io/client-go/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pipelinesv1alpha1 "github.com/kfup/kfup/components/pipelines/api/v1alpha1"
	"github.com/kfup/kfup/components/pipelines/store"
	"github.com/kfup/kfup/dashboard"
	"github.com/kfup/kfup/internal/errs"
)

func taskPodObject(run, name, taskID string, phase corev1.PodPhase, age time.Duration) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: "default", Name: name, CreationTimestamp: metav1.NewTime(testNow.Add(-age)),
			Labels: map[string]string{labelRun: run}, Annotations: map[string]string{annotationTaskID: taskID},
		},
		Spec:   corev1.PodSpec{Containers: []corev1.Container{{Name: "launcher"}, {Name: "main"}}},
		Status: corev1.PodStatus{Phase: phase},
	}
}

func TestMatchTask(t *testing.T) {
	runs := fakeRuns()
	done, train := runs[0].(*pipelinesv1alpha1.PipelineRun), runs[1].(*pipelinesv1alpha1.PipelineRun)
	tests := []struct {
		run     *pipelinesv1alpha1.PipelineRun
		arg     string
		want    string
		kind    errs.Kind
		wantErr string
		hint    string
	}{
		{run: done, arg: "add", want: "add"},
		{run: train, arg: "for-loop-1[1]/train", want: "for-loop-1[1]/train"},
		{run: train, arg: "train", kind: errs.KindUsage, wantErr: `"train" names 2 tasks of run train-1`,
			hint: "name one by its ID: 'for-loop-1[0]/train', 'for-loop-1[1]/train'"},
		{run: done, arg: "nope", kind: errs.KindNotFound, wantErr: `run add-numbers-x7k2p has no task "nope"`, hint: "the run's tasks: add, load, report"},
		{run: runs[2].(*pipelinesv1alpha1.PipelineRun), arg: "x", kind: errs.KindNotFound, hint: "the run has started no task yet"},
	}
	for _, tt := range tests {
		t.Run(tt.arg, func(t *testing.T) {
			got, err := matchTask(tt.run, tt.arg)
			if tt.want != "" {
				if err != nil || got.ID != tt.want {
					t.Fatalf("matchTask = %v, %v; want %s", got, err, tt.want)
				}
				return
			}
			if err == nil || errs.KindOf(err) != tt.kind || !strings.Contains(err.Error(), tt.wantErr) || errs.HintOf(err) != tt.hint {
				t.Errorf("error = %v (%v, hint %q); want %v %q, hint %q", err, errs.KindOf(err), errs.HintOf(err), tt.kind, tt.wantErr, tt.hint)
			}
		})
	}
}

func TestPipelineLogs(t *testing.T) {
	objs := append(fakeRuns(),
		taskPodObject("add-numbers-x7k2p", "add-numbers-x7k2p-add-1", "add", corev1.PodSucceeded, time.Hour),
		// for-loop-1[0]/train's status names no pod: the newest of its pods is found.
		taskPodObject("train-1", "train-1-train-old", "for-loop-1[0]/train", corev1.PodFailed, 10*time.Minute),
		taskPodObject("train-1", "train-1-train-new", "for-loop-1[0]/train", corev1.PodSucceeded, 9*time.Minute),
	)
	logsOf := func(fc *fakeCluster) []string {
		var pods []string
		for _, a := range fc.cs.Actions() {
			if a.GetSubresource() == "log" {
				o := a.(clienttesting.GenericAction).GetValue().(*corev1.PodLogOptions)
				pods = append(pods, o.Container)
			}
		}
		return pods
	}
	tests := []struct {
		name       string
		args       []string
		wantOut    string
		wantErrOut string
		wantLogs   []string // the container of each log request
		exit       int
	}{
		{
			name: "every task",
			args: []string{"add-numbers-x7k2p"},
			wantOut: `==> add <==
fake logs
==> load <==
task load was cached: it reused the outputs of run-a/load and ran no pod (kfup pipeline logs run-a load)
==> report <==
task report was skipped: condition a > b is false
`,
			wantLogs: []string{"main"},
		},
		{name: "one task", args: []string{"add-numbers-x7k2p", "add"}, wantOut: "fake logs\n", wantLogs: []string{"main"}},
		{name: "pod found by annotation", args: []string{"train-1", "for-loop-1[0]/train"}, wantOut: "fake logs\n", wantLogs: []string{"main"}},
		{name: "cached", args: []string{"add-numbers-x7k2p", "load"}, wantErrOut: "task load was cached: it reused the outputs of run-a/load"},
		{name: "skipped", args: []string{"add-numbers-x7k2p", "report"}, wantErrOut: "task report was skipped: condition a > b is false"},
		{name: "ambiguous", args: []string{"train-1", "train"}, exit: ExitUsage},
		{name: "pod gone", args: []string{"train-1", "for-loop-1[1]/train"}, exit: ExitNotFound},
		{name: "no run", args: []string{"nope"}, exit: ExitNotFound},
		{name: "no arguments", args: nil, exit: ExitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api, fc, out, errOut := newFakePipelineAPI(t, objs...)
			cmd := NewCmdPipelineLogs(api.f, func(ctx context.Context, o *PipelineLogsOptions) error { return runPipelineLogs(ctx, api, o) })
			err := runPipelineCmd(api.f, cmd, append([]string{"logs"}, tt.args...)...)
			if ExitCode(err) != tt.exit {
				t.Fatalf("exit %d (%v), want %d", ExitCode(err), err, tt.exit)
			}
			if diff := cmp.Diff(tt.wantOut, out.String()); diff != "" {
				t.Errorf("stdout (-want +got):\n%s", diff)
			}
			if !strings.Contains(errOut.String(), tt.wantErrOut) {
				t.Errorf("stderr = %q, want %q in it", errOut, tt.wantErrOut)
			}
			if diff := cmp.Diff(tt.wantLogs, logsOf(fc)); diff != "" {
				t.Errorf("log requests (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPipelineLogsFollow: --follow waits for the task's pod to start, then streams.
func TestPipelineLogsFollow(t *testing.T) {
	run := &pipelinesv1alpha1.PipelineRun{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "slow"},
		Status: pipelinesv1alpha1.PipelineRunStatus{Phase: pipelinesv1alpha1.PhaseRunning, Tasks: []pipelinesv1alpha1.TaskStatus{
			task("train", pipelinesv1alpha1.PhasePending, 1, func(t *pipelinesv1alpha1.TaskStatus) { t.PodName = "slow-train-1" }),
		}},
	}
	pod := taskPodObject("slow", "slow-train-1", "train", corev1.PodPending, time.Second)
	for _, args := range [][]string{{"slow", "train", "-f"}, {"slow", "--follow"}} {
		api, fc, out, _ := newFakePipelineAPI(t, run.DeepCopy(), pod.DeepCopy())
		fc.tick = func(n int) error {
			ctx := context.Background()
			p, r := &corev1.Pod{}, &pipelinesv1alpha1.PipelineRun{}
			if err := fc.c.Get(ctx, client.ObjectKeyFromObject(pod), p); err != nil {
				return err
			}
			if err := fc.c.Get(ctx, client.ObjectKeyFromObject(run), r); err != nil {
				return err
			}
			switch n {
			case 1: // still pulling the image
			case 2:
				p.Status.Phase = corev1.PodRunning
				r.Status.Tasks[0].Phase = pipelinesv1alpha1.PhaseRunning
			default:
				r.Status.Phase = pipelinesv1alpha1.PhaseSucceeded
				r.Status.Tasks[0].Phase = pipelinesv1alpha1.PhaseSucceeded
			}
			if err := fc.c.Update(ctx, p); err != nil {
				return err
			}
			return fc.c.Update(ctx, r)
		}
		cmd := NewCmdPipelineLogs(api.f, func(ctx context.Context, o *PipelineLogsOptions) error { return runPipelineLogs(ctx, api, o) })
		if err := runPipelineCmd(api.f, cmd, append([]string{"logs"}, args...)...); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		want := "fake logs\n"
		if len(args) == 2 {
			want = "==> train <==\n" + want
		}
		if out.String() != want {
			t.Errorf("%v: stdout = %q, want %q", args, out, want)
		}
		var follow []bool
		for _, a := range fc.cs.Actions() {
			if a.GetSubresource() == "log" {
				follow = append(follow, a.(clienttesting.GenericAction).GetValue().(*corev1.PodLogOptions).Follow)
			}
		}
		if !cmp.Equal(follow, []bool{true}) || fc.polls < 2 {
			t.Errorf("%v: log requests with follow %v after %d polls", args, follow, fc.polls)
		}
	}
}

// TestPipelineLogsKeptAfterPodGone: once a task's pod is gone, its log is the one the task
// kept in the artifact store, alone or among every task's.
func TestPipelineLogsKeptAfterPodGone(t *testing.T) {
	st := store.NewFS(t.TempDir())
	for _, args := range [][]string{{"train-1", "for-loop-1[1]/train"}, {"train-1"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			api, fc, out, errOut := newFakePipelineAPI(t, fakeRuns()...)
			api.artifacts = func(context.Context) (dashboard.ArtifactReader, error) { return dashboard.StoreArtifacts(st), nil }
			run := &pipelinesv1alpha1.PipelineRun{}
			if err := fc.c.Get(context.Background(), client.ObjectKey{Namespace: "default", Name: "train-1"}, run); err != nil {
				t.Fatal(err)
			}
			log := "epoch 3: loss nan\nkfup launch: command exited with code 1\n"
			if err := st.Put(context.Background(), pipelinesv1alpha1.TaskKey(run, "for-loop-1[1]/train")+"/"+pipelinesv1alpha1.TaskLogFile, strings.NewReader(log), int64(len(log))); err != nil {
				t.Fatal(err)
			}
			cmd := NewCmdPipelineLogs(api.f, func(ctx context.Context, o *PipelineLogsOptions) error { return runPipelineLogs(ctx, api, o) })
			if err := runPipelineCmd(api.f, cmd, append([]string{"logs"}, args...)...); err != nil {
				t.Fatalf("%v\n%s", err, errOut)
			}
			if !strings.Contains(out.String(), log) || !strings.Contains(out.String()+errOut.String(), "kept it in the artifact store") {
				t.Errorf("stdout %q, stderr %q: want the kept log", out, errOut)
			}
		})
	}
}
