package v1alpha1_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pipelinesv1alpha1 "github.com/kfup/kfup/components/pipelines/api/v1alpha1"
	"github.com/kfup/kfup/internal/conformance"
)

// irDocuments reads a compiled pipeline file: the pipeline spec and, when present, the
// platform spec, as generic JSON objects.
func irDocuments(t *testing.T, file string) (spec, platform map[string]any) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
	var docs []map[string]any
	for {
		var d map[string]any
		if err := dec.Decode(&d); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			t.Fatalf("%s: %v", file, err)
		}
		if d != nil {
			docs = append(docs, d)
		}
	}
	if len(docs) == 0 {
		t.Fatalf("%s: no documents", file)
	}
	if len(docs) > 1 {
		platform = docs[1]
	}
	return docs[0], platform
}

// Every compiled pipeline of the conformance set is stored unchanged as a
// PipelineVersion and as a PipelineRun's embedded spec (strict validation, nothing pruned).
func TestConformancePipelinesStoreUnchanged(t *testing.T) {
	e := needEnv(t)
	ns := e.Namespace(t)
	for _, file := range conformance.Files(t, "pipelines/valid/*.yaml") {
		base := strings.TrimSuffix(filepath.Base(file), ".yaml")
		name := strings.ReplaceAll(base, "_", "-")
		t.Run(base, func(t *testing.T) {
			spec, platform := irDocuments(t, file)
			vspec := map[string]any{"pipelineName": "p", "pipelineSpec": spec}
			rspec := map[string]any{"pipelineSpec": spec, "parameters": map[string]any{"x": "1"}}
			if platform != nil {
				vspec["platformSpec"] = platform
				rspec["platformSpec"] = platform
			}
			e.CreateAsUser(t, &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": "pipelines.kubeflow.org/v2beta1", "kind": "PipelineVersion",
				"metadata": map[string]any{"name": name, "namespace": ns}, "spec": vspec,
			}})
			e.CreateAsUser(t, &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": "pipelines.kfup.dev/v1alpha1", "kind": "PipelineRun",
				"metadata": map[string]any{"name": truncate(name, 50), "namespace": ns}, "spec": rspec,
			}})
		})
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return strings.TrimRight(s[:n], "-")
	}
	return s
}

func run(name, ns string) *pipelinesv1alpha1.PipelineRun {
	return &pipelinesv1alpha1.PipelineRun{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       pipelinesv1alpha1.PipelineRunSpec{PipelineSpec: &runtime.RawExtension{Raw: []byte(`{"pipelineInfo":{"name":"p"}}`)}},
	}
}

// The API server refuses bad runs and schedules with a message that says what to fix.
func TestRejected(t *testing.T) {
	e := needEnv(t)
	ns := e.Namespace(t)
	ctx := context.Background()
	tests := []struct {
		name string
		obj  client.Object
		want string
	}{
		{"both sources", func() client.Object {
			r := run("both", ns)
			r.Spec.PipelineVersionRef = &pipelinesv1alpha1.PipelineVersionRef{Name: "v1"}
			return r
		}(), "exactly one of pipelineVersionRef and pipelineSpec"},
		{"no source", func() client.Object {
			r := run("none", ns)
			r.Spec.PipelineSpec = nil
			return r
		}(), "exactly one of pipelineVersionRef and pipelineSpec"},
		{"platform spec with a version", func() client.Object {
			r := run("plat", ns)
			r.Spec.PipelineSpec = nil
			r.Spec.PipelineVersionRef = &pipelinesv1alpha1.PipelineVersionRef{Name: "v1"}
			r.Spec.PlatformSpec = &runtime.RawExtension{Raw: []byte(`{}`)}
			return r
		}(), "platformSpec goes with an embedded pipelineSpec"},
		{"name too long", run(strings.Repeat("r", 51), ns), "at most 50 characters"},
		{"parallelism zero", func() client.Object {
			r := run("par", ns)
			r.Spec.Parallelism = ptr.To[int32](0)
			return r
		}(), "parallelism"},
		{"parallelism too high", func() client.Object {
			r := run("par2", ns)
			r.Spec.Parallelism = ptr.To[int32](pipelinesv1alpha1.MaxParallelism + 1)
			return r
		}(), "parallelism"},
		{"recurring run name too long", &pipelinesv1alpha1.RecurringRun{
			ObjectMeta: metav1.ObjectMeta{Name: strings.Repeat("s", 40), Namespace: ns},
			Spec:       pipelinesv1alpha1.RecurringRunSpec{Schedule: "@daily", RunSpec: run("x", ns).Spec},
		}, "at most 39 characters"},
		{"recurring run without schedule", &pipelinesv1alpha1.RecurringRun{
			ObjectMeta: metav1.ObjectMeta{Name: "nosched", Namespace: ns},
			Spec:       pipelinesv1alpha1.RecurringRunSpec{RunSpec: run("x", ns).Spec},
		}, "schedule"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := e.Client.Create(ctx, tt.obj)
			if err == nil || !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("create: got %v, want an Invalid error containing %q", err, tt.want)
			}
		})
	}
}

