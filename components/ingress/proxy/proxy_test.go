package proxy_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/intstr"

	kingressv1alpha1 "github.com/kfup/kfup/components/ingress/api/v1alpha1"
	"github.com/kfup/kfup/components/ingress/proxy"
	"github.com/kfup/kfup/components/ingress/route"
)

// backends resolves a Service name to a test server's address.
type backends map[string]route.Backend

func (b backends) Resolve(ns, name string, port intstr.IntOrString) (route.Backend, error) {
	if be, ok := b[name]; ok {
		return be, nil
	}
	return route.Backend{Namespace: ns, Name: name, Port: port.String()}, route.ErrNoService
}

func (b backends) Certificate(string, string) (route.Cert, error) {
	return route.Cert{}, route.ErrNoSecret
}

// echo answers with its name, the request's protocol, Host and the headers the test asks
// about.
func echo(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s host=%s rev=%s tag=%s xff=%s", name, r.Proto, r.Host,
			r.Header.Get("Knative-Serving-Revision"), r.Header.Get("K-Route-Tag"), r.Header.Get("X-Forwarded-For"))
	})
}

func h1Backend(t *testing.T, name string, h http.Handler) route.Backend {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return route.Backend{Namespace: "default", Name: name, Port: "80", Endpoints: []string{strings.TrimPrefix(s.URL, "http://")}}
}

func h2cBackend(t *testing.T, name string, h http.Handler) route.Backend {
	t.Helper()
	s := httptest.NewUnstartedServer(h)
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	s.Config.Protocols = &p
	s.Start()
	t.Cleanup(s.Close)
	return route.Backend{Namespace: "default", Name: name, Port: "81", Endpoints: []string{strings.TrimPrefix(s.URL, "http://")}, H2C: true}
}

// serve starts the proxy's external and internal listeners.
func serve(t *testing.T, p *proxy.Proxy) (external, internal string) {
	t.Helper()
	ext := httptest.NewUnstartedServer(nil)
	ext.Config = proxy.Server(p.Handler(true))
	ext.Start()
	in := httptest.NewUnstartedServer(nil)
	in.Config = proxy.Server(p.Handler(false))
	in.Start()
	t.Cleanup(ext.Close)
	t.Cleanup(in.Close)
	return ext.URL, in.URL
}

func load(t *testing.T, p *proxy.Proxy, be backends, ings ...*kingressv1alpha1.Ingress) {
	t.Helper()
	tab := route.NewTable()
	for _, ing := range ings {
		res := route.KIngress(ing, be)
		if len(res.Invalid) > 0 || len(res.Waiting) > 0 {
			t.Fatalf("invalid %v, waiting %v", res.Invalid, res.Waiting)
		}
		res.AddTo(tab)
	}
	b, err := json.Marshal(tab)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.LoadJSON(b); err != nil {
		t.Fatal(err)
	}
}

func split(name string, percent int, rev string) kingressv1alpha1.IngressBackendSplit {
	return kingressv1alpha1.IngressBackendSplit{
		IngressBackend: kingressv1alpha1.IngressBackend{ServiceNamespace: "default", ServiceName: name, ServicePort: intstr.FromInt32(80)},
		Percent:        percent,
		AppendHeaders:  map[string]string{"Knative-Serving-Revision": rev},
	}
}

func ingress(rules ...kingressv1alpha1.IngressRule) *kingressv1alpha1.Ingress {
	ing := &kingressv1alpha1.Ingress{Spec: kingressv1alpha1.IngressSpec{Rules: rules}}
	ing.Namespace, ing.Name = "default", "hello"
	return ing
}

func rule(vis kingressv1alpha1.IngressVisibility, hosts []string, paths ...kingressv1alpha1.HTTPIngressPath) kingressv1alpha1.IngressRule {
	return kingressv1alpha1.IngressRule{Hosts: hosts, Visibility: vis, HTTP: &kingressv1alpha1.HTTPIngressRuleValue{Paths: paths}}
}

