package controller_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/kfup/kfup/components/ingress/agent"
	kingressv1alpha1 "github.com/kfup/kfup/components/ingress/api/v1alpha1"
	"github.com/kfup/kfup/components/ingress/controller"
	"github.com/kfup/kfup/components/ingress/proxy"
	"github.com/kfup/kfup/components/ingress/route"
	"github.com/kfup/kfup/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { os.Exit(testenv.Main(m, &env, controller.NewAPI())) }

// installKIngressCRD creates Knative's own KIngress CRD, from the Knative Serving release
// kfup vendors.
func installKIngressCRD(t *testing.T) {
	t.Helper()
	env.InstallKnativeCRDs(t, "ingresses.networking.internal.knative.dev")
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// rig is a controller and a real proxy process (kfup agent ingress's Run) on one API server.
type rig struct {
	ns, routes, certs            string
	external, externalTLS, admin string
}

// startRig runs the proxy against the ConfigMap cmName in ns, and the controller asking it.
func startRig(t *testing.T, cmName string) *rig {
	t.Helper()
	installKIngressCRD(t)
	ns := env.Namespace(t)
	r := &rig{ns: ns, routes: cmName, certs: cmName + "-certs", external: freeAddr(t), externalTLS: freeAddr(t), admin: freeAddr(t)}
	cs, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- agent.Run(ctx, cs, agent.Options{Namespace: ns, ConfigMap: cmName, CertsSecret: r.certs,
			ExternalAddr: r.external, ExternalTLSAddr: r.externalTLS, InternalAddr: freeAddr(t), AdminAddr: r.admin, HTTPSPort: 443},
			slog.New(slog.NewTextHandler(io.Discard, nil)))
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("the proxy: %v", err)
		}
	})
	cfg := controller.DefaultConfig()
	cfg.SkipNameValidation = true
	cfg.Namespace, cfg.RoutesConfigMap, cfg.CertsSecret = ns, cmName, r.certs
	cfg.Knative = true
	cfg.ProxyAdmin = "http://" + r.admin
	env.StartManager(t, &controller.API{Config: cfg})
	return r
}

// eventually polls cond for up to 30s and fails t with its last word.
func eventually(t *testing.T, what string, cond func(context.Context) (bool, string)) {
	t.Helper()
	var last string
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		ok, msg := cond(ctx)
		last = msg
		return ok, nil
	})
	if err != nil {
		t.Fatalf("%s: %s", what, last)
	}
}

func service(t *testing.T, ns, name string, ports ...corev1.ServicePort) *corev1.Service {
	t.Helper()
	if len(ports) == 0 {
		ports = []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}}
	}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: corev1.ServiceSpec{Ports: ports}}
	if err := env.Client.Create(context.Background(), svc); err != nil {
		t.Fatal(err)
	}
	return svc
}

// ready gives Service svc's port portName ready endpoints at addrs ("ip:port"), as
// Kubernetes' EndpointSlice controller would (envtest runs none): one EndpointSlice per
// port number, those of before deleted; none, no ready endpoint.
func ready(t *testing.T, svc *corev1.Service, portName string, addrs ...string) {
	t.Helper()
	ctx := context.Background()
	const portLabel = "test.kfup.dev/port"
	labels := map[string]string{discoveryv1.LabelServiceName: svc.Name, portLabel: strings.ToLower(portName)}
	if err := env.Client.DeleteAllOf(ctx, &discoveryv1.EndpointSlice{}, client.InNamespace(svc.Namespace), client.MatchingLabels(labels)); err != nil {
		t.Fatal(err)
	}
	byPort := map[int32]*discoveryv1.EndpointSlice{}
	for _, a := range addrs {
		host, p, err := net.SplitHostPort(a)
		if err != nil {
			t.Fatal(err)
		}
		n, _ := strconv.Atoi(p)
		port := int32(n)
		e := byPort[port]
		if e == nil {
			e = &discoveryv1.EndpointSlice{
				ObjectMeta:  metav1.ObjectMeta{Namespace: svc.Namespace, GenerateName: svc.Name + "-", Labels: labels},
				AddressType: discoveryv1.AddressTypeIPv4,
				Ports:       []discoveryv1.EndpointPort{{Name: ptr.To(portName), Port: ptr.To(port), Protocol: ptr.To(corev1.ProtocolTCP)}},
			}
			byPort[port] = e
		}
		e.Endpoints = append(e.Endpoints, discoveryv1.Endpoint{Addresses: []string{host}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}})
	}
	for _, e := range byPort {
		if err := env.Client.Create(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
}

// localBackend is an HTTP/1.1 and h2c server answering "name path" on an address of this
// machine's that is not a loopback one (EndpointSlices refuse those); it returns that
// address, a pod address for the tests' EndpointSlices.
func localBackend(t *testing.T, name string) string {
	t.Helper()
	ip := ""
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
			ip = n.IP.String()
			break
		}
	}
	if ip == "" {
		t.Skip("no IPv4 address but loopback: an EndpointSlice cannot point at this machine")
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewUnstartedServer(nil)
	s.Listener.Close()
	s.Listener = ln
	s.Config = proxy.Server(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s", name, r.URL.Path)
	}))
	s.Start()
	t.Cleanup(s.Close)
	return strings.TrimPrefix(s.URL, "http://")
}

