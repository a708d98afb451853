package engine

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kfup/kfup/internal/conformance"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// experiment is the part of a conformance Experiment these tests read.
type experiment struct {
	Spec struct {
		Parameters []struct {
			Name string `json:"name"`
		} `json:"parameters"`
		TrialTemplate struct {
			TrialParameters []struct {
				Name      string `json:"name"`
				Reference string `json:"reference"`
			} `json:"trialParameters"`
			TrialSpec map[string]any `json:"trialSpec"`
		} `json:"trialTemplate"`
	} `json:"spec"`
}

func TestRenderConformance(t *testing.T) {
	files := conformance.Files(t, "tuning/*.yaml")
	sample := map[string]string{"lr": "0.0123", "momentum": "0.65", "num-epochs": "3"}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var exp experiment
			if err := yaml.Unmarshal(raw, &exp); err != nil {
				t.Fatal(err)
			}
			template, err := yaml.Marshal(exp.Spec.TrialTemplate.TrialSpec)
			if err != nil {
				t.Fatal(err)
			}
			var params []TrialParameter
			for _, p := range exp.Spec.TrialTemplate.TrialParameters {
				params = append(params, TrialParameter{Name: p.Name, Reference: p.Reference})
			}
			var names []string
			assignments := map[string]string{}
			for _, p := range exp.Spec.Parameters {
				names = append(names, p.Name)
				assignments[p.Name] = sample[p.Name]
			}
			if err := CheckTemplate(template, params, names); err != nil {
				t.Fatalf("CheckTemplate: %v", err)
			}
			job, err := Render(template, params, assignments, TrialMeta{Name: "exp-abc123", Namespace: "team-a"})
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			js, err := json.Marshal(job.Object)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(js), "${") {
				t.Errorf("placeholder left in the rendered job: %s", js)
			}
			if job.GetName() != "exp-abc123" || job.GetNamespace() != "team-a" {
				t.Errorf("job is %s/%s, want team-a/exp-abc123", job.GetNamespace(), job.GetName())
			}
			for _, want := range []string{"--lr=0.0123", "--momentum=0.65"} {
				if !strings.Contains(string(js), `"`+want+`"`) {
					t.Errorf("rendered job lacks argument %s: %s", want, js)
				}
			}
			if _, ok := assignments["num-epochs"]; ok && !strings.Contains(string(js), `"--epochs=3"`) {
				t.Errorf("rendered job lacks --epochs=3: %s", js)
			}
			if !LabelPodTemplates(job, map[string]string{"katib.kubeflow.org/trial": "exp-abc123"}) {
				t.Errorf("LabelPodTemplates does not know %s %s", job.GetAPIVersion(), job.GetKind())
			}
		})
	}
}

