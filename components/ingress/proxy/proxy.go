// Package proxy is the data plane of kfup's ingress: an HTTP reverse proxy (the standard
// library's httputil.ReverseProxy) that serves a route.Table. It sends each request to
// one of its backend's ready endpoints (pod addresses, as Envoy-based ingresses do, not
// the Service's cluster IP), the one with fewer requests in flight of two drawn at random
// (power of two choices), and to another endpoint when one refuses the connection (nothing
// was sent, so no request is repeated). It speaks HTTP/1.1 and h2c on both sides, passes
// websocket upgrades through, streams bodies as they come (gRPC, server-sent events),
// never retries a request the backend saw and sets no timeout of its own — what Knative's
// KIngress conformance asks of an ingress. The table is swapped atomically: a request in
// flight finishes on the table it started with.
package proxy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kfup/kfup/components/ingress/route"
)

// Names the proxy, its controller (in the manager) and its installer share.
const (
	// DefaultNamespace is where the proxy runs and its routes are published.
	DefaultNamespace = "kfup-system"
	// DefaultRoutesConfigMap names the ConfigMap holding the route table.
	DefaultRoutesConfigMap = "kfup-ingress-routes"
	// DefaultCertsSecret names the Secret holding the certificates the table names: for
	// each, <name>.crt (the chain) and <name>.key.
	DefaultCertsSecret = "kfup-ingress-certs"
	// RoutesKey is the ConfigMap key of the table's JSON form.
	RoutesKey = "routes.json"
	// HashKey is the ConfigMap key of the table's hash (Hash of RoutesKey's value).
	HashKey = "hash"
	// IngressClass is the IngressClass whose Ingresses kfup's ingress serves.
	IngressClass = "kfup"
)

// Header names the proxy sets on what it forwards and answers.
const (
	// RouteHeader, on answers the proxy makes itself (404, 502, 503), says why.
	RouteHeader = "X-Kfup-Ingress"
)

// Proxy serves the current route table.
type Proxy struct {
	cur   atomic.Pointer[loaded]
	log   *slog.Logger
	h1    *http.Transport
	h2c   *http.Transport
	draw  func() int
	dial  func(ctx context.Context, network, addr string) (net.Conn, error)
	count atomic.Int64
	// inflight counts, per endpoint address, the requests sent there and not finished
	// (*atomic.Int64): what the power of two choices compares. It outlives tables, since
	// requests outlive them; Load drops the idle addresses no table names any more.
	inflight sync.Map
	// certs are the TLS listener's certificates by name (see LoadCerts).
	certs certStore
	// httpsPort is the host's HTTPS port, which redirects name (0 or 443: none).
	httpsPort int
}

type loaded struct {
	tab  *route.Table
	hash string
}

// Option configures a Proxy.
type Option interface{ apply(*Proxy) }

type optionFunc func(*Proxy)

func (f optionFunc) apply(p *Proxy) { f(p) }

// WithLogger logs the proxy's errors to l.
func WithLogger(l *slog.Logger) Option { return optionFunc(func(p *Proxy) { p.log = l }) }

// WithDraw replaces the random draw in [0, 100) that picks a split (for tests).
func WithDraw(f func() int) Option { return optionFunc(func(p *Proxy) { p.draw = f }) }

// WithDialer replaces how backends are dialled (for tests).
func WithDialer(f func(ctx context.Context, network, addr string) (net.Conn, error)) Option {
	return optionFunc(func(p *Proxy) { p.dial = f })
}

// WithHTTPSPort makes redirects to HTTPS name port (the host's HTTPS ingress port), unless
// it is 443.
func WithHTTPSPort(port int) Option { return optionFunc(func(p *Proxy) { p.httpsPort = port }) }

