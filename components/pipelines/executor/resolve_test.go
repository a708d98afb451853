package executor

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kfup/kfup/components/pipelines/plan"
)

// echoIR is a container component as the kfp SDK compiles one that uses every kind of
// input and output, with the SDK's Concat and IfPresent arguments.
const echoIR = `
components:
  comp-echo:
    executorLabel: exec-echo
    inputDefinitions:
      artifacts:
        data:
          artifactType: {schemaTitle: system.Dataset, schemaVersion: 0.0.1}
          isOptional: true
      parameters:
        text: {parameterType: STRING}
        count: {parameterType: NUMBER_INTEGER, defaultValue: 3, isOptional: true}
        rate: {parameterType: NUMBER_DOUBLE, isOptional: true}
        flag: {parameterType: BOOLEAN, isOptional: true}
        opts: {parameterType: STRUCT, isOptional: true}
        items: {parameterType: LIST, isOptional: true}
        opt: {parameterType: STRING, isOptional: true}
    outputDefinitions:
      artifacts:
        model:
          artifactType: {schemaTitle: system.Model, schemaVersion: 0.0.1}
      parameters:
        n: {parameterType: NUMBER_INTEGER}
deploymentSpec:
  executors:
    exec-echo:
      container:
        image: alpine
        command: [sh, -c, 'echo "$@" > "$0"', '{{$.outputs.parameters[''n''].output_file}}']
        args:
        - '{"Concat": ["--text=", "{{$.inputs.parameters[''text'']}}"]}'
        - '{"IfPresent": {"InputName": "opt", "Then": ["--opt", "{{$.inputs.parameters[''opt'']}}"], "Else": ["--no-opt"]}}'
        - '{"IfPresent": {"InputName": "data", "Then": ["--data", "{{$.inputs.artifacts[''data''].path}}"]}}'
        - '{{$.outputs.artifacts[''model''].path}}'
pipelineInfo:
  name: echo
root:
  dag:
    tasks:
      echo:
        componentRef: {name: comp-echo}
        inputs:
          parameters:
            text: {componentInputParameter: text}
        taskInfo: {name: echo}
  inputDefinitions:
    parameters:
      text: {parameterType: STRING}
schemaVersion: 2.1.0
sdkVersion: kfp-2.14.3
`

var testInfo = RunInfo{
	JobName: "my-run", JobResourceName: "my-run", JobUID: "uid-1", TaskName: "echo", TaskUID: "uid-1-echo",
	PipelineRoot: "minio://kfup/ns1/my-run-uid-1", Namespace: "ns1", WorkspacePath: "/kfp-workspace",
	CreateTime: time.Date(2026, 1, 9, 12, 34, 56, 0, time.FixedZone("CET", 3600)),
}

