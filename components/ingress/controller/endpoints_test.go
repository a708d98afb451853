package controller_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kingressv1alpha1 "github.com/kfup/kfup/components/ingress/api/v1alpha1"
)

// A KIngress routes to its Service's ready endpoints, from the EndpointSlices the
// controller watches: LoadBalancerReady waits for one (WaitingForEndpoints, the proxy
// answering 503 meanwhile), follows the pods as they scale, and once Ready for a
// generation stays so when they go; a new generation waits again. The Service's port
// and named target port resolve through the slice's port name.
func TestKIngressWaitsForEndpoints(t *testing.T) {
	r := startRig(t, "routes-e")
	svc := service(t, r.ns, "web", corev1.ServicePort{Name: "http", Port: 80, TargetPort: intstr.FromString("web")})
	doc := `
metadata:
  name: web
` + class + `spec:
  rules: [{hosts: [web.example.com], visibility: ExternalIP, http: {paths: [{splits: [{serviceName: web, serviceNamespace: ` + r.ns + `, servicePort: 80}]}]}}]
`
	kingress(t, r.ns, doc)
	k := waitKIngress(t, r.ns, "web", kingressv1alpha1.ConditionLoadBalancerReady, "Unknown", "WaitingForEndpoints")
	if c := condition(k, kingressv1alpha1.ConditionReady); c.Status != "Unknown" || c.Message != "no ready endpoints for "+r.ns+"/web:80" || k.Status.PublicLoadBalancer != nil {
		t.Errorf("Ready %+v, load balancer %+v", c, k.Status.PublicLoadBalancer)
	}
	eventually(t, "the proxy's 503 for a Service without endpoints", func(context.Context) (bool, string) {
		code, body, _ := through(t, r.external, "web.example.com", "/")
		return code == 503 && strings.Contains(body, "no ready endpoints for "+r.ns+"/web:80"), fmt.Sprintf("%d %q", code, body)
	})

	a, b := localBackend(t, "a"), localBackend(t, "b")
	ready(t, svc, "http", a)
	readySince := condition(waitKIngress(t, r.ns, "web", kingressv1alpha1.ConditionReady, "True", ""), kingressv1alpha1.ConditionReady).LastTransitionTime.Time
	if code, body, why := through(t, r.external, "web.example.com", "/one"); code != 200 || body != "a /one" {
		t.Fatalf("through the proxy: %d %q %s", code, body, why)
	}

	// Scaled up: both endpoints published, both reached.
	ready(t, svc, "http", a, b)
	eventually(t, "two endpoints, both reached", func(context.Context) (bool, string) {
		tab, _ := published(t, r)
		eps := tab.Lookup(true, "web.example.com", "/", nil).Pick(0).Backend.Endpoints
		seen := map[string]bool{}
		for range 20 {
			_, body, _ := through(t, r.external, "web.example.com", "/")
			seen[strings.Fields(body + " ")[0]] = true
		}
		want := []string{a, b}
		slices.Sort(want)
		return slices.Equal(eps, want) && seen["a"] && seen["b"], fmt.Sprintf("endpoints %v, answers from %v", eps, seen)
	})

	// Scaled to zero: the table has no endpoint, requests get 503, and the KIngress
	// stays Ready for its generation.
	ready(t, svc, "http")
	eventually(t, "no endpoint published", func(context.Context) (bool, string) {
		tab, _ := published(t, r)
		s := tab.Lookup(true, "web.example.com", "/", nil).Pick(0)
		code, _, _ := through(t, r.external, "web.example.com", "/")
		return len(s.Backend.Endpoints) == 0 && code == 503, fmt.Sprintf("%+v, %d", s.Backend, code)
	})
	time.Sleep(3 * time.Second) // a few reconciles more
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: r.ns, Name: "web"}, k); err != nil {
		t.Fatal(err)
	}
	if c := condition(k, kingressv1alpha1.ConditionReady); c.Status != "True" || k.Status.PublicLoadBalancer == nil ||
		c.LastTransitionTime.Time.After(readySince) {
		t.Errorf("Ready since %s for its generation, then its endpoints went: %+v", readySince, k.Status)
	}

	// A new generation without endpoints waits for them, and is Ready with them.
	eventually(t, "update", func(ctx context.Context) (bool, string) {
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: r.ns, Name: "web"}, k); err != nil {
			return false, err.Error()
		}
		k.Spec.Rules[0].Hosts = []string{"web2.example.com"}
		err := env.Client.Update(ctx, k)
		return err == nil, fmt.Sprint(err)
	})
	waitKIngress(t, r.ns, "web", kingressv1alpha1.ConditionLoadBalancerReady, "Unknown", "WaitingForEndpoints")
	ready(t, svc, "http", b)
	k = waitKIngress(t, r.ns, "web", kingressv1alpha1.ConditionReady, "True", "")
	if k.Status.ObservedGeneration != k.Generation {
		t.Errorf("observed generation %d of %d", k.Status.ObservedGeneration, k.Generation)
	}
	if code, body, _ := through(t, r.external, "web2.example.com", "/two"); code != 200 || body != "b /two" {
		t.Errorf("web2.example.com: %d %q", code, body)
	}
}
