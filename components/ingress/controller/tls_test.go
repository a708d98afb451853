package controller_test

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kingressv1alpha1 "github.com/kfup/kfup/components/ingress/api/v1alpha1"
	"github.com/kfup/kfup/components/ingress/controller"
	"github.com/kfup/kfup/components/ingress/proxy"
	"github.com/kfup/kfup/components/ingress/route"
	"github.com/kfup/kfup/internal/testcert"
)

func putTLSSecret(t *testing.T, ns, name string, p testcert.Pair, withKey bool) {
	t.Helper()
	ctx := context.Background()
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{corev1.TLSCertKey: p.Chain}}
	if withKey {
		s.Data[corev1.TLSPrivateKeyKey] = p.Key
	}
	var old corev1.Secret
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(s), &old); err == nil {
		old.Data = s.Data
		if err := env.Client.Update(ctx, &old); err != nil {
			t.Fatal(err)
		}
		return
	}
	if err := env.Client.Create(ctx, s); err != nil {
		t.Fatal(err)
	}
}

// overTLS sends GET https://host/path to the proxy's TLS listener at addr, trusting pool:
// the status and body, and the DNS name of the certificate it answered with.
func overTLS(t *testing.T, addr, host, path string, pool *x509.CertPool) (int, string, string, error) {
	t.Helper()
	tr := testcert.Transport(addr, pool)
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get("https://" + host + path)
	if err != nil {
		return 0, "", "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.TLS.PeerCertificates[0].DNSNames[0], nil
}

// secure is secureKIngress in namespace ns, its host secure.<ns>.example.com: the tests'
// objects share one API server, and every rig's controller routes them all.
func secure(ns string, pairs ...string) string {
	return strings.NewReplacer(append(pairs, "NS", ns, "secure.example.com", "secure."+ns+".example.com")...).Replace(secureKIngress)
}

const secureKIngress = `
metadata:
  name: secure
` + class + `spec:
  httpOption: Redirected
  tls: [{hosts: [secure.example.com], secretName: secure-cert, secretNamespace: NS}]
  rules:
  - hosts: [secure.example.com]
    visibility: ExternalIP
    http: {paths: [{splits: [{serviceName: web, serviceNamespace: NS, servicePort: 80}]}]}
`

// A KIngress's TLS entry: its certificate is published for the proxy, which serves the
// host over HTTPS with it and redirects plain HTTP (httpOption Redirected); Ready only
// once the proxy holds it. A rotated Secret is served without touching the KIngress, and
// the certificate leaves the proxy's Secret with the KIngress.
func TestKIngressTLS(t *testing.T) {
	r := startRig(t, "routes-tls")
	ctx := context.Background()
	web := service(t, r.ns, "web")
	ready(t, web, "http", localBackend(t, "web"))
	host := "secure." + r.ns + ".example.com"
	one := testcert.New(t, host)
	putTLSSecret(t, r.ns, "secure-cert", one, true)
	kingress(t, r.ns, secure(r.ns))
	waitKIngress(t, r.ns, "secure", kingressv1alpha1.ConditionReady, "True", "")

	var certs corev1.Secret
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: r.ns, Name: r.certs}, &certs); err != nil {
		t.Fatal(err)
	}
	name := route.CertName(one.Chain, one.Key)
	if string(certs.Data[name+proxy.CertChainSuffix]) != string(one.Chain) || string(certs.Data[name+proxy.CertKeySuffix]) != string(one.Key) || len(certs.Data) != 2 {
		t.Errorf("certificates Secret keys %v, want %s.crt and %s.key", keys(certs.Data), name, name)
	}
	if certs.Labels["kfup.dev/api"] != controller.APIName {
		t.Errorf("certificates Secret labels %v", certs.Labels)
	}
	tab, _ := published(t, r)
	if got := tab.CertFor(host); got != name {
		t.Errorf("the table's certificate for secure.example.com: %q, want %q", got, name)
	}
	code, body, cn, err := overTLS(t, r.externalTLS, host, "/a", one.Pool)
	if err != nil || code != 200 || body != "web /a" || cn != host {
		t.Fatalf("https://secure.example.com/a: %d %q (certificate of %s), %v", code, body, cn, err)
	}
	req, _ := http.NewRequest(http.MethodGet, "http://"+r.external+"/a?b=c", nil)
	req.Host = host
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "https://"+host+"/a?b=c" {
		t.Errorf("http://secure.example.com/a?b=c: %d Location %q, want a 301 to HTTPS", resp.StatusCode, resp.Header.Get("Location"))
	}

	// Rotation: the Secret's change alone (its metadata is watched) reaches the proxy.
	two := testcert.New(t, host)
	putTLSSecret(t, r.ns, "secure-cert", two, true)
	eventually(t, "the rotated certificate served", func(context.Context) (bool, string) {
		_, _, _, err := overTLS(t, r.externalTLS, host, "/", two.Pool)
		return err == nil, fmt.Sprint(err)
	})
	if _, _, _, err := overTLS(t, r.externalTLS, host, "/", one.Pool); err == nil {
		t.Error("the rotated-out certificate is still served")
	}

	// Deleting the KIngress takes its key out of the proxy's Secret.
	if err := env.Client.Delete(ctx, &kingressv1alpha1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: r.ns, Name: "secure"}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the certificates Secret emptied", func(ctx context.Context) (bool, string) {
		var s corev1.Secret
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: r.ns, Name: r.certs}, &s); err != nil {
			return false, err.Error()
		}
		return len(s.Data) == 0, fmt.Sprint(keys(s.Data))
	})
}

