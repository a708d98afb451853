package route_test

import (
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kfup/kfup/components/ingress/route"
	"github.com/kfup/kfup/internal/testcert"
)

// Certificates of the TLS tests, made once.
var (
	certA, certB, certWild, certML testcert.Pair
)

func tlsSecret(ns, name string, chain, key []byte) *corev1.Secret {
	data := map[string][]byte{}
	if chain != nil {
		data[corev1.TLSCertKey] = chain
	}
	if key != nil {
		data[corev1.TLSPrivateKeyKey] = key
	}
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Type: corev1.SecretTypeTLS, Data: data}
}

// withCerts adds the tests' TLS Secrets to s: a-cert and b-cert (both for a.example.com,
// different pairs), wild-cert (*.example.com), ml/ml-cert, and two broken ones: nokey
// (no tls.key) and mismatched (a-cert's chain with b-cert's key).
func withCerts(t *testing.T, s *route.Services) *route.Services {
	t.Helper()
	if certA.Chain == nil {
		certA = testcert.New(t, "a.example.com")
		certB = testcert.New(t, "a.example.com")
		certWild = testcert.New(t, "*.example.com")
		certML = testcert.New(t, "m.example.com")
	}
	return s.WithSecrets(
		tlsSecret("default", "a-cert", certA.Chain, certA.Key),
		tlsSecret("default", "b-cert", certB.Chain, certB.Key),
		tlsSecret("default", "wild-cert", certWild.Chain, certWild.Key),
		tlsSecret("ml", "ml-cert", certML.Chain, certML.Key),
		tlsSecret("default", "nokey", certA.Chain, nil),
		tlsSecret("default", "mismatched", certA.Chain, certB.Key),
	)
}

const tlsKIngress = `
metadata: {name: secure, namespace: default}
spec:
  httpOption: Redirected
  tls:
  - {hosts: [a.example.com], secretName: a-cert, secretNamespace: default}
  - {hosts: ["*.example.com"], secretName: wild-cert, secretNamespace: default}
  rules:
  - hosts: [a.example.com, b.example.com]
    visibility: ExternalIP
    http: {paths: [{splits: [{serviceName: tagged, serviceNamespace: default, servicePort: 80}]}]}
  - hosts: [secure.default.svc.cluster.local]
    visibility: ClusterLocal
    http: {paths: [{splits: [{serviceName: tagged, serviceNamespace: default, servicePort: 80}]}]}
`

// A KIngress's TLS entries put their certificates on their hosts, as a client's server
// name picks one; httpOption Redirected marks its routes.
func TestKIngressTLS(t *testing.T) {
	res := route.KIngress(kingress(t, tlsKIngress), withCerts(t, services()))
	if len(res.Invalid) > 0 || len(res.Waiting) > 0 || len(res.WaitingSecrets) > 0 {
		t.Fatalf("invalid %v, waiting %v %v", res.Invalid, res.Waiting, res.WaitingSecrets)
	}
	if diff := cmp.Diff([]string{"default/a-cert", "default/wild-cert"}, res.Secrets); diff != "" {
		t.Errorf("secrets (-want +got):\n%s", diff)
	}
	a, wild := route.CertName(certA.Chain, certA.Key), route.CertName(certWild.Chain, certWild.Key)
	if _, ok := res.Certs[a]; !ok || len(res.Certs) != 2 {
		t.Errorf("certs %v, want a-cert's %s and wild-cert's %s", slices.Sorted(maps.Keys(res.Certs)), a, wild)
	}
	tab := route.NewTable()
	res.AddTo(tab)
	for sni, want := range map[string]string{
		"a.example.com":        a,
		"A.Example.COM.":       a, // case and a trailing dot do not matter
		"b.example.com":        wild,
		"x.y.example.com":      "", // a wildcard is one label
		"example.com":          "",
		"other.test":           "",
		"":                     "", // no SNI: no default certificate here
		"secure.default.local": "",
	} {
		if got := tab.CertFor(sni); got != want {
			t.Errorf("certificate for %q: %q, want %q", sni, got, want)
		}
	}
	if diff := cmp.Diff(slices.Sorted(slices.Values([]string{a, wild})), tab.CertNames()); diff != "" {
		t.Errorf("cert names (-want +got):\n%s", diff)
	}
	if r := tab.Lookup(true, "a.example.com", "/", nil); r == nil || !r.RedirectHTTPS {
		t.Errorf("external route %+v: want RedirectHTTPS", r)
	}
	enabled := route.KIngress(kingress(t, strings.Replace(tlsKIngress, "Redirected", "Enabled", 1)), withCerts(t, services()))
	tab2 := route.NewTable()
	enabled.AddTo(tab2)
	if r := tab2.Lookup(true, "a.example.com", "/", nil); r == nil || r.RedirectHTTPS {
		t.Errorf("httpOption Enabled: route %+v redirects", r)
	}
}

