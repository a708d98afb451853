package launch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	pipelinesv1alpha1 "github.com/kfup/kfup/components/pipelines/api/v1alpha1"
	"github.com/kfup/kfup/components/pipelines/executor"
	"github.com/kfup/kfup/components/pipelines/ir"
	"github.com/kfup/kfup/components/pipelines/plan"
	"github.com/kfup/kfup/components/pipelines/store"
	"github.com/kfup/kfup/internal/conformance"
)

// task is one task pod's worth of launcher input: the pipeline's step, its executor
// input and a store, with a root and a termination log under temporary directories.
type task struct {
	p       *ir.Pipeline
	s       plan.Step
	c       *ir.ComponentSpec
	in      *executor.ExecutorInput
	st      store.Store
	root    string
	termLog string
	stdout  syncBuffer
	stderr  syncBuffer
}

var info = executor.RunInfo{JobName: "run-1", JobResourceName: "run-1", JobUID: "uid-1", TaskName: "t", TaskUID: "uid-1-t",
	PipelineRoot: "minio://kfup/ns1/run-1", Namespace: "ns1", CreateTime: time.Unix(1e9, 0)}

func loadIR(t *testing.T, name, text string) *ir.Pipeline {
	t.Helper()
	if text == "" {
		f := conformance.Files(t, filepath.Join("pipelines", "valid", name))[0]
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		text = string(b)
	}
	p, ps := ir.Check(name, []byte(text))
	if err := ps.Err(name); err != nil {
		t.Fatal(err)
	}
	return p
}

// newTask plans p with status and makes the task of step id, storing into st (a new FS
// store when nil).
func newTask(t *testing.T, p *ir.Pipeline, status map[string]plan.TaskStatus, id string, st store.Store) *task {
	t.Helper()
	pl, err := plan.Compute(plan.Input{Pipeline: p, Parameters: map[string]any{}, Status: status})
	if err != nil {
		t.Fatal(err)
	}
	tk := &task{p: p, st: st, root: t.TempDir(), termLog: filepath.Join(t.TempDir(), "termination-log")}
	if tk.st == nil {
		tk.st = store.NewFS(t.TempDir())
	}
	for _, s := range pl.Ready {
		if s.ID == id {
			tk.s = s
		}
	}
	if tk.s.ID == "" {
		t.Fatalf("step %s is not ready: %+v", id, pl)
	}
	if tk.c, err = executor.Component(p, tk.s); err != nil {
		t.Fatal(err)
	}
	if tk.in, err = executor.Build(p, tk.s, func(o string) string { return tk.st.URI("ns1/run-1/" + tk.s.Task + "/" + o) }); err != nil {
		t.Fatal(err)
	}
	return tk
}

// env is the task pod's environment, as the controller sets it (the IR's env included),
// plus extra.
func (tk *task) env(t *testing.T, extra ...string) []string {
	t.Helper()
	j := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	env := []string{"PATH=" + os.Getenv("PATH"), "ROOT=" + tk.root,
		EnvExecutorInput + "=" + j(tk.in), EnvRunInfo + "=" + j(info), EnvComponentSpec + "=" + j(tk.c)}
	for _, e := range tk.p.Spec.DeploymentSpec.Executors[tk.s.ExecutorLabel].Container.Env {
		env = append(env, e.Name+"="+e.Value) // as the IR has it: the launcher resolves it
	}
	return append(env, extra...)
}

// argv is the task's container command and args, unresolved.
func (tk *task) argv() []string {
	c := tk.p.Spec.DeploymentSpec.Executors[tk.s.ExecutorLabel].Container
	return append(append([]string{}, c.Command...), c.Args...)
}

func (tk *task) options(t *testing.T, exec Exec, extraEnv ...string) Options {
	return Options{Args: tk.argv(), Environ: tk.env(t, extraEnv...), Store: tk.st, Root: tk.root,
		TerminationLog: tk.termLog, Stdout: &tk.stdout, Stderr: &tk.stderr, Exec: exec}
}