func get(t *testing.T, url, host string, hdr http.Header) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// Hosts, tag headers, splits, appended headers, visibility and Host rewrites, end to end
// through real listeners.
func TestRouting(t *testing.T) {
	draw := atomic.Int64{}
	p := proxy.New(proxy.WithDraw(func() int { return int(draw.Load()) }))
	be := backends{
		"v1":    h1Backend(t, "v1", echo("v1")),
		"v2":    h2cBackend(t, "v2", echo("v2")),
		"local": h1Backend(t, "local", echo("local")),
	}
	load(t, p, be, ingress(
		rule(kingressv1alpha1.IngressVisibilityExternalIP, []string{"hello.example.com"},
			kingressv1alpha1.HTTPIngressPath{
				Headers:       map[string]kingressv1alpha1.HeaderMatch{"Knative-Serving-Tag": {Exact: "canary"}},
				AppendHeaders: map[string]string{"K-Route-Tag": "canary"},
				Splits:        []kingressv1alpha1.IngressBackendSplit{split("v2", 100, "v2")},
			},
			kingressv1alpha1.HTTPIngressPath{Splits: []kingressv1alpha1.IngressBackendSplit{split("v1", 90, "v1"), split("v2", 10, "v2")}},
		),
		rule(kingressv1alpha1.IngressVisibilityClusterLocal, []string{"hello.default.svc.cluster.local"},
			kingressv1alpha1.HTTPIngressPath{RewriteHost: "inner.default.svc.cluster.local", Splits: []kingressv1alpha1.IngressBackendSplit{split("local", 0, "local")}},
		),
	))
	ext, in := serve(t, p)
	tests := []struct {
		name      string
		url, host string
		hdr       http.Header
		draw      int64
		code      int
		body      string
	}{
		{"90 side over HTTP/1.1", ext, "hello.example.com", nil, 0, 200, "v1 HTTP/1.1 host=hello.example.com rev=v1 tag= xff=127.0.0.1"},
		{"10 side over h2c", ext, "hello.example.com", nil, 95, 200, "v2 HTTP/2.0 host=hello.example.com rev=v2 tag="},
		{"tag route", ext, "hello.example.com:80", http.Header{"Knative-Serving-Tag": {"canary"}}, 0, 200, "v2 HTTP/2.0 host=hello.example.com:80 rev=v2 tag=canary"},
		{"cluster-local outside", ext, "hello.default.svc.cluster.local", nil, 0, 404, "kfup-ingress: no route for host"},
		{"cluster-local inside, host rewritten", in, "hello.default.svc.cluster.local", nil, 0, 200, "local HTTP/1.1 host=inner.default.svc.cluster.local rev=local"},
		{"unknown host", ext, "nobody.example.com", nil, 0, 404, "kfup-ingress: no route for host \"nobody.example.com\""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			draw.Store(tc.draw)
			code, body, _ := get(t, tc.url, tc.host, tc.hdr)
			if code != tc.code || !strings.HasPrefix(body, tc.body) {
				t.Fatalf("%d %q, want %d %q…", code, body, tc.code, tc.body)
			}
		})
	}
}

// Knative's probe: a request carrying K-Network-Hash: override reaches the backend with
// the KIngress's hash in its place (Knative's probe handler echoes it back); any other
// value of the header passes through untouched, and so does a request without it.
func TestProbeHash(t *testing.T) {
	p := proxy.New()
	be := backends{"v1": h1Backend(t, "v1", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hash=%s", r.Header.Get("K-Network-Hash"))
	}))}
	ing := ingress(rule(kingressv1alpha1.IngressVisibilityExternalIP, []string{"hello.example.com"},
		kingressv1alpha1.HTTPIngressPath{Splits: []kingressv1alpha1.IngressBackendSplit{split("v1", 100, "v1")}}))
	want, err := route.ProbeHash(ing)
	if err != nil {
		t.Fatal(err)
	}
	load(t, p, be, ing)
	ext, _ := serve(t, p)
	for _, tc := range []struct {
		name string
		hdr  http.Header
		body string
	}{
		{"override: the KIngress's hash", http.Header{"K-Network-Probe": {"probe"}, "K-Network-Hash": {"override"}}, "hash=" + want},
		{"another value passes", http.Header{"K-Network-Probe": {"probe"}, "K-Network-Hash": {"2701a1b2"}}, "hash=2701a1b2"},
		{"no header, none added", nil, "hash="},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body, _ := get(t, ext, "hello.example.com", tc.hdr)
			if code != 200 || body != tc.body {
				t.Fatalf("%d %q, want 200 %q", code, body, tc.body)
			}
		})
	}
}

