package route_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	kingressv1alpha1 "github.com/kfup/kfup/components/ingress/api/v1alpha1"
	"github.com/kfup/kfup/components/ingress/route"
)

// services are the Services the tests' objects name: Knative-style revision Services (port
// 80 "http" to 8080, h2c 81 "http2" to 8013), a gRPC one by appProtocol, a headless one, one
// without ready endpoints and an ExternalName, with their EndpointSlices.
func services() *route.Services {
	svc := func(ns, name, ip string, ports ...corev1.ServicePort) *corev1.Service {
		return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: corev1.ServiceSpec{ClusterIP: ip, Ports: ports}}
	}
	http80 := corev1.ServicePort{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}
	h2c81 := corev1.ServicePort{Name: "http2", Port: 81, Protocol: corev1.ProtocolTCP}
	grpc := corev1.ServicePort{Name: "api", Port: 9000, AppProtocol: ptr.To("kubernetes.io/h2c")}
	ext := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "placeholder"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "kfup-ingress.kfup-system.svc.cluster.local"}}
	return route.NewServices(
		svc("default", "hello-00001", "10.0.0.1", http80, h2c81),
		svc("default", "hello-00002", "10.0.0.2", http80, h2c81),
		svc("default", "tagged", "10.0.0.3", http80),
		svc("ml", "model", "10.0.1.1", http80, grpc),
		svc("ml", "headless", corev1.ClusterIPNone, http80),
		svc("ml", "idle", "10.0.1.2", http80),
		ext,
	).WithEndpointSlices(
		endpointSlice("default", "hello-00001", map[string]int32{"http": 8080, "http2": 8013}, "10.1.0.1", "10.1.0.2"),
		endpointSlice("default", "hello-00002", map[string]int32{"http": 8080, "http2": 8013}, "10.1.0.3"),
		endpointSlice("default", "tagged", map[string]int32{"http": 8080}, "10.1.0.4"),
		endpointSlice("ml", "model", map[string]int32{"http": 8080, "api": 9090}, "10.1.1.1"),
		endpointSlice("ml", "headless", map[string]int32{"http": 80}, "10.1.1.2"),
		endpointSlice("ml", "idle", map[string]int32{"http": 8080}),
	)
}

// endpointSlice is an IPv4 EndpointSlice of Service ns/svc: ports by name, a ready
// endpoint per address.
func endpointSlice(ns, svc string, ports map[string]int32, ips ...string) *discoveryv1.EndpointSlice {
	e := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: ns, Name: svc + "-abcde", Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
		AddressType: discoveryv1.AddressTypeIPv4,
	}
	for name, port := range ports {
		e.Ports = append(e.Ports, discoveryv1.EndpointPort{Name: ptr.To(name), Port: ptr.To(port), Protocol: ptr.To(corev1.ProtocolTCP)})
	}
	for _, ip := range ips {
		e.Endpoints = append(e.Endpoints, discoveryv1.Endpoint{Addresses: []string{ip}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}})
	}
	return e
}

// dest is where a backend sends requests: its endpoints, or its external name.
func dest(b route.Backend) string {
	if b.Address != "" {
		return b.Address
	}
	return strings.Join(b.Endpoints, ",")
}

func kingress(t *testing.T, doc string) *kingressv1alpha1.Ingress {
	t.Helper()
	var ing kingressv1alpha1.Ingress
	if err := yaml.UnmarshalStrict([]byte(doc), &ing); err != nil {
		t.Fatal(err)
	}
	return &ing
}

