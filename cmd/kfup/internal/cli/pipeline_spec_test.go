package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kfup/kfup/components/pipelines/ir"
	"github.com/kfup/kfup/internal/errs"
)

func TestParameterValue(t *testing.T) {
	tests := []struct {
		typ     ir.ParameterType
		in      string
		want    string // the JSON of the value
		wantErr string
	}{
		{ir.TypeString, "hello world", `"hello world"`, ""},
		{ir.TypeString, "", `""`, ""},
		{ir.TypeString, "42", `"42"`, ""},
		{ir.TypeInteger, "42", `42`, ""},
		{ir.TypeInteger, "-7", `-7`, ""},
		{ir.TypeInteger, "4.5", "", `"4.5" is not an integer (NUMBER_INTEGER)`},
		{ir.TypeInteger, "ten", "", `"ten" is not an integer`},
		{ir.TypeDouble, "0.01", `0.01`, ""},
		{ir.TypeDouble, "3", `3`, ""},
		{ir.TypeDouble, "1e-3", `0.001`, ""},
		{ir.TypeDouble, "NaN", "", `"NaN" is not a number (NUMBER_DOUBLE)`},
		{ir.TypeDouble, "fast", "", `"fast" is not a number`},
		{ir.TypeBoolean, "true", `true`, ""},
		{ir.TypeBoolean, "False", `false`, ""},
		{ir.TypeBoolean, "yes", "", `"yes" is not true or false (BOOLEAN)`},
		{ir.TypeList, `[1, "a", {"b": 2}]`, `[1,"a",{"b":2}]`, ""},
		{ir.TypeList, `{"a": 1}`, "", `is not a JSON list ([...]) (LIST)`},
		{ir.TypeList, `1,2`, "", `"1,2" is not JSON (LIST)`},
		{ir.TypeStruct, `{"lr": 0.1, "layers": [64]}`, `{"layers":[64],"lr":0.1}`, ""},
		{ir.TypeStruct, `[1]`, "", `is not a JSON object ({...}) (STRUCT)`},
		{ir.TypeTaskFinalStatus, `{}`, "", "a TASK_FINAL_STATUS parameter cannot be set on the command line"},
	}
	for _, tt := range tests {
		t.Run(string(tt.typ)+" "+tt.in, func(t *testing.T) {
			v, err := parameterValue(tt.typ, tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, _ := json.Marshal(v)
			if string(got) != tt.want {
				t.Errorf("value = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestRunParameters(t *testing.T) {
	root := &ir.ComponentSpec{InputDefinitions: &ir.ComponentInputs{Parameters: map[string]ir.InputParameterDef{
		"a":      {ParameterType: ir.TypeInteger},
		"name":   {ParameterType: ir.TypeString, DefaultValue: "x"},
		"opt":    {ParameterType: ir.TypeDouble, IsOptional: true},
		"legacy": {Type: "INT", DefaultValue: 1.0},
	}}}
	tests := []struct {
		name    string
		flags   []string
		want    map[string]string
		wantErr string
		hint    string
	}{
		{name: "required given", flags: []string{"a=1"}, want: map[string]string{"a": "1"}},
		{name: "every kind", flags: []string{"a=2", "name=a=b", "opt=0.5", "legacy=3"},
			want: map[string]string{"a": "2", "name": `"a=b"`, "opt": "0.5", "legacy": "3"}},
		{name: "required missing", flags: nil, wantErr: "the pipeline needs parameter(s) a: they have no default", hint: "pass -p a=VALUE"},
		{name: "unknown", flags: []string{"a=1", "b=2"}, wantErr: `-p b: the pipeline has no input parameter "b"`,
			hint: "the pipeline's parameters: a (NUMBER_INTEGER), legacy (NUMBER_INTEGER), name (STRING), opt (NUMBER_DOUBLE)"},
		{name: "no equals", flags: []string{"a"}, wantErr: `-p "a": expected NAME=VALUE`},
		{name: "twice", flags: []string{"a=1", "a=2"}, wantErr: "-p a: given twice"},
		{name: "bad value", flags: []string{"a=x"}, wantErr: `-p a: "x" is not an integer (NUMBER_INTEGER)`, hint: "pass a whole number: -p a=3"},
		{name: "legacy type parsed", flags: []string{"a=1", "legacy=1.5"}, wantErr: `-p legacy: "1.5" is not an integer`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := runParameters(root, tt.flags)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || errs.KindOf(err) != errs.KindUsage {
					t.Fatalf("error = %v (%v), want usage error %q", err, errs.KindOf(err), tt.wantErr)
				}
				if tt.hint != "" && errs.HintOf(err) != tt.hint {
					t.Errorf("hint = %q, want %q", errs.HintOf(err), tt.hint)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			raw := map[string]string{}
			for k, v := range got {
				raw[k] = string(v.Raw)
			}
			if diff := cmp.Diff(tt.want, raw); diff != "" {
				t.Errorf("parameters (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := runParameters(&ir.ComponentSpec{}, []string{"x=1"}); err == nil || errs.HintOf(err) != "the pipeline takes no parameters" {
		t.Errorf("no inputs: %v, hint %q", err, errs.HintOf(err))
	}
}

func TestRunNamePrefix(t *testing.T) {
	for in, want := range map[string]string{
		"add-numbers":                  "add-numbers-",
		"My Pipeline_v2!":              "my-pipeline-v2-",
		"--x--":                        "x-",
		"":                             "run-",
		"日本":                           "run-",
		strings.Repeat("ab", 40):       strings.Repeat("ab", 22) + "-",
		strings.Repeat("a", 43) + "-b": strings.Repeat("a", 43) + "-",
	} {
		got := runNamePrefix(in)
		if got != want {
			t.Errorf("runNamePrefix(%q) = %q, want %q", in, got, want)
		}
		if len(got) > maxRunPrefix+1 {
			t.Errorf("runNamePrefix(%q) is %d long", in, len(got))
		}
	}
}

func TestPipelineDocuments(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []string
		wantErr string
	}{
		{name: "one", in: "a: 1\n", want: []string{`{"a":1}`}},
		{name: "leading separator and comments", in: "# PIPELINE DEFINITION\n---\n# c\na: x\n---\n# platform\nb: [true]\n", want: []string{`{"a":"x"}`, `{"b":[true]}`}},
		{name: "empty documents skipped", in: "---\n---\na: 1\n---\n", want: []string{`{"a":1}`}},
		{name: "YAML 1.2 keys stay strings", in: "n: 1\ny: on\nNO: 2\n", want: []string{`{"NO":2,"n":1,"y":"on"}`}},
		{name: "none", in: "# nothing\n", wantErr: "found 0 YAML documents"},
		{name: "bad", in: "a: [\n", wantErr: "document 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docs, err := pipelineDocuments([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, d := range docs {
				got = append(got, string(d))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("documents (-want +got):\n%s", diff)
			}
		})
	}
}