// echoInput is the executor input of the echo task with params and, when given, the
// artifact data at uri.
func echoInput(t *testing.T, params map[string]any, dataURI string) *ExecutorInput {
	t.Helper()
	p := check(t, "echo.yaml", echoIR)
	s := plan.Step{ID: "echo", Task: "echo", Component: "comp-echo", ExecutorLabel: "exec-echo", Parameters: params}
	if dataURI != "" {
		s.Artifacts = map[string][]plan.Artifact{"data": {{URI: dataURI, Type: "system.Dataset", Metadata: map[string]any{"rows": 3.0, "by": "me"}}}}
	}
	in, err := Build(p, s, testURI("echo"))
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func TestResolve(t *testing.T) {
	full := echoInput(t, map[string]any{
		"text": "hi there", "count": 3.0, "rate": 1e6, "flag": true, "opt": "o",
		"opts": map[string]any{"a": []any{1.0, "<b>"}}, "items": []any{"x", 2.5},
	}, "minio://kfup/ns1/run-1/up/data")
	bare := echoInput(t, map[string]any{"text": "{{$}}", "opt": nil}, "")
	p := check(t, "echo.yaml", echoIR)
	cmdline := append(append([]string{}, p.Spec.DeploymentSpec.Executors["exec-echo"].Container.Command...), p.Spec.DeploymentSpec.Executors["exec-echo"].Container.Args...)
	cases := []struct {
		name string
		in   *ExecutorInput
		args []string
		want []string
	}{
		{"the SDK's command line", full, cmdline, []string{
			"sh", "-c", `echo "$@" > "$0"`, "/kfup-pod/outputs/n/data",
			"--text=hi there", "--opt", "o", "--data", "/minio/kfup/ns1/run-1/up/data",
			"/minio/kfup/ns1/run-1/echo/model",
		}},
		{"the SDK's command line, optional inputs left out", bare, cmdline, []string{
			"sh", "-c", `echo "$@" > "$0"`, "/kfup-pod/outputs/n/data",
			"--text={{$}}", "--no-opt", "/minio/kfup/ns1/run-1/echo/model",
		}},
		{"parameter values", full, []string{
			"{{$.inputs.parameters['text']}}", "{{$.inputs.parameters['count']}}", "{{$.inputs.parameters['rate']}}",
			"{{$.inputs.parameters['flag']}}", "{{$.inputs.parameters['opts']}}", "{{$.inputs.parameters['items']}}",
			"n={{$.inputs.parameters['count']}}, text={{$.inputs.parameters['text']}}",
		}, []string{"hi there", "3", "1000000", "true", `{"a":[1,"<b>"]}`, `["x",2.5]`, "n=3, text=hi there"}},
		{"absent optional inputs are empty", bare, []string{
			"[{{$.inputs.parameters['opt']}}]", "[{{$.inputs.parameters['rate']}}]",
			"[{{$.inputs.artifacts['data'].path}}]", "[{{$.inputs.artifacts['data'].uri}}]", "[{{$.inputs.artifacts['data'].metadata}}]",
		}, []string{"[]", "[]", "[]", "[]", "[]"}},
		{"a value is not expanded again", bare, []string{"{{$.inputs.parameters['text']}}"}, []string{"{{$}}"}},
		{"input artifact", full, []string{
			"{{$.inputs.artifacts['data'].path}}", "{{$.inputs.artifacts['data'].uri}}",
			"{{$.inputs.artifacts['data'].metadata}}", "{{$.inputs.artifacts['data'].metadata['rows']}}",
			"{{$.inputs.artifacts['data'].metadata['by']}}",
		}, []string{"/minio/kfup/ns1/run-1/up/data", "minio://kfup/ns1/run-1/up/data", `{"by":"me","rows":3}`, "3", "me"}},
		{"outputs", full, []string{
			"{{$.outputs.parameters['n'].output_file}}", "{{$.outputs.artifacts['model'].path}}",
			"{{$.outputs.artifacts['model'].uri}}", "{{$.outputs.artifacts['model'].metadata}}", "{{$.outputs.output_file}}",
		}, []string{"/kfup-pod/outputs/n/data", "/minio/kfup/ns1/run-1/echo/model", "minio://kfup/ns1/run-1/echo/model", "{}", "/kfup-pod/outputs/output_metadata.json"}},
		{"run values", bare, []string{
			"{{$.pipeline_job_name}}", "{{$.pipeline_job_resource_name}}", "{{$.pipeline_job_uuid}}",
			"{{$.pipeline_task_name}}", "{{$.pipeline_task_uuid}}", "{{$.pipeline_root}}", "{{$.pipeline_job_namespace}}",
			"{{$.pipeline_job_create_time_utc}}", "{{$.pipeline_job_schedule_time_utc}}", "{{$.workspace_path}}/data",
		}, []string{"my-run", "my-run", "uid-1", "echo", "uid-1-echo", "minio://kfup/ns1/my-run-uid-1", "ns1",
			"2026-01-09T11:34:56Z", "2026-01-09T11:34:56Z", "/kfp-workspace/data"}},
		{"Concat", full, []string{
			`{"Concat": ["a", "{{$.inputs.parameters['count']}}", "b"]}`,
			`{"Concat": ["-", {"IfPresent": {"InputName": "opt", "Then": ["x", "y"]}}, "{\"IfPresent\": {\"InputName\": \"rate\", \"Then\": \"r\"}}"]}`,
			`{"Concat": []}`,
		}, []string{"a3b", "-xyr", ""}},
		{"IfPresent", full, []string{
			`{"IfPresent": {"InputName": "opt", "Then": "--opt={{$.inputs.parameters['opt']}}"}}`,
			`{"IfPresent": {"InputName": "flag", "Then": [{"Concat": ["--flag=", "{{$.inputs.parameters['flag']}}"]}, "yes"]}}`,
			`{"IfPresent": {"InputName": "data", "Then": ["{{$.inputs.artifacts['data'].uri}}"], "Else": "none"}}`,
		}, []string{"--opt=o", "--flag=true", "yes", "minio://kfup/ns1/run-1/up/data"}},
		{"IfPresent of absent inputs", bare, []string{
			`{"IfPresent": {"InputName": "opt", "Then": ["--opt", "{{$.inputs.parameters['opt']}}"]}}`, // null is absent
			`{"IfPresent": {"InputName": "rate", "Then": "r", "Else": "{{$.inputs.parameters['text']}}"}}`,
			`{"IfPresent": {"InputName": "data", "Then": "d", "Else": [{"IfPresent": {"InputName": "flag", "Then": "f", "Else": ["no", "data"]}}]}}`,
		}, []string{"{{$}}", "no", "data"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Resolve(tc.args, tc.in, testInfo)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("resolved (-want +got):\n%s", d)
			}
		})
	}
}