// report is the termination log, parsed.
func (tk *task) report(t *testing.T) *executor.Result {
	t.Helper()
	b, err := os.ReadFile(tk.termLog)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > executor.MaxMessageBytes {
		t.Errorf("termination message of %d bytes", len(b))
	}
	r, err := executor.ParseResult(b)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func get(t *testing.T, st store.Store, key string) string {
	t.Helper()
	rc, err := st.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	return string(b)
}

// The conformance two-step pipeline: the first task's command gets its resolved
// arguments and an output directory, its file becomes an artifact in the store; the
// second task finds it at its input path.
func TestRunTwoSteps(t *testing.T) {
	p := loadIR(t, "two_step_pipeline_containerized.yaml", "")
	first := newTask(t, p, nil, "component1", nil)
	outPath := "/minio/kfup/ns1/run-1/component1/output_gcs"
	component1 := func(_ context.Context, pr Process) (int, error) {
		want := []string{"sh", "-c", `mkdir --parents $(dirname "$1") && echo "$0" > "$1"`, "Hello KFP Containerized!", outPath}
		if d := cmp.Diff(want, pr.Argv); d != "" {
			t.Errorf("component1's argv (-want +got):\n%s", d)
		}
		if fi, err := os.Stat(filepath.Join(first.root, filepath.Dir(outPath))); err != nil || !fi.IsDir() {
			t.Errorf("the output artifact's directory was not made: %v", err)
		}
		return 0, os.WriteFile(filepath.Join(first.root, outPath), []byte(pr.Argv[3]+"\n"), 0o644)
	}
	if err := Run(context.Background(), first.options(t, component1)); err != nil {
		t.Fatalf("%v\n%s", err, first.stderr.String())
	}
	res := first.report(t)
	want := &executor.Result{Artifacts: map[string][]plan.Artifact{"output_gcs": {{URI: "minio://kfup/" + strings.TrimPrefix(outPath, "/minio/kfup/"), Type: "system.Dataset"}}}}
	if d := cmp.Diff(want, res); d != "" {
		t.Errorf("component1's report (-want +got):\n%s", d)
	}
	if got := get(t, first.st, "ns1/run-1/component1/output_gcs"); got != "Hello KFP Containerized!\n" {
		t.Errorf("stored %q", got)
	}

	second := newTask(t, p, map[string]plan.TaskStatus{"component1": {Phase: plan.Succeeded, Attempts: 1, Artifacts: res.Artifacts}}, "component2", first.st)
	component2 := func(_ context.Context, pr Process) (int, error) {
		if d := cmp.Diff([]string{"cat", outPath}, pr.Argv); d != "" {
			t.Errorf("component2's argv (-want +got):\n%s", d)
		}
		b, err := os.ReadFile(filepath.Join(second.root, outPath))
		if err != nil || string(b) != "Hello KFP Containerized!\n" {
			t.Errorf("component2's input: %q, %v", b, err)
		}
		return 0, nil
	}
	if err := Run(context.Background(), second.options(t, component2)); err != nil {
		t.Fatalf("%v\n%s", err, second.stderr.String())
	}
	if d := cmp.Diff(&executor.Result{}, second.report(t)); d != "" {
		t.Errorf("component2's report (-want +got):\n%s", d)
	}
	if !strings.Contains(second.stderr.String(), "input artifact input_gcs: downloaded minio://kfup/ns1/run-1/component1/output_gcs") {
		t.Errorf("no download line in %q", second.stderr.String())
	}
}

// shellIR runs a real shell: the component writes its outputs under $ROOT, the tests'
// stand-in for the container's file system.
const shellIR = `
components:
  comp-sh:
    executorLabel: exec-sh
    inputDefinitions:
      parameters:
        script: {parameterType: STRING}
        text: {parameterType: STRING, defaultValue: hello}
      artifacts:
        data:
          artifactType: {schemaTitle: system.Dataset, schemaVersion: 0.0.1}
          isOptional: true
    outputDefinitions:
      artifacts:
        model:
          artifactType: {schemaTitle: system.Model, schemaVersion: 0.0.1}
      parameters:
        n: {parameterType: NUMBER_INTEGER}
deploymentSpec:
  executors:
    exec-sh:
      container:
        image: alpine
        command: [sh, -c]
        args:
        - '{{$.inputs.parameters[''script'']}}'
        - '{{$.outputs.parameters[''n''].output_file}}'
        - '{{$.outputs.artifacts[''model''].path}}'
        - '{"IfPresent": {"InputName": "data", "Then": ["{{$.inputs.artifacts[''data''].path}}"]}}'
        env:
        - {name: GREETING, value: '{{$.inputs.parameters[''text'']}} from {{$.pipeline_task_name}}'}
pipelineInfo:
  name: sh
root:
  dag:
    tasks:
      sh:
        componentRef: {name: comp-sh}
        inputs:
          parameters:
            script: {componentInputParameter: script}
        taskInfo: {name: sh}
  inputDefinitions:
    parameters:
      script: {parameterType: STRING}
schemaVersion: 2.1.0
sdkVersion: kfp-2.14.3
`

// shellTask is the sh task running script ($0 the parameter file, $1 the model's path,
// $2 the data's path when there is data).
func shellTask(t *testing.T, script string, data []plan.Artifact, st store.Store) *task {
	t.Helper()
	p := loadIR(t, "sh.yaml", shellIR)
	p.Spec.Root.DAG.Tasks["sh"].Inputs.Parameters["script"] = ir.InputParameterSpec{RuntimeValue: &ir.ValueOrParameter{Constant: script}}
	p.Spec.Root.InputDefinitions = nil
	if data != nil {
		tk := p.Spec.Root.DAG.Tasks["sh"]
		tk.Inputs.Artifacts = map[string]ir.InputArtifactSpec{"data": {TaskOutputArtifact: &ir.TaskOutputArtifact{ProducerTask: "up", OutputArtifactKey: "out"}}}
		tk.DependentTasks = []string{"up"}
		p.Spec.Root.DAG.Tasks["sh"] = tk
		p.Spec.Root.DAG.Tasks["up"] = ir.TaskSpec{TaskInfo: ir.TaskInfo{Name: "up"}, ComponentRef: ir.ComponentRef{Name: "comp-sh"},
			Inputs: &ir.TaskInputs{Parameters: map[string]ir.InputParameterSpec{"script": {RuntimeValue: &ir.ValueOrParameter{Constant: "x"}}}}}
		return newTask(t, p, map[string]plan.TaskStatus{"up": {Phase: plan.Succeeded, Attempts: 1, Artifacts: map[string][]plan.Artifact{"out": data}}}, "sh", st)
	}
	return newTask(t, p, nil, "sh", st)
}

// A real process: placeholders in the args and env resolved, the launcher's variables
// kept from it, a directory artifact uploaded, a typed parameter reported.
func TestRunProcess(t *testing.T) {
	tk := shellTask(t, `set -e
test -z "$KFUP_EXECUTOR_INPUT$KFUP_RUN_INFO$KFUP_COMPONENT_SPEC"
echo "$GREETING"
echo 42 > "$ROOT$0"
mkdir "$ROOT$1" && echo w > "$ROOT$1/weights" && mkdir "$ROOT$1/sub" && echo c > "$ROOT$1/sub/config"`, nil, nil)
	if err := Run(context.Background(), tk.options(t, nil)); err != nil {
		t.Fatalf("%v\n%s", err, tk.stderr.String())
	}
	if tk.stdout.String() != "hello from t\n" {
		t.Errorf("stdout %q", tk.stdout.String())
	}
	want := &executor.Result{
		Parameters: map[string]any{"n": 42.0},
		Artifacts:  map[string][]plan.Artifact{"model": {{URI: "minio://kfup/ns1/run-1/sh/model", Type: "system.Model"}}},
	}
	if d := cmp.Diff(want, tk.report(t)); d != "" {
		t.Errorf("report (-want +got):\n%s", d)
	}
	keys, _ := tk.st.List(context.Background(), "ns1/run-1/sh/model")
	if d := cmp.Diff([]string{"ns1/run-1/sh/model/sub/config", "ns1/run-1/sh/model/weights"}, keys); d != "" {
		t.Errorf("stored (-want +got):\n%s", d)
	}
}

// An output artifact the component wrote nothing for is reported all the same, empty,
// as in KFP; an input artifact its producer wrote nothing for is empty too, and one
// outside kfup's store is the component's to read.
func TestRunEmptyAndForeignArtifacts(t *testing.T) {
	tk := shellTask(t, `echo 1 > "$ROOT$0"`, []plan.Artifact{{URI: "minio://kfup/ns1/run-1/up/out"}, {URI: "https://example.com/data.csv"}}, nil)
	if err := Run(context.Background(), tk.options(t, nil)); err != nil {
		t.Fatalf("%v\n%s", err, tk.stderr.String())
	}
	want := &executor.Result{
		Parameters: map[string]any{"n": 1.0},
		Artifacts:  map[string][]plan.Artifact{"model": {{URI: "minio://kfup/ns1/run-1/sh/model", Type: "system.Model"}}},
	}
	if d := cmp.Diff(want, tk.report(t)); d != "" {
		t.Errorf("report (-want +got):\n%s", d)
	}
	for _, line := range []string{
		"input artifact data: minio://kfup/ns1/run-1/up/out is empty (its producer wrote nothing)",
		"input artifact data: https://example.com/data.csv is not in kfup's artifact store: left for the component to read",
		"warning: output artifact model: the component wrote nothing at /minio/kfup/ns1/run-1/sh/model: it is empty",
	} {
		if !strings.Contains(tk.stderr.String(), line) {
			t.Errorf("stderr lacks %q:\n%s", line, tk.stderr.String())
		}
	}
	if keys, _ := tk.st.List(context.Background(), "ns1/run-1/sh"); len(keys) != 0 {
		t.Errorf("stored %v", keys)
	}
}

// The command's own failures: its exit code, with its last stderr line; 128+N for a
// signal; 127 for a command that is not there; a forwarded SIGTERM.
func TestRunCommandFails(t *testing.T) {
	cases := []struct {
		name, script string
		signal       bool
		code         int
		msg          string
	}{
		{"exit code", `echo working; echo "Traceback:" >&2; echo "ValueError: boom" >&2; exit 3`, false, 3, "command exited with code 3: ValueError: boom"},
		{"a long last line is left out", `printf '%0300d\n' 0 >&2; exit 1`, false, 1, "command exited with code 1"},
		{"killed", `kill -9 $$`, false, 137, "command exited with code 137"},
		{"SIGTERM forwarded", `trap 'echo stopping >&2; exit 7' TERM; echo ready; while :; do sleep 0.01; done`, true, 7, "command exited with code 7: stopping"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tk := shellTask(t, tc.script, nil, nil)
			o := tk.options(t, nil)
			sigs := make(chan os.Signal, 1)
			o.Signals = sigs
			if tc.signal {
				go func() {
					for !strings.Contains(tk.stdout.String(), "ready") {
						time.Sleep(5 * time.Millisecond)
					}
					sigs <- syscall.SIGTERM
				}()
			}
			err := Run(context.Background(), o)
			var ee *ExitError
			if !errors.As(err, &ee) || ee.Code != tc.code || ee.Msg != tc.msg {
				t.Fatalf("Run = %#v, want code %d and %q\n%s", err, tc.code, tc.msg, tk.stderr.String())
			}
			if d := cmp.Diff(&executor.Result{Error: tc.msg}, tk.report(t)); d != "" {
				t.Errorf("report (-want +got):\n%s", d)
			}
		})
	}
	tk := shellTask(t, "x", nil, nil)
	o := tk.options(t, nil)
	o.Args = []string{"/no/such/command", "{{$.inputs.parameters['text']}}"}
	err := Run(context.Background(), o)
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != 127 || !strings.Contains(ee.Msg, `command "/no/such/command" cannot run`) || strings.Contains(ee.Msg, "\n") {
		t.Fatalf("missing command: %#v", err)
	}
}