func TestRenderMetadataSubstitution(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(conformance.Dir(t), "tuning", "trial-template_trial-metadata-substitution.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var exp experiment
	if err := yaml.Unmarshal(raw, &exp); err != nil {
		t.Fatal(err)
	}
	template, _ := yaml.Marshal(exp.Spec.TrialTemplate.TrialSpec)
	var params []TrialParameter
	for _, p := range exp.Spec.TrialTemplate.TrialParameters {
		params = append(params, TrialParameter{Name: p.Name, Reference: p.Reference})
	}
	job, err := Render(template, params, map[string]string{"lr": "0.02", "momentum": "0.6"}, TrialMeta{Name: "t-1", Namespace: "ns"})
	if err != nil {
		t.Fatal(err)
	}
	containers, _, _ := unstructured.NestedSlice(job.Object, "spec", "template", "spec", "containers")
	got := map[string]any{}
	for _, e := range containers[0].(map[string]any)["env"].([]any) {
		got[e.(map[string]any)["name"].(string)] = e.(map[string]any)["value"]
	}
	want := map[string]any{
		"TRIAL_NAME": "t-1", "TRIAL_NAMESPACE": "ns", "TRIAL_KIND": "Job", "TRIAL_API_VERSION": "batch/v1",
		"TRIAL_LABEL_CUSTOM": "custom-label", "TRIAL_ANNOTATION_CUSTOM": "custom-annotation",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("env (-want +got):\n%s", diff)
	}
}

const smallTemplate = `apiVersion: batch/v1
kind: Job
metadata:
  name: ignored
  labels:
    team: a
spec:
  parallelism: 2
  template:
    spec:
      containers:
      - name: main
        args: ["--lr=${trialParameters.lr}", "${trialParameters.note}"]
        env:
        - name: OWNER
          value: ${trialSpec.Labels[team]}
      restartPolicy: Never
`

func TestRender(t *testing.T) {
	params := []TrialParameter{{Name: "lr", Reference: "learning-rate"}, {Name: "note", Reference: "${trialSpec.Labels[team]}"}}
	job, err := Render([]byte(smallTemplate), params, map[string]string{"learning-rate": "0.1\n  evil: [true]"}, TrialMeta{Name: "t", Namespace: "n", Labels: map[string]string{"team": "b"}})
	if err != nil {
		t.Fatal(err)
	}
	args, _, _ := unstructured.NestedSlice(job.Object, "spec", "template", "spec", "containers")
	c := args[0].(map[string]any)
	if diff := cmp.Diff([]any{"--lr=0.1\n  evil: [true]", "b"}, c["args"]); diff != "" {
		t.Errorf("args (-want +got): a value must stay one string, never YAML:\n%s", diff)
	}
	if _, found, _ := unstructured.NestedFieldNoCopy(job.Object, "evil"); found {
		t.Error("an assignment injected a field")
	}
	if p, _, _ := unstructured.NestedInt64(job.Object, "spec", "parallelism"); p != 2 {
		t.Errorf("parallelism = %d, want the template's integer 2 kept", p)
	}
	// ${trialSpec...} outside a trialParameter reference is not substituted, as in Katib.
	if v := c["env"].([]any)[0].(map[string]any)["value"]; v != "${trialSpec.Labels[team]}" {
		t.Errorf("env value = %v", v)
	}
	if job.GetName() != "t" || job.GetNamespace() != "n" {
		t.Errorf("job %s/%s, want n/t", job.GetNamespace(), job.GetName())
	}
}

func TestRenderWholeValueStaysString(t *testing.T) {
	tmpl := "apiVersion: batch/v1\nkind: Job\nspec:\n  completions: ${trialParameters.n}\n"
	job, err := Render([]byte(tmpl), []TrialParameter{{Name: "n", Reference: "n"}}, map[string]string{"n": "3"}, TrialMeta{Name: "t"})
	if err != nil {
		t.Fatal(err)
	}
	if v := job.Object["spec"].(map[string]any)["completions"]; v != "3" {
		t.Errorf("completions = %#v, want the string \"3\" as Katib gives", v)
	}
}

func TestRenderErrors(t *testing.T) {
	lr := []TrialParameter{{Name: "lr", Reference: "lr"}}
	tmpl := []byte("apiVersion: batch/v1\nkind: Job\nspec:\n  x: ${trialParameters.lr}\n")
	tests := []struct {
		name     string
		template []byte
		params   []TrialParameter
		assign   map[string]string
		meta     TrialMeta
		want     string
	}{
		{"no trial name", tmpl, lr, map[string]string{"lr": "1"}, TrialMeta{}, "no name"},
		{"unassigned", tmpl, lr, nil, TrialMeta{Name: "t"}, "assigns no value"},
		{"extra assignment", tmpl, lr, map[string]string{"lr": "1", "m": "2"}, TrialMeta{Name: "t"}, `"m", which no trial parameter references`},
		{"unknown placeholder", []byte("apiVersion: v1\nkind: Pod\nspec: ${trialParameters.zz}\n"), lr, map[string]string{"lr": "1"}, TrialMeta{Name: "t"}, `trialParameters has no "zz"`},
		{"missing label", tmpl, []TrialParameter{{Name: "lr", Reference: "${trialSpec.Labels[nope]}"}}, nil, TrialMeta{Name: "t"}, `no label "nope"`},
		{"bad yaml", []byte("a: [\n"), lr, nil, TrialMeta{Name: "t"}, "not valid YAML"},
		{"no kind", []byte("apiVersion: v1\n"), lr, nil, TrialMeta{Name: "t"}, "needs apiVersion and kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Render(tt.template, tt.params, tt.assign, tt.meta)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Render error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestCheckTemplate(t *testing.T) {
	tmpl := []byte("apiVersion: batch/v1\nkind: Job\nspec:\n  args: [\"${trialParameters.lr}\", \"${trialParameters.me}\"]\n")
	good := []TrialParameter{{Name: "lr", Reference: "lr"}, {Name: "me", Reference: "${trialSpec.Name}"}}
	if err := CheckTemplate(tmpl, good, []string{"lr"}); err != nil {
		t.Fatalf("CheckTemplate: %v", err)
	}
	tests := []struct {
		name   string
		tmpl   []byte
		params []TrialParameter
		names  []string
		want   string
	}{
		{"undeclared placeholder", tmpl, good[:1], []string{"lr"}, `trialParameters has no "me"`},
		{"unused parameter", tmpl, append(good, TrialParameter{Name: "x", Reference: "lr"}), []string{"lr"}, `"x" is never used`},
		{"unknown reference", tmpl, []TrialParameter{{Name: "lr", Reference: "learning"}, good[1]}, []string{"lr"}, `references "learning", which is neither`},
		{"bad metadata key", tmpl, []TrialParameter{good[0], {Name: "me", Reference: "${trialSpec.Uid}"}}, []string{"lr"}, "is not trial metadata"},
		{"label without key", tmpl, []TrialParameter{good[0], {Name: "me", Reference: "${trialSpec.Labels}"}}, []string{"lr"}, "needs a key"},
		{"index on name", tmpl, []TrialParameter{good[0], {Name: "me", Reference: "${trialSpec.Name[x]}"}}, []string{"lr"}, "only Labels and Annotations"},
		{"duplicate name", tmpl, append(good, good[0]), []string{"lr"}, "used twice"},
		{"empty reference", tmpl, []TrialParameter{good[0], {Name: "me"}}, []string{"lr"}, "no reference"},
		{"unreferenced search parameter", tmpl, good, []string{"lr", "momentum"}, `"momentum" is referenced by no trial parameter`},
		{"empty template", nil, good, []string{"lr"}, "trial template is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckTemplate(tt.tmpl, tt.params, tt.names)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("CheckTemplate error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestLabelPodTemplates(t *testing.T) {
	add := map[string]string{"trial": "t1", "team": "kfup"}
	tests := []struct {
		name  string
		obj   string
		known bool
		paths [][]string
	}{
		{"job", `{"apiVersion":"batch/v1","kind":"Job","spec":{"template":{"metadata":{"labels":{"team":"a","keep":"y"}},"spec":{}}}}`,
			true, [][]string{{"spec", "template"}}},
		{"job without metadata", `{"apiVersion":"batch/v1","kind":"Job","spec":{"template":{"spec":{}}}}`, true, [][]string{{"spec", "template"}}},
		{"pytorchjob", `{"apiVersion":"kubeflow.org/v1","kind":"PyTorchJob","spec":{"pytorchReplicaSpecs":{"Master":{"template":{"spec":{}}},"Worker":{"template":{"metadata":{"labels":{"keep":"y"}}}}}}}`,
			true, [][]string{{"spec", "pytorchReplicaSpecs", "Master", "template"}, {"spec", "pytorchReplicaSpecs", "Worker", "template"}}},
		{"tfjob", `{"apiVersion":"kubeflow.org/v1","kind":"TFJob","spec":{"tfReplicaSpecs":{"Chief":{"template":{}}}}}`,
			true, [][]string{{"spec", "tfReplicaSpecs", "Chief", "template"}}},
		{"unknown kind", `{"apiVersion":"argoproj.io/v1alpha1","kind":"Workflow","spec":{"template":{}}}`, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := &unstructured.Unstructured{}
			if err := u.UnmarshalJSON([]byte(tt.obj)); err != nil {
				t.Fatal(err)
			}
			before := u.DeepCopy()
			if got := LabelPodTemplates(u, add); got != tt.known {
				t.Fatalf("LabelPodTemplates = %v, want %v", got, tt.known)
			}
			if !tt.known {
				if diff := cmp.Diff(before.Object, u.Object); diff != "" {
					t.Errorf("an unknown kind was changed:\n%s", diff)
				}
			}
			for _, p := range tt.paths {
				labels, _, _ := unstructured.NestedStringMap(u.Object, append(p, "metadata", "labels")...)
				if labels["trial"] != "t1" || labels["team"] != "kfup" {
					t.Errorf("labels at %v = %v, want trial and team added", p, labels)
				}
				old, _, _ := unstructured.NestedStringMap(before.Object, append(p, "metadata", "labels")...)
				if old["keep"] != "" && labels["keep"] != old["keep"] {
					t.Errorf("labels at %v lost keep: %v", p, labels)
				}
			}
		})
	}
}