// A TLS entry whose Secret does not exist yet is waited for: the routes are served over
// HTTP meanwhile, with no certificate for their hosts; never another one's.
func TestTLSSecretWaitedFor(t *testing.T) {
	doc := strings.Replace(tlsKIngress, "secretName: a-cert", "secretName: later", 1)
	res := route.KIngress(kingress(t, doc), withCerts(t, services()))
	if len(res.Invalid) > 0 {
		t.Fatalf("invalid %v", res.Invalid)
	}
	if diff := cmp.Diff([]string{"Secret default/later: no such Secret"}, res.WaitingSecrets); diff != "" {
		t.Errorf("waiting secrets (-want +got):\n%s", diff)
	}
	if !slices.Contains(res.Secrets, "default/later") {
		t.Errorf("secrets %v: the missing one must be named (its creation is watched)", res.Secrets)
	}
	tab := route.NewTable()
	res.AddTo(tab)
	if tab.Lookup(true, "a.example.com", "/", nil) == nil {
		t.Error("the routes of an object waiting for its Secret are not served")
	}
	// a.example.com falls to the wildcard entry of the same object, as a client would
	// with the certificates this object has now.
	if got, want := tab.CertFor("a.example.com"), route.CertName(certWild.Chain, certWild.Key); got != want {
		t.Errorf("a.example.com: certificate %q, want the wildcard's %q", got, want)
	}
}

// A host one object put a certificate on is never taken over by another object with
// another certificate: the second one keeps its routes and its other hosts' certificates,
// and says the conflict, naming the host and the holder. The same certificate on the
// same host is no conflict. Within one object, a host twice with two Secrets is invalid.
func TestCertConflict(t *testing.T) {
	first := route.KIngress(kingress(t, tlsKIngress), withCerts(t, services()))
	other := strings.NewReplacer("name: secure", "name: other", "secretName: a-cert", "secretName: b-cert",
		"[a.example.com, b.example.com]", "[a.example.com]", "secure.default.svc.cluster.local", "other.default.svc.cluster.local").Replace(tlsKIngress)
	second := route.KIngress(kingress(t, other), withCerts(t, services()))
	same := route.KIngress(kingress(t, strings.NewReplacer("b-cert", "a-cert", "name: other", "name: same", "other.default.svc", "same.default.svc").Replace(other)), withCerts(t, services()))
	tab := route.NewTable()
	alone := route.KIngress(kingress(t, other), withCerts(t, services()))
	alone.AddTo(route.NewTable())
	first.AddTo(tab)
	second.AddTo(tab)
	same.AddTo(tab)
	want := `spec.tls[0]: host a.example.com already has another certificate, from kingress default/secure`
	if len(second.Conflicts) != 1 || !strings.Contains(second.Conflicts[0], want) {
		t.Errorf("second object's conflicts %q, want %q", second.Conflicts, want)
	}
	if len(second.Invalid) > 0 || len(same.Conflicts) > 0 || len(same.Invalid) > 0 {
		t.Errorf("invalid %v, the same certificate for the same host: %v %v", second.Invalid, same.Conflicts, same.Invalid)
	}
	if second.Fingerprint() == alone.Fingerprint() {
		t.Error("a conflict left the object's fingerprint as it was")
	}
	if got, want := tab.CertFor("a.example.com"), route.CertName(certA.Chain, certA.Key); got != want {
		t.Errorf("a.example.com: certificate %q, want the first object's %q", got, want)
	}
	if r := tab.Lookup(false, "other.default.svc.cluster.local", "/", nil); r == nil {
		t.Error("the object in conflict lost its routes")
	}

	twice := strings.Replace(tlsKIngress, `["*.example.com"], secretName: wild-cert`, `[b.example.com, A.example.com], secretName: wild-cert`, 1)
	res := route.KIngress(kingress(t, twice), withCerts(t, services()))
	if got := res.Invalid.ToAggregate(); got == nil || !strings.Contains(got.Error(), `spec.tls[1].hosts[1]: Invalid value: "A.example.com": already in spec.tls[0] with Secret default/a-cert: one Secret per host`) {
		t.Errorf("a host twice in one object: %v", got)
	}
}

