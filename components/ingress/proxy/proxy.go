// Package proxy is the data plane of kfup's ingress: an HTTP reverse proxy (the standard
// library's httputil.ReverseProxy) that serves a route.Table. It speaks HTTP/1.1 and h2c
// on both sides, passes websocket upgrades through, streams bodies as they come (gRPC,
// server-sent events), never retries a request (a refused connection is dialled again:
// nothing was sent) and sets no timeout of its own — what Knative's
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
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/kfup/kfup/components/ingress/route"
)

// Names the proxy, its controller (in the manager) and its installer share.
const (
	// DefaultNamespace is where the proxy runs and its routes are published.
	DefaultNamespace = "kfup-system"
	// DefaultRoutesConfigMap names the ConfigMap holding the route table.
	DefaultRoutesConfigMap = "kfup-ingress-routes"
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

// DefaultRefusedWait is how long a backend that refuses connections is dialled again
// before the request gets 502 (WithRefusedWait).
const DefaultRefusedWait = 3 * time.Second

// Proxy serves the current route table.
type Proxy struct {
	cur         atomic.Pointer[loaded]
	log         *slog.Logger
	h1          *http.Transport
	h2c         *http.Transport
	draw        func() int
	dial        func(ctx context.Context, network, addr string) (net.Conn, error)
	refusedWait time.Duration
	count       atomic.Int64
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

// WithRefusedWait sets how long a backend refusing connections is dialled again, with
// growing pauses, before the request gets 502 (DefaultRefusedWait; 0: not again). The
// proxy dials Services' cluster IPs, and a Service just created refuses connections
// until kube-proxy has programmed its address on the node, which can be after the
// controller routed it (Envoy-based ingresses dial pod endpoints and never see this).
// Nothing was sent to the backend, so this never repeats a request.
func WithRefusedWait(d time.Duration) Option {
	return optionFunc(func(p *Proxy) { p.refusedWait = d })
}

// New returns a proxy serving an empty table (every request 404) until Load.
func New(opts ...Option) *Proxy {
	p := &Proxy{log: slog.Default(), draw: func() int { return rand.IntN(100) }, refusedWait: DefaultRefusedWait}
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	p.dial = d.DialContext
	for _, o := range opts {
		o.apply(p)
	}
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		return dialRefused(ctx, p.dial, network, addr, p.refusedWait)
	}
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

// dialRefused dials addr, and again after growing pauses (50 ms doubling up to 1 s)
// while the connection is refused, for up to wait in all.
func dialRefused(ctx context.Context, dial func(ctx context.Context, network, addr string) (net.Conn, error), network, addr string, wait time.Duration) (net.Conn, error) {
	deadline := time.Now().Add(wait)
	pause := 50 * time.Millisecond
	for {
		c, err := dial(ctx, network, addr)
		if err == nil || !errors.Is(err, syscall.ECONNREFUSED) || time.Now().Add(pause).After(deadline) {
			return c, err
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, err
		case <-t.C:
		}
		pause = min(2*pause, time.Second)
	}
}

// Load makes t the table served from now on.
func (p *Proxy) Load(t *route.Table) string {
	b, _ := json.Marshal(t)
	h := Hash(b)
	p.cur.Store(&loaded{tab: t, hash: h})
	p.refreshConnsSoon()
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
	p.cur.Store(&loaded{tab: &t, hash: h})
	p.refreshConnsSoon()
	return h, nil
}

// connRefreshDelay is how long after a table change the proxy drops its idle backend
// connections (refreshConnsSoon).
const connRefreshDelay = 3 * time.Second

// refreshConnsSoon drops the idle backend connections a moment after a table change.
// The proxy dials Services' cluster IPs; a Service just created may not be programmed on
// the node yet (kube-proxy syncs within a second or two), and a connection dialled in
// that window reaches whatever answers the un-NATed address: nothing (refused, dialled
// again: WithRefusedWait) or, on a host that intercepts outbound traffic, a server that
// answers and keeps the connection alive — which keep-alive would then reuse for every
// later request to that backend. Dropping idle connections once the node has had time
// to program the Service makes the next request dial it again.
func (p *Proxy) refreshConnsSoon() {
	time.AfterFunc(connRefreshDelay, func() {
		p.h1.CloseIdleConnections()
		p.h2c.CloseIdleConnections()
	})
}

// Hash is the version of a table's JSON form: what the proxy reports it serves.
func Hash(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:8])
}

// Serving is the hash of the table served now.
func (p *Proxy) Serving() string { return p.cur.Load().hash }

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
		s := rt.Pick(p.draw())
		if s == nil {
			refuse(w, http.StatusServiceUnavailable, "no backend has a share of "+rt.Source)
			return
		}
		if s.Backend.Address == "" {
			refuse(w, http.StatusServiceUnavailable, fmt.Sprintf("backend %s/%s:%s of %s is not there yet", s.Backend.Namespace, s.Backend.Name, s.Backend.Port, rt.Source))
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
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(&url.URL{Scheme: "http", Host: s.Backend.Address})
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
		Transport:     transport,
		BufferPool:    copyBuffers,
		FlushInterval: -1, // stream: gRPC, server-sent events and slow bodies go out as they come
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if errors.Is(err, context.Canceled) {
				return // the client went away
			}
			p.log.Warn("backend failed", "route", rt.Source, "backend", s.Backend.Address, "err", err)
			refuse(w, http.StatusBadGateway, fmt.Sprintf("backend %s/%s:%s: %v", s.Backend.Namespace, s.Backend.Name, s.Backend.Port, err))
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
