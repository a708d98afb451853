package ir

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kfup/kfup/internal/conformance"
)

// base is a small valid pipeline the table cases break one way each. Its input is
// named n on purpose: a YAML 1.1 reader would turn that key into false.
const base = `
pipelineInfo:
  name: demo
schemaVersion: 2.1.0
sdkVersion: kfp-2.14.3
root:
  inputDefinitions:
    parameters:
      n:
        parameterType: NUMBER_INTEGER
  dag:
    tasks:
      make:
        componentRef:
          name: comp-make
        inputs:
          parameters:
            n:
              componentInputParameter: n
        taskInfo:
          name: make
      use:
        componentRef:
          name: comp-use
        dependentTasks:
        - make
        inputs:
          parameters:
            msg:
              taskOutputParameter:
                producerTask: make
                outputParameterKey: Output
          artifacts:
            data:
              taskOutputArtifact:
                producerTask: make
                outputArtifactKey: data
        triggerPolicy:
          condition: inputs.parameter_values['msg'] == 'go'
        taskInfo:
          name: use
components:
  comp-make:
    executorLabel: exec-make
    inputDefinitions:
      parameters:
        n:
          parameterType: NUMBER_INTEGER
    outputDefinitions:
      parameters:
        Output:
          parameterType: STRING
      artifacts:
        data:
          artifactType:
            schemaTitle: system.Dataset
            schemaVersion: 0.0.1
  comp-use:
    executorLabel: exec-use
    inputDefinitions:
      parameters:
        msg:
          parameterType: STRING
      artifacts:
        data:
          artifactType:
            schemaTitle: system.Dataset
            schemaVersion: 0.0.1
deploymentSpec:
  executors:
    exec-make:
      container:
        image: busybox
        command: [sh, -c, 'echo go > "$0"; echo x > "$1"', "{{$.outputs.parameters['Output'].output_file}}", "{{$.outputs.artifacts['data'].path}}"]
        args: ["{{$.inputs.parameters['n']}}"]
    exec-use:
      container:
        image: busybox
        command: [cat, "{{$.inputs.artifacts['data'].path}}"]
        args: ['{"Concat": ["--msg=", "{{$.inputs.parameters[''msg'']}}"]}', '{"IfPresent": {"InputName": "msg", "Then": ["--has-msg"]}}']
`

func TestValidateBase(t *testing.T) {
	if _, ps := Check("base.yaml", []byte(base)); len(ps) > 0 {
		t.Fatalf("base pipeline has problems: %v", ps)
	}
}