// through sends GET path for host to the proxy at addr: its status, body and why header.
func through(t *testing.T, addr, host, path string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
	req.Host = host
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header.Get(proxy.RouteHeader)
}

func kingress(t *testing.T, ns, doc string) *kingressv1alpha1.Ingress {
	t.Helper()
	var k kingressv1alpha1.Ingress
	if err := yaml.UnmarshalStrict([]byte(doc), &k); err != nil {
		t.Fatal(err)
	}
	k.Namespace = ns
	if err := env.Client.Create(context.Background(), &k); err != nil {
		t.Fatal(err)
	}
	return &k
}

func condition(k *kingressv1alpha1.Ingress, typ string) kingressv1alpha1.Condition {
	for _, c := range k.Status.Conditions {
		if c.Type == typ {
			return c
		}
	}
	return kingressv1alpha1.Condition{}
}

// waitKIngress waits until KIngress ns/name has condition typ with status (and reason,
// when given).
func waitKIngress(t *testing.T, ns, name, typ, status, reason string) *kingressv1alpha1.Ingress {
	t.Helper()
	k := &kingressv1alpha1.Ingress{}
	eventually(t, fmt.Sprintf("%s/%s %s=%s %s", ns, name, typ, status, reason), func(ctx context.Context) (bool, string) {
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, k); err != nil {
			return false, err.Error()
		}
		c := condition(k, typ)
		return c.Status == status && (reason == "" || c.Reason == reason), fmt.Sprintf("%+v", k.Status.Conditions)
	})
	return k
}

// published reads the route table from the ConfigMap.
func published(t *testing.T, r *rig) (*route.Table, *corev1.ConfigMap) {
	t.Helper()
	var cm corev1.ConfigMap
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: r.ns, Name: r.routes}, &cm); err != nil {
		t.Fatal(err)
	}
	var tab route.Table
	if err := json.Unmarshal([]byte(cm.Data[proxy.RoutesKey]), &tab); err != nil {
		t.Fatal(err)
	}
	return &tab, &cm
}

const class = `  annotations: {networking.knative.dev/ingress.class: kfup.ingress.networking.knative.dev}
`

