package cli

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	pipelinesv1alpha1 "github.com/kfup/kfup/components/pipelines/api/v1alpha1"
	pipelinesv2beta1 "github.com/kfup/kfup/components/pipelines/api/v2beta1"
	"github.com/kfup/kfup/internal/conformance"
	"github.com/kfup/kfup/internal/errs"
)

// jsonValues compares raw JSON by value, not by bytes.
var jsonValues = cmp.Options{
	cmp.Transformer("raw", func(r runtime.RawExtension) any { return decodeJSON(r.Raw) }),
	cmp.Transformer("json", func(j apiextensionsv1.JSON) any { return decodeJSON(j.Raw) }),
}

func decodeJSON(b []byte) any {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return "invalid JSON: " + string(b)
	}
	return v
}

// fileDocuments returns file's YAML documents as JSON, read independently of the code
// under test (these files hold no YAML 1.1 pitfalls).
func fileDocuments(t *testing.T, file string) []*runtime.RawExtension {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out []*runtime.RawExtension
	for _, doc := range strings.Split(string(b), "\n---\n") {
		j, err := yaml.YAMLToJSON([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, &runtime.RawExtension{Raw: j})
	}
	return out
}

func TestPipelineRunCreates(t *testing.T) {
	addNumbers := conformance.Files(t, "pipelines/valid/add_numbers.yaml")[0]
	secretEnv := conformance.Files(t, "pipelines/valid/pipeline_with_secret_as_env.yaml")[0]
	an, se := fileDocuments(t, addNumbers), fileDocuments(t, secretEnv)
	if len(an) != 1 || len(se) != 2 {
		t.Fatalf("documents: %d and %d", len(an), len(se))
	}
	params := func(kv ...string) map[string]apiextensionsv1.JSON {
		m := map[string]apiextensionsv1.JSON{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = apiextensionsv1.JSON{Raw: []byte(kv[i+1])}
		}
		return m
	}
	tests := []struct {
		name     string
		args     []string
		wantMeta metav1.ObjectMeta
		want     pipelinesv1alpha1.PipelineRunSpec
	}{
		{
			name:     "add_numbers",
			args:     []string{addNumbers, "-p", "a=1", "-p", "b=2"},
			wantMeta: metav1.ObjectMeta{Namespace: "default", GenerateName: "add-numbers-"},
			want:     pipelinesv1alpha1.PipelineRunSpec{PipelineSpec: an[0], Parameters: params("a", "1", "b", "2")},
		},
		{
			name:     "platform spec, every flag",
			args:     []string{secretEnv, "-n", "team-a", "--run-name", "secret-1", "--no-cache", "--parallelism", "4", "-p", "secret_parm=s3cr3t"},
			wantMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "secret-1"},
			want: pipelinesv1alpha1.PipelineRunSpec{
				PipelineSpec: se[0], PlatformSpec: se[1], Parameters: params("secret_parm", `"s3cr3t"`),
				DisableCache: true, Parallelism: ptr.To[int32](4),
			},
		},
		{
			name:     "defaults only",
			args:     []string{secretEnv},
			wantMeta: metav1.ObjectMeta{Namespace: "default", GenerateName: "pipeline-secret-env-"},
			want:     pipelinesv1alpha1.PipelineRunSpec{PipelineSpec: se[0], PlatformSpec: se[1]},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api, fc, out, _ := newFakePipelineAPI(t)
			cmd := NewCmdPipelineRun(api.f, func(ctx context.Context, o *PipelineRunOptions) error { return runPipelineRun(ctx, api, o) })
			if err := runPipelineCmd(api.f, cmd, append([]string{"run"}, tt.args...)...); err != nil {
				t.Fatalf("run: %v", err)
			}
			list := &pipelinesv1alpha1.PipelineRunList{}
			if err := fc.c.List(context.Background(), list); err != nil || len(list.Items) != 1 {
				t.Fatalf("runs: %v, %d", err, len(list.Items))
			}
			got := list.Items[0]
			if diff := cmp.Diff(tt.want, got.Spec, jsonValues); diff != "" {
				t.Errorf("spec (-want +got):\n%s", diff)
			}
			if got.Namespace != tt.wantMeta.Namespace || got.GenerateName != tt.wantMeta.GenerateName ||
				(tt.wantMeta.Name != "" && got.Name != tt.wantMeta.Name) {
				t.Errorf("metadata: namespace %q, name %q, generateName %q; want %+v", got.Namespace, got.Name, got.GenerateName, tt.wantMeta)
			}
			if out.String() != got.Name+"\n" {
				t.Errorf("stdout = %q, want the run's name %q", out, got.Name)
			}
		})
	}
}

