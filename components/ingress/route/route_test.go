package route_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	kingressv1alpha1 "github.com/kfup/kfup/components/ingress/api/v1alpha1"
	"github.com/kfup/kfup/components/ingress/route"
)

// services are the Services the tests' objects name: Knative-style revision Services (port
// 80 "http", h2c 81 "http2"), a gRPC one by appProtocol, a headless one and an ExternalName.
func services() route.Services {
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
		ext,
	)
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
		want     string // split address, "" for no route
		h2c      bool
		rewrite  string
		headers  map[string]string // route's then split's appended headers
	}{
		{"90 % side of the split", true, "hello.default.example.com", "/", nil, 0, "10.0.0.1:80", false, "",
			map[string]string{"Knative-Serving-Revision": "hello-00001", "Knative-Serving-Namespace": "default"}},
		{"the last of the 90", true, "hello.default.example.com:8080", "/x", nil, 89, "10.0.0.1:80", false, "", nil},
		{"10 % side of the split", true, "HELLO.default.example.com", "/", nil, 90, "10.0.0.2:80", false, "",
			map[string]string{"Knative-Serving-Revision": "hello-00002"}},
		{"tag header wins over the default path", true, "hello.default.example.com", "/", tag, 0, "10.0.0.2:80", false, "",
			map[string]string{"K-Route-Tag": "canary", "Knative-Serving-Revision": "hello-00002"}},
		{"wrong tag value: the default path", true, "hello.default.example.com", "/", http.Header{"Knative-Serving-Tag": {"other"}}, 0, "10.0.0.1:80", false, "", nil},
		{"cluster-local host not served outside", true, "hello.default.svc.cluster.local", "/", nil, 0, "", false, "", nil},
		{"cluster-local host inside, h2c by port name", false, "hello.default.svc.cluster.local", "/", nil, 0, "10.0.0.1:81", true, "", nil},
		{"longer prefix first, port named, host rewritten", false, "hello.default", "/private/a", nil, 0, "10.0.0.3:80", false, "tagged.default.svc.cluster.local", nil},
		{"external host also inside", false, "hello.default.example.com", "/", nil, 95, "10.0.0.2:80", false, "", nil},
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
			if s == nil || s.Backend.Address != tc.want || s.Backend.H2C != tc.h2c || r.RewriteHost != tc.rewrite {
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
// Services, different when a backend moves or the spec changes.
func TestFingerprint(t *testing.T) {
	ing := kingress(t, hello)
	a, b := route.KIngress(ing, services()).Fingerprint(), route.KIngress(ing, services()).Fingerprint()
	if a != b || a == "" {
		t.Fatalf("same object, same Services: %q and %q", a, b)
	}
	moved := services()
	moved["default/hello-00001"].Spec.ClusterIP = "10.0.0.9"
	if route.KIngress(ing, moved).Fingerprint() == a {
		t.Error("a backend's new cluster IP left the fingerprint unchanged")
	}
	changed := ing.DeepCopy()
	changed.Spec.Rules[1].HTTP.Paths[0].Path = "/other"
	if route.KIngress(changed, services()).Fingerprint() == a {
		t.Error("a new path left the fingerprint unchanged")
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
		{"tls", `
  tls: [{hosts: [a.example.com], secretName: s, secretNamespace: default}]
  rules: [{hosts: [a.example.com], http: {paths: [{splits: [{serviceName: tagged, serviceNamespace: default, servicePort: 80}]}]}}]`,
			"spec.tls: Unsupported value"},
		{"redirect", `
  httpOption: Redirected
  rules: [{hosts: [a.example.com], http: {paths: [{splits: [{serviceName: tagged, serviceNamespace: default, servicePort: 80}]}]}}]`,
			`spec.httpOption: Unsupported value: "Redirected"`},
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
			res := route.KIngress(kingress(t, "metadata: {name: x, namespace: default}\nspec:"+tc.spec), services())
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

// A backend that cannot be resolved is waited for, and its route answers 503 (no address)
// rather than going elsewhere.
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
`), services())
	want := []string{
		"ml/missing:80: no such Service",
		"ml/headless:80: headless Service: kfup's ingress routes to a cluster IP",
		"ml/model:8080: the Service has no port 8080",
	}
	if diff := cmp.Diff(want, res.Waiting); diff != "" {
		t.Errorf("waiting (-want +got):\n%s", diff)
	}
	tab := route.NewTable()
	res.AddTo(tab)
	if s := tab.Lookup(true, "m.example.com", "/a", nil).Pick(0); s.Backend.Address != "" {
		t.Errorf("missing Service resolved to %q", s.Backend.Address)
	}
	if s := tab.Lookup(true, "m.example.com", "/grpc", nil).Pick(0); s.Backend.Address != "10.0.1.1:9000" || !s.Backend.H2C {
		t.Errorf("gRPC backend %+v, want 10.0.1.1:9000 over h2c", s.Backend)
	}
	if s := tab.Lookup(true, "m.example.com", "/ext", nil).Pick(0); s.Backend.Address != "kfup-ingress.kfup-system.svc.cluster.local:80" {
		t.Errorf("ExternalName backend %+v", s.Backend)
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
