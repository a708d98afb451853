package controller_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	istionetworkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/kfup/kfup/components/istio"
	servingv1beta1 "github.com/kfup/kfup/components/serving/api/v1beta1"
	"github.com/kfup/kfup/components/serving/controller"
)

var installIstioCRDs sync.Once

// startWithIstio installs Istio's VirtualService CRD, as the istio component's base
// chart renders it (no istiod runs), and runs the serving controllers routing
// Standard-mode InferenceServices by a VirtualService on istio-system/kfup-gateway.
func startWithIstio(t *testing.T) {
	t.Helper()
	installIstioCRDs.Do(func() {
		objs, err := istio.Render(istio.DefaultSettings())
		if err != nil {
			t.Fatal(err)
		}
		var crds []*apiextensionsv1.CustomResourceDefinition
		for _, o := range objs {
			if o.GetKind() == "CustomResourceDefinition" && o.GetName() == "virtualservices.networking.istio.io" {
				crd := &apiextensionsv1.CustomResourceDefinition{}
				if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, crd); err != nil {
					t.Fatal(err)
				}
				crds = append(crds, crd)
			}
		}
		if len(crds) != 1 {
			t.Fatalf("the istio chart renders %d VirtualService CRDs", len(crds))
		}
		if err := env.Client.Create(context.Background(), crds[0]); client.IgnoreAlreadyExists(err) != nil {
			t.Fatal(err)
		}
		if err := envtest.WaitForCRDs(env.Config, crds, envtest.CRDInstallOptions{PollInterval: 100 * time.Millisecond, MaxTime: 20 * time.Second}); err != nil {
			t.Fatal(err)
		}
	})
	cfg := controller.DefaultConfig()
	cfg.SkipNameValidation = true
	cfg.Image = testImage
	cfg.Ingress.IstioGateway = istio.Namespace + "/" + istio.ServingGatewayName
	env.StartManager(t, &controller.API{Config: cfg})
}

// On Istio, a Standard-mode InferenceService gets a VirtualService on kfup's gateway:
// its own host to the transformer, each component's host to that component's Service;
// it is Ready with its external URL (Istio reports nothing back); a VirtualService of
// its name that is someone else's is never taken over; labelled cluster-local, the
// VirtualService goes.
func TestVirtualServicePerInferenceService(t *testing.T) {
	startWithIstio(t)
	ns := env.Namespace(t)
	irisWithTransformer(t, ns)
	isvc := waitCondition(t, ns, "iris", servingv1beta1.Ready, "True", "")
	if want := "http://iris-" + ns + ".kfup.localhost"; isvc.Status.URL != want || condition(isvc, servingv1beta1.IngressReady).Status != "True" {
		t.Errorf("url %q (want %s), IngressReady %+v", isvc.Status.URL, want, condition(isvc, servingv1beta1.IngressReady))
	}
	vs := &istionetworkingv1.VirtualService{}
	get(t, vs, ns, "iris")
	if ref := metav1.GetControllerOf(vs); ref == nil || ref.Kind != "InferenceService" || ref.Name != "iris" {
		t.Errorf("owner %+v", ref)
	}
	if len(vs.Spec.Gateways) != 1 || vs.Spec.Gateways[0] != "istio-system/kfup-gateway" {
		t.Errorf("gateways %v", vs.Spec.Gateways)
	}
	got := map[string]string{}
	for _, r := range vs.Spec.Http {
		d := r.Route[0].Destination
		got[r.Match[0].Authority.GetRegex()] = fmt.Sprintf("%s:%d", d.Host, d.Port.GetNumber())
	}
	authority := func(host string) string { return "^" + strings.ReplaceAll(host, ".", `\.`) + "(:[0-9]+)?$" }
	want := map[string]string{
		authority("iris-" + ns + ".kfup.localhost"):             "iris-transformer." + ns + ".svc.cluster.local:80",
		authority("iris-predictor-" + ns + ".kfup.localhost"):   "iris-predictor." + ns + ".svc.cluster.local:80",
		authority("iris-transformer-" + ns + ".kfup.localhost"): "iris-transformer." + ns + ".svc.cluster.local:80",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("routes %v, want %v", got, want)
	}

	// someone else's VirtualService of an InferenceService's name stays theirs
	theirs := &istionetworkingv1.VirtualService{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"}}
	theirs.Spec.Hosts = []string{"web.example.com"}
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
	mine := &istionetworkingv1.VirtualService{}
	get(t, mine, ns, "web")
	if len(mine.OwnerReferences) > 0 || len(mine.Spec.Hosts) != 1 || mine.Spec.Hosts[0] != "web.example.com" || len(mine.Spec.Http) > 0 {
		t.Errorf("their VirtualService was changed: %v %v", mine.OwnerReferences, &mine.Spec)
	}

	// cluster-local: the VirtualService goes, the URL is the cluster's
	goesClusterLocal(t, ns, &istionetworkingv1.VirtualService{})
}
