package plan

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kfup/kfup/components/pipelines/ir"
	"github.com/kfup/kfup/internal/conformance"
)

func load(t *testing.T, name string) *ir.Pipeline {
	t.Helper()
	f := conformance.Files(t, filepath.Join("pipelines", "valid", name))[0]
	b, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	p, ps := ir.Check(f, b)
	if err := ps.Err(f); err != nil {
		t.Fatal(err)
	}
	return p
}

func ids(steps []Step) []string {
	var out []string
	for _, s := range steps {
		out = append(out, s.ID)
	}
	return out
}

func skipIDs(skips []Skip) []string {
	var out []string
	for _, s := range skips {
		out = append(out, s.ID)
	}
	return out
}

func ok(params map[string]any) TaskStatus {
	return TaskStatus{Phase: Succeeded, Attempts: 1, Parameters: params}
}

// TestEveryConformancePipelinePlans starts every valid pipeline with its defaults and
// checks the first plan has work in it.
func TestEveryConformancePipelinePlans(t *testing.T) {
	for _, f := range conformance.Files(t, "pipelines/valid/*.yaml") {
		t.Run(filepath.Base(f), func(t *testing.T) {
			p := load(t, filepath.Base(f))
			params := map[string]any{}
			if in := p.Spec.Root.InputDefinitions; in != nil {
				for k, d := range in.Parameters {
					if d.DefaultValue == nil && !d.IsOptional {
						params[k] = map[ir.ParameterType]any{ir.TypeString: "x", ir.TypeInteger: 1.0, ir.TypeDouble: 1.5, ir.TypeBoolean: true, ir.TypeList: []any{"a"}, ir.TypeStruct: map[string]any{}}[d.ParameterType]
					}
				}
			}
			pl, err := Compute(Input{Pipeline: p, Parameters: params})
			if err != nil {
				t.Fatal(err)
			}
			if pl.Phase != Running || len(pl.Ready) == 0 {
				t.Fatalf("first plan: phase %s, ready %v, failed %v", pl.Phase, ids(pl.Ready), pl.Failed)
			}
		})
	}
}

func TestConditions(t *testing.T) {
	p := load(t, "flip_coin.yaml")
	cases := []struct {
		name        string
		status      map[string]TaskStatus
		wantReady   []string
		wantSkipped []string
		wantPhase   Phase
	}{
		{"start", nil, []string{"flip-coin"}, nil, Running},
		{"heads", map[string]TaskStatus{"flip-coin": ok(map[string]any{"Output": "heads"})},
			[]string{"condition-1/random-num"}, []string{"condition-4"}, Running},
		{"heads, 7 > 5", map[string]TaskStatus{
			"flip-coin":              ok(map[string]any{"Output": "heads"}),
			"condition-1/random-num": ok(map[string]any{"Output": 7.0}),
		}, []string{"condition-1/condition-2/print-msg"}, []string{"condition-1/condition-3", "condition-4"}, Running},
		{"done", map[string]TaskStatus{
			"flip-coin":                         ok(map[string]any{"Output": "heads"}),
			"condition-1/random-num":            ok(map[string]any{"Output": 7.0}),
			"condition-1/condition-2/print-msg": ok(nil),
		}, nil, []string{"condition-1/condition-3", "condition-4"}, Succeeded},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pl, err := Compute(Input{Pipeline: p, Status: tc.status})
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.wantReady, ids(pl.Ready)); d != "" {
				t.Errorf("ready (-want +got):\n%s", d)
			}
			got := skipIDs(pl.Skipped)
			slices.Sort(got)
			if d := cmp.Diff(tc.wantSkipped, got); d != "" {
				t.Errorf("skipped (-want +got):\n%s", d)
			}
			if pl.Phase != tc.wantPhase {
				t.Errorf("phase = %s, want %s (%s)", pl.Phase, tc.wantPhase, pl.Error)
			}
		})
	}
	// The constant's placeholder reads the task's pipelinechannel input.
	pl, _ := Compute(Input{Pipeline: p, Status: cases[2].status})
	if got := pl.Ready[0].Parameters["msg"]; got != "heads and 7 > 5!" {
		t.Errorf("msg = %q", got)
	}
}