// A KIngress of kfup's class: the table published holds its hosts, splits and headers
// resolved to the Services' ready endpoints, the proxy serves it (to those endpoints),
// and the status says so with both load balancers.
func TestKIngressStatusAndRoutes(t *testing.T) {
	r := startRig(t, "routes-a")
	v1 := service(t, r.ns, "hello-00001")
	v2 := service(t, r.ns, "hello-00002", corev1.ServicePort{Name: "http2", Port: 81, TargetPort: intstr.FromInt32(8013)})
	addr1, addr2 := localBackend(t, "v1"), localBackend(t, "v2")
	ready(t, v1, "http", addr1)
	ready(t, v2, "http2", addr2)
	kingress(t, r.ns, `
metadata:
  name: hello
`+class+`spec:
  rules:
  - hosts: [hello.example.com]
    visibility: ExternalIP
    http:
      paths:
      - headers: {Knative-Serving-Tag: {exact: canary}}
        splits: [{serviceName: hello-00002, serviceNamespace: `+r.ns+`, servicePort: 81}]
      - splits:
        - {serviceName: hello-00001, serviceNamespace: `+r.ns+`, servicePort: 80, percent: 90, appendHeaders: {Knative-Serving-Revision: hello-00001}}
        - {serviceName: hello-00002, serviceNamespace: `+r.ns+`, servicePort: 81, percent: 10}
  - hosts: [hello.`+r.ns+`.svc.cluster.local]
    visibility: ClusterLocal
    http:
      paths:
      - splits: [{serviceName: hello-00001, serviceNamespace: `+r.ns+`, servicePort: http}]
`)
	k := waitKIngress(t, r.ns, "hello", kingressv1alpha1.ConditionReady, "True", "")
	for _, typ := range []string{kingressv1alpha1.ConditionLoadBalancerReady, kingressv1alpha1.ConditionNetworkConfigured} {
		if c := condition(k, typ); c.Status != "True" {
			t.Errorf("%s: %+v", typ, c)
		}
	}
	if k.Status.ObservedGeneration != k.Generation {
		t.Errorf("observedGeneration %d, generation %d", k.Status.ObservedGeneration, k.Generation)
	}
	if lb := k.Status.PublicLoadBalancer; lb == nil || lb.Ingress[0].DomainInternal != "kfup-ingress.kfup-system.svc.cluster.local" {
		t.Errorf("public load balancer %+v", lb)
	}
	if lb := k.Status.PrivateLoadBalancer; lb == nil || lb.Ingress[0].DomainInternal != "kfup-ingress-internal.kfup-system.svc.cluster.local" {
		t.Errorf("private load balancer %+v", lb)
	}
	tab, cm := published(t, r)
	if cm.Labels["kfup.dev/api"] != controller.APIName {
		t.Errorf("routes ConfigMap labels %v", cm.Labels)
	}
	at := func(s *route.Split, addr string) bool {
		return s != nil && len(s.Backend.Endpoints) == 1 && s.Backend.Endpoints[0] == addr && s.Backend.Address == ""
	}
	rt := tab.Lookup(true, "hello.example.com", "/", nil)
	if rt == nil || !at(rt.Pick(0), addr1) || !at(rt.Pick(95), addr2) || !rt.Pick(95).Backend.H2C {
		t.Fatalf("default route %+v, want 90 %% %s and 10 %% %s over h2c", rt, addr1, addr2)
	}
	if got := rt.Pick(0).AppendHeaders["Knative-Serving-Revision"]; got != "hello-00001" {
		t.Errorf("appended revision header %q", got)
	}
	if rt := tab.Lookup(true, "hello.example.com", "/", http.Header{"Knative-Serving-Tag": {"canary"}}); rt == nil || !at(rt.Pick(0), addr2) {
		t.Errorf("tag route %+v", rt)
	}
	if rt := tab.Lookup(true, "hello."+r.ns+".svc.cluster.local", "/", nil); rt != nil {
		t.Errorf("a cluster-local host on the external listener: %+v", rt)
	}
	if rt := tab.Lookup(false, "hello."+r.ns+".svc.cluster.local", "/", nil); rt == nil || !at(rt.Pick(0), addr1) {
		t.Errorf("cluster-local route %+v", rt)
	}

	// The proxy serves that table, to the endpoints (over h2c to hello-00002's), and a
	// request for another host gets the proxy's own 404.
	if code, body, why := through(t, r.external, "hello.example.com", "/x"); code != 200 || (body != "v1 /x" && body != "v2 /x") {
		t.Errorf("hello.example.com/x: %d %q %s", code, body, why)
	}
	if code, _, why := through(t, r.external, "nobody.example.com", "/"); code != 404 || !strings.Contains(why, "no route") {
		t.Errorf("nobody.example.com: %d %q, want the proxy's no route", code, why)
	}

	// A KIngress of another class is not kfup's: no status, no route.
	kingress(t, r.ns, `
metadata:
  name: other
  annotations: {networking.knative.dev/ingress.class: istio.ingress.networking.knative.dev}
spec:
  rules: [{hosts: [other.example.com], http: {paths: [{splits: [{serviceName: hello-00001, serviceNamespace: `+r.ns+`, servicePort: 80}]}]}}]
`)
	// An update recompiles: the tag route goes away.
	eventually(t, "update", func(ctx context.Context) (bool, string) {
		var k kingressv1alpha1.Ingress
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: r.ns, Name: "hello"}, &k); err != nil {
			return false, err.Error()
		}
		k.Spec.Rules[0].HTTP.Paths = k.Spec.Rules[0].HTTP.Paths[1:]
		err := env.Client.Update(ctx, &k)
		return err == nil, fmt.Sprint(err)
	})
	eventually(t, "the tag route removed and the status observing the new generation", func(ctx context.Context) (bool, string) {
		tab, _ := published(t, r)
		rt := tab.Lookup(true, "hello.example.com", "/", http.Header{"Knative-Serving-Tag": {"canary"}})
		var k kingressv1alpha1.Ingress
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: r.ns, Name: "hello"}, &k); err != nil {
			return false, err.Error()
		}
		return rt != nil && at(rt.Pick(0), addr1) && k.Status.ObservedGeneration == k.Generation && condition(&k, "Ready").Status == "True",
			fmt.Sprintf("route %+v, observed %d of %d", rt, k.Status.ObservedGeneration, k.Generation)
	})
	var other kingressv1alpha1.Ingress
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: r.ns, Name: "other"}, &other); err != nil {
		t.Fatal(err)
	}
	if len(other.Status.Conditions) > 0 {
		t.Errorf("a KIngress of another class got a status: %+v", other.Status)
	}
	if tab, _ := published(t, r); tab.Lookup(true, "other.example.com", "/", nil) != nil {
		t.Error("a KIngress of another class was routed")
	}
}