// New returns a proxy serving an empty table (every request 404) until Load.
func New(opts ...Option) *Proxy {
	p := &Proxy{log: slog.Default(), draw: func() int { return rand.IntN(100) }}
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	p.dial = d.DialContext
	for _, o := range opts {
		o.apply(p)
	}
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) { return p.dial(ctx, network, addr) }
	p.h1 = &http.Transport{
		DialContext:         dial,
		MaxIdleConns:        1000,
		MaxIdleConnsPerHost: 100,
		IdleConnTimeout:     90 * time.Second,
		// Compression is the client's and the backend's business: pass it through.
		DisableCompression: true,
	}
	var h2c http.Protocols
	h2c.SetUnencryptedHTTP2(true)
	p.h2c = &http.Transport{
		DialContext:        dial,
		Protocols:          &h2c,
		IdleConnTimeout:    90 * time.Second,
		DisableCompression: true,
	}
	p.Load(route.NewTable())
	return p
}

// Load makes t the table served from now on.
func (p *Proxy) Load(t *route.Table) string {
	b, _ := json.Marshal(t)
	h := Hash(b)
	p.store(&loaded{tab: t, hash: h})
	return h
}

// LoadJSON reads a table in its JSON form (as the controller publishes it) and serves it;
// a table that does not read leaves the current one in place.
func (p *Proxy) LoadJSON(b []byte) (string, error) {
	var t route.Table
	if err := json.Unmarshal(b, &t); err != nil {
		return "", fmt.Errorf("read the route table: %w", err)
	}
	h := Hash(b)
	p.store(&loaded{tab: &t, hash: h})
	return h, nil
}

// store serves l and forgets the in-flight counts of endpoints it does not name and no
// request uses.
func (p *Proxy) store(l *loaded) {
	p.cur.Store(l)
	p.certs.tableLoaded(l.tab.CertNames())
	named := map[string]bool{}
	l.tab.EachRoute(func(r *route.Route) {
		for _, s := range r.Splits {
			for _, e := range s.Backend.Endpoints {
				named[e] = true
			}
		}
	})
	p.inflight.Range(func(k, v any) bool {
		if !named[k.(string)] && v.(*atomic.Int64).Load() == 0 {
			p.inflight.Delete(k)
		}
		return true
	})
}

// inFlight is the in-flight count of endpoint addr.
func (p *Proxy) inFlight(addr string) *atomic.Int64 {
	if v, ok := p.inflight.Load(addr); ok {
		return v.(*atomic.Int64)
	}
	v, _ := p.inflight.LoadOrStore(addr, new(atomic.Int64))
	return v.(*atomic.Int64)
}

// Hash is the version of a table's JSON form: what the proxy reports it serves.
func Hash(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:8])
}

// Serving is the hash of the table served now, once the proxy holds every certificate it
// names; until then it says which it lacks, so that no route is reported ready before its
// certificate is served.
func (p *Proxy) Serving() string {
	l := p.cur.Load()
	if missing := p.certs.missing(l.tab.CertNames()); len(missing) > 0 {
		return "certificates not loaded yet: " + strings.Join(missing, ",")
	}
	return l.hash
}

// Requests is how many requests the proxy has forwarded.
func (p *Proxy) Requests() int64 { return p.count.Load() }

// Handler serves the external listener (external true: only rules visible outside the
// cluster) or the internal one (every rule).
func (p *Proxy) Handler(external bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l := p.cur.Load()
		rt := l.tab.Lookup(external, r.Host, r.URL.Path, r.Header)
		if rt == nil {
			refuse(w, http.StatusNotFound, fmt.Sprintf("no route for host %q path %q", r.Host, r.URL.Path))
			return
		}
		if rt.RedirectHTTPS && external && r.TLS == nil {
			p.redirect(w, r)
			return
		}
		s := rt.Pick(p.draw())
		if s == nil {
			refuse(w, http.StatusServiceUnavailable, "no backend has a share of "+rt.Source)
			return
		}
		if !s.Backend.Reachable() {
			refuse(w, http.StatusServiceUnavailable, fmt.Sprintf("no ready endpoints for %s (%s)", s.Backend.String(), rt.Source))
			return
		}
		p.count.Add(1)
		p.forward(w, r, rt, s)
	})
}

