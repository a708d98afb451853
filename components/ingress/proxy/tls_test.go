package proxy_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	kingressv1alpha1 "github.com/kfup/kfup/components/ingress/api/v1alpha1"
	"github.com/kfup/kfup/components/ingress/proxy"
	"github.com/kfup/kfup/components/ingress/route"
	"github.com/kfup/kfup/internal/testcert"
)

// tlsBackends resolves Services as backends does, and TLS Secrets from a map.
type tlsBackends struct {
	backends
	secrets map[string]testcert.Pair
}

func (b tlsBackends) Certificate(ns, name string) (route.Cert, error) {
	p, ok := b.secrets[name]
	if !ok {
		return route.Cert{}, route.ErrNoSecret
	}
	return route.ParseCert(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Data: map[string][]byte{corev1.TLSCertKey: p.Chain, corev1.TLSPrivateKeyKey: p.Key}})
}

// compile builds the table of ings and the certificates Secret's data the controller would
// publish with it.
func compile(t *testing.T, be route.Resolver, ings ...*kingressv1alpha1.Ingress) ([]byte, map[string][]byte) {
	t.Helper()
	tab := route.NewTable()
	certs := map[string]route.Cert{}
	for _, ing := range ings {
		res := route.KIngress(ing, be)
		if len(res.Invalid) > 0 || len(res.Waiting) > 0 || len(res.WaitingSecrets) > 0 {
			t.Fatalf("invalid %v, waiting %v %v", res.Invalid, res.Waiting, res.WaitingSecrets)
		}
		res.AddTo(tab)
		for n, c := range res.Certs {
			certs[n] = c
		}
	}
	b, err := json.Marshal(tab)
	if err != nil {
		t.Fatal(err)
	}
	data := map[string][]byte{}
	for _, n := range tab.CertNames() {
		data[n+proxy.CertChainSuffix], data[n+proxy.CertKeySuffix] = certs[n].Chain, certs[n].Key
	}
	return b, data
}

// serveTLS starts the proxy's external TLS listener; dial reaches it whatever the URL's
// host, as a client resolving the hosts to the ingress would.
func serveTLS(t *testing.T, p *proxy.Proxy, pool *x509.CertPool) (*http.Client, string) {
	t.Helper()
	// As the agent serves it: ServeTLS with the proxy's own configuration, nothing else.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := p.TLSServer(p.Handler(true))
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() { _ = srv.Close() })
	addr := ln.Addr().String()
	tr := testcert.Transport(addr, pool)
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}, addr
}

func secureIngress(name, host, secret string, opt kingressv1alpha1.HTTPOption) *kingressv1alpha1.Ingress {
	ing := ingress(rule(kingressv1alpha1.IngressVisibilityExternalIP, []string{host},
		kingressv1alpha1.HTTPIngressPath{Splits: []kingressv1alpha1.IngressBackendSplit{split("v1", 100, name)}}))
	ing.Name = name
	ing.Spec.HTTPOption = opt
	ing.Spec.TLS = []kingressv1alpha1.IngressTLS{{Hosts: []string{host}, SecretName: secret, SecretNamespace: "default"}}
	return ing
}