// The launcher's own failures are one line in the report and an error that is no
// ExitError (exit 1).
func TestRunFails(t *testing.T) {
	noOp := func(context.Context, Process) (int, error) { return 0, nil }
	cases := []struct {
		name   string
		change func(*Options)
		exec   Exec
		want   string
	}{
		{"no executor input", func(o *Options) { o.Environ = dropEnv(o.Environ, EnvExecutorInput) }, noOp, "KFUP_EXECUTOR_INPUT is not set"},
		{"bad run info", func(o *Options) { o.Environ = append(dropEnv(o.Environ, EnvRunInfo), EnvRunInfo+"={") }, noOp, "KFUP_RUN_INFO is not valid JSON"},
		{"no component", func(o *Options) { o.Environ = dropEnv(o.Environ, EnvComponentSpec) }, noOp, "KFUP_COMPONENT_SPEC is not set"},
		{"unknown placeholder", func(o *Options) { o.Args = append(o.Args, "{{$.nope}}") }, noOp, "resolve the command's placeholders: unknown placeholder {{$.nope}}"},
		{"no command", func(o *Options) { o.Args = nil }, noOp, "no command"},
		{"empty command", func(o *Options) { o.Args = []string{`{"IfPresent": {"InputName": "data", "Then": "x"}}`} }, noOp, "is empty once resolved"},
		{"output parameter not written", nil, noOp, `output parameter "n": the component wrote neither /kfup-pod/outputs/n/data`},
		{"no store", func(o *Options) { o.Store = nil }, noOp, "open the artifact store: KFUP_ARTIFACT_STORE is not set"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tk := shellTask(t, "x", nil, nil)
			o := tk.options(t, tc.exec)
			if tc.change != nil {
				tc.change(&o)
			}
			err := Run(context.Background(), o)
			var ee *ExitError
			if err == nil || errors.As(err, &ee) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Run = %v, want an error with %q", err, tc.want)
			}
			if r := tk.report(t); !strings.Contains(r.Error, tc.want) || strings.Contains(r.Error, "\n") {
				t.Errorf("report %+v", r)
			}
		})
	}
}