// A Kubernetes Ingress's TLS entries name Secrets of its own namespace; one without hosts
// is the default certificate; one without a Secret is refused (kfup has no default
// certificate of its own).
func TestK8sIngressTLS(t *testing.T) {
	ing := &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ml", Name: "web"},
		Spec: networkingv1.IngressSpec{
			IngressClassName: ptr.To("kfup"),
			TLS:              []networkingv1.IngressTLS{{SecretName: "ml-cert"}},
			Rules: []networkingv1.IngressRule{{Host: "m.example.com", IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
				Paths: []networkingv1.HTTPIngressPath{{Path: "/", PathType: ptr.To(networkingv1.PathTypePrefix),
					Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "model", Port: networkingv1.ServiceBackendPort{Number: 80}}}}}}}}},
		},
	}
	res := route.K8sIngress(ing, withCerts(t, services()))
	if len(res.Invalid) > 0 || len(res.WaitingSecrets) > 0 {
		t.Fatalf("invalid %v, waiting %v", res.Invalid, res.WaitingSecrets)
	}
	tab := route.NewTable()
	res.AddTo(tab)
	ml := route.CertName(certML.Chain, certML.Key)
	// A hostless entry covers the Ingress's own rule hosts, not every name.
	for sni, want := range map[string]string{"m.example.com": ml, "": "", "anything.test": ""} {
		if got := tab.CertFor(sni); got != want {
			t.Errorf("certificate for %q: %q, want %q", sni, got, want)
		}
	}
	if diff := cmp.Diff([]string{"m.example.com"}, tab.TLSHosts()); diff != "" {
		t.Errorf("TLS hosts (-want +got):\n%s", diff)
	}
	// One without rule hosts (a default backend only) is the default certificate.
	def := ing.DeepCopy()
	def.Spec.DefaultBackend, def.Spec.Rules = &def.Spec.Rules[0].HTTP.Paths[0].Backend, nil
	tabDef := route.NewTable()
	route.K8sIngress(def, withCerts(t, services())).AddTo(tabDef)
	if got := tabDef.CertFor("anything.test"); got != ml {
		t.Errorf("a default backend's hostless entry: certificate %q, want the default %q", got, ml)
	}
	// An entry without a Secret is left out, said, and the Ingress routed.
	noSecret := ing.DeepCopy()
	noSecret.Spec.TLS = []networkingv1.IngressTLS{{Hosts: []string{"m.example.com"}}}
	got := route.K8sIngress(noSecret, withCerts(t, services()))
	if len(got.Invalid) > 0 || len(got.Ignored) != 1 || !strings.Contains(got.Ignored[0], "spec.tls[0].secretName is empty: kfup's ingress has no default certificate") {
		t.Errorf("a TLS entry without secretName: invalid %v, ignored %q", got.Invalid, got.Ignored)
	}
	// The Secret is read from the Ingress's namespace, not another one's.
	elsewhere := ing.DeepCopy()
	elsewhere.Namespace = "default"
	elsewhere.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Name = "tagged"
	if got := route.K8sIngress(elsewhere, withCerts(t, services())).WaitingSecrets; len(got) != 1 || !strings.Contains(got[0], "default/ml-cert") {
		t.Errorf("waiting secrets %v, want default/ml-cert", got)
	}
}

// The certificates survive the table's JSON form; the object's fingerprint follows the
// hosts it has certificates for, not which certificate (a rotation is no new rollout).
func TestTLSTableJSONAndFingerprint(t *testing.T) {
	res := route.KIngress(kingress(t, tlsKIngress), withCerts(t, services()))
	tab := route.NewTable()
	res.AddTo(tab)
	b, err := json.Marshal(tab)
	if err != nil {
		t.Fatal(err)
	}
	var back route.Table
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	for _, sni := range []string{"a.example.com", "b.example.com", "c.d.example.com"} {
		if tab.CertFor(sni) != back.CertFor(sni) {
			t.Errorf("%s: %q vs %q after a round trip", sni, tab.CertFor(sni), back.CertFor(sni))
		}
	}
	if !strings.Contains(string(b), `"redirectHTTPS":true`) {
		t.Errorf("the redirect is lost in %s", b)
	}
	fp := route.KIngress(kingress(t, tlsKIngress), withCerts(t, services())).Fingerprint()
	rotated := withCerts(t, services()).WithSecrets(tlsSecret("default", "a-cert", certB.Chain, certB.Key))
	if route.KIngress(kingress(t, tlsKIngress), rotated).Fingerprint() != fp {
		t.Error("a rotated certificate changed the fingerprint: a Ready KIngress would flap at each renewal")
	}
	fewer := strings.Replace(tlsKIngress, "  - {hosts: [\"*.example.com\"], secretName: wild-cert, secretNamespace: default}\n", "", 1)
	if route.KIngress(kingress(t, fewer), withCerts(t, services())).Fingerprint() == fp {
		t.Error("a host without its certificate left the fingerprint as it was")
	}
	if route.KIngress(kingress(t, tlsKIngress), withCerts(t, services())).Fingerprint() != fp {
		t.Error("the fingerprint is not stable")
	}
}

func TestParseCert(t *testing.T) {
	withCerts(t, services())
	c, err := route.ParseCert(tlsSecret("default", "ok", certA.Chain, certA.Key))
	if err != nil || c.Name != route.CertName(certA.Chain, certA.Key) || c.NotAfter.IsZero() {
		t.Fatalf("ParseCert: %+v, %v", c, err)
	}
	for name, s := range map[string]*corev1.Secret{
		"has no tls.crt or tls.key":                   tlsSecret("default", "empty", nil, nil),
		"has no tls.crt":                              tlsSecret("default", "nocert", nil, certA.Key),
		"are not a certificate and its key":           tlsSecret("default", "junk", []byte("not pem"), certA.Key),
		"tls.crt and tls.key are not a certificate a": tlsSecret("default", "mismatch", certA.Chain, certB.Key),
	} {
		_, err := route.ParseCert(s)
		var bad *route.BadSecretError
		if err == nil || !strings.Contains(err.Error(), name) || !errors.As(err, &bad) {
			t.Errorf("%s: %v, want a BadSecretError saying %q", s.Name, err, name)
		}
	}
}