func TestLoopFanOutAndFanIn(t *testing.T) {
	p := load(t, "collected_parameters.yaml")
	st := map[string]TaskStatus{"collecting-parameters/split-ids": ok(map[string]any{"Output": []any{"s1", "s2", "s3"}})}
	pl, err := Compute(Input{Pipeline: p, Status: st})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"collecting-parameters/for-loop-1[0]/prepend-id", "collecting-parameters/for-loop-1[1]/prepend-id", "collecting-parameters/for-loop-1[2]/prepend-id"}
	if d := cmp.Diff(want, ids(pl.Ready)); d != "" {
		t.Fatalf("ready (-want +got):\n%s", d)
	}
	if got := pl.Ready[1].Parameters["content"]; got != "s2" {
		t.Errorf("item 1 = %v", got)
	}
	for i, s := range []string{"s1", "s2", "s3"} {
		id := want[i]
		st[id] = ok(map[string]any{"Output": "model_id_" + s})
		st[strings.Replace(id, "prepend-id", "consume-single-id", 1)] = ok(map[string]any{"Output": "completed"})
	}
	pl, _ = Compute(Input{Pipeline: p, Status: st})
	if d := cmp.Diff([]string{"collecting-parameters/consume-ids"}, ids(pl.Ready)); d != "" {
		t.Fatalf("ready after the loop (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]any{"model_id_s1", "model_id_s2", "model_id_s3"}, pl.Ready[0].Parameters["ids"]); d != "" {
		t.Errorf("collected ids (-want +got):\n%s", d)
	}
}

// loopSpec is a raw-list ParallelFor of one executor with a parallelism limit.
const loopSpec = `
pipelineInfo: {name: loop}
schemaVersion: 2.1.0
root:
  dag:
    tasks:
      for-loop-1:
        componentRef: {name: comp-echo}
        parameterIterator:
          itemInput: x
          items: {raw: '[1, 2, 3]'}
        iteratorPolicy: {parallelismLimit: 2}
        taskInfo: {name: for-loop-1}
components:
  comp-echo:
    executorLabel: exec-echo
    inputDefinitions:
      parameters:
        x: {parameterType: NUMBER_INTEGER}
deploymentSpec:
  executors:
    exec-echo:
      container: {image: busybox, command: [echo, "{{$.inputs.parameters['x']}}"]}
`

func TestParallelismLimit(t *testing.T) {
	p, ps := ir.Check("loop.yaml", []byte(loopSpec))
	if err := ps.Err("loop.yaml"); err != nil {
		t.Fatal(err)
	}
	pl, _ := Compute(Input{Pipeline: p})
	if d := cmp.Diff([]string{"for-loop-1[0]", "for-loop-1[1]"}, ids(pl.Ready)); d != "" {
		t.Fatalf("ready (-want +got):\n%s", d)
	}
	pl, _ = Compute(Input{Pipeline: p, Status: map[string]TaskStatus{"for-loop-1[0]": ok(nil), "for-loop-1[1]": {Phase: Running}}})
	if d := cmp.Diff([]string{"for-loop-1[2]"}, ids(pl.Ready)); d != "" {
		t.Fatalf("ready once one finished (-want +got):\n%s", d)
	}
	if pl.Ready[0].Parameters["x"] != 3.0 {
		t.Errorf("item = %v", pl.Ready[0].Parameters["x"])
	}
}

