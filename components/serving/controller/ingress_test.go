package controller_test

import (
	"context"
	"fmt"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	servingv1beta1 "github.com/kfup/kfup/components/serving/api/v1beta1"
	"github.com/kfup/kfup/components/serving/controller"
)

// startWithIngress runs the serving controllers making an Ingress of class kfup per
// InferenceService.
func startWithIngress(t *testing.T) {
	t.Helper()
	cfg := controller.DefaultConfig()
	cfg.SkipNameValidation = true
	cfg.Image = testImage
	cfg.Ingress.Class = "kfup"
	env.StartManager(t, &controller.API{Config: cfg})
}

// With an ingress class, an InferenceService gets KServe's Ingress: its own host to the
// transformer, each component's host to that component; it is Ready, with its external
// URL, once the ingress reports the Ingress served; labelled cluster-local it has none.
func TestIngressPerInferenceService(t *testing.T) {
	startWithIngress(t)
	ns := env.Namespace(t)
	irisWithTransformer(t, ns)
	isvc := waitCondition(t, ns, "iris", servingv1beta1.IngressReady, "False", "IngressNotServed")
	external := "http://iris-" + ns + ".kfup.localhost"
	if isvc.Status.URL != external || isvc.Status.Address.URL != "http://iris-transformer."+ns+".svc.cluster.local" {
		t.Errorf("url %q address %q, want %s and the cluster-local address", isvc.Status.URL, isvc.Status.Address.URL, external)
	}
	if c := condition(isvc, servingv1beta1.Ready); c.Status == "True" {
		t.Errorf("Ready before the ingress serves the route: %+v", c)
	}
	ing := &networkingv1.Ingress{}
	get(t, ing, ns, "iris")
	if ing.Spec.IngressClassName == nil || *ing.Spec.IngressClassName != "kfup" {
		t.Errorf("class %v", ing.Spec.IngressClassName)
	}
	if ref := metav1.GetControllerOf(ing); ref == nil || ref.Kind != "InferenceService" || ref.Name != "iris" {
		t.Errorf("owner %+v", ref)
	}
	got := map[string]string{}
	for _, r := range ing.Spec.Rules {
		p := r.HTTP.Paths[0]
		got[r.Host] = fmt.Sprintf("%s %s:%d", p.Path, p.Backend.Service.Name, p.Backend.Service.Port.Number)
	}
	want := map[string]string{
		"iris-" + ns + ".kfup.localhost":             "/ iris-transformer:80",
		"iris-predictor-" + ns + ".kfup.localhost":   "/ iris-predictor:80",
		"iris-transformer-" + ns + ".kfup.localhost": "/ iris-transformer:80",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("rules %v, want %v", got, want)
	}

	// kfup's ingress says it serves the routes
	eventually(t, "Ingress status", func(ctx context.Context) (bool, string) {
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "iris"}, ing); err != nil {
			return false, err.Error()
		}
		ing.Status.LoadBalancer.Ingress = []networkingv1.IngressLoadBalancerIngress{{IP: "127.0.0.1"}}
		err := env.Client.Status().Update(ctx, ing)
		return err == nil, fmt.Sprint(err)
	})
	isvc = waitCondition(t, ns, "iris", servingv1beta1.Ready, "True", "")
	if isvc.Status.URL != external || condition(isvc, servingv1beta1.IngressReady).Status != "True" {
		t.Errorf("url %q, IngressReady %+v", isvc.Status.URL, condition(isvc, servingv1beta1.IngressReady))
	}

	// cluster-local: the Ingress goes, the URL is the cluster's
	goesClusterLocal(t, ns, &networkingv1.Ingress{})
}

// goesClusterLocal labels the InferenceService iris in ns cluster-local and waits until
// its route (an empty object of the route's kind: Ingress, VirtualService) is deleted
// and its URL is the transformer's cluster-local one.
func goesClusterLocal(t *testing.T, ns string, route client.Object) {
	t.Helper()
	isvc := &servingv1beta1.InferenceService{}
	eventually(t, "label cluster-local", func(ctx context.Context) (bool, string) {
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "iris"}, isvc); err != nil {
			return false, err.Error()
		}
		isvc.Labels = map[string]string{"networking.kserve.io/visibility": "cluster-local"}
		err := env.Client.Update(ctx, isvc)
		return err == nil, fmt.Sprint(err)
	})
	eventually(t, fmt.Sprintf("the %T deleted and the cluster-local URL", route), func(ctx context.Context) (bool, string) {
		err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "iris"}, route)
		if getErr := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "iris"}, isvc); getErr != nil {
			return false, getErr.Error()
		}
		return apierrors.IsNotFound(err) && isvc.Status.URL == "http://iris-transformer."+ns+".svc.cluster.local",
			fmt.Sprintf("route: %v, url %q", err, isvc.Status.URL)
	})
}

// irisWithTransformer creates the InferenceService iris in ns, an XGBoost predictor
// behind a transformer, and marks both components' Deployments available.
func irisWithTransformer(t *testing.T, ns string) {
	t.Helper()
	createISVC(t, ns, `
metadata: {name: iris}
spec:
  predictor:
    model:
      modelFormat: {name: xgboost}
      storageUri: pvc://models/xgb/iris
  transformer:
    containers:
    - name: transformer
      image: example/transformer:1
`)
	pred, tr := &appsv1.Deployment{}, &appsv1.Deployment{}
	get(t, pred, ns, "iris-predictor")
	get(t, tr, ns, "iris-transformer")
	markAvailable(t, pred)
	markAvailable(t, tr)
}

// An Ingress of the InferenceService's name that is someone else's is never taken over.
func TestSomeoneElsesIngressIsNotTakenOver(t *testing.T) {
	startWithIngress(t)
	ns := env.Namespace(t)
	theirs := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"}, Spec: networkingv1.IngressSpec{
		IngressClassName: ptr.To("nginx"),
		DefaultBackend:   &networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "theirs", Port: networkingv1.ServiceBackendPort{Number: 80}}},
	}}
	if err := env.Client.Create(context.Background(), theirs); err != nil {
		t.Fatal(err)
	}
	createISVC(t, ns, `
metadata: {name: web}
spec:
  predictor:
    model:
      modelFormat: {name: xgboost}
      storageUri: pvc://models/xgb/iris
`)
	waitCondition(t, ns, "web", servingv1beta1.Ready, "False", "ResourceExists")
	var got networkingv1.Ingress
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "web"}, &got); err != nil {
		t.Fatal(err)
	}
	if *got.Spec.IngressClassName != "nginx" || len(got.OwnerReferences) > 0 || got.Spec.DefaultBackend.Service.Name != "theirs" {
		t.Errorf("their Ingress was changed: %+v", got)
	}
}