// TestPipelineRunRefused: a bad file, parameter or flag creates nothing; a bad file or
// parameter does not even reach the cluster.
func TestPipelineRunRefused(t *testing.T) {
	addNumbers := conformance.Files(t, "pipelines/valid/add_numbers.yaml")[0]
	invalid := conformance.Files(t, "pipelines/invalid/invalid_yaml.yaml")[0]
	empty := conformance.Files(t, "pipelines/invalid/empty_file.yaml")[0]
	tests := []struct {
		name     string
		args     []string
		kind     errs.Kind
		wantErr  string
		wantHint string
	}{
		{"invalid file", []string{invalid}, errs.KindUsage, `unknown field "components_1"`, "kfup pipeline validate"},
		{"every problem listed", []string{invalid}, errs.KindUsage, `component "comp-echo" does not exist`, ""},
		{"empty file", []string{empty}, errs.KindUsage, "empty", ""},
		{"missing file", []string{"/nonexistent/p.yaml"}, errs.KindNotFound, "read pipeline", "check the file's path"},
		{"unknown parameter", []string{addNumbers, "-p", "a=1", "-p", "b=2", "-p", "c=3"}, errs.KindUsage, `no input parameter "c"`, "a (NUMBER_INTEGER), b (NUMBER_INTEGER)"},
		{"missing parameter", []string{addNumbers, "-p", "a=1"}, errs.KindUsage, "needs parameter(s) b", "pass -p b=VALUE"},
		{"bad value", []string{addNumbers, "-p", "a=one", "-p", "b=2"}, errs.KindUsage, `"one" is not an integer`, ""},
		{"no file nor version", nil, errs.KindUsage, "exactly one of FILE and --version", ""},
		{"file and version", []string{addNumbers, "--version", "v1"}, errs.KindUsage, "exactly one of FILE and --version", ""},
		{"two files", []string{addNumbers, addNumbers}, errs.KindUsage, "got 2 arguments", ""},
		{"timeout without watch", []string{addNumbers, "--timeout", "1m"}, errs.KindUsage, "--timeout bounds --watch", "add --watch"},
		{"parallelism 0", []string{addNumbers, "--parallelism", "0"}, errs.KindUsage, "--parallelism 0: out of range", ""},
		{"parallelism too high", []string{addNumbers, "--parallelism", "257"}, errs.KindUsage, "out of range", ""},
		{"bad run name", []string{addNumbers, "--run-name", "Bad_Name"}, errs.KindUsage, `--run-name "Bad_Name"`, ""},
		{"long run name", []string{addNumbers, "--run-name", strings.Repeat("a", 51)}, errs.KindUsage, "at most 50 characters", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api, fc, out, _ := newFakePipelineAPI(t)
			cmd := NewCmdPipelineRun(api.f, func(ctx context.Context, o *PipelineRunOptions) error { return runPipelineRun(ctx, api, o) })
			err := runPipelineCmd(api.f, cmd, append([]string{"run"}, tt.args...)...)
			if err == nil || errs.KindOf(err) != tt.kind || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v (%v), want %v %q", err, errs.KindOf(err), tt.kind, tt.wantErr)
			}
			if !strings.Contains(errs.HintOf(err), tt.wantHint) {
				t.Errorf("hint = %q, want %q in it", errs.HintOf(err), tt.wantHint)
			}
			if fc.connects != 0 {
				t.Errorf("reached the cluster %d times", fc.connects)
			}
			if out.Len() != 0 {
				t.Errorf("stdout = %q", out)
			}
		})
	}
}

func TestPipelineRunVersion(t *testing.T) {
	file := conformance.Files(t, "pipelines/valid/add_numbers.yaml")[0]
	docs := fileDocuments(t, file)
	version := &pipelinesv2beta1.PipelineVersion{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "add-numbers-v1"},
		Spec:       pipelinesv2beta1.PipelineVersionSpec{PipelineName: "add-numbers", PipelineSpec: *docs[0]},
	}
	api, fc, out, _ := newFakePipelineAPI(t, version)
	cmd := func() *cobra.Command {
		return NewCmdPipelineRun(api.f, func(ctx context.Context, o *PipelineRunOptions) error { return runPipelineRun(ctx, api, o) })
	}
	if err := runPipelineCmd(api.f, cmd(), "run", "--version", "add-numbers-v1", "-p", "a=1", "-p", "b=2", "--run-name", "v-1"); err != nil {
		t.Fatal(err)
	}
	got := &pipelinesv1alpha1.PipelineRun{}
	if err := fc.c.Get(context.Background(), client.ObjectKey{Namespace: "default", Name: "v-1"}, got); err != nil {
		t.Fatal(err)
	}
	want := pipelinesv1alpha1.PipelineRunSpec{
		PipelineVersionRef: &pipelinesv1alpha1.PipelineVersionRef{Name: "add-numbers-v1"},
		Parameters:         map[string]apiextensionsv1.JSON{"a": {Raw: []byte("1")}, "b": {Raw: []byte("2")}},
	}
	if diff := cmp.Diff(want, got.Spec, jsonValues); diff != "" {
		t.Errorf("spec (-want +got):\n%s", diff)
	}
	if out.String() != "v-1\n" {
		t.Errorf("stdout = %q", out)
	}

	// The version's inputs are checked too.
	err := runPipelineCmd(api.f, cmd(), "run", "--version", "add-numbers-v1", "-p", "a=1")
	if errs.KindOf(err) != errs.KindUsage || !strings.Contains(err.Error(), "needs parameter(s) b") {
		t.Errorf("missing parameter: %v", err)
	}
	err = runPipelineCmd(api.f, cmd(), "run", "--version", "nope")
	if errs.KindOf(err) != errs.KindNotFound || !strings.Contains(errs.HintOf(err), "kfup pipeline upload") {
		t.Errorf("missing version: %v (hint %q)", err, errs.HintOf(err))
	}
	// A run of that name exists.
	err = runPipelineCmd(api.f, cmd(), "run", "--version", "add-numbers-v1", "-p", "a=1", "-p", "b=2", "--run-name", "v-1")
	if errs.KindOf(err) != errs.KindConflict || !strings.Contains(errs.HintOf(err), "kfup pipeline delete v-1") {
		t.Errorf("existing run: %v (hint %q)", err, errs.HintOf(err))
	}
}
