package executor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kfup/kfup/components/pipelines/ir"
	"github.com/kfup/kfup/components/pipelines/plan"
	"github.com/kfup/kfup/internal/conformance"
)

// load parses and validates a conformance pipeline.
func load(t *testing.T, name string) *ir.Pipeline {
	t.Helper()
	f := conformance.Files(t, filepath.Join("pipelines", "valid", name))[0]
	b, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	return check(t, f, string(b))
}

// check parses and validates IR text.
func check(t *testing.T, file, text string) *ir.Pipeline {
	t.Helper()
	p, ps := ir.Check(file, []byte(text))
	if err := ps.Err(file); err != nil {
		t.Fatal(err)
	}
	return p
}

// step is the ready step id of p's plan, given the run's parameters and statuses.
func step(t *testing.T, p *ir.Pipeline, params map[string]any, status map[string]plan.TaskStatus, id string) plan.Step {
	t.Helper()
	pl, err := plan.Compute(plan.Input{Pipeline: p, Parameters: params, Status: status})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range pl.Ready {
		if s.ID == id {
			return s
		}
		ids = append(ids, s.ID)
	}
	t.Fatalf("step %s is not ready; ready: %v, failed: %v", id, ids, pl.Failed)
	return plan.Step{}
}

// testURI is the output URI of a task in these tests: kfup's FS store's form.
func testURI(task string) func(string) string {
	return func(output string) string { return "minio://kfup/ns1/run-1/" + task + "/" + output }
}

var dataset = ir.ArtifactType{SchemaTitle: "system.Dataset", SchemaVersion: "0.0.1"}

func TestBuild(t *testing.T) {
	two := load(t, "two_step_pipeline_containerized.yaml")
	named := load(t, "multiple_parameters_namedtuple.yaml")
	optional := load(t, "component_with_optional_inputs.yaml")
	produced := map[string]plan.TaskStatus{"component1": {Phase: plan.Succeeded, Attempts: 1, Artifacts: map[string][]plan.Artifact{
		"output_gcs": {{URI: "minio://kfup/ns1/run-1/component1/output_gcs", Type: "system.Dataset", Metadata: map[string]any{"rows": 3.0}}},
	}}}
	cases := []struct {
		name string
		p    *ir.Pipeline
		step plan.Step
		want *ExecutorInput
	}{
		{"parameter in, artifact out", two, step(t, two, nil, nil, "component1"), &ExecutorInput{
			Inputs: Inputs{ParameterValues: map[string]any{"text": "Hello KFP Containerized!"}},
			Outputs: Outputs{
				Artifacts: map[string]ArtifactList{"output_gcs": {Artifacts: []RuntimeArtifact{{
					Name: "output_gcs", Type: dataset, URI: "minio://kfup/ns1/run-1/component1/output_gcs", Metadata: map[string]any{},
				}}}},
				OutputFile: "/kfup-pod/outputs/output_metadata.json",
			},
		}},
		{"artifact in", two, step(t, two, nil, produced, "component2"), &ExecutorInput{
			Inputs: Inputs{Artifacts: map[string]ArtifactList{"input_gcs": {Artifacts: []RuntimeArtifact{{
				Name: "output_gcs", Type: dataset, URI: "minio://kfup/ns1/run-1/component1/output_gcs", Metadata: map[string]any{"rows": 3.0},
			}}}}},
			Outputs: Outputs{OutputFile: "/kfup-pod/outputs/output_metadata.json"},
		}},
		{"output parameters", named, step(t, named, nil, nil, "mantle/core/core-comp"), &ExecutorInput{
			Outputs: Outputs{
				Parameters: map[string]OutputParameter{
					"val1": {OutputFile: "/kfup-pod/outputs/val1/data"},
					"val2": {OutputFile: "/kfup-pod/outputs/val2/data"},
				},
				OutputFile: "/kfup-pod/outputs/output_metadata.json",
			},
		}},
		{"optional input left out", optional, step(t, optional, nil, nil, "component-op"), &ExecutorInput{
			Inputs:  Inputs{ParameterValues: map[string]any{"input1": "Hello", "input2": "World"}},
			Outputs: Outputs{OutputFile: "/kfup-pod/outputs/output_metadata.json"},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Build(tc.p, tc.step, testURI(tc.step.Task))
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("executor input (-want +got):\n%s", d)
			}
		})
	}
}

// Every first step of every conformance pipeline builds, and its container's command
// resolves: kfup knows every placeholder the SDK wrote there.
func TestBuildAndResolveEveryConformancePipeline(t *testing.T) {
	info := RunInfo{JobName: "run-1", JobResourceName: "run-1", JobUID: "uid-1", TaskName: "t", TaskUID: "uid-1-t",
		PipelineRoot: "minio://kfup/ns1/run-1", Namespace: "ns1", WorkspacePath: "/kfp-workspace", CreateTime: time.Unix(1e9, 0)}
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
			pl, err := plan.Compute(plan.Input{Pipeline: p, Parameters: params})
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range pl.Ready {
				in, err := Build(p, s, testURI(s.Task))
				if err != nil {
					t.Fatalf("step %s: %v", s.ID, err)
				}
				c := p.Spec.DeploymentSpec.Executors[s.ExecutorLabel].Container
				if c == nil {
					continue // an importer: the controller runs no pod for it
				}
				args, err := Resolve(append(append([]string{}, c.Command...), c.Args...), in, info)
				if err != nil {
					t.Fatalf("step %s: %v", s.ID, err)
				}
				for _, a := range args {
					if strings.Contains(a, "{{$") {
						t.Errorf("step %s: argument %.80q still holds a placeholder", s.ID, a)
					}
				}
			}
		})
	}
}

func TestBuildErrors(t *testing.T) {
	two := load(t, "two_step_pipeline_containerized.yaml")
	s1 := step(t, two, nil, nil, "component1")
	noText := s1
	noText.Parameters = nil
	s2 := s1
	s2.Component, s2.ID = "comp-component2", "component2"
	dag := s1
	dag.Component = "comp-nope"
	cases := []struct {
		name string
		s    plan.Step
		uri  func(string) string
		want string
	}{
		{"required parameter missing", noText, testURI("component1"), `input parameter "text" has no value`},
		{"required artifact missing", s2, testURI("component2"), `input artifact "input_gcs" has no value`},
		{"unknown component", dag, testURI("component1"), `the pipeline has no component "comp-nope"`},
		{"no output URI", s1, func(string) string { return "" }, `output artifact "output_gcs" has no URI`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Build(two, tc.s, tc.uri)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
	// An output whose name cannot name a file under OutputsDir.
	bad := *two
	bad.Spec.Components = map[string]ir.ComponentSpec{"c": {ExecutorLabel: "e", OutputDefinitions: &ir.ComponentOutputs{
		Parameters: map[string]ir.OutputParameterDef{"../x": {ParameterType: ir.TypeString}},
	}}}
	if _, err := Build(&bad, plan.Step{ID: "t", Component: "c"}, testURI("t")); err == nil || !strings.Contains(err.Error(), `output parameter "../x"`) {
		t.Errorf("bad output name: %v", err)
	}
}