func TestExitHandlerRunsAfterFailure(t *testing.T) {
	p := load(t, "pipeline_with_input_status_state.yaml")
	pl, _ := Compute(Input{Pipeline: p})
	if d := cmp.Diff([]string{"exit-handler-1/some-task"}, ids(pl.Ready)); d != "" {
		t.Fatalf("ready (-want +got):\n%s", d)
	}
	st := map[string]TaskStatus{"exit-handler-1/some-task": {Phase: Failed, Attempts: 1, Error: "exit code 1"}}
	pl, _ = Compute(Input{Pipeline: p, Status: st})
	if d := cmp.Diff([]string{"echo-state"}, ids(pl.Ready)); d != "" {
		t.Fatalf("ready after the failure (-want +got):\n%s", d)
	}
	status := pl.Ready[0].Parameters["status"].(map[string]any)
	if status["state"] != "FAILED" || !strings.Contains(status["error"].(map[string]any)["message"].(string), "exit code 1") {
		t.Errorf("final status = %v", status)
	}
	st["echo-state"] = ok(nil)
	pl, _ = Compute(Input{Pipeline: p, Status: st})
	if pl.Phase != Failed || !strings.Contains(pl.Error, "task exit-handler-1/some-task: exit code 1") {
		t.Errorf("phase %s, error %q: want the run failed naming the task", pl.Phase, pl.Error)
	}
}

func TestRetries(t *testing.T) {
	p := load(t, "pipeline_with_retry.yaml")
	var task string
	for name, tk := range p.Spec.Root.DAG.Tasks {
		if tk.RetryPolicy != nil {
			task = name
		}
	}
	end := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for attempts, want := range map[int]int{1: 2, 3: 4} {
		pl, _ := Compute(Input{Pipeline: p, Status: map[string]TaskStatus{task: {Phase: Failed, Attempts: attempts, FinishedAt: end}}})
		if len(pl.Ready) != 1 || pl.Ready[0].Attempt != want || !pl.Ready[0].NotBefore.Equal(end) {
			t.Errorf("after %d attempts: ready %+v, want attempt %d at %v", attempts, pl.Ready, want, end)
		}
	}
	pl, _ := Compute(Input{Pipeline: p, Status: map[string]TaskStatus{task: {Phase: Failed, Attempts: 4, Error: "boom"}}})
	if pl.Phase != Failed || !strings.Contains(pl.Error, "boom (after 4 attempts)") {
		t.Errorf("after 4 attempts: phase %s, error %q", pl.Phase, pl.Error)
	}
	for _, tc := range []struct {
		rp       ir.RetryPolicy
		attempts int
		want     time.Duration
		retry    bool
	}{
		{ir.RetryPolicy{MaxRetryCount: 3, BackoffDuration: "10s"}, 1, 10 * time.Second, true},
		{ir.RetryPolicy{MaxRetryCount: 3, BackoffDuration: "10s"}, 3, 40 * time.Second, true},
		{ir.RetryPolicy{MaxRetryCount: 5, BackoffDuration: "10s", BackoffFactor: 3, BackoffMaxDuration: "60s"}, 4, time.Minute, true},
		{ir.RetryPolicy{MaxRetryCount: 9, BackoffDuration: "1000s", BackoffMaxDuration: "100h"}, 9, time.Hour, true},
		{ir.RetryPolicy{MaxRetryCount: 1}, 2, 0, false},
	} {
		d, retry := Backoff(&tc.rp, tc.attempts)
		if d != tc.want || retry != tc.retry {
			t.Errorf("Backoff(%+v, %d) = %v, %v; want %v, %v", tc.rp, tc.attempts, d, retry, tc.want, tc.retry)
		}
	}
}

