package enginetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfup/kfup/components"
	"github.com/kfup/kfup/components/manager"
)

// can asks the API server's authorizer whether the manager's service account may verb
// group/resource in ns ("" for cluster-scoped resources).
func can(t *testing.T, verb, group, resource, ns string) bool {
	t.Helper()
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User:   fmt.Sprintf("system:serviceaccount:%s:%s", manager.Namespace, manager.AppName),
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + manager.Namespace, "system:authenticated"},
		ResourceAttributes: &authorizationv1.ResourceAttributes{
			Verb: verb, Group: group, Resource: resource, Namespace: ns,
		},
	}}
	if err := env.Client.Create(context.Background(), sar); err != nil {
		t.Fatal(err)
	}
	return sar.Status.Allowed
}

// applyRBAC applies the manager's cluster-wide RBAC and its bindings in the job
// namespaces for settings s, and prunes what earlier settings left, as Install does.
// (The kfup-system objects are left out: another test deletes that namespace, which
// envtest, without a namespace controller, never finishes deleting.)
func applyRBAC(t *testing.T, s manager.Settings) {
	t.Helper()
	rbac, err := manager.RBAC(s)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := components.Apply(ctx, env.Client, manager.Name, rbac); err != nil {
		t.Fatalf("apply (namespaces %q): %v", s.Namespaces, err)
	}
	if err := manager.PruneRBAC(ctx, env.Client, rbac); err != nil {
		t.Fatalf("prune (namespaces %q): %v", s.Namespaces, err)
	}
}

// With components.training.namespaces the manager's service account may touch jobs, pods
// and services only in those namespaces, and still read PriorityClasses (cluster-scoped);
// changing the list moves the grants, clearing it grants cluster-wide again, and
// uninstalling leaves no binding behind.
func TestManagerRBACFollowsNamespaces(t *testing.T) {
	a, b := env.Namespace(t), env.Namespace(t)
	type grant struct {
		verb, group, resource, ns string
		want                      bool
	}
	check := func(step string, grants ...grant) {
		t.Helper()
		for _, g := range grants {
			// the API server's RBAC authorizer learns of new bindings through its own
			// informers, a moment after they are applied (longer on a loaded machine)
			deadline := time.Now().Add(10 * time.Second)
			got := can(t, g.verb, g.group, g.resource, g.ns)
			for got != g.want && time.Now().Before(deadline) {
				time.Sleep(100 * time.Millisecond)
				got = can(t, g.verb, g.group, g.resource, g.ns)
			}
			if got != g.want {
				t.Errorf("%s: %s %s.%s in %q allowed=%t, want %t", step, g.verb, g.resource, g.group, g.ns, got, g.want)
			}
		}
	}
	s := manager.DefaultSettings()

	s.Namespaces = []string{a}
	applyRBAC(t, s)
	check("namespaces="+a,
		grant{"create", "", "pods", a, true}, grant{"update", "kubeflow.org", "pytorchjobs/status", a, true},
		grant{"create", "", "pods", b, false}, grant{"list", "kubeflow.org", "tfjobs", b, false},
		grant{"list", "", "pods", "", false}, // not cluster-wide
		grant{"get", "scheduling.k8s.io", "priorityclasses", "", true})

	s.Namespaces = []string{b}
	applyRBAC(t, s)
	check("namespaces="+b,
		grant{"create", "", "pods", a, false}, grant{"create", "", "pods", b, true},
		grant{"get", "scheduling.k8s.io", "priorityclasses", "", true})

	s.Namespaces = nil
	applyRBAC(t, s)
	check("every namespace",
		grant{"create", "", "pods", a, true}, grant{"create", "", "pods", b, true}, grant{"list", "", "pods", "", true},
		grant{"get", "scheduling.k8s.io", "priorityclasses", "", true})
	if err := env.Client.Get(context.Background(), client.ObjectKey{Name: manager.ClusterScopedRole}, &rbacv1.ClusterRole{}); !apierrors.IsNotFound(err) {
		t.Errorf("ClusterRole %s left after namespaces were cleared", manager.ClusterScopedRole)
	}

	// from cluster-wide to namespaced: the ClusterRoleBinding goes
	s.Namespaces = []string{a, b}
	applyRBAC(t, s)
	check("namespaces="+a+","+b,
		grant{"create", "", "pods", a, true}, grant{"create", "", "pods", b, true}, grant{"list", "", "pods", "", false},
		grant{"get", "scheduling.k8s.io", "priorityclasses", "", true})
	// what Install keeps is everything Objects returns, the manager's own namespace too
	all, err := manager.Objects(manager.ImageRepo+":0123456789abcdef", s)
	if err != nil {
		t.Fatal(err)
	}
	if err := manager.PruneRBAC(context.Background(), env.Client, all); err != nil {
		t.Fatal(err)
	}
	check("pruned with every object kept", grant{"create", "", "pods", a, true}, grant{"get", "scheduling.k8s.io", "priorityclasses", "", true})

	if err := manager.PruneRBAC(context.Background(), env.Client, nil); err != nil {
		t.Fatalf("prune all: %v", err)
	}
	check("uninstalled",
		grant{"create", "", "pods", a, false}, grant{"create", "", "pods", b, false},
		grant{"get", "scheduling.k8s.io", "priorityclasses", "", false})
}

