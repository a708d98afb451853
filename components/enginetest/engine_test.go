package enginetest

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfup/kfup/components"
	"github.com/kfup/kfup/components/manager"
	"github.com/kfup/kfup/components/pipelines"
	"github.com/kfup/kfup/components/training"
	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	"github.com/kfup/kfup/components/training/builders"
	trainingcontroller "github.com/kfup/kfup/components/training/controller"
	"github.com/kfup/kfup/internal/apihost"
	"github.com/kfup/kfup/internal/testenv"
	"github.com/kfup/kfup/internal/ui"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	os.Exit(testenv.MainWith(m, &env, testenv.Options{WithoutCRDs: true, APIs: []apihost.API{trainingcontroller.NewAPI()}}))
}

// jobUser is a component that depends on training and creates a PyTorchJob when it
// installs: it can only succeed if the CRD was Established first.
type jobUser struct{ ns string }

func (jobUser) Name() string                                     { return "job-user" }
func (jobUser) DependsOn() []string                              { return []string{training.Name} }
func (jobUser) Images(*components.Env) ([]string, error)         { return nil, nil }
func (jobUser) Ready(context.Context, *components.Env) error     { return nil }
func (jobUser) Smoke(context.Context, *components.Env) error     { return nil }
func (jobUser) Uninstall(context.Context, *components.Env) error { return nil }
func (j jobUser) Install(ctx context.Context, e *components.Env) error {
	job := builders.MakePyTorchJob("after-crd", j.ns).
		Replica("Worker", builders.MakeReplica(1, "pytorch", "kfup-offline/busybox:1", "true")).Obj()
	return e.Client.Create(ctx, job)
}

func cenv() *components.Env {
	return &components.Env{Client: env.Client, REST: env.Config, Out: ui.Discard()}
}

func crdVersions(t *testing.T) map[string]string {
	t.Helper()
	list := &apiextensionsv1.CustomResourceDefinitionList{}
	if err := env.Client.List(context.Background(), list); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, c := range list.Items {
		if c.Spec.Group == trainingv1.GroupVersion.Group {
			out[c.Name] = c.ResourceVersion
		}
	}
	return out
}

// crdStates describes the training CRDs left: deletion time, finalizers and conditions.
func crdStates(t *testing.T) string {
	t.Helper()
	list := &apiextensionsv1.CustomResourceDefinitionList{}
	if err := env.Client.List(context.Background(), list); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, c := range list.Items {
		if c.Spec.Group != trainingv1.GroupVersion.Group {
			continue
		}
		fmt.Fprintf(&b, "\n%s rv=%s deleted=%v finalizers=%v", c.Name, c.ResourceVersion, c.DeletionTimestamp, c.Finalizers)
		for _, cond := range c.Status.Conditions {
			fmt.Fprintf(&b, "\n  %s=%s %s: %s", cond.Type, cond.Status, cond.Reason, cond.Message)
		}
	}
	return b.String()
}

// One test, in order: the steps build on each other's cluster state.
func TestInstallReapplyAndUninstall(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t)
	all := []components.Component{training.Component{}, jobUser{ns: ns}}

	// 1. plan ordering: the CRDs are Established before the dependent creates a job
	plan, err := components.NewPlan(all, []string{training.Name, "job-user"})
	if err != nil {
		t.Fatal(err)
	}
	if err := plan.Run(ctx, cenv(), time.Minute); err != nil {
		t.Fatalf("install: %v", err)
	}
	if got := len(crdVersions(t)); got != 6 {
		t.Fatalf("want 6 training CRDs, got %d", got)
	}
	if err := (training.Component{}).Smoke(ctx, cenv()); err != nil {
		t.Fatalf("smoke: %v", err)
	}

	// 2. idempotent: applying the same manifests again changes nothing
	before := crdVersions(t)
	plan, _ = components.NewPlan(all[:1], []string{training.Name})
	if err := plan.Run(ctx, cenv(), time.Minute); err != nil {
		t.Fatalf("re-apply: %v", err)
	}
	if after := crdVersions(t); !mapsEqual(before, after) {
		t.Fatalf("re-apply modified CRDs: %v -> %v", before, after)
	}

	// 3. disable -> uninstall: the CRDs (and the job) go
	plan, err = components.NewPlan(all[:1], nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := plan.Run(ctx, cenv(), time.Minute); err != nil {
		t.Fatalf("uninstall: %v", err)
	}
	// The API server's customresourcecleanup finalizer removes a deleted CRD; on a loaded
	// 2-core CI runner (packages' API servers side by side) it has taken over a minute, so
	// the wait is generous and a failure says where each CRD stands.
	deadline := time.Now().Add(4 * time.Minute)
	for len(crdVersions(t)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("CRDs still present after uninstall: %s", crdStates(t))
		}
		time.Sleep(200 * time.Millisecond)
	}
	err = env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "after-crd"}, &trainingv1.PyTorchJob{})
	if err == nil || !(meta.IsNoMatchError(err) || apierrors.IsNotFound(err)) {
		t.Fatalf("job still served after uninstall: %v", err)
	}
}

// The manager's objects apply cleanly through the real API server (RBAC, Deployment with
// the hardened pod spec), twice, and uninstall removes them.
func TestManagerObjectsApply(t *testing.T) {
	ctx := context.Background()
	// with an API's admission webhook (pipelines'), whose configuration the API server
	// must accept; nothing here serves it, and no object of its kind exists
	s := manager.DefaultSettings()
	cert, err := manager.NewWebhookCert(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	s.Webhooks = pipelines.Component{}.ManagerWebhooks(cenv())
	s.WebhookCA = cert.CA
	objs, err := manager.Objects(manager.ImageRepo+":0123456789abcdef", s)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if err := components.Apply(ctx, env.Client, manager.Name, objs); err != nil {
			t.Fatalf("apply #%d: %v", i+1, err)
		}
	}
	d := &appsv1.Deployment{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: manager.Namespace, Name: manager.AppName}, d); err != nil {
		t.Fatal(err)
	}
	c := d.Spec.Template.Spec.Containers[0]
	if c.ImagePullPolicy != "Never" || !*c.SecurityContext.ReadOnlyRootFilesystem || !*d.Spec.Template.Spec.SecurityContext.RunAsNonRoot {
		t.Fatalf("manager pod not hardened: %+v", c)
	}
	if d.Labels[components.LabelComponent] != manager.Name {
		t.Fatalf("missing component label: %v", d.Labels)
	}
	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: manager.WebhookConfiguration}, vwc); err != nil || len(vwc.Webhooks) != len(s.Webhooks) {
		t.Fatalf("webhook configuration: %d webhooks (%v)", len(vwc.Webhooks), err)
	}
	if err := components.Delete(ctx, env.Client, objs); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: manager.WebhookConfiguration}, vwc); !apierrors.IsNotFound(err) {
		t.Fatalf("webhook configuration not deleted: %v", err)
	}
	err = env.Client.Get(ctx, client.ObjectKey{Namespace: manager.Namespace, Name: manager.AppName}, &appsv1.Deployment{})
	if !apierrors.IsNotFound(err) {
		t.Fatalf("deployment not deleted: %v", err)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