// What kfup's proxy cannot express is never a silently wrong route: Ready=False naming
// the field, and no route; a backend Service that does not exist yet is waited for.
func TestKIngressRefusedAndWaiting(t *testing.T) {
	r := startRig(t, "routes-b")
	service(t, r.ns, "web")
	kingress(t, r.ns, `
metadata:
  name: tls
`+class+`spec:
  rules: [{hosts: [tls.example.com], http: {paths: [{splits: [
    {serviceName: web, serviceNamespace: `+r.ns+`, servicePort: 80, percent: 50},
    {serviceName: web, serviceNamespace: `+r.ns+`, servicePort: 80, percent: 40}]}]}}]
`)
	k := waitKIngress(t, r.ns, "tls", kingressv1alpha1.ConditionReady, "False", "Unsupported")
	if c := condition(k, kingressv1alpha1.ConditionNetworkConfigured); c.Status != "False" || !strings.Contains(c.Message, "spec.rules[0].http.paths[0].splits") {
		t.Errorf("NetworkConfigured %+v, want False naming the splits", c)
	}
	if k.Status.PublicLoadBalancer != nil {
		t.Errorf("a refused KIngress has a load balancer: %+v", k.Status.PublicLoadBalancer)
	}
	if tab, _ := published(t, r); tab.Lookup(true, "tls.example.com", "/", nil) != nil {
		t.Error("a refused KIngress was routed")
	}

	kingress(t, r.ns, `
metadata:
  name: later
`+class+`spec:
  rules: [{hosts: [later.example.com], http: {paths: [{splits: [{serviceName: later, serviceNamespace: `+r.ns+`, servicePort: 80}]}]}}]
`)
	k = waitKIngress(t, r.ns, "later", kingressv1alpha1.ConditionLoadBalancerReady, "Unknown", "WaitingForBackends")
	if c := condition(k, kingressv1alpha1.ConditionLoadBalancerReady); !strings.Contains(c.Message, r.ns+"/later:80: no such Service") {
		t.Errorf("LoadBalancerReady %+v, want the missing Service named", c)
	}
	later := service(t, r.ns, "later")
	k = waitKIngress(t, r.ns, "later", kingressv1alpha1.ConditionLoadBalancerReady, "Unknown", "WaitingForEndpoints")
	if c := condition(k, kingressv1alpha1.ConditionLoadBalancerReady); c.Message != "no ready endpoints for "+r.ns+"/later:80" {
		t.Errorf("LoadBalancerReady %+v, want the Service without endpoints named", c)
	}
	ready(t, later, "http", "10.244.0.9:8080")
	waitKIngress(t, r.ns, "later", kingressv1alpha1.ConditionReady, "True", "")
}