// hello is the KIngress Knative Serving writes for a Service "hello" split 90/10 between
// two revisions, with a tag route and a cluster-local rule.
const hello = `
metadata: {name: hello, namespace: default}
spec:
  httpOption: Enabled
  rules:
  - hosts: [hello.default.example.com]
    visibility: ExternalIP
    http:
      paths:
      - headers: {Knative-Serving-Tag: {exact: canary}}
        appendHeaders: {K-Route-Tag: canary}
        splits:
        - {serviceName: hello-00002, serviceNamespace: default, servicePort: 80, percent: 100,
           appendHeaders: {Knative-Serving-Revision: hello-00002, Knative-Serving-Namespace: default}}
      - splits:
        - {serviceName: hello-00001, serviceNamespace: default, servicePort: 80, percent: 90,
           appendHeaders: {Knative-Serving-Revision: hello-00001, Knative-Serving-Namespace: default}}
        - {serviceName: hello-00002, serviceNamespace: default, servicePort: 80, percent: 10,
           appendHeaders: {Knative-Serving-Revision: hello-00002, Knative-Serving-Namespace: default}}
  - hosts: [hello.default, hello.default.svc, hello.default.svc.cluster.local]
    visibility: ClusterLocal
    http:
      paths:
      - path: /private
        rewriteHost: tagged.default.svc.cluster.local
        splits:
        - {serviceName: tagged, serviceNamespace: default, servicePort: http}
      - splits:
        - {serviceName: hello-00001, serviceNamespace: default, servicePort: 81}
`

