package enginetest

import (
	"context"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfup/kfup/components"
	"github.com/kfup/kfup/components/istio"
	"github.com/kfup/kfup/components/knative"
)

// Knative Serving's pinned manifests, Istio's rendered charts and net-istio apply cleanly through a real API server: CRDs are
// Established before the custom resources of the same release (the queue-proxy Image),
// and kfup's settings land in Knative's ConfigMaps.
func TestKnativeServingApplies(t *testing.T) {
	ctx := context.Background()
	objs, err := knative.ServingObjects(knative.Settings{ScaleToZero: false, Domain: "ml.example.test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := components.Apply(ctx, env.Client, knative.Name, objs); err != nil {
		t.Fatalf("apply Knative Serving: %v", err)
	}
	deps := &appsv1.DeploymentList{}
	if err := env.Client.List(ctx, deps, client.InNamespace(knative.Namespace)); err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, d := range deps.Items {
		names[d.Name] = true
	}
	for _, want := range []string{"activator", "autoscaler", "controller", "webhook"} {
		if !names[want] {
			t.Errorf("deployment %s/%s missing (have %v)", knative.Namespace, want, names)
		}
	}
	img := &unstructured.Unstructured{}
	img.SetGroupVersionKind(schema.GroupVersionKind{Group: "caching.internal.knative.dev", Version: "v1alpha1", Kind: "Image"})
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: knative.Namespace, Name: "queue-proxy"}, img); err != nil {
		t.Errorf("queue-proxy Image (a CR of the release's own CRD): %v", err)
	}
	cm := &corev1.ConfigMap{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: knative.Namespace, Name: "config-autoscaler"}, cm); err != nil {
		t.Fatal(err)
	}
	if cm.Data["enable-scale-to-zero"] != "false" {
		t.Errorf("config-autoscaler enable-scale-to-zero = %q", cm.Data["enable-scale-to-zero"])
	}
	if cm.Labels["app.kubernetes.io/component"] != "autoscaler" || cm.Labels[components.LabelComponent] != knative.Name {
		t.Errorf("labels: Knative's own must stay, kfup's must be added: %v", cm.Labels)
	}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: knative.Namespace, Name: "config-domain"}, cm); err != nil {
		t.Fatal(err)
	}
	if _, ok := cm.Data["ml.example.test"]; !ok {
		t.Errorf("config-domain lacks the domain: %v", cm.Data)
	}
	imgs, err := (knative.Component{}).Images(nil)
	if err != nil || len(imgs) < 6 {
		t.Fatalf("images: %v %v", imgs, err)
	}

	// net-istio programs Istio: it applies once Istio's CRDs are there.
	istioObjs, err := istio.Objects(istio.DefaultSettings())
	if err != nil {
		t.Fatal(err)
	}
	if err := components.Apply(ctx, env.Client, istio.Name, istioObjs); err != nil {
		t.Fatalf("apply Istio (base, istiod, gateway): %v", err)
	}
	d := &appsv1.Deployment{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: istio.Namespace, Name: "istiod"}, d); err != nil {
		t.Fatalf("istiod: %v", err)
	}
	net, err := knative.NetIstioObjects()
	if err != nil || len(net) == 0 {
		t.Fatalf("net-istio objects: %d %v", len(net), err)
	}
	if err := components.Apply(ctx, env.Client, knative.Name, net); err != nil {
		t.Fatalf("apply net-istio: %v", err)
	}
	gw := &unstructured.Unstructured{}
	gw.SetGroupVersionKind(schema.GroupVersionKind{Group: "networking.istio.io", Version: "v1beta1", Kind: "Gateway"})
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: knative.Namespace, Name: "knative-ingress-gateway"}, gw); err != nil {
		t.Errorf("net-istio's knative-ingress-gateway: %v", err)
	}
}