// refusedAddr is an address where nothing listens: connections are refused.
func refusedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// An endpoint that refuses the connection (a pod gone before it left the table) is left
// for another of the backend's endpoints: the request, with its body, gets the live
// one's answer, sent once, whichever endpoint was tried first.
func TestRefusedEndpointTriesAnother(t *testing.T) {
	var calls atomic.Int64
	live := h1Backend(t, "mixed", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "live got %q", b)
	}))
	mixed := route.Backend{Namespace: "default", Name: "mixed", Port: "80",
		Endpoints: []string{refusedAddr(t), live.Endpoints[0], refusedAddr(t)}}
	p := proxy.New()
	load(t, p, backends{"mixed": mixed}, ingress(rule("", []string{"mixed.example.com"},
		kingressv1alpha1.HTTPIngressPath{Splits: []kingressv1alpha1.IngressBackendSplit{split("mixed", 100, "mixed")}})))
	ext, _ := serve(t, p)
	for i := range 20 {
		req, _ := http.NewRequest(http.MethodPost, ext, strings.NewReader(fmt.Sprintf("body %d", i)))
		req.Host = "mixed.example.com"
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if want := fmt.Sprintf("live got \"body %d\"", i); resp.StatusCode != 200 || string(b) != want {
			t.Fatalf("request %d: %d %q, want 200 %q", i, resp.StatusCode, b, want)
		}
	}
	if calls.Load() != 20 {
		t.Errorf("the live endpoint saw %d requests, want 20", calls.Load())
	}
}

// The power of two choices: of two distinct endpoints drawn, the one with fewer requests
// in flight, the first drawn on a tie; a lone endpoint is always chosen.
func TestTwoChoices(t *testing.T) {
	tests := []struct {
		name  string
		load  []int64
		draws []int // what rnd answers, in turn
		want  int
	}{
		{"one endpoint", []int64{7}, nil, 0},
		{"the second drawn is less busy", []int64{5, 1, 9}, []int{0, 0}, 1},      // draws 0, then 0 of the rest: 1
		{"the first drawn is less busy", []int64{5, 1, 9}, []int{2, 0}, 0},       // draws 2 and 0
		{"a tie keeps the first drawn", []int64{3, 3, 3}, []int{1, 1}, 1},        // draws 1 and 2
		{"the busiest is never chosen", []int64{0, 100, 0}, []int{1, 1}, 2},      // draws 1 and 2
		{"two endpoints: both compared", []int64{4, 2}, []int{0, 0}, 1},          // draws 0, then 0 of the rest: 1
		{"the second draw skips the first", []int64{9, 9, 9, 1}, []int{2, 2}, 3}, // draws 2, then 2 of the rest: 3
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			i := 0
			rnd := func(k int) int {
				d := tc.draws[i]
				i++
				if d >= k {
					t.Fatalf("draw %d out of [0, %d)", d, k)
				}
				return d
			}
			if got := proxy.TwoChoices(len(tc.load), func(i int) int64 { return tc.load[i] }, rnd); got != tc.want {
				t.Errorf("chose %d, want %d", got, tc.want)
			}
		})
	}
}

// Requests spread over a backend's endpoints, and away from one that holds its requests:
// while an endpoint is busy with a slow request, the next ones go to the idle endpoint.
func TestBalancesOnRequestsInFlight(t *testing.T) {
	release := make(chan struct{})
	var calls [2]atomic.Int64
	pair := route.Backend{Namespace: "default", Name: "pair", Port: "80"}
	for i, name := range []string{"a", "b"} {
		be := h1Backend(t, "pair", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls[i].Add(1)
			if r.URL.Path == "/hold" {
				<-release
			}
			_, _ = w.Write([]byte(name))
		}))
		pair.Endpoints = append(pair.Endpoints, be.Endpoints[0])
	}
	p := proxy.New()
	load(t, p, backends{"pair": pair}, ingress(rule("", []string{"pair.example.com"},
		kingressv1alpha1.HTTPIngressPath{Splits: []kingressv1alpha1.IngressBackendSplit{split("pair", 100, "pair")}})))
	ext, _ := serve(t, p)
	held := make(chan string, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, ext+"/hold", nil)
		req.Host = "pair.example.com"
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			held <- err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		held <- string(b)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for calls[0].Load()+calls[1].Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	busy := "a"
	if calls[1].Load() == 1 {
		busy = "b"
	}
	for i := range 10 {
		if _, body, _ := get(t, ext, "pair.example.com", nil); body == busy {
			t.Fatalf("request %d went to the busy endpoint (%s)", i, busy)
		}
	}
	close(release)
	if body := <-held; body != busy {
		t.Errorf("the held request got %q, want %q", body, busy)
	}
	// Both idle again: both get a share.
	got := map[string]int{}
	for range 40 {
		_, body, _ := get(t, ext, "pair.example.com", nil)
		got[body]++
	}
	if got["a"] == 0 || got["b"] == 0 {
		t.Errorf("40 requests over two idle endpoints: %v", got)
	}
}