func TestValidateRejects(t *testing.T) {
	cases := []struct {
		name      string
		old, new  string // replace old by new in base ("" old: use new as the file)
		wantPath  string
		wantInMsg string
	}{
		{"empty", "", "# just a comment\n", "", "the file is empty"},
		{"not yaml", "", "pipelineInfo: [unclosed\n", "", "not a YAML file"},
		{"not a mapping", "", "- a\n- b\n", "", "expected the pipeline spec as a YAML mapping"},
		{"unknown schema", "schemaVersion: 2.1.0", "schemaVersion: 3.0.0", "schemaVersion", `unknown schemaVersion "3.0.0"`},
		{"typo in task", "        dependentTasks:\n        - make", "        dependentTask:\n        - make", "root.dag.tasks.use.dependentTask", `unknown field "dependentTask" (did you mean "dependentTasks"?)`},
		{"wrong type", "name: demo", "name: [demo]", "pipelineInfo.name", "expected a string, got a list"},
		{"missing component", "name: comp-use\n        dependentTasks", "name: comp-nope\n        dependentTasks", "root.dag.tasks.use.componentRef.name", `component "comp-nope" does not exist`},
		{"missing executor", "executorLabel: exec-use", "executorLabel: exec-nope", "components.comp-use.executorLabel", `executor "exec-nope" does not exist`},
		{"missing dependent task", "        - make\n", "        - maker\n", "root.dag.tasks.use.dependentTasks[0]", `task "maker" does not exist in this DAG`},
		{"missing producer", "producerTask: make\n                outputParameterKey", "producerTask: mak\n                outputParameterKey", "root.dag.tasks.use.inputs.parameters.msg.taskOutputParameter.producerTask", `task "mak" does not exist`},
		{"missing output", "outputParameterKey: Output", "outputParameterKey: Outptu", "root.dag.tasks.use.inputs.parameters.msg.taskOutputParameter.outputParameterKey", `has no output parameter "Outptu"`},
		{"missing required input", "            n:\n              componentInputParameter: n\n", "", "root.dag.tasks.make.inputs.parameters", `missing required input parameter "n" of component "comp-make"`},
		{"unknown input", "            n:\n              componentInputParameter: n\n", "            n:\n              componentInputParameter: n\n            m:\n              componentInputParameter: n\n", "root.dag.tasks.make.inputs.parameters.m", `component "comp-make" has no input parameter "m"`},
		{"missing parent input", "componentInputParameter: n", "componentInputParameter: count", "root.dag.tasks.make.inputs.parameters.n.componentInputParameter", `no input parameter "count"`},
		{"param type mismatch", "        msg:\n          parameterType: STRING", "        msg:\n          parameterType: LIST", "root.dag.tasks.use.inputs.parameters.msg.taskOutputParameter", "type mismatch: make.Output is STRING, input \"msg\" wants LIST"},
		{"artifact type mismatch", "            schemaTitle: system.Dataset\n            schemaVersion: 0.0.1\ndeploymentSpec", "            schemaTitle: system.Model\n            schemaVersion: 0.0.1\ndeploymentSpec", "root.dag.tasks.use.inputs.artifacts.data.taskOutputArtifact", "type mismatch: make.data is system.Dataset"},
		{"constant type mismatch", "              componentInputParameter: n\n", "              runtimeValue:\n                constant: ten\n", "root.dag.tasks.make.inputs.parameters.n.runtimeValue.constant", `"ten" is not a NUMBER_INTEGER`},
		{"cycle", "        inputs:\n          parameters:\n            n:", "        dependentTasks: [use]\n        inputs:\n          parameters:\n            n:", "root.dag.tasks", "cycle: "},
		{"unknown placeholder", "args: [\"{{$.inputs.parameters['n']}}\"]", "args: [\"{{$.inputs.params['n']}}\"]", "deploymentSpec.executors.exec-make.container.args[0]", "unknown placeholder {{$.inputs.params['n']}}"},
		{"placeholder names missing input", "args: [\"{{$.inputs.parameters['n']}}\"]", "args: [\"{{$.inputs.parameters['k']}}\"]", "deploymentSpec.executors.exec-make.container.args[0]", `names input parameter "k"`},
		{"placeholder names missing output", "{{$.outputs.artifacts['data'].path}}", "{{$.outputs.artifacts['model'].path}}", "deploymentSpec.executors.exec-make.container.command[4]", `names output artifact "model"`},
		{"bad concat", `'{"Concat": ["--msg=",`, `'{"Concat": 7, "x": ["--msg=",`, "deploymentSpec.executors.exec-use.container.args[0]", "structured placeholder"},
		{"if-present names missing input", `"InputName": "msg"`, `"InputName": "nope"`, "deploymentSpec.executors.exec-use.container.args[1]", `IfPresent names input "nope"`},
		{"bad condition", "== 'go'", "=~ 'go'", "root.dag.tasks.use.triggerPolicy.condition", "kfup supports the conditions the kfp SDK emits"},
		{"condition reads missing input", "parameter_values['msg']", "parameter_values['mgs']", "root.dag.tasks.use.triggerPolicy.condition", `reads input parameter "mgs"`},
		{"bad strategy", "          condition: inputs", "          strategy: SOMETIMES\n          condition: inputs", "root.dag.tasks.use.triggerPolicy.strategy", `unknown strategy "SOMETIMES"`},
		{"bad retry", "        taskInfo:\n          name: use", "        retryPolicy:\n          maxRetryCount: 2\n          backoffDuration: soon\n        taskInfo:\n          name: use", "root.dag.tasks.use.retryPolicy.backoffDuration", `"soon" is not a duration`},
		{"bad raw iterator", "        taskInfo:\n          name: make", "        parameterIterator:\n          itemInput: n\n          items:\n            raw: '[1, 2'\n        taskInfo:\n          name: make", "root.dag.tasks.make.parameterIterator.items.raw", "not a JSON list"},
		{"unknown parameter type", "parameterType: NUMBER_INTEGER\n  dag", "parameterType: INT\n  dag", "root.inputDefinitions.parameters.n.parameterType", `unknown parameterType "INT"`},
		{"no image", "      container:\n        image: busybox\n        command: [cat", "      container:\n        command: [cat", "deploymentSpec.executors.exec-use.container.image", "needs an image"},
		{"final status into a string", "            msg:\n              taskOutputParameter:\n                producerTask: make\n                outputParameterKey: Output\n", "            msg:\n              taskFinalStatus:\n                producerTask: make\n", "root.dag.tasks.use.inputs.parameters.msg.taskFinalStatus", "a final status needs TASK_FINAL_STATUS"},
		{"platform for missing executor", "", base + "---\nplatforms:\n  kubernetes:\n    deploymentSpec:\n      executors:\n        exec-gone:\n          secretAsEnv: []\n", "platformSpec.platforms.kubernetes.deploymentSpec.executors.exec-gone", `executor "exec-gone" does not exist`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := tc.new
			if tc.old != "" {
				if !strings.Contains(base, tc.old) {
					t.Fatalf("case does not apply: %q not in base", tc.old)
				}
				src = strings.Replace(base, tc.old, tc.new, 1)
			}
			_, ps := Check("t.yaml", []byte(src))
			for _, p := range ps.Errors() {
				if strings.HasPrefix(p.Path, tc.wantPath) && strings.Contains(p.Message, tc.wantInMsg) {
					return
				}
			}
			t.Fatalf("want a problem at %s containing %q, got:\n%v", tc.wantPath, tc.wantInMsg, ps.Err("t.yaml"))
		})
	}
}