// A retry of the run sends a failed task back as Pending: its next attempt is ready at
// once, and its retry policy counts only the attempts since (PriorAttempts).
func TestRunRetry(t *testing.T) {
	p := load(t, "pipeline_with_retry.yaml")
	var task string
	for name, tk := range p.Spec.Root.DAG.Tasks {
		if tk.RetryPolicy != nil {
			task = name
		}
	}
	end := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		status  TaskStatus
		attempt int // of the ready step; 0: none, the run failed
	}{
		{"sent back after 4 attempts", TaskStatus{Phase: Pending, Attempts: 4, PriorAttempts: 4}, 5},
		{"first attempt since the retry failed: the policy retries", TaskStatus{Phase: Failed, Attempts: 5, PriorAttempts: 4, FinishedAt: end}, 6},
		{"the policy's 3 retries since the retry spent", TaskStatus{Phase: Failed, Attempts: 8, PriorAttempts: 4, Error: "boom"}, 0},
	} {
		pl, _ := Compute(Input{Pipeline: p, Status: map[string]TaskStatus{task: tc.status}})
		switch {
		case tc.attempt == 0 && (pl.Phase != Failed || !strings.Contains(pl.Error, "boom (after 8 attempts)")):
			t.Errorf("%s: phase %s, error %q", tc.name, pl.Phase, pl.Error)
		case tc.attempt > 0 && (len(pl.Ready) != 1 || pl.Ready[0].Attempt != tc.attempt || pl.Phase != Running):
			t.Errorf("%s: ready %+v, want attempt %d", tc.name, pl.Ready, tc.attempt)
		}
		if tc.status.Phase == Pending && len(pl.Ready) == 1 && !pl.Ready[0].NotBefore.IsZero() {
			t.Errorf("%s: a task sent back waits until %v, want now", tc.name, pl.Ready[0].NotBefore)
		}
	}

	// the consumer of a failed producer was skipped; with the producer sent back it waits
	pc := load(t, "producer_consumer_param_pipeline.yaml")
	pl, _ := Compute(Input{Pipeline: pc, Parameters: map[string]any{"text": "hi"}, Status: map[string]TaskStatus{"producer": {Phase: Pending, Attempts: 1, PriorAttempts: 1}}})
	if d := cmp.Diff([]string{"producer"}, ids(pl.Ready)); d != "" || len(pl.Skipped) != 0 || pl.Ready[0].Attempt != 2 {
		t.Errorf("ready (-want +got):\n%s skipped %+v", d, pl.Skipped)
	}
}

func TestCacheKey(t *testing.T) {
	p := load(t, "parameter_cache.yaml")
	pl, _ := Compute(Input{Pipeline: p})
	var cached *Step
	for i := range pl.Ready {
		if pl.Ready[i].CacheKey != "" {
			cached = &pl.Ready[i]
		}
	}
	if cached == nil {
		t.Fatalf("no ready step has a cache key: %+v", pl.Ready)
	}
	c := p.Spec.Components[cached.Component]
	e := p.Spec.DeploymentSpec.Executors[cached.ExecutorLabel]
	again := CacheKey(&c, e, cached.Parameters, cached.Artifacts)
	if again != cached.CacheKey || !strings.HasPrefix(again, "sha256:") {
		t.Errorf("key not stable: %s vs %s", again, cached.CacheKey)
	}
	other := map[string]any{}
	for k, v := range cached.Parameters {
		other[k] = v
	}
	other["__changed"] = 1.0
	if CacheKey(&c, e, other, cached.Artifacts) == cached.CacheKey {
		t.Error("different inputs, same key")
	}
	pl, _ = Compute(Input{Pipeline: p, DisableCache: true})
	for _, s := range pl.Ready {
		if s.CacheKey != "" {
			t.Errorf("cache off for the run, but %s has a key", s.ID)
		}
	}
}

func TestRunParameters(t *testing.T) {
	p := load(t, "pipeline_with_retry.yaml")
	if _, err := Compute(Input{Pipeline: p, Parameters: map[string]any{"a": "one"}}); err == nil || !strings.Contains(err.Error(), `parameter "a": one is not a NUMBER_DOUBLE`) {
		t.Errorf("err = %v", err)
	}
	if _, err := Compute(Input{Pipeline: p, Parameters: map[string]any{"zz": 1}}); err == nil || !strings.Contains(err.Error(), `parameter "zz": the pipeline has no such input`) {
		t.Errorf("err = %v", err)
	}
	pl, err := Compute(Input{Pipeline: p, Parameters: map[string]any{"a": 2}})
	if err != nil || pl.Ready[0].Parameters["a"] != 2.0 || pl.Ready[0].Parameters["b"] != 7.0 {
		t.Errorf("ready %+v, err %v", pl.Ready, err)
	}
}
