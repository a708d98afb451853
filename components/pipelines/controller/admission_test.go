package controller_test

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pipelinesv1alpha1 "github.com/kfup/kfup/components/pipelines/api/v1alpha1"
	pipelinesv2beta1 "github.com/kfup/kfup/components/pipelines/api/v2beta1"
	"github.com/kfup/kfup/components/pipelines/controller"
	"github.com/kfup/kfup/internal/conformance"
)

// admit serves the pipelines webhooks over TLS in the test process and configures the
// API server to call them for namespace ns only (other tests' objects pass unchecked),
// as kfup's manager component does with its Service.
func admit(t *testing.T, ns string) {
	t.Helper()
	mux := http.NewServeMux()
	for _, h := range controller.Webhooks(env.Scheme, env.Client) {
		mux.Handle(h.Path, h.Handler)
	}
	srv := httptest.NewUnstartedServer(mux)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	cfg := &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "kfup-test-" + ns}}
	for _, h := range []struct{ path, group, version, resource string }{
		{pipelinesv1alpha1.WebhookPathRun, "pipelines.kfup.dev", "v1alpha1", "pipelineruns"},
		{pipelinesv1alpha1.WebhookPathRecurringRun, "pipelines.kfup.dev", "v1alpha1", "recurringruns"},
		{pipelinesv1alpha1.WebhookPathVersion, "pipelines.kubeflow.org", "v2beta1", "pipelineversions"},
	} {
		cfg.Webhooks = append(cfg.Webhooks, admissionregistrationv1.ValidatingWebhook{
			Name:         h.resource + ".test.kfup.dev",
			ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: ptr.To(srv.URL + h.path), CABundle: ca},
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
				Rule:       admissionregistrationv1.Rule{APIGroups: []string{h.group}, APIVersions: []string{h.version}, Resources: []string{h.resource}},
			}},
			NamespaceSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: ns}},
			FailurePolicy:           ptr.To(admissionregistrationv1.Fail),
			SideEffects:             ptr.To(admissionregistrationv1.SideEffectClassNone),
			AdmissionReviewVersions: []string{"v1"},
		})
	}
	ctx := context.Background()
	if err := env.Client.Create(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), cfg) })
	// the API server picks a new configuration up within a moment: wait until a bad run
	// is refused by it
	probe := &pipelinesv1alpha1.PipelineRun{ObjectMeta: metav1.ObjectMeta{Name: "probe", Namespace: ns}}
	probe.Spec.PipelineVersionRef = &pipelinesv1alpha1.PipelineVersionRef{Name: "no-such-version"}
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := env.Client.Create(ctx, probe.DeepCopy(), client.DryRunAll)
		if err != nil && strings.Contains(err.Error(), "denied the request") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the webhook configuration did not take effect: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// edit returns run's embedded pipeline with old replaced by new (once, which must occur).
func edit(t *testing.T, run *pipelinesv1alpha1.PipelineRun, old, new string) *pipelinesv1alpha1.PipelineRun {
	t.Helper()
	s := string(run.Spec.PipelineSpec.Raw)
	if !strings.Contains(s, old) {
		t.Fatalf("%q not in the pipeline", old)
	}
	out := run.DeepCopy()
	out.Spec.PipelineSpec.Raw = []byte(strings.Replace(s, old, new, 1))
	return out
}

// Bad pipelines are refused at submit with the task and field named; nothing is created.
func TestAdmissionRefusesBadPipelines(t *testing.T) {
	ns := env.Namespace(t)
	admit(t, ns)
	ctx := context.Background()
	good := irRun(t, "pc", ns, "producer_consumer_param_pipeline.yaml", map[string]any{"text": "hi"})
	for _, tc := range []struct {
		name string
		run  *pipelinesv1alpha1.PipelineRun
		want []string
	}{
		{"missing producer", edit(t, good, `"producerTask":"producer"`, `"producerTask":"nobody"`), []string{"nobody", "consumer"}},
		{"unknown component", edit(t, good, `"name":"comp-consumer"`, `"name":"comp-nothing"`), []string{"comp-nothing"}},
		{"cycle", edit(t, good, `"taskInfo":{"name":"producer"}`, `"dependentTasks":["consumer"],"taskInfo":{"name":"producer"}`), []string{"cycle"}},
		{"unknown schema version", edit(t, good, `"schemaVersion":"2.1.0"`, `"schemaVersion":"9.0.0"`), []string{"schemaVersion", "9.0.0"}},
		{"unknown placeholder", edit(t, good, `{{$.inputs.parameters['input_text']}}`, `{{$.inputs.nonsense}}`), []string{"placeholder"}},
		{"unknown parameter", irRun(t, "pc", ns, "producer_consumer_param_pipeline.yaml", map[string]any{"text": "hi", "nope": 1}), []string{"spec.parameters", `"nope"`}},
		{"wrong parameter type", irRun(t, "pc", ns, "producer_consumer_param_pipeline.yaml", map[string]any{"text": 3}), []string{`"text"`, "STRING"}},
		{"missing version", &pipelinesv1alpha1.PipelineRun{
			ObjectMeta: metav1.ObjectMeta{Name: "pc", Namespace: ns},
			Spec:       pipelinesv1alpha1.PipelineRunSpec{PipelineVersionRef: &pipelinesv1alpha1.PipelineVersionRef{Name: "v-missing"}},
		}, []string{"spec.pipelineVersionRef.name", "v-missing does not exist"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := env.Client.Create(ctx, tc.run.DeepCopy())
			if err == nil {
				_ = env.Client.Delete(ctx, tc.run)
				t.Fatal("created: want refused")
			}
			if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "denied the request") {
				t.Fatalf("got %v: want the webhook's denial", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("the denial %q does not name %q", err, w)
				}
			}
		})
	}
	runs := &pipelinesv1alpha1.PipelineRunList{}
	if err := env.Client.List(ctx, runs, client.InNamespace(ns)); err != nil || len(runs.Items) != 0 {
		t.Fatalf("refused runs left %d objects (%v)", len(runs.Items), err)
	}
	if err := env.Client.Create(ctx, good.DeepCopy()); err != nil {
		t.Fatalf("a good run was refused: %v", err)
	}
	// its spec is immutable and updates are not checked again: metadata edits pass
	got := &pipelinesv1alpha1.PipelineRun{}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(good), got); err != nil {
		t.Fatal(err)
	}
	got.Labels = map[string]string{"team": "a"}
	if err := env.Client.Update(ctx, got); err != nil {
		t.Fatalf("a label edit was refused: %v", err)
	}
}