func TestKIngressRoutes(t *testing.T) {
	res := route.KIngress(kingress(t, hello), services())
	if len(res.Invalid) > 0 || len(res.Waiting) > 0 {
		t.Fatalf("invalid %v, waiting %v", res.Invalid, res.Waiting)
	}
	if diff := cmp.Diff([]string{"default/hello-00002", "default/hello-00001", "default/tagged"}, res.Backends); diff != "" {
		t.Errorf("backends (-want +got):\n%s", diff)
	}
	tab := route.NewTable()
	res.AddTo(tab)
	if diff := cmp.Diff([]string{"hello.default.example.com"}, tab.Hosts(true)); diff != "" {
		t.Errorf("external hosts (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"hello.default", "hello.default.example.com", "hello.default.svc", "hello.default.svc.cluster.local"}, tab.Hosts(false)); diff != "" {
		t.Errorf("internal hosts (-want +got):\n%s", diff)
	}
	tag := http.Header{"Knative-Serving-Tag": {"canary"}}
	tests := []struct {
		name     string
		external bool
		host     string
		path     string
		header   http.Header
		draw     int
		want     string // split endpoints, "" for no route
		h2c      bool
		rewrite  string
		headers  map[string]string // route's then split's appended headers
	}{
		{"90 % side of the split", true, "hello.default.example.com", "/", nil, 0, "10.1.0.1:8080,10.1.0.2:8080", false, "",
			map[string]string{"Knative-Serving-Revision": "hello-00001", "Knative-Serving-Namespace": "default"}},
		{"the last of the 90", true, "hello.default.example.com:8080", "/x", nil, 89, "10.1.0.1:8080,10.1.0.2:8080", false, "", nil},
		{"10 % side of the split", true, "HELLO.default.example.com", "/", nil, 90, "10.1.0.3:8080", false, "",
			map[string]string{"Knative-Serving-Revision": "hello-00002"}},
		{"tag header wins over the default path", true, "hello.default.example.com", "/", tag, 0, "10.1.0.3:8080", false, "",
			map[string]string{"K-Route-Tag": "canary", "Knative-Serving-Revision": "hello-00002"}},
		{"wrong tag value: the default path", true, "hello.default.example.com", "/", http.Header{"Knative-Serving-Tag": {"other"}}, 0, "10.1.0.1:8080,10.1.0.2:8080", false, "", nil},
		{"cluster-local host not served outside", true, "hello.default.svc.cluster.local", "/", nil, 0, "", false, "", nil},
		{"cluster-local host inside, h2c by port name", false, "hello.default.svc.cluster.local", "/", nil, 0, "10.1.0.1:8013,10.1.0.2:8013", true, "", nil},
		{"longer prefix first, port named, host rewritten", false, "hello.default", "/private/a", nil, 0, "10.1.0.4:8080", false, "tagged.default.svc.cluster.local", nil},
		{"external host also inside", false, "hello.default.example.com", "/", nil, 95, "10.1.0.3:8080", false, "", nil},
		{"unknown host", true, "other.example.com", "/", nil, 0, "", false, "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := tab.Lookup(tc.external, tc.host, tc.path, tc.header)
			if tc.want == "" {
				if r != nil {
					t.Fatalf("got a route from %s, want none", r.Source)
				}
				return
			}
			if r == nil {
				t.Fatal("no route")
			}
			s := r.Pick(tc.draw)
			if s == nil || dest(s.Backend) != tc.want || s.Backend.H2C != tc.h2c || r.RewriteHost != tc.rewrite {
				t.Fatalf("split %+v rewrite %q, want %s h2c=%v rewrite %q", s, r.RewriteHost, tc.want, tc.h2c, tc.rewrite)
			}
			for k, v := range tc.headers {
				got, ok := r.AppendHeaders[k]
				if !ok {
					got = s.AppendHeaders[k]
				}
				if got != v {
					t.Errorf("appended %s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

// Every route of a KIngress carries the KIngress's version as Knative computes it
// (knative.dev/networking/pkg/ingress.ComputeHash): the value below is what Knative's
// function gives for hello, so a Knative prober comparing hashes agrees with kfup. A
// change of the spec, or another name, is another version.
func TestKIngressProbeHash(t *testing.T) {
	const knativeHash = "161dbcef1ef5c2ec0b9c1ed91a768d53a55d54cb94c224d7a95b59cc58e42de4"
	ing := kingress(t, hello)
	got, err := route.ProbeHash(ing)
	if err != nil || got != knativeHash {
		t.Fatalf("ProbeHash = %q, %v; want Knative's %q", got, err, knativeHash)
	}
	tab := route.NewTable()
	route.KIngress(ing, services()).AddTo(tab)
	for _, r := range []*route.Route{
		tab.Lookup(true, "hello.default.example.com", "/", nil),
		tab.Lookup(true, "hello.default.example.com", "/", http.Header{"Knative-Serving-Tag": {"canary"}}),
		tab.Lookup(false, "hello.default.svc", "/private", nil),
	} {
		if r == nil || r.ProbeHash != knativeHash {
			t.Errorf("route %+v: ProbeHash want %q", r, knativeHash)
		}
	}
	changed := ing.DeepCopy()
	changed.Spec.Rules[0].HTTP.Paths[1].Splits[0].Percent = 80
	changed.Spec.Rules[0].HTTP.Paths[1].Splits[1].Percent = 20
	renamed := ing.DeepCopy()
	renamed.Name = "hello2"
	for _, other := range []*kingressv1alpha1.Ingress{changed, renamed} {
		if h, _ := route.ProbeHash(other); h == knativeHash {
			t.Errorf("%s/%s %v: same hash as hello", other.Namespace, other.Name, other.Spec.Rules[0].HTTP.Paths[1].Splits)
		}
	}
}

// A Result's fingerprint is its routes as compiled: stable for the same object and
// Services, and for endpoints that come and go, to none (NoEndpoints says so); different
// when the spec changes.
func TestFingerprint(t *testing.T) {
	ing := kingress(t, hello)
	a, b := route.KIngress(ing, services()).Fingerprint(), route.KIngress(ing, services()).Fingerprint()
	if a != b || a == "" {
		t.Fatalf("same object, same Services: %q and %q", a, b)
	}
	withSlices := func(eps ...*discoveryv1.EndpointSlice) *route.Services {
		s := services()
		return route.NewServices(s.Service("default", "hello-00001"), s.Service("default", "hello-00002"), s.Service("default", "tagged")).WithEndpointSlices(eps...)
	}
	rest := []*discoveryv1.EndpointSlice{
		endpointSlice("default", "hello-00002", map[string]int32{"http": 8080, "http2": 8013}, "10.1.0.3"),
		endpointSlice("default", "tagged", map[string]int32{"http": 8080}, "10.1.0.4"),
	}
	scaled := withSlices(append(rest, endpointSlice("default", "hello-00001", map[string]int32{"http": 8080, "http2": 8013}, "10.1.0.7"))...)
	if got := route.KIngress(ing, scaled).Fingerprint(); got != a {
		t.Error("other ready endpoints changed the fingerprint")
	}
	gone := withSlices(rest...)
	res := route.KIngress(ing, gone)
	if res.Fingerprint() != a {
		t.Error("a backend without endpoints changed the fingerprint")
	}
	if diff := cmp.Diff([]string{"default/hello-00001:80", "default/hello-00001:81"}, res.NoEndpoints); diff != "" {
		t.Errorf("no endpoints (-want +got):\n%s", diff)
	}
	changed := ing.DeepCopy()
	changed.Spec.Rules[1].HTTP.Paths[0].Path = "/other"
	if route.KIngress(changed, services()).Fingerprint() == a {
		t.Error("a new path left the fingerprint unchanged")
	}
}

// Ready endpoints come from the slices of the Service port's name, with the slice's
// (target) port: not ready and terminating ones left out, nil readiness counted ready,
// each address once, IPv6 bracketed, FQDN slices and other ports' slices ignored.
func TestReadyEndpoints(t *testing.T) {
	v4 := endpointSlice("ns", "s", map[string]int32{"http": 8080}, "10.0.0.2", "10.0.0.1")
	v4.Endpoints = append(v4.Endpoints,
		discoveryv1.Endpoint{Addresses: []string{"10.0.0.3"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(false), Serving: ptr.To(true), Terminating: ptr.To(true)}},
		discoveryv1.Endpoint{Addresses: []string{"10.0.0.4", "10.0.0.44"}},
		discoveryv1.Endpoint{Addresses: []string{"10.0.0.1"}}, // also in the other slice
	)
	// a named target port resolved differently for some pods: another slice
	other := endpointSlice("ns", "s", map[string]int32{"http": 8081}, "10.0.0.5")
	v6 := endpointSlice("ns", "s", map[string]int32{"http": 8080}, "fd00::1")
	v6.AddressType = discoveryv1.AddressTypeIPv6
	fqdn := endpointSlice("ns", "s", map[string]int32{"http": 8080}, "pod.example.com")
	fqdn.AddressType = discoveryv1.AddressTypeFQDN
	grpc := endpointSlice("ns", "s", map[string]int32{"grpc": 9000}, "10.0.0.9")
	unnamed := endpointSlice("ns", "u", map[string]int32{"": 5000}, "10.0.1.1")
	udp := endpointSlice("ns", "s", map[string]int32{"http": 53}, "10.0.2.1")
	udp.Ports[0].Protocol = ptr.To(corev1.ProtocolUDP)
	tests := []struct {
		name string
		port string
		eps  []*discoveryv1.EndpointSlice
		want []string
	}{
		{"ready only, sorted, once", "http", []*discoveryv1.EndpointSlice{v4, other, v6, fqdn, grpc, udp},
			[]string{"10.0.0.1:8080", "10.0.0.2:8080", "10.0.0.4:8080", "10.0.0.5:8081", "[fd00::1]:8080"}},
		{"another port", "grpc", []*discoveryv1.EndpointSlice{v4, grpc}, []string{"10.0.0.9:9000"}},
		{"the only, unnamed port", "", []*discoveryv1.EndpointSlice{unnamed, v4}, []string{"10.0.1.1:5000"}},
		{"no slices", "http", nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, route.ReadyEndpoints(tc.port, tc.eps)); diff != "" {
				t.Errorf("endpoints (-want +got):\n%s", diff)
			}
		})
	}
}

// A 90/10 split sends 90 and 10 of every 100 draws.
func TestSplitShares(t *testing.T) {
	tab := route.NewTable()
	route.KIngress(kingress(t, hello), services()).AddTo(tab)
	r := tab.Lookup(true, "hello.default.example.com", "/", nil)
	got := map[string]int{}
	for n := range 100 {
		got[r.Pick(n).Backend.Name]++
	}
	if diff := cmp.Diff(map[string]int{"hello-00001": 90, "hello-00002": 10}, got); diff != "" {
		t.Errorf("shares (-want +got):\n%s", diff)
	}
}

// What the proxy cannot express is refused with the field named, and adds no route.
func TestKIngressInvalid(t *testing.T) {
	tests := []struct{ name, spec, want string }{
		{"tls secret without a key", `
  tls: [{hosts: [a.example.com], secretName: nokey, secretNamespace: default}]
  rules: [{hosts: [a.example.com], http: {paths: [{splits: [{serviceName: tagged, serviceNamespace: default, servicePort: 80}]}]}}]`,
			`spec.tls[0].secretName: Invalid value: "nokey": Secret default/nokey has no tls.key`},
		{"tls secret not a pair", `
  tls: [{hosts: [a.example.com], secretName: mismatched, secretNamespace: default}]
  rules: [{hosts: [a.example.com], http: {paths: [{splits: [{serviceName: tagged, serviceNamespace: default, servicePort: 80}]}]}}]`,
			`spec.tls[0].secretName: Invalid value: "mismatched": Secret default/mismatched: tls.crt and tls.key are not a certificate and its key`},
		{"tls without a namespace", `
  tls: [{hosts: [a.example.com], secretName: a-cert}]
  rules: [{hosts: [a.example.com], http: {paths: [{splits: [{serviceName: tagged, serviceNamespace: default, servicePort: 80}]}]}}]`,
			`spec.tls[0].secretNamespace: Required value`},
		{"tls host", `
  tls: [{hosts: ["a.*.com"], secretName: a-cert, secretNamespace: default}]
  rules: [{hosts: [a.example.com], http: {paths: [{splits: [{serviceName: tagged, serviceNamespace: default, servicePort: 80}]}]}}]`,
			`spec.tls[0].hosts[0]: Invalid value: "a.*.com"`},
		{"http option", `
  httpOption: Sometimes
  rules: [{hosts: [a.example.com], http: {paths: [{splits: [{serviceName: tagged, serviceNamespace: default, servicePort: 80}]}]}}]`,
			`spec.httpOption: Unsupported value: "Sometimes": supported values: "Enabled", "Redirected"`},
		{"percents", `
  rules: [{hosts: [a.example.com], http: {paths: [{splits: [
    {serviceName: tagged, serviceNamespace: default, servicePort: 80, percent: 50},
    {serviceName: tagged, serviceNamespace: default, servicePort: 80, percent: 40}]}]}}]`,
			"spec.rules[0].http.paths[0].splits: Invalid value: 90: the splits' percents must add up to 100"},
		{"path", `
  rules: [{hosts: [a.example.com], http: {paths: [{path: nope, splits: [{serviceName: tagged, serviceNamespace: default, servicePort: 80}]}]}}]`,
			`spec.rules[0].http.paths[0].path: Invalid value: "nope": must begin with '/'`},
		{"visibility", `
  rules: [{hosts: [a.example.com], visibility: Mesh, http: {paths: [{splits: [{serviceName: tagged, serviceNamespace: default, servicePort: 80}]}]}}]`,
			`spec.rules[0].visibility: Unsupported value: "Mesh"`},
		{"header name", `
  rules: [{hosts: [a.example.com], http: {paths: [{headers: {"bad header": {exact: x}}, splits: [{serviceName: tagged, serviceNamespace: default, servicePort: 80}]}]}}]`,
			`spec.rules[0].http.paths[0].headers[bad header]`},
		{"no splits", `
  rules: [{hosts: [a.example.com], http: {paths: [{splits: []}]}}]`,
			"spec.rules[0].http.paths[0].splits: Required value"},
		{"host", `
  rules: [{hosts: ["a_b.example.com"], http: {paths: [{splits: [{serviceName: tagged, serviceNamespace: default, servicePort: 80}]}]}}]`,
			`spec.rules[0].hosts[0]: Invalid value: "a_b.example.com"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := route.KIngress(kingress(t, "metadata: {name: x, namespace: default}\nspec:"+tc.spec), withCerts(t, services()))
			if !strings.Contains(res.Invalid.ToAggregate().Error(), tc.want) {
				t.Fatalf("invalid: %v, want %q", res.Invalid, tc.want)
			}
			tab := route.NewTable()
			res.AddTo(tab)
			if r := tab.Lookup(false, "a.example.com", "/", nil); r != nil {
				t.Errorf("an invalid object added a route from %s", r.Source)
			}
		})
	}
}

// A backend that cannot be resolved is waited for, and its route answers 503 (nowhere to
// send) rather than going elsewhere; one without ready endpoints is resolved, with none;
// a headless Service routes to its pods like any other; an ExternalName one by its name.
func TestBackendsWaitedFor(t *testing.T) {
	res := route.KIngress(kingress(t, `
metadata: {name: x, namespace: ml}
spec:
  rules:
  - hosts: [m.example.com]
    http:
      paths:
      - path: /a
        splits: [{serviceName: missing, serviceNamespace: ml, servicePort: 80}]
      - path: /b
        splits: [{serviceName: headless, serviceNamespace: ml, servicePort: 80}]
      - path: /c
        splits: [{serviceName: model, serviceNamespace: ml, servicePort: 8080}]
      - path: /grpc
        splits: [{serviceName: model, serviceNamespace: ml, servicePort: 9000}]
      - path: /ext
        splits: [{serviceName: placeholder, serviceNamespace: default, servicePort: 80}]
      - path: /idle
        splits: [{serviceName: idle, serviceNamespace: ml, servicePort: 80}]
`), services())
	want := []string{
		"ml/missing:80: no such Service",
		"ml/model:8080: the Service has no port 8080",
	}
	if diff := cmp.Diff(want, res.Waiting); diff != "" {
		t.Errorf("waiting (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"ml/idle:80"}, res.NoEndpoints); diff != "" {
		t.Errorf("no endpoints (-want +got):\n%s", diff)
	}
	tab := route.NewTable()
	res.AddTo(tab)
	for path, want := range map[string]string{
		"/a":    "",
		"/b":    "10.1.1.2:80",
		"/grpc": "10.1.1.1:9090",
		"/ext":  "kfup-ingress.kfup-system.svc.cluster.local:80",
		"/idle": "",
	} {
		s := tab.Lookup(true, "m.example.com", path, nil).Pick(0)
		if got := dest(s.Backend); got != want || s.Backend.Reachable() != (want != "") {
			t.Errorf("%s: backend %+v, want %q", path, s.Backend, want)
		}
	}
	if s := tab.Lookup(true, "m.example.com", "/grpc", nil).Pick(0); !s.Backend.H2C {
		t.Errorf("gRPC backend %+v, want h2c", s.Backend)
	}
}

// Kubernetes Ingress path types and hosts, as the Ingress API defines them.
func TestK8sIngressRoutes(t *testing.T) {
	prefix, exact, impl := networkingv1.PathTypePrefix, networkingv1.PathTypeExact, networkingv1.PathTypeImplementationSpecific
	backend := func(name string, port int32) networkingv1.IngressBackend {
		return networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: name, Port: networkingv1.ServiceBackendPort{Number: port}}}
	}
	ing := &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web"},
		Spec: networkingv1.IngressSpec{
			IngressClassName: ptr.To("kfup"),
			DefaultBackend:   ptr.To(backend("hello-00002", 80)),
			Rules: []networkingv1.IngressRule{
				{Host: "app.example.com", IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{
					{Path: "/foo", PathType: &prefix, Backend: backend("hello-00001", 80)},
					{Path: "/foo/exact", PathType: &exact, Backend: backend("tagged", 80)},
				}}}},
				{Host: "*.example.com", IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{
					{Path: "/", PathType: &impl, Backend: backend("tagged", 80)},
				}}}},
			},
		},
	}
	res := route.K8sIngress(ing, services())
	if len(res.Invalid) > 0 || len(res.Waiting) > 0 {
		t.Fatalf("invalid %v, waiting %v", res.Invalid, res.Waiting)
	}
	tab := route.NewTable()
	res.AddTo(tab)
	tests := []struct{ host, path, want string }{
		{"app.example.com", "/foo", "hello-00001"},
		{"app.example.com", "/foo/", "hello-00001"},
		{"app.example.com", "/foo/bar", "hello-00001"},
		{"app.example.com", "/foo/exact", "tagged"},
		{"app.example.com", "/foobar", "hello-00002"},   // not below /foo: the default backend
		{"x.example.com", "/anything", "tagged"},        // one label under the wildcard
		{"a.b.example.com", "/anything", "hello-00002"}, // two labels: not the wildcard's
		{"elsewhere.io", "/", "hello-00002"},
	}
	for _, tc := range tests {
		r := tab.Lookup(true, tc.host, tc.path, nil)
		if r == nil || r.Pick(0).Backend.Name != tc.want {
			t.Errorf("%s%s: route %+v, want %s", tc.host, tc.path, r, tc.want)
		}
	}
	bad := ing.DeepCopy()
	bad.Spec.Rules[0].HTTP.Paths[0].Backend = networkingv1.IngressBackend{Resource: &corev1.TypedLocalObjectReference{Kind: "Bucket", Name: "b"}}
	if got := route.K8sIngress(bad, services()).Invalid.ToAggregate().Error(); !strings.Contains(got, "spec.rules[0].http.paths[0].backend.resource: Unsupported value: \"Bucket\"") {
		t.Errorf("resource backend: %s", got)
	}
}

// The table survives its JSON form (the controller publishes it, the proxy reads it).
func TestTableJSON(t *testing.T) {
	tab := route.NewTable()
	route.KIngress(kingress(t, hello), services()).AddTo(tab)
	b, err := json.Marshal(tab)
	if err != nil {
		t.Fatal(err)
	}
	var back route.Table
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	b2, err := json.Marshal(&back)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != string(b2) {
		t.Errorf("JSON changed through a round trip:\n%s\n%s", b, b2)
	}
	for _, external := range []bool{true, false} {
		for _, h := range tab.Hosts(false) {
			for _, hdr := range []http.Header{nil, {"Knative-Serving-Tag": {"canary"}}} {
				a, z := tab.Lookup(external, h, "/private", hdr), back.Lookup(external, h, "/private", hdr)
				if (a == nil) != (z == nil) || (a != nil && !cmp.Equal(a.Splits, z.Splits)) {
					t.Errorf("%v %s: %+v vs %+v", external, h, a, z)
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(`{"routes":[],"external":{"any":[3]}}`), &back); err == nil {
		t.Error("an index out of range was read")
	}
}

// The cache keeps of a slice what ReadyEndpoints reads, and gives the same endpoints.
func TestTrimEndpointSlice(t *testing.T) {
	e := endpointSlice("ns", "s", map[string]int32{"http": 8080}, "10.0.0.1")
	e.UID, e.ResourceVersion = "u1", "42"
	e.Labels["endpointslice.kubernetes.io/managed-by"] = "endpointslice-controller.k8s.io"
	e.Annotations = map[string]string{"endpoints.kubernetes.io/last-change-trigger-time": "2026-12-07T00:00:00Z"}
	e.OwnerReferences = []metav1.OwnerReference{{Kind: "Service", Name: "s"}}
	e.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "kube-controller-manager"}}
	e.Endpoints[0].Addresses = append(e.Endpoints[0].Addresses, "10.0.0.11")
	e.Endpoints[0].NodeName, e.Endpoints[0].Zone, e.Endpoints[0].Hostname = ptr.To("node-1"), ptr.To("z"), ptr.To("pod-0")
	e.Endpoints[0].TargetRef = &corev1.ObjectReference{Kind: "Pod", Name: "pod-0", Namespace: "ns"}
	e.Endpoints = append(e.Endpoints, discoveryv1.Endpoint{Addresses: []string{"10.0.0.2"},
		Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(false), Terminating: ptr.To(true)}})
	got, err := route.TrimEndpointSlice(e)
	if err != nil {
		t.Fatal(err)
	}
	want := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "s-abcde", UID: "u1", ResourceVersion: "42",
			Labels: map[string]string{discoveryv1.LabelServiceName: "s"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       e.Ports,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"10.0.0.1"}}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("trimmed (-want +got):\n%s", diff)
	}
	trimmed := got.(*discoveryv1.EndpointSlice)
	if a, b := route.ReadyEndpoints("http", []*discoveryv1.EndpointSlice{e}), route.ReadyEndpoints("http", []*discoveryv1.EndpointSlice{trimmed}); !cmp.Equal(a, b) {
		t.Errorf("endpoints %v, trimmed %v", a, b)
	}
	if len(e.Endpoints) != 2 || len(e.Endpoints[0].Addresses) != 2 {
		t.Error("the input was changed")
	}
	tomb := "not a slice"
	if got, _ := route.TrimEndpointSlice(tomb); got != tomb {
		t.Errorf("passed %v, want it as it is", got)
	}
}