// HTTPS with the certificate of the client's server name, HTTP/2 by ALPN; the same routes
// over plain HTTP, redirected where httpOption says Redirected (on the host's HTTPS port),
// not on the internal listener; and no route reported served before its certificate is.
func TestTLSListener(t *testing.T) {
	a, b := testcert.New(t, "a.example.com"), testcert.New(t, "b.example.com")
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(a.Chain)
	pool.AppendCertsFromPEM(b.Chain)
	be := tlsBackends{backends: backends{"v1": h1Backend(t, "v1", echo("v1"))}, secrets: map[string]testcert.Pair{"a": a, "b": b}}
	p := proxy.New(proxy.WithHTTPSPort(8443))
	table, certs := compile(t, be,
		secureIngress("enabled", "a.example.com", "a", kingressv1alpha1.HTTPOptionEnabled),
		secureIngress("redirected", "b.example.com", "b", kingressv1alpha1.HTTPOptionRedirected))

	h, err := p.LoadJSON(table)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Serving(); got == h || !strings.Contains(got, "certificates not loaded yet") {
		t.Errorf("serving %q before its certificates are loaded, want them named", got)
	}
	if err := p.LoadCerts(certs); err != nil {
		t.Fatal(err)
	}
	if got := p.Serving(); got != h {
		t.Errorf("serving %q with its certificates, want %q", got, h)
	}

	client, _ := serveTLS(t, p, pool)
	for _, host := range []string{"a.example.com", "b.example.com"} {
		resp, err := client.Get("https://" + host + "/x")
		if err != nil {
			t.Fatalf("%s: %v", host, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(string(body), "v1 HTTP/1.1") || resp.Proto != "HTTP/2.0" {
			t.Errorf("https://%s: %d %s %q, want 200 over HTTP/2 from v1", host, resp.StatusCode, resp.Proto, body)
		}
		if cn := resp.TLS.PeerCertificates[0].DNSNames[0]; cn != host {
			t.Errorf("https://%s answered with the certificate of %s", host, cn)
		}
	}
	// A server name without a certificate fails the handshake, even for a client that
	// checks nothing: never another host's certificate.
	_, addr := serveTLS(t, p, nil)
	for _, sni := range []string{"c.example.com", ""} {
		conn, err := tls.Dial("tcp", addr, &tls.Config{ServerName: sni, InsecureSkipVerify: true}) //nolint:gosec // the test looks at what the server offers
		if err == nil {
			t.Errorf("server name %q: answered with the certificate of %v", sni, conn.ConnectionState().PeerCertificates[0].DNSNames)
			conn.Close()
		} else if !strings.Contains(err.Error(), "handshake failure") && !strings.Contains(err.Error(), "internal error") {
			t.Errorf("server name %q: %v, want the handshake refused", sni, err)
		}
	}

	ext, in := serve(t, p)
	if code, body, _ := get(t, ext+"/q", "a.example.com", nil); code != http.StatusOK {
		t.Errorf("http a.example.com (Enabled): %d %s", code, body)
	}
	req, _ := http.NewRequest(http.MethodGet, ext+"/some/path?x=1", nil)
	req.Host = "b.example.com:8080"
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusMovedPermanently || loc != "https://b.example.com:8443/some/path?x=1" {
		t.Errorf("http b.example.com (Redirected): %d Location %q, want 301 to https://b.example.com:8443/some/path?x=1", resp.StatusCode, loc)
	}
	if code, body, _ := get(t, in+"/", "b.example.com", nil); code != http.StatusOK {
		t.Errorf("internal listener, b.example.com: %d %s, want served, not redirected", code, body)
	}
	// On port 443 the URL names no port.
	p443 := proxy.New(proxy.WithHTTPSPort(443))
	if _, err := p443.LoadJSON(table); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	req = httptest.NewRequest(http.MethodGet, "http://b.example.com/p", nil)
	p443.Handler(true).ServeHTTP(rec, req)
	if loc := rec.Header().Get("Location"); rec.Code != http.StatusMovedPermanently || loc != "https://b.example.com/p" {
		t.Errorf("port 443: %d Location %q, want https://b.example.com/p", rec.Code, loc)
	}
}

// A certificate the new Secret no longer has stays served while the table being served
// names it (the controller writes the Secret before the table), and goes with that
// table; a pair that is broken or does not match its name is left out, said.
func TestCertsFollowTheTable(t *testing.T) {
	a, a2 := testcert.New(t, "a.example.com"), testcert.New(t, "a.example.com")
	be := tlsBackends{backends: backends{"v1": h1Backend(t, "v1", echo("v1"))}, secrets: map[string]testcert.Pair{"a": a}}
	p := proxy.New()
	table1, certs1 := compile(t, be, secureIngress("x", "a.example.com", "a", ""))
	if err := p.LoadCerts(certs1); err != nil {
		t.Fatal(err)
	}
	h1, _ := p.LoadJSON(table1)
	be.secrets["a"] = a2 // rotated
	table2, certs2 := compile(t, be, secureIngress("x", "a.example.com", "a", ""))

	if err := p.LoadCerts(certs2); err != nil { // the new Secret first ...
		t.Fatal(err)
	}
	if got := p.Serving(); got != h1 {
		t.Errorf("after the new Secret, serving %q, want the old table %q with its certificate held", got, h1)
	}
	pool1 := x509.NewCertPool()
	pool1.AppendCertsFromPEM(a.Chain)
	client, _ := serveTLS(t, p, pool1)
	if resp, err := client.Get("https://a.example.com/"); err != nil {
		t.Fatalf("the old certificate is no longer served with the old table: %v", err)
	} else {
		resp.Body.Close()
	}
	h2, _ := p.LoadJSON(table2) // ... then the table
	if got := p.Serving(); got != h2 {
		t.Errorf("serving %q, want %q", got, h2)
	}
	client.Transport.(*http.Transport).CloseIdleConnections()
	if _, err := client.Get("https://a.example.com/"); err == nil {
		t.Error("the rotated-out certificate is still served")
	}

	bad := map[string][]byte{"deadbeefdeadbeef.crt": a.Chain, "deadbeefdeadbeef.key": a.Key, "stray": []byte("x")}
	for n, v := range certs2 {
		bad[n] = v
	}
	err := p.LoadCerts(bad)
	if err == nil || !strings.Contains(err.Error(), "certificate deadbeefdeadbeef: its content is") || !strings.Contains(err.Error(), `key "stray"`) {
		t.Errorf("LoadCerts of a mismatched name and a stray key: %v", err)
	}
	if got := p.Serving(); got != h2 {
		t.Errorf("the good certificate went with the bad ones: serving %q", got)
	}
}
