package cli

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pipelinesv1alpha1 "github.com/kfup/kfup/components/pipelines/api/v1alpha1"
	"github.com/kfup/kfup/internal/errs"
)

// fakeRuns are three runs of namespace default (and one elsewhere): one succeeded with
// a cached task, one still running, one not yet seen by the controller.
func fakeRuns() []client.Object {
	created := func(d time.Duration) metav1.Time { return metav1.NewTime(testNow.Add(-d)) }
	done := &pipelinesv1alpha1.PipelineRun{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "add-numbers-x7k2p", CreationTimestamp: created(2 * time.Hour)},
		Spec: pipelinesv1alpha1.PipelineRunSpec{
			PipelineVersionRef: &pipelinesv1alpha1.PipelineVersionRef{Name: "add-numbers-3f2a9c1d"},
			Parameters:         map[string]apiextensionsv1.JSON{"a": rawJSON("1"), "b": rawJSON("2"), "who": rawJSON(`"me"`)},
		},
		Status: pipelinesv1alpha1.PipelineRunStatus{
			Phase: pipelinesv1alpha1.PhaseSucceeded, Pipeline: "add-numbers",
			StartTime: at(-2 * time.Hour), CompletionTime: at(-2*time.Hour + 75*time.Second),
			Outputs: map[string]apiextensionsv1.JSON{"Output": rawJSON("3")},
			Tasks: []pipelinesv1alpha1.TaskStatus{
				task("add", pipelinesv1alpha1.PhaseSucceeded, 1, ran(-2*time.Hour, -2*time.Hour+5*time.Second), func(t *pipelinesv1alpha1.TaskStatus) {
					t.PodName = "add-numbers-x7k2p-add-1"
					t.Parameters = map[string]apiextensionsv1.JSON{"Output": rawJSON("3")}
				}),
				task("load", pipelinesv1alpha1.PhaseSucceeded, 0, func(t *pipelinesv1alpha1.TaskStatus) {
					t.CachedFrom = "run-a/load"
					t.Artifacts = map[string]pipelinesv1alpha1.ArtifactList{"data": {Artifacts: []pipelinesv1alpha1.Artifact{{URI: "minio://kfup/run-a/load/data"}}}}
				}),
				task("report", pipelinesv1alpha1.PhaseSkipped, 0, func(t *pipelinesv1alpha1.TaskStatus) { t.Message = "condition a > b is false" }),
			},
		},
	}
	running := &pipelinesv1alpha1.PipelineRun{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "train-1", CreationTimestamp: created(10 * time.Minute)},
		Status: pipelinesv1alpha1.PipelineRunStatus{
			Phase: pipelinesv1alpha1.PhaseFailed, Pipeline: "train", StartTime: at(-10 * time.Minute), CompletionTime: at(-8 * time.Minute),
			Error: "task \"for-loop-1[1]/train\" failed:\nexit code 1",
			Tasks: []pipelinesv1alpha1.TaskStatus{
				task("for-loop-1[0]/train", pipelinesv1alpha1.PhaseSucceeded, 1, ran(-10*time.Minute, -9*time.Minute)),
				task("for-loop-1[1]/train", pipelinesv1alpha1.PhaseFailed, 3, ran(-10*time.Minute, -8*time.Minute), func(t *pipelinesv1alpha1.TaskStatus) {
					t.Message = "exit code 1"
					t.PodName = "train-1-train-3"
				}),
			},
		},
	}
	fresh := &pipelinesv1alpha1.PipelineRun{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "hello-abcde", CreationTimestamp: created(5 * time.Second)},
		Spec:       pipelinesv1alpha1.PipelineRunSpec{PipelineSpec: &runtime.RawExtension{Raw: []byte(`{"pipelineInfo":{"name":"hello"}}`)}},
	}
	other := &pipelinesv1alpha1.PipelineRun{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "elsewhere"}}
	return []client.Object{done, running, fresh, other}
}

func TestPipelineList(t *testing.T) {
	api, _, out, errOut := newFakePipelineAPI(t, fakeRuns()...)
	cmd := func() *cobra.Command {
		return NewCmdPipelineList(api.f, func(ctx context.Context, o *PipelineListOptions) error { return runPipelineList(ctx, api, o) })
	}
	if err := runPipelineCmd(api.f, cmd(), "list"); err != nil {
		t.Fatal(err)
	}
	want := `NAME               PIPELINE     PHASE      TASKS  DURATION  AGE
hello-abcde        hello        Pending    0/0    -         5s
train-1            train        Failed     1/2    2m0s      10m
add-numbers-x7k2p  add-numbers  Succeeded  2/3    1m15s     120m
`
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("list (-want +got):\n%s", diff)
	}

	out.Reset()
	if err := runPipelineCmd(api.f, cmd(), "list", "-o", "json"); err != nil {
		t.Fatal(err)
	}
	var list pipelinesv1alpha1.PipelineRunList
	if err := json.Unmarshal(out.Bytes(), &list); err != nil || list.Kind != "PipelineRunList" || len(list.Items) != 3 ||
		list.Items[0].Name != "hello-abcde" || list.Items[0].Kind != "PipelineRun" {
		t.Errorf("json: %v, %+v", err, list.TypeMeta)
	}

	out.Reset()
	if err := runPipelineCmd(api.f, cmd(), "list", "-n", "empty"); err != nil || out.Len() != 0 || !strings.Contains(errOut.String(), `No pipeline runs in namespace "empty".`) {
		t.Errorf("empty namespace: %v, stdout %q, stderr %q", err, out, errOut)
	}
}

