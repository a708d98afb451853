package controller_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kingressv1alpha1 "github.com/kfup/kfup/components/ingress/api/v1alpha1"
	"github.com/kfup/kfup/components/ingress/controller"
	"github.com/kfup/kfup/components/ingress/proxy"
)

// While the proxy has not loaded a new table yet, a KIngress whose routes that change
// leaves alone stays Ready with its load balancers: only the objects whose routes changed
// wait. (Knative's conformance suite creates KIngresses in parallel and reads the load
// balancer of each right after it turns Ready.)
func TestKIngressStaysReadyWhileProxyLags(t *testing.T) {
	installKIngressCRD(t)
	ns := env.Namespace(t)
	const cmName = "routes-lag"
	// A stand-in for the proxy's admin port: it serves the published table while follow
	// is set, and keeps the last one it served otherwise.
	var follow atomic.Bool
	var servedHash atomic.Value
	follow.Store(true)
	servedHash.Store("")
	admin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if follow.Load() {
			var cm corev1.ConfigMap
			if err := env.Client.Get(r.Context(), client.ObjectKey{Namespace: ns, Name: cmName}, &cm); err == nil {
				servedHash.Store(cm.Data[proxy.HashKey])
			}
		}
		fmt.Fprint(w, servedHash.Load())
	}))
	t.Cleanup(admin.Close)
	cfg := controller.DefaultConfig()
	cfg.SkipNameValidation = true
	cfg.Namespace, cfg.RoutesConfigMap = ns, cmName
	cfg.Knative = true
	cfg.ProxyAdmin = admin.URL
	env.StartManager(t, &controller.API{Config: cfg})
	ready(t, service(t, ns, "web"), "http", "10.244.0.1:8080")

	doc := func(name string) string {
		return `
metadata:
  name: ` + name + `
` + class + `spec:
  rules: [{hosts: [` + name + `.example.com], visibility: ExternalIP, http: {paths: [{splits: [{serviceName: web, serviceNamespace: ` + ns + `, servicePort: 80}]}]}}]
`
	}
	kingress(t, ns, doc("first"))
	waitKIngress(t, ns, "first", kingressv1alpha1.ConditionReady, "True", "")

	follow.Store(false) // the proxy is stuck on the table routing "first"
	kingress(t, ns, doc("second"))
	waitKIngress(t, ns, "second", kingressv1alpha1.ConditionLoadBalancerReady, "Unknown", "Uninitialized")
	// A few more reconciles on the unserved table.
	time.Sleep(3 * time.Second)
	var first kingressv1alpha1.Ingress
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "first"}, &first); err != nil {
		t.Fatal(err)
	}
	if c := condition(&first, kingressv1alpha1.ConditionReady); c.Status != "True" || first.Status.PublicLoadBalancer == nil || first.Status.PrivateLoadBalancer == nil {
		t.Fatalf("first, unchanged, lost Ready while the proxy lags: %+v", first.Status)
	}

	// A change of first's own routes waits for the proxy like any other.
	first.Spec.Rules[0].Hosts = []string{"first-renamed.example.com"}
	if err := env.Client.Update(context.Background(), &first); err != nil {
		t.Fatal(err)
	}
	waitKIngress(t, ns, "first", kingressv1alpha1.ConditionLoadBalancerReady, "Unknown", "Uninitialized")

	follow.Store(true)
	for _, name := range []string{"first", "second"} {
		waitKIngress(t, ns, name, kingressv1alpha1.ConditionReady, "True", "")
	}
}