func (p *Proxy) forward(w http.ResponseWriter, r *http.Request, rt *route.Route, s *route.Split) {
	transport := p.h1
	// A websocket (or any HTTP/1.1 upgrade) needs HTTP/1.1 to the backend, whatever it
	// speaks otherwise.
	if s.Backend.H2C && r.Header.Get("Upgrade") == "" {
		transport = p.h2c
	}
	host := s.Backend.Address
	if host == "" {
		host = s.Backend.Endpoints[0] // the balancer picks one
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(&url.URL{Scheme: "http", Host: host})
			pr.Out.Host = pr.In.Host
			if rt.RewriteHost != "" {
				pr.Out.Host = rt.RewriteHost
			}
			pr.SetXForwarded()
			for k, v := range rt.AppendHeaders {
				pr.Out.Header.Set(k, v)
			}
			for k, v := range s.AppendHeaders {
				pr.Out.Header.Set(k, v)
			}
			// Knative's probe: the backend (Knative's probe handler) echoes the header,
			// so the prober learns which version of the KIngress routed it.
			if rt.ProbeHash != "" && pr.In.Header.Get(route.HashHeader) == route.HashOverride {
				pr.Out.Header.Set(route.HashHeader, rt.ProbeHash)
			}
		},
		Transport:     &balancer{p: p, next: transport, backend: &s.Backend},
		BufferPool:    copyBuffers,
		FlushInterval: -1, // stream: gRPC, server-sent events and slow bodies go out as they come
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if errors.Is(err, context.Canceled) {
				return // the client went away
			}
			p.log.Warn("backend failed", "route", rt.Source, "backend", s.Backend.String(), "err", err)
			refuse(w, http.StatusBadGateway, fmt.Sprintf("backend %s: %v", s.Backend.String(), err))
		},
	}
	rp.ServeHTTP(w, r)
}

// copyBuffers are the body copy buffers of every forward: without a pool,
// httputil.ReverseProxy allocates 32 KiB per request.
var copyBuffers = &bufferPool{p: sync.Pool{New: func() any { return make([]byte, 32<<10) }}}

// bufferPool is an httputil.BufferPool over a sync.Pool.
type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() []byte  { return b.p.Get().([]byte) }
func (b *bufferPool) Put(s []byte) { b.p.Put(s) } //nolint:staticcheck // SA6002: a slice header per Put costs less than 32 KiB per request

// redirect answers a plain-HTTP request 301 with its URL over HTTPS, on the host's HTTPS
// port.
func (p *Proxy) redirect(w http.ResponseWriter, r *http.Request) {
	name := route.HostName(r.Host)
	host := name
	switch {
	case p.httpsPort != 0 && p.httpsPort != 443:
		host = net.JoinHostPort(name, strconv.Itoa(p.httpsPort))
	case strings.Contains(name, ":"):
		host = "[" + name + "]" // an IPv6 literal
	}
	u := url.URL{Scheme: "https", Host: host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
	w.Header().Set(RouteHeader, "redirected to HTTPS (httpOption Redirected)")
	http.Redirect(w, r, u.String(), http.StatusMovedPermanently)
}

// refuse answers a request the proxy cannot forward, saying why.
func refuse(w http.ResponseWriter, code int, why string) {
	w.Header().Set(RouteHeader, why)
	http.Error(w, "kfup-ingress: "+why, code)
}

// SmokePath is answered "ok" by the admin handler: kfup test routes it through the proxy
// to the admin port, end to end.
const SmokePath = "/kfup-ingress-smoke"

// Admin serves the proxy's own endpoints: /healthz, SmokePath and /routes-hash (the table
// it serves, which the controller compares with what it published before it says a
// route is ready).
func (p *Proxy) Admin() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+SmokePath, func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /routes-hash", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(p.Serving())) })
	return mux
}

// Server returns an http.Server for h that accepts HTTP/1.1 and h2c (prior knowledge and
// upgrade-free, as gRPC clients speak it) on a plain listener.
func Server(h http.Handler) *http.Server {
	var protos http.Protocols
	protos.SetHTTP1(true)
	protos.SetUnencryptedHTTP2(true)
	return &http.Server{Handler: h, Protocols: &protos, ReadHeaderTimeout: 30 * time.Second}
}