// manager.ClusterScoped lists every cluster-scoped resource the manager's ClusterRole
// names (as the API server serves them): a rule on one missing from it would be lost when
// the ClusterRole is bound namespace by namespace.
func TestManagerClusterScopedResourcesComplete(t *testing.T) {
	objs, err := manager.Objects(manager.ImageRepo+":0123456789abcdef", manager.DefaultSettings())
	if err != nil {
		t.Fatal(err)
	}
	mapper := env.Client.RESTMapper()
	checked := 0
	for _, o := range objs {
		if o.GetKind() != "ClusterRole" {
			continue
		}
		var role rbacv1.ClusterRole
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &role); err != nil {
			t.Fatal(err)
		}
		for _, r := range role.Rules {
			for _, g := range r.APIGroups {
				for _, res := range r.Resources {
					base, _, _ := strings.Cut(res, "/")
					gvk, err := mapper.KindFor(schema.GroupVersionResource{Group: g, Resource: base})
					if meta.IsNoMatchError(err) {
						continue // a CRD this API server does not serve (kubeflow.org, PodGroups): namespaced
					}
					if err != nil {
						t.Fatalf("%s.%s: %v", base, g, err)
					}
					m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
					if err != nil {
						t.Fatal(err)
					}
					checked++
					cluster := m.Scope.Name() == meta.RESTScopeNameRoot
					listed := slices.Contains(manager.ClusterScoped, schema.GroupResource{Group: g, Resource: base})
					if cluster != listed {
						t.Errorf("%s.%s: cluster-scoped %t, in manager.ClusterScoped %t", base, g, cluster, listed)
					}
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no rule of the manager's ClusterRole checked")
	}
}

// The namespaces of components.training.namespaces are created when missing (a new
// cluster has none), without kfup's component label, so that no prune or uninstall ever
// deletes them; existing ones are left as they are.
func TestEnsureNamespaces(t *testing.T) {
	ctx := context.Background()
	existing := env.Namespace(t)
	fresh := "kfup-test-team-" + existing[len(existing)-5:]
	t.Cleanup(func() { _ = env.Client.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fresh}}) })
	for i := 0; i < 2; i++ { // twice: the second finds both
		if err := manager.EnsureNamespaces(ctx, env.Client, []string{existing, fresh}); err != nil {
			t.Fatalf("#%d: %v", i+1, err)
		}
	}
	for _, name := range []string{existing, fresh} {
		ns := &corev1.Namespace{}
		if err := env.Client.Get(ctx, client.ObjectKey{Name: name}, ns); err != nil {
			t.Fatalf("namespace %s: %v", name, err)
		}
		if _, ok := ns.Labels[components.LabelComponent]; ok {
			t.Errorf("namespace %s carries %s: an uninstall would delete the user's jobs", name, components.LabelComponent)
		}
	}
}

// Delete skips objects of kinds the server does not serve and objects in namespaces that
// do not exist (asking once per kind and per namespace), and deletes the rest.
func TestDeleteSkipsWhatCannotExist(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t)
	obj := func(apiVersion, kind, ns, name string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{}
		u.SetAPIVersion(apiVersion)
		u.SetKind(kind)
		u.SetNamespace(ns)
		u.SetName(name)
		return u
	}
	present := obj("v1", "ConfigMap", ns, "present")
	if err := env.Client.Create(ctx, present.DeepCopy()); err != nil {
		t.Fatal(err)
	}
	objs := []*unstructured.Unstructured{
		obj("example.kfup.dev/v1", "Widget", ns, "w1"), obj("example.kfup.dev/v1", "Widget", ns, "w2"),
		obj("v1", "ConfigMap", "no-such-namespace", "c"), obj("v1", "Secret", "no-such-namespace", "s"),
		present, obj("v1", "ConfigMap", ns, "never-created"),
	}
	if err := components.Delete(ctx, env.Client, objs); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(present), &corev1.ConfigMap{}); !apierrors.IsNotFound(err) {
		t.Fatalf("the existing ConfigMap was not deleted: %v", err)
	}
}