// A run's spec cannot change once created, but for what asks the controller to act on
// it: a run is a record of what ran.
func TestRunSpecImmutable(t *testing.T) {
	e := needEnv(t)
	ctx := context.Background()
	r := run("imm", e.Namespace(t))
	if err := e.Client.Create(ctx, r); err != nil {
		t.Fatal(err)
	}
	for name, edit := range map[string]func(*pipelinesv1alpha1.PipelineRunSpec){
		"disableCache": func(s *pipelinesv1alpha1.PipelineRunSpec) { s.DisableCache = true },
		"pipelineSpec": func(s *pipelinesv1alpha1.PipelineRunSpec) {
			s.PipelineSpec.Raw = []byte(`{"pipelineInfo":{"name":"q"}}`)
		},
		"parallelism":           func(s *pipelinesv1alpha1.PipelineRunSpec) { s.Parallelism = ptr.To[int32](2) },
		"activeDeadlineSeconds": func(s *pipelinesv1alpha1.PipelineRunSpec) { s.ActiveDeadlineSeconds = ptr.To[int64](60) },
		"serviceAccountName":    func(s *pipelinesv1alpha1.PipelineRunSpec) { s.ServiceAccountName = "robot" },
	} {
		u := r.DeepCopy()
		edit(&u.Spec)
		err := e.Client.Update(ctx, u)
		if err == nil || !strings.Contains(err.Error(), "immutable") {
			t.Errorf("%s: got %v, want the spec refused as immutable", name, err)
		}
	}
}

// spec.shutdown and spec.retry may change, one way: a terminate stays until a retry
// clears it, and the retry counter only goes up.
func TestRunShutdownAndRetry(t *testing.T) {
	e := needEnv(t)
	ctx := context.Background()
	r := run("stop", e.Namespace(t))
	if err := e.Client.Create(ctx, r); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name     string
		shutdown pipelinesv1alpha1.RunShutdown
		retry    int32
		refused  string // "": accepted
	}{
		{"terminate", pipelinesv1alpha1.ShutdownTerminate, 0, ""},
		{"undo the terminate", "", 0, "spec.shutdown stays until a retry"},
		{"retry, still terminated", pipelinesv1alpha1.ShutdownTerminate, 1, "a retry clears spec.shutdown"},
		{"unknown shutdown", "Pause", 0, "Unsupported value"},
		{"retry, the terminate cleared", "", 1, ""},
		{"retry again", "", 2, ""},
		{"retry counter down", "", 1, "never goes down"},
		{"retry counter below zero", "", -1, "spec.retry"},
		{"terminate again", pipelinesv1alpha1.ShutdownTerminate, 2, ""},
	}
	for _, s := range steps {
		u := &pipelinesv1alpha1.PipelineRun{}
		if err := e.Client.Get(ctx, client.ObjectKeyFromObject(r), u); err != nil {
			t.Fatal(err)
		}
		u.Spec.Shutdown, u.Spec.Retry = s.shutdown, s.retry
		err := e.Client.Update(ctx, u)
		switch {
		case s.refused == "" && err != nil:
			t.Fatalf("%s: refused: %v", s.name, err)
		case s.refused != "" && (err == nil || !strings.Contains(err.Error(), s.refused)):
			t.Fatalf("%s: got %v, want refused with %q", s.name, err, s.refused)
		}
	}
	// a schedule's runs start fresh
	for name, edit := range map[string]func(*pipelinesv1alpha1.PipelineRunSpec){
		"shutdown": func(s *pipelinesv1alpha1.PipelineRunSpec) { s.Shutdown = pipelinesv1alpha1.ShutdownTerminate },
		"retry":    func(s *pipelinesv1alpha1.PipelineRunSpec) { s.Retry = 1 },
	} {
		rr := &pipelinesv1alpha1.RecurringRun{ObjectMeta: metav1.ObjectMeta{Name: "rr-" + name, Namespace: r.Namespace},
			Spec: pipelinesv1alpha1.RecurringRunSpec{Schedule: "@daily", RunSpec: r.Spec}}
		rr.Spec.RunSpec.Shutdown, rr.Spec.RunSpec.Retry = "", 0
		edit(&rr.Spec.RunSpec)
		if err := e.Client.Create(ctx, rr); err == nil || !strings.Contains(err.Error(), "start fresh") {
			t.Errorf("a schedule with runSpec.%s: got %v, want refused", name, err)
		}
	}
}

// Every field of a run's spec but shutdown and retry has its immutability rule in the
// schema: a field added without one would become editable. Parameters, JSON values CEL
// cannot see, are the admission webhook's to keep as they are.
func TestImmutabilityRuleNamesEveryField(t *testing.T) {
	crd, err := os.ReadFile("../../../../manifests/crds/pipelines.kfup.dev_pipelineruns.yaml")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(strings.Fields(string(crd)), " ") // the YAML wraps long lines
	for f := range reflect.TypeFor[pipelinesv1alpha1.PipelineRunSpec]().Fields() {
		name := strings.Split(f.Tag.Get("json"), ",")[0]
		if name == "shutdown" || name == "retry" || name == "parameters" {
			continue
		}
		if !strings.Contains(text, "spec."+name+" is immutable") || !strings.Contains(text, "has(self.spec."+name+")") {
			t.Errorf("spec.%s has no immutability rule on PipelineRun (run_types.go)", name)
		}
	}
}
