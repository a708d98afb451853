package manager

import (
	"context"
	"fmt"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/kfup/kfup/components"
)

var dbManager = components.ManagerService{
	Name: "katib-db-manager", PortName: "db-manager", Port: 6789,
	Aliases: []components.ObjectKey{{Namespace: "kubeflow", Name: "katib-db-manager"}, {Namespace: "team-a", Name: "katib-db-manager"}},
}

// TestEnsureAliases: an alias is created where none exists (its namespace too), one that
// is not kfup's is left alone, and kfup's own are deleted once no service names them.
func TestEnsureAliases(t *testing.T) {
	ctx := context.Background()
	scheme, err := components.NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	theirs := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "katib-db-manager", Labels: map[string]string{"app": "katib"}},
		Spec:       corev1.ServiceSpec{Selector: map[string]string{"app": "katib"}, Ports: []corev1.ServicePort{{Port: 6789}}},
	}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(theirs, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a"}}).Build()
	env := &components.Env{Client: c}
	if err := EnsureAliases(ctx, env, []components.ManagerService{dbManager}); err != nil {
		t.Fatal(err)
	}
	got := &corev1.Service{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: "kubeflow", Name: "katib-db-manager"}, got); err != nil {
		t.Fatal(err)
	}
	if got.Spec.Type != corev1.ServiceTypeExternalName || got.Spec.ExternalName != "katib-db-manager.kfup-system.svc.cluster.local" || !kfupAlias(got) {
		t.Errorf("alias %+v %+v", got.ObjectMeta.Labels, got.Spec)
	}
	if err := c.Get(ctx, client.ObjectKey{Name: "kubeflow"}, &corev1.Namespace{}); err != nil {
		t.Errorf("namespace kubeflow: %v", err)
	}
	mine := &corev1.Service{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(theirs), mine); err != nil || kfupAlias(mine) || mine.Spec.Type == corev1.ServiceTypeExternalName {
		t.Errorf("their Service changed: %+v, %v", mine, err)
	}
	// uninstall: kfup's alias goes, theirs stays
	if err := EnsureAliases(ctx, env, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Get(ctx, client.ObjectKey{Namespace: "kubeflow", Name: "katib-db-manager"}, &corev1.Service{}); err == nil {
		t.Error("kfup's alias is still there")
	}
	if err := c.Get(ctx, client.ObjectKeyFromObject(theirs), &corev1.Service{}); err != nil {
		t.Errorf("their Service was deleted: %v", err)
	}
}

// TestObjectsServeManagerServices: the manager's container opens each service's port,
// fronted by a Service in its namespace.
func TestObjectsServeManagerServices(t *testing.T) {
	s := DefaultSettings()
	s.Services = []components.ManagerService{dbManager}
	objs, err := Objects(ImageRepo+":test", s)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(objs, func(o *unstructuredT) bool { return o.GetKind() == "Service" && o.GetName() == "katib-db-manager" })
	if i < 0 || objs[i].GetNamespace() != Namespace {
		t.Fatalf("no Service katib-db-manager in %s", Namespace)
	}
	d := slices.IndexFunc(objs, func(o *unstructuredT) bool { return o.GetKind() == "Deployment" })
	ports, _, _ := nestedContainerPorts(objs[d])
	if !slices.Contains(ports, "db-manager=6789") {
		t.Errorf("manager container ports %v: want db-manager=6789", ports)
	}
}

type unstructuredT = unstructured.Unstructured

func nestedContainerPorts(dep *unstructured.Unstructured) ([]string, bool, error) {
	cs, ok, err := unstructured.NestedSlice(dep.Object, "spec", "template", "spec", "containers")
	var out []string
	for _, c := range cs {
		ps, _, _ := unstructured.NestedSlice(c.(map[string]any), "ports")
		for _, p := range ps {
			m := p.(map[string]any)
			out = append(out, fmt.Sprintf("%v=%v", m["name"], m["containerPort"]))
		}
	}
	return out, ok, err
}