func TestPlatformUnknownFieldIsWarning(t *testing.T) {
	src := base + "---\nplatforms:\n  kubernetes:\n    deploymentSpec:\n      executors:\n        exec-use:\n          shinyNewField: 1\n"
	p, ps := Check("t.yaml", []byte(src))
	if len(ps.Errors()) != 0 || len(ps.Warnings()) != 1 || p.Platform == nil {
		t.Fatalf("want one warning, got %v", ps)
	}
	if !strings.Contains(ps[0].String(), `exec-use.shinyNewField: unknown field "shinyNewField"; kfup ignores it`) {
		t.Fatalf("warning = %s", ps[0])
	}
}

// TestConformance accepts every compiled pipeline upstream ships and rejects the broken
// ones with the problem each was written to show.
func TestConformance(t *testing.T) {
	for _, f := range conformance.Files(t, "pipelines/valid/*.yaml") {
		t.Run("valid/"+filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			p, ps := Check(f, b)
			if err := ps.Err(f); err != nil || p == nil {
				t.Fatalf("rejected: %v", err)
			}
			if len(ps) > 0 {
				t.Errorf("warnings: %v", ps)
			}
		})
	}
	want := map[string]string{
		"empty_file.yaml":   "the file is empty",
		"invalid_yaml.yaml": `components_1: unknown field "components_1" (did you mean "components"?)`,
	}
	for _, f := range conformance.Files(t, "pipelines/invalid/*.yaml") {
		t.Run("invalid/"+filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			_, ps := Check(f, b)
			err = ps.Err(f)
			if err == nil {
				t.Fatal("accepted")
			}
			w, ok := want[filepath.Base(f)]
			if !ok {
				t.Fatalf("new invalid example: add the message it must show to this table (got %v)", err)
			}
			if !strings.Contains(err.Error(), w) || !strings.HasPrefix(err.Error(), f+": ") {
				t.Fatalf("error %q: want it to name the file and say %q", err, w)
			}
		})
	}
}