// Kubernetes Ingresses of class kfup get routes and the host's address in their status;
// other classes are left alone; a resource backend is refused with an event.
func TestIngressOfClassKfup(t *testing.T) {
	r := startRig(t, "routes-c")
	service(t, r.ns, "web")
	prefix := networkingv1.PathTypePrefix
	mk := func(name string, cls *string, backend networkingv1.IngressBackend) *networkingv1.Ingress {
		ing := &networkingv1.Ingress{
			ObjectMeta: metav1.ObjectMeta{Namespace: r.ns, Name: name},
			Spec: networkingv1.IngressSpec{IngressClassName: cls, Rules: []networkingv1.IngressRule{{
				Host: name + ".example.com",
				IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{
					{Path: "/api", PathType: &prefix, Backend: backend},
				}}},
			}}},
		}
		if err := env.Client.Create(context.Background(), ing); err != nil {
			t.Fatal(err)
		}
		return ing
	}
	web := networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Name: "http"}}}
	mk("mine", ptr.To("kfup"), web)
	mk("nginx", ptr.To("nginx"), web)
	mk("bucket", ptr.To("kfup"), networkingv1.IngressBackend{Resource: &corev1.TypedLocalObjectReference{Kind: "Bucket", Name: "b"}})
	eventually(t, "Ingress mine served", func(ctx context.Context) (bool, string) {
		var ing networkingv1.Ingress
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: r.ns, Name: "mine"}, &ing); err != nil {
			return false, err.Error()
		}
		lb := ing.Status.LoadBalancer.Ingress
		return len(lb) == 1 && lb[0].IP == "127.0.0.1", fmt.Sprintf("%+v", ing.Status)
	})
	eventually(t, "an Unsupported event on Ingress bucket", func(ctx context.Context) (bool, string) {
		var evs corev1.EventList
		if err := env.Client.List(ctx, &evs, client.InNamespace(r.ns)); err != nil {
			return false, err.Error()
		}
		for _, e := range evs.Items {
			if e.InvolvedObject.Name == "bucket" && e.Reason == "Unsupported" && strings.Contains(e.Message, "backend.resource") {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d events", len(evs.Items))
	})
	tab, _ := published(t, r)
	if rt := tab.Lookup(true, "mine.example.com", "/api/v1", nil); rt == nil || rt.Pick(0).Backend.Name != "web" {
		t.Errorf("mine.example.com/api/v1: %+v", rt)
	}
	if rt := tab.Lookup(true, "mine.example.com", "/apis", nil); rt != nil {
		t.Errorf("pathType Prefix matched /apis: %+v", rt)
	}
	for _, name := range []string{"nginx", "bucket"} {
		if tab.Lookup(true, name+".example.com", "/api", nil) != nil {
			t.Errorf("Ingress %s was routed", name)
		}
		var ing networkingv1.Ingress
		if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: r.ns, Name: name}, &ing); err != nil {
			t.Fatal(err)
		}
		if len(ing.Status.LoadBalancer.Ingress) > 0 {
			t.Errorf("Ingress %s got an address: %+v", name, ing.Status.LoadBalancer)
		}
	}
}

// A ConfigMap of the routes' name that is not kfup's is never written.
func TestForeignRoutesConfigMapUntouched(t *testing.T) {
	ns := env.Namespace(t)
	foreign := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "routes-d"}, Data: map[string]string{"mine": "yes"}}
	if err := env.Client.Create(context.Background(), foreign); err != nil {
		t.Fatal(err)
	}
	cfg := controller.DefaultConfig()
	cfg.SkipNameValidation = true
	cfg.Namespace, cfg.RoutesConfigMap, cfg.ProxyAdmin = ns, "routes-d", ""
	env.StartManager(t, &controller.API{Config: cfg})
	service(t, ns, "web")
	ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "x"}, Spec: networkingv1.IngressSpec{
		IngressClassName: ptr.To("kfup"),
		DefaultBackend:   &networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}}},
	}}
	if err := env.Client.Create(context.Background(), ing); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second) // a few reconciles
	var got corev1.ConfigMap
	if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(foreign), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Data) != 1 || got.Data["mine"] != "yes" || got.Labels["kfup.dev/api"] != "" {
		t.Errorf("the foreign ConfigMap was changed: %+v", got)
	}
}
