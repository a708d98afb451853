package manager

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/kfup/kfup/components"
)

var runsHook = components.ManagerWebhook{
	Name: "validate.pipelineruns.pipelines.kfup.dev", Path: "/validate-pipelines-pipelinerun",
	Group: "pipelines.kfup.dev", Version: "v1alpha1", Resources: []string{"pipelineruns"},
}

// A new certificate verifies for the Service's name until it expires, and not after; a
// pair that does not match, or a CA that did not sign it, does not verify.
func TestWebhookCert(t *testing.T) {
	now := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	c, err := NewWebhookCert(now)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Check(now); err != nil {
		t.Fatalf("a new certificate does not verify: %v", err)
	}
	if err := c.Check(now.Add(certLifetime - certRenewBefore)); err != nil {
		t.Fatalf("does not verify 9 years on: %v", err)
	}
	if err := c.Check(now.Add(certLifetime + time.Hour)); err == nil {
		t.Fatal("verifies after it expired")
	}
	other, err := NewWebhookCert(now)
	if err != nil {
		t.Fatal(err)
	}
	if err := (&WebhookCert{CA: other.CA, Cert: c.Cert, Key: c.Key}).Check(now); err == nil {
		t.Fatal("verifies against a CA that did not sign it")
	}
	if err := (&WebhookCert{CA: c.CA, Cert: c.Cert, Key: other.Key}).Check(now); err == nil {
		t.Fatal("a certificate with another's key verifies")
	}
}

// EnsureWebhookCert creates the Secret, keeps a good one, renews one about to expire,
// and refuses one kfup did not make.
func TestEnsureWebhookCert(t *testing.T) {
	ctx := context.Background()
	scheme, err := components.NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	c := fake.NewClientBuilder().WithScheme(scheme).Build()
	first, err := EnsureWebhookCert(ctx, c, now)
	if err != nil {
		t.Fatal(err)
	}
	s := &corev1.Secret{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: Namespace, Name: WebhookSecret}, s); err != nil {
		t.Fatal(err)
	}
	if s.Type != corev1.SecretTypeTLS || s.Labels[components.LabelComponent] != Name || !bytes.Equal(s.Data["ca.crt"], first.CA) {
		t.Fatalf("secret: type %s labels %v", s.Type, s.Labels)
	}
	again, err := EnsureWebhookCert(ctx, c, now.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.CA, first.CA) || !bytes.Equal(again.Key, first.Key) {
		t.Fatal("a good certificate was replaced")
	}
	late := now.Add(certLifetime - certRenewBefore/2)
	renewed, err := EnsureWebhookCert(ctx, c, late)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(renewed.CA, first.CA) || renewed.Check(late.Add(certRenewBefore)) != nil {
		t.Fatal("a certificate half a year from expiry was not renewed")
	}

	theirs := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: Namespace, Name: WebhookSecret}, Data: map[string][]byte{"x": []byte("y")}}
	c = fake.NewClientBuilder().WithScheme(scheme).WithObjects(theirs).Build()
	if _, err := EnsureWebhookCert(ctx, c, now); err == nil || !strings.Contains(err.Error(), "not kfup's") {
		t.Fatalf("a foreign Secret: got %v, want refused", err)
	}
	if err := c.Get(ctx, client.ObjectKeyFromObject(theirs), s); err != nil || string(s.Data["x"]) != "y" {
		t.Fatalf("the foreign Secret was changed: %v %v", s.Data, err)
	}
}

func objectsOf[T client.Object](t *testing.T, s Settings) []T {
	t.Helper()
	objs, err := Objects(ImageRepo+":0123456789abcdef", s)
	if err != nil {
		t.Fatal(err)
	}
	scheme, err := components.NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	var out []T
	for _, u := range objs {
		o, err := scheme.New(u.GroupVersionKind())
		if err != nil {
			continue
		}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, o); err != nil {
			t.Fatal(err)
		}
		if typed, ok := o.(T); ok {
			out = append(out, typed)
		}
	}
	return out
}

