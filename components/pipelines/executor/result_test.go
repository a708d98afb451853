package executor

import (
	"encoding/json"
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kfup/kfup/components/pipelines/ir"
	"github.com/kfup/kfup/components/pipelines/plan"
)

// typedIR is a container component with an output of every parameter type and an
// artifact, as the kfp SDK compiles it.
const typedIR = `
components:
  comp-typed:
    executorLabel: exec-typed
    outputDefinitions:
      artifacts:
        metrics:
          artifactType: {schemaTitle: system.Metrics, schemaVersion: 0.0.1}
      parameters:
        s: {parameterType: STRING}
        i: {parameterType: NUMBER_INTEGER}
        d: {parameterType: NUMBER_DOUBLE}
        b: {parameterType: BOOLEAN}
        l: {parameterType: LIST}
        m: {parameterType: STRUCT}
deploymentSpec:
  executors:
    exec-typed:
      container:
        image: alpine
        command: [sh, -c, 'echo hi > "$0"', '{{$.outputs.parameters[''s''].output_file}}']
pipelineInfo:
  name: typed
root:
  dag:
    tasks:
      typed:
        componentRef: {name: comp-typed}
        taskInfo: {name: typed}
schemaVersion: 2.1.0
sdkVersion: kfp-2.14.3
`

// files is a container's file system for Collect.
type files map[string]string

func (f files) read(name string) ([]byte, error) {
	s, ok := f[name]
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return []byte(s), nil
}

// typedFiles are the outputs of a component that wrote every file.
func typedFiles() files {
	return files{
		"/kfup-pod/outputs/s/data": "hello\n", "/kfup-pod/outputs/i/data": "42\n", "/kfup-pod/outputs/d/data": "0.25",
		"/kfup-pod/outputs/b/data": "true", "/kfup-pod/outputs/l/data": `[1, "a"]`, "/kfup-pod/outputs/m/data": `{"k": {"v": null}}`,
	}
}

func build(t *testing.T, p *ir.Pipeline, id string) (*ir.ComponentSpec, *ExecutorInput) {
	t.Helper()
	s := step(t, p, nil, nil, id)
	c, err := Component(p, s)
	if err != nil {
		t.Fatal(err)
	}
	in, err := Build(p, s, testURI(s.Task))
	if err != nil {
		t.Fatal(err)
	}
	return c, in
}