// A backend's failure is passed on as it is: no retry (Knative's conformance asks the
// ingress not to retry); a backend whose every endpoint refuses is a 502; one without
// ready endpoints, or a missing Service, a 503 saying so. An ExternalName backend is
// dialled by its name.
func TestNoRetryAndErrors(t *testing.T) {
	var calls atomic.Int64
	flaky := h1Backend(t, "flaky", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
	closed := route.Backend{Namespace: "default", Name: "closed", Port: "80", Endpoints: []string{refusedAddr(t), refusedAddr(t)}}
	idle := route.Backend{Namespace: "default", Name: "idle", Port: "80"}
	named := h1Backend(t, "named", echo("named"))
	_, port, _ := net.SplitHostPort(named.Endpoints[0])
	named.Address, named.Endpoints = net.JoinHostPort("localhost", port), nil
	be := backends{"flaky": flaky, "closed": closed, "idle": idle, "named": named}
	p := proxy.New()
	tab := route.NewTable()
	for _, name := range []string{"flaky", "closed", "missing", "idle", "named"} {
		res := route.KIngress(ingress(rule("", []string{name + ".example.com"},
			kingressv1alpha1.HTTPIngressPath{Splits: []kingressv1alpha1.IngressBackendSplit{split(name, 100, name)}})), be)
		res.AddTo(tab)
	}
	p.Load(tab)
	ext, _ := serve(t, p)
	if code, _, _ := get(t, ext, "flaky.example.com", nil); code != 503 {
		t.Errorf("first call: %d, want the backend's 503", code)
	}
	if code, body, _ := get(t, ext, "flaky.example.com", nil); code != 200 || body != "ok" {
		t.Errorf("second call: %d %q", code, body)
	}
	if calls.Load() != 2 {
		t.Errorf("the backend saw %d calls, want 2 (no retry)", calls.Load())
	}
	if code, _, h := get(t, ext, "closed.example.com", nil); code != 502 || !strings.Contains(h.Get(proxy.RouteHeader), "default/closed:80") {
		t.Errorf("closed backend: %d %q", code, h.Get(proxy.RouteHeader))
	}
	for _, name := range []string{"missing", "idle"} {
		want := "kfup-ingress: no ready endpoints for default/" + name + ":80 (kingress default/hello)\n"
		if code, body, h := get(t, ext, name+".example.com", nil); code != 503 || body != want || h.Get(proxy.RouteHeader) == "" {
			t.Errorf("%s: %d %q, want 503 %q", name, code, body, want)
		}
	}
	if code, body, _ := get(t, ext, "named.example.com", nil); code != 200 || !strings.HasPrefix(body, "named ") {
		t.Errorf("ExternalName backend: %d %q", code, body)
	}
}

// h2c from the client (gRPC's prior-knowledge HTTP/2) to an h2c backend.
func TestH2CEndToEnd(t *testing.T) {
	be := backends{"v2": h2cBackend(t, "v2", echo("v2"))}
	p := proxy.New()
	load(t, p, be, ingress(rule("", []string{"grpc.example.com"},
		kingressv1alpha1.HTTPIngressPath{Splits: []kingressv1alpha1.IngressBackendSplit{split("v2", 100, "v2")}})))
	ext, _ := serve(t, p)
	var protos http.Protocols
	protos.SetUnencryptedHTTP2(true)
	c := &http.Client{Transport: &http.Transport{Protocols: &protos}}
	req, _ := http.NewRequest(http.MethodGet, ext, nil)
	req.Host = "grpc.example.com"
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.Proto != "HTTP/2.0" || !strings.HasPrefix(string(b), "v2 HTTP/2.0") {
		t.Errorf("client %s, backend said %q", resp.Proto, b)
	}
}

// A body streams through as the backend writes it, and a response after a long wait is
// not cut (the proxy sets no timeout).
func TestStreaming(t *testing.T) {
	release := make(chan struct{})
	be := backends{"slow": h1Backend(t, "slow", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("first\n"))
		w.(http.Flusher).Flush()
		<-release
		_, _ = w.Write([]byte("second\n"))
	}))}
	p := proxy.New()
	load(t, p, be, ingress(rule("", []string{"slow.example.com"},
		kingressv1alpha1.HTTPIngressPath{Splits: []kingressv1alpha1.IngressBackendSplit{split("slow", 100, "slow")}})))
	ext, _ := serve(t, p)
	req, _ := http.NewRequest(http.MethodGet, ext, nil)
	req.Host = "slow.example.com"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	line, err := r.ReadString('\n')
	if err != nil || line != "first\n" {
		t.Fatalf("first line %q, %v", line, err)
	}
	time.Sleep(200 * time.Millisecond)
	close(release)
	line, err = r.ReadString('\n')
	if err != nil || line != "second\n" {
		t.Fatalf("second line %q, %v", line, err)
	}
}