// {{$}} is the whole executor input, with the run values the SDK put into constants
// filled in: what the kfp SDK's executor reads.
func TestResolveExecutorInput(t *testing.T) {
	p := load(t, "pipeline_with_placeholders.yaml")
	s := step(t, p, nil, nil, "print-all-placeholders")
	in, err := Build(p, s, testURI(s.Task))
	if err != nil {
		t.Fatal(err)
	}
	c := p.Spec.DeploymentSpec.Executors[s.ExecutorLabel].Container
	args, err := Resolve(c.Args, in, testInfo)
	if err != nil {
		t.Fatal(err)
	}
	if args[0] != "--executor_input" {
		t.Fatalf("args %q", args)
	}
	var got ExecutorInput
	if err := json.Unmarshal([]byte(args[1]), &got); err != nil {
		t.Fatal(err)
	}
	want := ExecutorInput{
		Inputs: Inputs{ParameterValues: map[string]any{
			"job_id": "uid-1", "job_name": "my-run", "job_resource_name": "my-run", "task_id": "uid-1-echo", "task_name": "echo",
		}},
		Outputs: Outputs{OutputFile: OutputMetadataFile},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("{{$}} (-want +got):\n%s", d)
	}
	if in.Inputs.ParameterValues["job_id"] != "{{$.pipeline_job_uuid}}" {
		t.Errorf("Resolve changed its input: %v", in.Inputs.ParameterValues)
	}
	// The SDK's path placeholders in a containerized pipeline.
	two := load(t, "two_step_pipeline_containerized.yaml")
	s = step(t, two, nil, nil, "component1")
	if in, err = Build(two, s, testURI(s.Task)); err != nil {
		t.Fatal(err)
	}
	c = two.Spec.DeploymentSpec.Executors[s.ExecutorLabel].Container
	args, err = Resolve(append(append([]string{}, c.Command...), c.Args...), in, testInfo)
	if err != nil {
		t.Fatal(err)
	}
	wantArgs := []string{"sh", "-c", `mkdir --parents $(dirname "$1") && echo "$0" > "$1"`, "Hello KFP Containerized!", "/minio/kfup/ns1/run-1/component1/output_gcs"}
	if d := cmp.Diff(wantArgs, args); d != "" {
		t.Errorf("component1 (-want +got):\n%s", d)
	}
}

func TestResolveErrors(t *testing.T) {
	in := echoInput(t, map[string]any{"text": "hi"}, "https://example.com/data.csv")
	withRun := echoInput(t, map[string]any{"text": "at {{$.pipeline_job_namespace}}"}, "")
	cases := []struct {
		name string
		in   *ExecutorInput
		info RunInfo
		arg  string
		want string
	}{
		{"unknown placeholder", in, testInfo, "x {{$.inputs.nope}}", "unknown placeholder {{$.inputs.nope}}"},
		{"unknown attribute", in, testInfo, "{{$.inputs.artifacts['data'].size}}", "unknown placeholder {{$.inputs.artifacts['data'].size}}"},
		{"unknown in Concat", in, testInfo, `{"Concat": ["{{$.pipeline_nope}}"]}`, "unknown placeholder {{$.pipeline_nope}}"},
		{"no local path", in, testInfo, "{{$.inputs.artifacts['data'].path}}", "https://example.com/data.csv, which has no local path"},
		{"undeclared output parameter", in, testInfo, "{{$.outputs.parameters['m'].output_file}}", `the task has no output parameter "m"`},
		{"undeclared output artifact", in, testInfo, "{{$.outputs.artifacts['m'].uri}}", `the task has no output artifact "m"`},
		{"no workspace", in, RunInfo{}, "{{$.workspace_path}}", "the run has no workspace"},
		{"run value unset", in, RunInfo{}, "{{$.pipeline_job_create_time_utc}}", "{{$.pipeline_job_create_time_utc}}: the task's run info has no value"},
		{"run value unset in a parameter", withRun, RunInfo{}, "x", `input parameter "text": {{$.pipeline_job_namespace}}: the task's run info has no value`},
		{"bad structured placeholder", in, testInfo, `{"Concat": "a"}`, "structured placeholder"},
		{"IfPresent without InputName", in, testInfo, `{"IfPresent": {"Then": "a"}}`, "IfPresent needs InputName"},
		{"number in Concat", in, testInfo, `{"Concat": [1]}`, "unexpected 1 in Concat"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Resolve([]string{tc.arg}, tc.in, tc.info)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Resolve = %q, %v; want an error with %q", got, err, tc.want)
			}
		})
	}
	// The URI of an artifact with no local path is still there for the component.
	got, err := Resolve([]string{"{{$.inputs.artifacts['data'].uri}}"}, in, testInfo)
	if err != nil || got[0] != "https://example.com/data.csv" {
		t.Errorf("uri = %q, %v", got, err)
	}
}