// A result too long for a termination message goes to the store; the message refers to
// it. Without KFUP_RESULT_KEY it lands beside the task's outputs.
func TestRunLongResult(t *testing.T) {
	long := strings.Repeat("x", executor.MaxMessageBytes)
	for _, tc := range []struct{ name, env, key string }{
		{"KFUP_RESULT_KEY", EnvResultKey + "=ns1/run-1/sh/result.json", "ns1/run-1/sh/result.json"},
		{"beside the outputs", "", "ns1/run-1/sh/" + ResultFile},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tk := shellTask(t, `echo 5 > "$ROOT$0"`, nil, nil)
			// the component's executor output gives the model long metadata
			eo := `{"artifacts": {"model": {"artifacts": [{"metadata": {"long": "` + long + `"}}]}}}`
			exec := func(ctx context.Context, p Process) (int, error) {
				if err := os.WriteFile(filepath.Join(tk.root, executor.OutputMetadataFile), []byte(eo), 0o644); err != nil {
					return 0, err
				}
				return RunProcess(ctx, p)
			}
			var extra []string
			if tc.env != "" {
				extra = append(extra, tc.env)
			}
			if err := Run(context.Background(), tk.options(t, exec, extra...)); err != nil {
				t.Fatalf("%v\n%s", err, tk.stderr.String())
			}
			if d := cmp.Diff(&executor.Result{Ref: "minio://kfup/" + tc.key}, tk.report(t)); d != "" {
				t.Fatalf("report (-want +got):\n%s", d)
			}
			full, err := executor.ParseResult([]byte(get(t, tk.st, tc.key)))
			if err != nil {
				t.Fatal(err)
			}
			want := &executor.Result{
				Parameters: map[string]any{"n": 5.0},
				Artifacts:  map[string][]plan.Artifact{"model": {{URI: "minio://kfup/ns1/run-1/sh/model", Type: "system.Model", Metadata: map[string]any{"long": long}}}},
			}
			if d := cmp.Diff(want, full); d != "" {
				t.Errorf("stored result (-want +got):\n%s", d)
			}
		})
	}
}