// Every conformance pipeline passes as a PipelineVersion; a bad version is refused, and
// so are a run of a version with a wrong parameter and a schedule that cannot be read.
func TestAdmissionVersionsAndSchedules(t *testing.T) {
	ns := env.Namespace(t)
	admit(t, ns)
	ctx := context.Background()
	if err := env.Client.Create(ctx, &pipelinesv2beta1.Pipeline{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: ns}}); err != nil {
		t.Fatal(err)
	}
	for _, f := range conformance.Files(t, "pipelines/valid/*.yaml") {
		base := filepath.Base(f)
		run := irRun(t, "x", ns, base, nil)
		v := &pipelinesv2beta1.PipelineVersion{
			ObjectMeta: metav1.ObjectMeta{Name: strings.ReplaceAll(strings.TrimSuffix(base, ".yaml"), "_", "-"), Namespace: ns},
			Spec:       pipelinesv2beta1.PipelineVersionSpec{PipelineName: "p", PipelineSpec: *run.Spec.PipelineSpec, PlatformSpec: run.Spec.PlatformSpec},
		}
		if err := env.Client.Create(ctx, v); err != nil {
			t.Errorf("%s: refused as a PipelineVersion: %v", base, err)
		}
	}
	v := &pipelinesv2beta1.PipelineVersion{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "producer-consumer-param-pipeline"}, v); err != nil {
		t.Fatal(err)
	}
	bad := &pipelinesv2beta1.PipelineVersion{ObjectMeta: metav1.ObjectMeta{Name: "bad", Namespace: ns}, Spec: *v.Spec.DeepCopy()}
	bad.Spec.PipelineSpec.Raw = []byte(strings.Replace(string(v.Spec.PipelineSpec.Raw), `"producerTask":"producer"`, `"producerTask":"nobody"`, 1))
	if err := env.Client.Create(ctx, bad); err == nil || !strings.Contains(err.Error(), "nobody") {
		t.Errorf("a bad version: got %v, want refused naming the task", err)
	}
	// a run of the version, with and without the parameter it requires
	ref := func(params map[string]any) *pipelinesv1alpha1.PipelineRun {
		r := &pipelinesv1alpha1.PipelineRun{ObjectMeta: metav1.ObjectMeta{GenerateName: "ref-", Namespace: ns}}
		r.Spec.PipelineVersionRef = &pipelinesv1alpha1.PipelineVersionRef{Name: v.Name}
		r.Spec.Parameters = map[string]apiextJSON{}
		for k, x := range params {
			raw, _ := json.Marshal(x)
			r.Spec.Parameters[k] = apiextJSON{Raw: raw}
		}
		return r
	}
	if err := env.Client.Create(ctx, ref(map[string]any{"text": "hi"}), client.DryRunAll); err != nil {
		t.Errorf("a run of the version was refused: %v", err)
	}
	if err := env.Client.Create(ctx, ref(map[string]any{"text": []any{1}}), client.DryRunAll); err == nil || !strings.Contains(err.Error(), `"text"`) {
		t.Errorf("a run of the version with a list for a string: got %v, want refused", err)
	}
	rr := &pipelinesv1alpha1.RecurringRun{
		ObjectMeta: metav1.ObjectMeta{Name: "nightly", Namespace: ns},
		Spec:       pipelinesv1alpha1.RecurringRunSpec{Schedule: "0 3 * * *", TimeZone: "Europe/Paris", RunSpec: ref(map[string]any{"text": "hi"}).Spec},
	}
	for _, tc := range []struct {
		name  string
		mod   func(*pipelinesv1alpha1.RecurringRun)
		want  string
		valid bool
	}{
		{"valid", func(*pipelinesv1alpha1.RecurringRun) {}, "", true},
		{"bad cron", func(r *pipelinesv1alpha1.RecurringRun) { r.Spec.Schedule = "61 * * * *" }, "spec.schedule", false},
		{"bad zone", func(r *pipelinesv1alpha1.RecurringRun) { r.Spec.TimeZone = "Mars/Olympus" }, "Mars/Olympus", false},
		{"bad run", func(r *pipelinesv1alpha1.RecurringRun) { r.Spec.RunSpec = ref(map[string]any{"text": false}).Spec }, `"text"`, false},
	} {
		r := rr.DeepCopy()
		tc.mod(r)
		err := env.Client.Create(ctx, r, client.DryRunAll)
		switch {
		case tc.valid && err != nil:
			t.Errorf("%s: refused: %v", tc.name, err)
		case !tc.valid && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: got %v, want refused naming %q", tc.name, err, tc.want)
		}
	}
}