func TestCollect(t *testing.T) {
	typed, typedIn := build(t, check(t, "typed.yaml", typedIR), "typed")
	named, namedIn := build(t, load(t, "multiple_parameters_namedtuple.yaml"), "mantle/core/core-comp")
	metricsURI := "minio://kfup/ns1/run-1/typed/metrics"
	with := func(f files, kv ...string) files {
		out := files{}
		for k, v := range f {
			out[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	cases := []struct {
		name  string
		c     *ir.ComponentSpec
		in    *ExecutorInput
		files files
		want  *Result
	}{
		{"every type from its file", typed, typedIn, typedFiles(), &Result{
			Parameters: map[string]any{"s": "hello\n", "i": 42.0, "d": 0.25, "b": true, "l": []any{1.0, "a"}, "m": map[string]any{"k": map[string]any{"v": nil}}},
			Artifacts:  map[string][]plan.Artifact{"metrics": {{URI: metricsURI, Type: "system.Metrics"}}},
		}},
		{"Python's True, an integral double", typed, typedIn, with(typedFiles(), "/kfup-pod/outputs/b/data", "True\n", "/kfup-pod/outputs/i/data", "7.0"), &Result{
			Parameters: map[string]any{"s": "hello\n", "i": 7.0, "d": 0.25, "b": true, "l": []any{1.0, "a"}, "m": map[string]any{"k": map[string]any{"v": nil}}},
			Artifacts:  map[string][]plan.Artifact{"metrics": {{URI: metricsURI, Type: "system.Metrics"}}},
		}},
		{"the executor output wins, merges artifact metadata", typed, typedIn, with(files{
			"/kfup-pod/outputs/s/data": "from the file", "/kfup-pod/outputs/i/data": "not even a number",
		}, OutputMetadataFile, `{"parameterValues": {"s": "from the executor output", "i": 1, "d": 2.5, "b": false, "l": [], "m": {}, "undeclared": 1},
			"artifacts": {"metrics": {"artifacts": [{"name": "metrics", "uri": "`+metricsURI+`", "metadata": {"accuracy": 0.9}}]}}}`), &Result{
			Parameters: map[string]any{"s": "from the executor output", "i": 1.0, "d": 2.5, "b": false, "l": []any{}, "m": map[string]any{}},
			Artifacts:  map[string][]plan.Artifact{"metrics": {{URI: metricsURI, Type: "system.Metrics", Metadata: map[string]any{"accuracy": 0.9}}}},
		}},
		{"a Python NamedTuple", named, namedIn, files{OutputMetadataFile: `{"parameterValues": {"val1": "core", "val2": "mantle"}}`}, &Result{
			Parameters: map[string]any{"val1": "core", "val2": "mantle"},
		}},
		{"an empty executor output file", named, namedIn, files{OutputMetadataFile: "", "/kfup-pod/outputs/val1/data": "a", "/kfup-pod/outputs/val2/data": ""}, &Result{
			Parameters: map[string]any{"val1": "a", "val2": ""},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Collect(tc.c, tc.in, tc.files.read)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("result (-want +got):\n%s", d)
			}
		})
	}
}

func TestCollectErrors(t *testing.T) {
	typed, in := build(t, check(t, "typed.yaml", typedIR), "typed")
	cases := []struct {
		name  string
		path  string // replaced in typedFiles, or removed when text is "-"
		text  string
		want  string
		files func(files)
	}{
		{"integer", "/kfup-pod/outputs/i/data", "4.5", `output parameter "i": /kfup-pod/outputs/i/data: "4.5" is not a NUMBER_INTEGER`, nil},
		{"double", "/kfup-pod/outputs/d/data", "fast", `output parameter "d": /kfup-pod/outputs/d/data: "fast" is not a NUMBER_DOUBLE`, nil},
		{"boolean", "/kfup-pod/outputs/b/data", "yes", `output parameter "b": /kfup-pod/outputs/b/data: "yes" is not a BOOLEAN`, nil},
		{"list", "/kfup-pod/outputs/l/data", `{"a": 1}`, `output parameter "l": /kfup-pod/outputs/l/data: "{\"a\": 1}" is not a LIST`, nil},
		{"struct", "/kfup-pod/outputs/m/data", `[1]`, `output parameter "m": /kfup-pod/outputs/m/data: "[1]" is not a STRUCT`, nil},
		{"missing", "/kfup-pod/outputs/s/data", "-", `output parameter "s": the component wrote neither /kfup-pod/outputs/s/data nor a value in the executor output file /kfup-pod/outputs/output_metadata.json`, nil},
		{"bad executor output", OutputMetadataFile, `{"parameterValues": [1]}`, "the executor output file /kfup-pod/outputs/output_metadata.json is not an ExecutorOutput", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := typedFiles()
			if tc.text == "-" {
				delete(f, tc.path)
			} else {
				f[tc.path] = tc.text
			}
			_, err := Collect(typed, in, f.read)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
	failing := func(string) ([]byte, error) { return nil, errors.New("input/output error") }
	if _, err := Collect(typed, in, failing); err == nil || !strings.Contains(err.Error(), "read the executor output file") {
		t.Errorf("unreadable file: %v", err)
	}
}

func TestParseResult(t *testing.T) {
	res := &Result{
		Parameters: map[string]any{"n": 3.0, "s": "x"},
		Artifacts:  map[string][]plan.Artifact{"model": {{URI: "minio://kfup/a/b", Type: "system.Model", Metadata: map[string]any{"k": "v"}}}},
	}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		msg  string
		want *Result
	}{
		{string(b), res},
		{`{"ref": "minio://kfup/a/.kfup-result.json"}`, &Result{Ref: "minio://kfup/a/.kfup-result.json"}},
		{`{"error": "command exited with code 1"}` + "\n", &Result{Error: "command exited with code 1"}},
		{`{}`, &Result{}},
	} {
		got, err := ParseResult([]byte(tc.msg))
		if err != nil {
			t.Fatalf("%s: %v", tc.msg, err)
		}
		if d := cmp.Diff(tc.want, got); d != "" {
			t.Errorf("%s (-want +got):\n%s", tc.msg, d)
		}
	}
	for _, msg := range []string{"", " \n", "Error: OOMKilled", `{"parameters": {"n": 3}`, `{} {}`, `{"error": 1}`} {
		if _, err := ParseResult([]byte(msg)); err == nil {
			t.Errorf("%q: no error", msg)
		}
	}
}