func TestCommonParent(t *testing.T) {
	for _, tc := range []struct {
		keys []string
		want string
	}{
		{[]string{"ns/run/task/a"}, "ns/run/task"},
		{[]string{"ns/run/task/a", "ns/run/task/b"}, "ns/run/task"},
		{[]string{"ns/run/task/a", "ns/run/other/b/c"}, "ns/run"},
		{[]string{"a", "b"}, ""},
		{nil, ""},
	} {
		if got := commonParent(tc.keys); got != tc.want {
			t.Errorf("commonParent(%q) = %q, want %q", tc.keys, got, tc.want)
		}
	}
}

func TestCommand(t *testing.T) {
	got := Command([]string{"sh", "-c", "{{$}}"})
	if d := cmp.Diff([]string{"/kfup-pod/bin/kfup", "agent", "launch", "--", "sh", "-c", "{{$}}"}, got); d != "" {
		t.Error(d)
	}
}

func dropEnv(env []string, name string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return out
}

// syncBuffer is a bytes.Buffer safe for a writing child and a polling test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// The task's log — the command's stdout and stderr and the launcher's own lines — is kept
// beside its result, succeeded or failed, its last maxKeptLog bytes with a line saying
// how much was left out; a command leaving a process in the background that holds its
// output does not hold the task.
func TestRunKeepsLog(t *testing.T) {
	const resultKey = "ns1/run-1-abcdef12/sh/.kfup-result.json"
	logKey := "ns1/run-1-abcdef12/sh/" + pipelinesv1alpha1.TaskLogFile
	for _, tc := range []struct {
		name, script string
		want         []string
		code         int
	}{
		{"succeeded", `echo to stdout; echo to stderr >&2; echo 1 > "$ROOT$0"`, []string{"to stdout\n", "to stderr\n"}, 0},
		{"failed", `echo working; echo "ValueError: boom" >&2; exit 3`, []string{"working\n", "ValueError: boom\n", "kfup launch: command exited with code 3: ValueError: boom\n"}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tk := shellTask(t, tc.script, nil, nil)
			o := tk.options(t, nil, EnvResultKey+"="+resultKey)
			err := Run(context.Background(), o)
			var ee *ExitError
			if (tc.code == 0 && err != nil) || (tc.code != 0 && (!errors.As(err, &ee) || ee.Code != tc.code)) {
				t.Fatalf("Run = %v, want code %d", err, tc.code)
			}
			got := get(t, tk.st, logKey)
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("kept log %q lacks %q", got, w)
				}
			}
			if !strings.Contains(tk.stdout.String(), tc.want[0]) {
				t.Errorf("the pod's log lost the output: %q", tk.stdout.String())
			}
		})
	}
	t.Run("bounded", func(t *testing.T) {
		tk := shellTask(t, `i=0; while [ $i -lt 1100 ]; do printf '%01023d\n' $i; i=$((i+1)); done; echo 1 > "$ROOT$0"; echo last line`, nil, nil)
		if err := Run(context.Background(), tk.options(t, nil, EnvResultKey+"="+resultKey)); err != nil {
			t.Fatal(err)
		}
		got := get(t, tk.st, logKey)
		if !strings.HasPrefix(got, "[kfup: the first ") || !strings.Contains(got[max(0, len(got)-400):], "\nlast line\n") || len(got) > maxKeptLog+200 {
			t.Errorf("kept log of %d bytes: starts %q, ends %q", len(got), got[:min(len(got), 80)], got[max(0, len(got)-40):])
		}
	})
	t.Run("background child", func(t *testing.T) {
		defer func(d time.Duration) { outputWaitDelay = d }(outputWaitDelay)
		outputWaitDelay = 200 * time.Millisecond
		tk := shellTask(t, `sleep 30 & echo 1 > "$ROOT$0"; echo started`, nil, nil)
		t0 := time.Now()
		if err := Run(context.Background(), tk.options(t, nil, EnvResultKey+"="+resultKey)); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(t0); d > 10*time.Second {
			t.Errorf("the task waited %s for its background child", d)
		}
		if got := get(t, tk.st, logKey); !strings.Contains(got, "started") {
			t.Errorf("kept log %q", got)
		}
	})
}