func TestCondition(t *testing.T) {
	params := map[string]any{"coin": "heads", "n": "7", "f": 2.5, "ok": true}
	cases := []struct {
		cond string
		want bool
	}{
		{"inputs.parameter_values['coin'] == 'heads'", true},
		{"!(inputs.parameter_values['coin'] == 'heads')", false},
		{"int(inputs.parameter_values['n']) > 5", true},
		{"int(inputs.parameter_values['n']) <= 5", false},
		{"inputs.parameter_values['f'] >= 2.5 && inputs.parameter_values['ok'] == true", true},
		{"!(inputs.parameter_values['coin'] == 'heads') && !(inputs.parameter_values['coin'] == 'tails') || inputs.parameter_values['ok'] != false", true},
		{`double(inputs.parameter_values['n']) == 7.0`, true},
		{`string(inputs.parameter_values['f']) == "2.5"`, true},
	}
	for _, tc := range cases {
		c, err := ParseCondition(tc.cond)
		if err != nil {
			t.Fatalf("%s: %v", tc.cond, err)
		}
		got, err := c.Eval(params)
		if err != nil || got != tc.want {
			t.Errorf("%s = %v, %v; want %v", tc.cond, got, err, tc.want)
		}
	}
	for _, bad := range []string{"inputs.parameter_values['coin'] =~ 'h'", "size(inputs.parameter_values['coin']) > 1", "inputs.parameter_values['coin'] == ", "'a' == 'b' extra"} {
		if _, err := ParseCondition(bad); err == nil {
			t.Errorf("%s: parsed, want an error", bad)
		}
	}
	c, _ := ParseCondition("inputs.parameter_values['coin'] > 3")
	if _, err := c.Eval(params); err == nil || !strings.Contains(err.Error(), "compares a string with") {
		t.Errorf("mixed comparison: err = %v", err)
	}
}

func TestPlaceholders(t *testing.T) {
	for text, want := range map[string]Placeholder{
		"{{$}}":                                     {Kind: PHExecutorInput},
		"{{$.inputs.parameters['a b']}}":            {Kind: PHInputValue, Name: "a b"},
		"{{$.inputs.artifacts['d'].uri}}":           {Kind: PHInputURI, Name: "d"},
		"{{$.inputs.artifacts['d'].metadata['k']}}": {Kind: PHInputMetadata, Name: "d", Key: "k"},
		"{{$.outputs.parameters['o'].output_file}}": {Kind: PHOutputParameterFile, Name: "o"},
		"{{$.outputs.artifacts['m'].path}}":         {Kind: PHOutputPath, Name: "m"},
		"{{$.outputs.output_file}}":                 {Kind: PHOutputMetadataFile},
		"{{$.pipeline_job_name}}":                   {Kind: PHPipeline, Name: "pipeline_job_name"},
	} {
		got, err := ParsePlaceholder(text)
		want.Text = text
		if err != nil || got != want {
			t.Errorf("%s = %+v, %v; want %+v", text, got, err, want)
		}
	}
	for _, bad := range []string{"{{$.inputs}}", "{{$.outputs.parameters['o']}}", "{{$.inputs.artifacts['d'].size}}", "{{$.pipeline_whatever}}"} {
		if _, err := ParsePlaceholder(bad); err == nil {
			t.Errorf("%s: parsed, want an error", bad)
		}
	}
}