// A websocket-style upgrade is passed through, also to a backend that otherwise speaks
// h2c, and bytes flow both ways after it.
func TestUpgradePassesThrough(t *testing.T) {
	upgrade := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "websocket" {
			http.Error(w, "want an upgrade", 400)
			return
		}
		conn, brw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		_ = brw.Flush()
		line, _ := brw.ReadString('\n')
		_, _ = brw.WriteString("echo " + line)
		_ = brw.Flush()
	})
	s := httptest.NewServer(upgrade)
	t.Cleanup(s.Close)
	be := backends{"ws": {Namespace: "default", Name: "ws", Port: "80", Endpoints: []string{strings.TrimPrefix(s.URL, "http://")}, H2C: true}}
	p := proxy.New()
	load(t, p, be, ingress(rule("", []string{"ws.example.com"},
		kingressv1alpha1.HTTPIngressPath{Splits: []kingressv1alpha1.IngressBackendSplit{split("ws", 100, "ws")}})))
	ext, _ := serve(t, p)
	conn, err := net.Dial("tcp", strings.TrimPrefix(ext, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: ws.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %d", resp.StatusCode)
	}
	fmt.Fprintf(conn, "hello\n")
	line, err := br.ReadString('\n')
	if err != nil || line != "echo hello\n" {
		t.Fatalf("after the upgrade: %q, %v", line, err)
	}
}

// A new table applies to the next request, and the admin endpoint reports its hash.
func TestReloadAndHash(t *testing.T) {
	be := backends{"v1": h1Backend(t, "v1", echo("v1")), "v2": h1Backend(t, "v2", echo("v2"))}
	p := proxy.New()
	ext, _ := serve(t, p)
	admin := httptest.NewServer(p.Admin())
	t.Cleanup(admin.Close)
	hash := func() string {
		resp, err := http.Get(admin.URL + "/routes-hash")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	empty := hash()
	for _, name := range []string{"v1", "v2"} {
		load(t, p, be, ingress(rule("", []string{"hello.example.com"},
			kingressv1alpha1.HTTPIngressPath{Splits: []kingressv1alpha1.IngressBackendSplit{split(name, 100, name)}})))
		if _, body, _ := get(t, ext, "hello.example.com", nil); !strings.HasPrefix(body, name+" ") {
			t.Errorf("after loading %s: %q", name, body)
		}
		if h := hash(); h == empty || h != p.Serving() {
			t.Errorf("hash %q (empty table %q, serving %q)", h, empty, p.Serving())
		}
	}
	if _, err := p.LoadJSON([]byte("{not json")); err == nil {
		t.Error("a broken table was loaded")
	}
	if _, body, _ := get(t, ext, "hello.example.com", nil); !strings.HasPrefix(body, "v2 ") {
		t.Errorf("a broken table replaced the good one: %q", body)
	}
}