// With webhooks, the manager serves them on its webhook port from the Secret, behind a
// Service, and the configuration sends each kind there, failing closed, scoped to the
// slice's namespaces; without, none of that exists.
func TestWebhookObjects(t *testing.T) {
	s := DefaultSettings()
	if got := objectsOf[*admissionregistrationv1.ValidatingWebhookConfiguration](t, s); len(got) != 0 {
		t.Fatalf("no webhooks, yet %d configurations", len(got))
	}
	dep := objectsOf[*appsv1.Deployment](t, s)[0]
	if slices.ContainsFunc(dep.Spec.Template.Spec.Containers[0].Args, func(a string) bool { return strings.HasPrefix(a, "--webhook") }) {
		t.Fatalf("no webhooks, yet args %v", dep.Spec.Template.Spec.Containers[0].Args)
	}

	scoped := runsHook
	scoped.Namespaces = []string{"team-a"}
	s.Webhooks, s.WebhookCA = []components.ManagerWebhook{runsHook, scoped}, []byte("CA")
	cfgs := objectsOf[*admissionregistrationv1.ValidatingWebhookConfiguration](t, s)
	if len(cfgs) != 1 || len(cfgs[0].Webhooks) != 2 {
		t.Fatalf("want one configuration of two webhooks, got %+v", cfgs)
	}
	w := cfgs[0].Webhooks[0]
	if *w.FailurePolicy != admissionregistrationv1.Fail || *w.SideEffects != admissionregistrationv1.SideEffectClassNone ||
		w.ClientConfig.Service.Name != WebhookService || *w.ClientConfig.Service.Path != runsHook.Path || string(w.ClientConfig.CABundle) != "CA" ||
		w.Rules[0].Resources[0] != "pipelineruns" || w.Rules[0].APIGroups[0] != "pipelines.kfup.dev" || w.NamespaceSelector != nil {
		t.Fatalf("webhook: %+v", w)
	}
	if sel := cfgs[0].Webhooks[1].NamespaceSelector; sel == nil || sel.MatchExpressions[0].Values[0] != "team-a" {
		t.Fatalf("scoped webhook's selector: %+v", sel)
	}
	svcs := objectsOf[*corev1.Service](t, s)
	if !slices.ContainsFunc(svcs, func(v *corev1.Service) bool {
		return v.Name == WebhookService && v.Spec.Ports[0].Port == 443 && v.Spec.Ports[0].TargetPort.StrVal == "webhook"
	}) {
		t.Fatal("no webhook Service")
	}
	dep = objectsOf[*appsv1.Deployment](t, s)[0]
	c := dep.Spec.Template.Spec.Containers[0]
	if !slices.Contains(c.Args, "--webhook-port=9443") || !slices.Contains(c.Args, "--webhook-cert-dir="+webhookCertDir) {
		t.Fatalf("args %v", c.Args)
	}
	if !slices.ContainsFunc(c.Ports, func(p corev1.ContainerPort) bool { return p.Name == "webhook" && p.ContainerPort == WebhookPort }) {
		t.Fatalf("ports %v", c.Ports)
	}
	if !slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.MountPath == webhookCertDir && m.ReadOnly }) ||
		!slices.ContainsFunc(dep.Spec.Template.Spec.Volumes, func(v corev1.Volume) bool { return v.Secret != nil && v.Secret.SecretName == WebhookSecret }) {
		t.Fatalf("the Secret is not mounted: %v", c.VolumeMounts)
	}
}

// pruneWebhooks deletes kfup's configuration and Service, and leaves others' alone.
func TestPruneWebhooks(t *testing.T) {
	ctx := context.Background()
	scheme, err := components.NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	ours := &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: WebhookConfiguration, Labels: map[string]string{components.LabelComponent: Name}}}
	theirs := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: Namespace, Name: WebhookService}}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(ours, theirs).Build()
	if err := pruneWebhooks(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := c.Get(ctx, client.ObjectKeyFromObject(ours), ours); err == nil {
		t.Error("kfup's webhook configuration was kept")
	}
	if err := c.Get(ctx, client.ObjectKeyFromObject(theirs), theirs); err != nil {
		t.Errorf("a Service kfup did not make was deleted: %v", err)
	}
}

// Ready waits until the API server reaches the webhook, and stops at once when the
// webhook refuses its probe.
func TestWaitWebhooks(t *testing.T) {
	scheme, err := components.NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		answers []error
		want    string
	}{
		{"reachable after a moment", []error{
			errors.New(`Internal error occurred: failed calling webhook "x": failed to call webhook: dial tcp 10.96.0.9:443: connect: connection refused`),
			errors.New(`Internal error occurred: failed calling webhook "x": no endpoints available for service "kfup-manager-webhook"`), nil}, ""},
		{"probe refused", []error{errors.New(`admission webhook "x" denied the request: bad`)}, "refused its probe"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			c := fake.NewClientBuilder().WithScheme(scheme).WithInterceptorFuncs(interceptor.Funcs{
				Create: func(_ context.Context, _ client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
					if ns := obj.GetNamespace(); ns != "team-a" {
						t.Errorf("probe in %q, want the slice's first namespace", ns)
					}
					err := tc.answers[min(calls, len(tc.answers)-1)]
					calls++
					return err
				},
			}).Build()
			hook := runsHook
			hook.Namespaces = []string{"team-a", "team-b"}
			hook.Probe = func(ns string) client.Object {
				return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "probe", Namespace: ns}}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := waitWebhooks(ctx, c, []components.ManagerWebhook{hook, runsHook})
			switch {
			case tc.want == "" && (err != nil || calls != len(tc.answers)):
				t.Fatalf("got %v after %d probes", err, calls)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || calls != 1):
				t.Fatalf("got %v after %d probes, want %q at once", err, calls, tc.want)
			}
		})
	}
}