func TestPipelineGet(t *testing.T) {
	api, _, out, _ := newFakePipelineAPI(t, fakeRuns()...)
	cmd := func() *cobra.Command {
		return NewCmdPipelineGet(api.f, func(ctx context.Context, o *PipelineGetOptions) error { return runPipelineGet(ctx, api, o) })
	}
	if err := runPipelineCmd(api.f, cmd(), "get", "add-numbers-x7k2p"); err != nil {
		t.Fatal(err)
	}
	started := testNow.Add(-2 * time.Hour).Local().Format(time.DateTime)
	want := `Name:        add-numbers-x7k2p
Namespace:   default
Pipeline:    add-numbers
Version:     add-numbers-3f2a9c1d
Parameters:  a=1 b=2 who=me
Phase:       Succeeded
Started:     ` + started + ` (120m ago)
Duration:    1m15s

ID      PHASE      ATTEMPTS  DURATION  CACHED      MESSAGE
add     Succeeded  1         5s        -           
load    Succeeded  0         -         run-a/load  
report  Skipped    0         -         -           condition a > b is false

Outputs:
  Output  3

Task outputs:
  add   Output  3
  load  data    minio://kfup/run-a/load/data
`
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("get (-want +got):\n%s", diff)
	}

	out.Reset()
	if err := runPipelineCmd(api.f, cmd(), "get", "train-1"); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"Phase:      Failed", `Error:      task "for-loop-1[1]/train" failed: exit code 1`, "for-loop-1[1]/train  Failed     3         2m0s      -       exit code 1"} {
		if !strings.Contains(out.String(), line+"\n") {
			t.Errorf("get train-1 lacks %q:\n%s", line, out)
		}
	}

	out.Reset()
	if err := runPipelineCmd(api.f, cmd(), "get", "train-1", "-o", "yaml"); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"apiVersion: pipelines.kfup.dev/v1alpha1", "kind: PipelineRun", "  name: train-1", "    podName: train-1-train-3"} {
		if !strings.Contains(out.String(), line+"\n") {
			t.Errorf("yaml lacks %q:\n%s", line, out)
		}
	}

	err := runPipelineCmd(api.f, cmd(), "get", "nope", "-n", "team-a")
	if ExitCode(err) != ExitNotFound || errs.HintOf(err) != "'kfup pipeline list -n team-a' shows the runs there are" {
		t.Errorf("missing: %v (hint %q)", err, errs.HintOf(err))
	}
	if err := runPipelineCmd(api.f, cmd(), "get"); ExitCode(err) != ExitUsage {
		t.Errorf("no run: %v", err)
	}
}

func TestPipelineDelete(t *testing.T) {
	api, fc, _, errOut := newFakePipelineAPI(t, fakeRuns()...)
	cmd := NewCmdPipelineDelete(api.f, func(ctx context.Context, o *PipelineDeleteOptions) error { return runPipelineDelete(ctx, api, o) })
	err := runPipelineCmd(api.f, cmd, "delete", "train-1", "nope", "hello-abcde")
	if ExitCode(err) != ExitNotFound || !strings.Contains(err.Error(), `no pipeline run nope in namespace "default"`) {
		t.Fatalf("error = %v", err)
	}
	list := &pipelinesv1alpha1.PipelineRunList{}
	if err := fc.c.List(context.Background(), list, client.InNamespace("default")); err != nil || len(list.Items) != 1 || list.Items[0].Name != "add-numbers-x7k2p" {
		t.Errorf("left: %v, %+v", err, list.Items)
	}
	if !strings.Contains(errOut.String(), "Deleted run train-1\n") || !strings.Contains(errOut.String(), "Deleted run hello-abcde\n") {
		t.Errorf("stderr: %q", errOut)
	}
	if err := runPipelineCmd(api.f, NewCmdPipelineDelete(api.f, nil), "delete"); ExitCode(err) != ExitUsage {
		t.Errorf("no run: %v", err)
	}
}