// A TLS entry whose Secret is missing waits for it (its hosts served over HTTP meanwhile)
// and is Ready once the Secret is created; one whose Secret holds no key pair is refused,
// naming the field, and adds no route.
func TestKIngressTLSSecretMissingOrBad(t *testing.T) {
	r := startRig(t, "routes-tls-wait")
	web := service(t, r.ns, "web")
	ready(t, web, "http", localBackend(t, "web"))
	host := "secure." + r.ns + ".example.com"
	kingress(t, r.ns, secure(r.ns, "httpOption: Redirected", "httpOption: Enabled"))
	k := waitKIngress(t, r.ns, "secure", kingressv1alpha1.ConditionLoadBalancerReady, "Unknown", "WaitingForSecret")
	if c := condition(k, kingressv1alpha1.ConditionLoadBalancerReady); !strings.Contains(c.Message, "Secret "+r.ns+"/secure-cert: no such Secret") {
		t.Errorf("LoadBalancerReady: %+v", c)
	}
	eventually(t, "served over HTTP while waiting", func(context.Context) (bool, string) {
		code, body, why := through(t, r.external, host, "/w")
		return code == 200 && body == "web /w", fmt.Sprint(code, body, why)
	})
	pair := testcert.New(t, host)
	putTLSSecret(t, r.ns, "secure-cert", pair, true)
	waitKIngress(t, r.ns, "secure", kingressv1alpha1.ConditionReady, "True", "")
	if code, _, _, err := overTLS(t, r.externalTLS, host, "/", pair.Pool); err != nil || code != 200 {
		t.Errorf("https once the Secret exists: %d, %v", code, err)
	}

	bad := strings.NewReplacer("name: secure", "name: bad", "secure-cert", "bad-cert", host, "bad.example.com", "NS", r.ns).Replace(secureKIngress)
	putTLSSecret(t, r.ns, "bad-cert", testcert.New(t, "bad.example.com"), false)
	kingress(t, r.ns, bad)
	k = waitKIngress(t, r.ns, "bad", kingressv1alpha1.ConditionReady, "False", "Unsupported")
	if c := condition(k, kingressv1alpha1.ConditionNetworkConfigured); !strings.Contains(c.Message, `spec.tls[0].secretName: Invalid value: "bad-cert": Secret `+r.ns+`/bad-cert has no tls.key`) {
		t.Errorf("NetworkConfigured: %+v", c)
	}
	tab, _ := published(t, r)
	tab.EachRoute(func(rt *route.Route) {
		if rt.Source == "kingress "+r.ns+"/bad" {
			t.Errorf("the refused KIngress is routed: %+v", rt)
		}
	})
}

// Two KIngresses naming one host with two Secrets: the older keeps it, the newer says
// CertificateConflict (its routes served all the same) and gets the host once the older
// one is gone, Ready only when the proxy serves its certificate.
func TestKIngressTLSConflict(t *testing.T) {
	r := startRig(t, "routes-tls-conflict")
	ctx := context.Background()
	web := service(t, r.ns, "web")
	ready(t, web, "http", localBackend(t, "web"))
	host := "secure." + r.ns + ".example.com"
	a, b := testcert.New(t, host), testcert.New(t, host)
	putTLSSecret(t, r.ns, "secure-cert", a, true)
	putTLSSecret(t, r.ns, "other-cert", b, true)
	kingress(t, r.ns, secure(r.ns))
	waitKIngress(t, r.ns, "secure", kingressv1alpha1.ConditionReady, "True", "")
	time.Sleep(1100 * time.Millisecond) // a later creation timestamp (seconds)
	other := secure(r.ns, "name: secure", "name: other", "secure-cert", "other-cert")
	kingress(t, r.ns, other)
	k := waitKIngress(t, r.ns, "other", kingressv1alpha1.ConditionLoadBalancerReady, "False", "CertificateConflict")
	if c := condition(k, kingressv1alpha1.ConditionLoadBalancerReady); !strings.Contains(c.Message, "host "+host+" already has another certificate, from kingress "+r.ns+"/secure") {
		t.Errorf("LoadBalancerReady: %+v", c)
	}
	if _, _, cn, err := overTLS(t, r.externalTLS, host, "/", a.Pool); err != nil || cn != host {
		t.Errorf("the older KIngress's certificate: %v", err)
	}
	if err := env.Client.Delete(ctx, &kingressv1alpha1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: r.ns, Name: "secure"}}); err != nil {
		t.Fatal(err)
	}
	waitKIngress(t, r.ns, "other", kingressv1alpha1.ConditionReady, "True", "")
	// Ready means served: no poll needed.
	if code, body, _, err := overTLS(t, r.externalTLS, host, "/n", b.Pool); err != nil || code != 200 || body != "web /n" {
		t.Errorf("once Ready, the newer certificate: %d %q %v", code, body, err)
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
