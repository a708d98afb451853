// Package route is the routing table of kfup's ingress proxy: what Knative's KIngress
// (networking.internal.knative.dev/v1alpha1 Ingress) and Kubernetes' Ingress
// (networking.k8s.io/v1, class kfup) express, compiled into a form the data plane can
// match a request against without any further decision. It is pure: no client, no I/O.
//
// A Table holds the routes of two listeners: the external one (the host's ingress ports)
// serves only rules visible outside the cluster, the internal one (the cluster-local
// Service) serves every rule. Within a host the most specific route wins: exact paths
// before prefixes, longer prefixes first, more header matches first, then the order the
// objects gave. The external listener's TLS side picks a certificate per host name
// (tls.go).
package route

import (
	"cmp"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
)

// Visibility says which listeners serve a route.
type Visibility string

const (
	// External routes are served by both listeners.
	External Visibility = "External"
	// ClusterLocal routes are served by the internal listener only.
	ClusterLocal Visibility = "ClusterLocal"
)

// Backend is where a split sends requests: a Service port, resolved to the endpoints the
// proxy dials (or, for an ExternalName Service, a DNS name). With neither, requests get
// 503: the Service or its port does not exist, or it has no ready endpoint.
type Backend struct {
	// Namespace and Name name the Service.
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Port is the Service port as the object named it (a number or a port name).
	Port string `json:"port"`
	// Endpoints are the ready endpoints of the Service port, "ip:port" (pod address and
	// target port, from its EndpointSlices), sorted: the proxy balances among them.
	Endpoints []string `json:"endpoints,omitempty"`
	// Address is host:port to dial by name, for an ExternalName Service (Knative's
	// cluster-local placeholders, DomainMappings), instead of Endpoints.
	Address string `json:"address,omitempty"`
	// H2C says the port speaks HTTP/2 without TLS (appProtocol h2c, or a port named
	// h2c, http2 or grpc, as Knative and Kubernetes name them).
	H2C bool `json:"h2c,omitempty"`
}

// Reachable says whether the backend has somewhere to send requests: a ready endpoint or
// an external name.
func (b *Backend) Reachable() bool { return b.Address != "" || len(b.Endpoints) > 0 }

// String names the Service port, "namespace/name:port".
func (b *Backend) String() string { return b.Namespace + "/" + b.Name + ":" + b.Port }

// Split is one weighted backend of a route.
type Split struct {
	Backend Backend `json:"backend"`
	// Percent is the share of the route's requests, 0–100; a route's splits add to 100.
	Percent int `json:"percent"`
	// AppendHeaders are set on requests sent to this split.
	AppendHeaders map[string]string `json:"appendHeaders,omitempty"`
}

// PathMatch says how a route's path matches a request's.
type PathMatch string

const (
	// PathPrefix matches any path that starts with Path, character by character
	// (Knative's literal prefix).
	PathPrefix PathMatch = "Prefix"
	// PathSegments matches Path and any path below it, element by element split on "/"
	// (Kubernetes Ingress pathType Prefix: /foo matches /foo and /foo/bar, not /foobar).
	PathSegments PathMatch = "Segments"
	// PathExact matches Path only (Kubernetes Ingress pathType Exact).
	PathExact PathMatch = "Exact"
)

// Route is one path of one rule: a request that matches it is sent to one of its splits.
type Route struct {
	// Source names the object the route comes from, such as "kingress default/hello".
	Source string    `json:"source"`
	Path   string    `json:"path"`
	Match  PathMatch `json:"match"`
	// Headers are exact matches, every one required; keys are canonical header names.
	Headers map[string]string `json:"headers,omitempty"`
	// AppendHeaders are set on every request of the route, before the split's.
	AppendHeaders map[string]string `json:"appendHeaders,omitempty"`
	// RewriteHost, when set, replaces the request's Host.
	RewriteHost string `json:"rewriteHost,omitempty"`
	// ProbeHash, on a KIngress's routes, is the version of that KIngress as Knative
	// computes it (ProbeHash): a request carrying the probe header HashHeader with the
	// value HashOverride is forwarded with HashHeader set to it, so that a Knative-style
	// prober (and the conformance suite's headers/probe) sees which version is served.
	ProbeHash string `json:"probeHash,omitempty"`
	// RedirectHTTPS says a plain-HTTP request on the external listener is answered 301
	// to the same URL over HTTPS (a KIngress's httpOption Redirected); over TLS, and on
	// the internal listener, the route is served.
	RedirectHTTPS bool    `json:"redirectHTTPS,omitempty"`
	Splits        []Split `json:"splits"`
	// order keeps the objects' order among routes of equal specificity.
	order int
}

// Matches says whether the request's path and headers match the route.
func (r *Route) Matches(path string, h http.Header) bool {
	switch r.Match {
	case PathExact:
		if path != r.Path {
			return false
		}
	case PathSegments:
		if !segmentPrefix(r.Path, path) {
			return false
		}
	default:
		if !strings.HasPrefix(path, r.Path) {
			return false
		}
	}
	for k, v := range r.Headers {
		if h.Get(k) != v {
			return false
		}
	}
	return true
}

// Pick returns the split that a draw n in [0, 100) falls on, or nil when the route has
// none with a share.
func (r *Route) Pick(n int) *Split {
	for i := range r.Splits {
		s := &r.Splits[i]
		if n < s.Percent {
			return s
		}
		n -= s.Percent
	}
	return nil
}

// segmentPrefix says whether path is prefix or below it, element by element.
func segmentPrefix(prefix, path string) bool {
	p := strings.TrimSuffix(prefix, "/")
	if p == "" {
		return true
	}
	return path == p || strings.HasPrefix(path, p+"/")
}

// host is the routes of one host name, most specific first.
type host struct {
	Routes []*Route
}

// listener is the hosts one listener serves.
type listener struct {
	// Exact maps lower-case host names to their routes.
	Exact map[string]*host
	// Wildcard maps suffixes ("*.example.com" as ".example.com") to their routes.
	Wildcard map[string]*host
	// Any is the routes of rules without hosts (and Kubernetes' default backends).
	Any *host
}

// Table is a compiled set of routes, safe for concurrent lookups once built.
type Table struct {
	external, internal listener
	// tls is the certificates of the external TLS listener, by host name.
	tls tlsHosts
	// claims says, per lower-case host ("" the default), which certificate and source
	// hold it (AddCert).
	claims map[string]certClaim
	n      int
}

// NewTable returns an empty table.
func NewTable() *Table { return &Table{} }

// Add adds route r for hosts (none: every host), seen by the listeners vis says.
func (t *Table) Add(vis Visibility, hosts []string, r *Route) {
	t.n++
	r.order = t.n
	if r.Match == "" {
		r.Match = PathPrefix
	}
	if r.Match != PathExact && r.Path == "" {
		r.Path = "/"
	}
	t.internal.add(hosts, r)
	if vis != ClusterLocal {
		t.external.add(hosts, r)
	}
}

func (l *listener) add(hosts []string, r *Route) {
	if len(hosts) == 0 {
		if l.Any == nil {
			l.Any = &host{}
		}
		l.Any.Routes = insert(l.Any.Routes, r)
		return
	}
	for _, h := range hosts {
		h = strings.ToLower(h)
		m, key := &l.Exact, h
		if suffix, ok := strings.CutPrefix(h, "*"); ok {
			m, key = &l.Wildcard, suffix
		}
		if *m == nil {
			*m = map[string]*host{}
		}
		e := (*m)[key]
		if e == nil {
			e = &host{}
			(*m)[key] = e
		}
		e.Routes = insert(e.Routes, r)
	}
}

// insert adds r to routes, keeping them most specific first.
func insert(routes []*Route, r *Route) []*Route {
	i, _ := slices.BinarySearchFunc(routes, r, func(a, b *Route) int { return compare(a, b) })
	return slices.Insert(routes, i, r)
}

// compare orders routes most specific first: exact paths, then longer paths, then more
// header matches, then the order they were added.
func compare(a, b *Route) int {
	if (a.Match == PathExact) != (b.Match == PathExact) {
		if a.Match == PathExact {
			return -1
		}
		return 1
	}
	return cmp.Or(
		cmp.Compare(len(b.Path), len(a.Path)),
		cmp.Compare(len(b.Headers), len(a.Headers)),
		cmp.Compare(a.order, b.order),
	)
}

// Lookup returns the route that serves a request for hostport (a Host header, its port
// ignored), path and headers on the external or the internal listener; nil when none
// does. As in Envoy's virtual hosts, the host picks one entry — its exact name, else the
// wildcard with the longest suffix — and only that entry's routes are tried, then those
// of rules without hosts (Kubernetes' default backend among them).
func (t *Table) Lookup(external bool, hostport, path string, h http.Header) *Route {
	l := &t.internal
	if external {
		l = &t.external
	}
	name := strings.ToLower(HostName(hostport))
	e := l.Exact[name]
	if e == nil {
		e, _ = wildcard(l.Wildcard, name)
	}
	if e != nil {
		if r := first(e, path, h); r != nil {
			return r
		}
	}
	if l.Any != nil {
		return first(l.Any, path, h)
	}
	return nil
}

func first(e *host, path string, h http.Header) *Route {
	for _, r := range e.Routes {
		if r.Matches(path, h) {
			return r
		}
	}
	return nil
}

// EachRoute calls f on every route of the table once.
func (t *Table) EachRoute(f func(*Route)) {
	seen := map[*Route]bool{}
	each := func(e *host) {
		if e == nil {
			return
		}
		for _, r := range e.Routes {
			if !seen[r] {
				seen[r] = true
				f(r)
			}
		}
	}
	// The internal listener holds every route.
	for _, k := range sortedKeys(t.internal.Exact) {
		each(t.internal.Exact[k])
	}
	for _, k := range sortedKeys(t.internal.Wildcard) {
		each(t.internal.Wildcard[k])
	}
	each(t.internal.Any)
}

// Hosts lists the host names (and wildcards) of a listener, sorted.
func (t *Table) Hosts(external bool) []string {
	l := &t.internal
	if external {
		l = &t.external
	}
	var out []string
	for h := range l.Exact {
		out = append(out, h)
	}
	for s := range l.Wildcard {
		out = append(out, "*"+s)
	}
	slices.Sort(out)
	return out
}

// wildcard returns the entry of m (keyed by suffix: "*.example.com" as ".example.com")
// that name falls under, the longest suffix first; "*.example.com" matches exactly one more
// label, as Kubernetes says.
func wildcard[V any](m map[string]V, name string) (V, bool) {
	var best V
	bestLen := 0
	for suffix, v := range m {
		if rest, ok := strings.CutSuffix(name, suffix); ok && rest != "" && !strings.Contains(rest, ".") && len(suffix) > bestLen {
			best, bestLen = v, len(suffix)
		}
	}
	return best, bestLen > 0
}

// HostName returns the host of a Host header (host, host:port, [v6], [v6]:port), without
// brackets.
func HostName(hostport string) string {
	if strings.HasPrefix(hostport, "[") {
		if i := strings.Index(hostport, "]"); i > 0 {
			return hostport[1:i]
		}
		return hostport
	}
	if i := strings.LastIndexByte(hostport, ':'); i >= 0 && !strings.Contains(hostport[:i], ":") {
		return hostport[:i]
	}
	return hostport
}

// tableJSON is the wire form of a Table: the routes once, and per listener the indexes
// of the routes each host serves.
type tableJSON struct {
	Routes   []*Route     `json:"routes"`
	External listenerJSON `json:"external"`
	Internal listenerJSON `json:"internal"`
	TLS      *tlsHosts    `json:"tls,omitempty"`
}

type listenerJSON struct {
	Exact    map[string][]int `json:"exact,omitempty"`
	Wildcard map[string][]int `json:"wildcard,omitempty"`
	Any      []int            `json:"any,omitempty"`
}

// MarshalJSON writes the table in a stable form (the controller publishes it for the
// proxy, and compares what the proxy serves by its hash).
func (t *Table) MarshalJSON() ([]byte, error) {
	index := map[*Route]int{}
	var routes []*Route
	ids := func(e *host) []int {
		if e == nil {
			return nil
		}
		out := make([]int, 0, len(e.Routes))
		for _, r := range e.Routes {
			i, ok := index[r]
			if !ok {
				i = len(routes)
				index[r] = i
				routes = append(routes, r)
			}
			out = append(out, i)
		}
		return out
	}
	conv := func(l *listener) listenerJSON {
		var out listenerJSON
		for _, k := range sortedKeys(l.Exact) {
			if out.Exact == nil {
				out.Exact = map[string][]int{}
			}
			out.Exact[k] = ids(l.Exact[k])
		}
		for _, k := range sortedKeys(l.Wildcard) {
			if out.Wildcard == nil {
				out.Wildcard = map[string][]int{}
			}
			out.Wildcard[k] = ids(l.Wildcard[k])
		}
		out.Any = ids(l.Any)
		return out
	}
	// Internal first: it holds every route, so route indexes follow one order.
	in := conv(&t.internal)
	ex := conv(&t.external)
	w := tableJSON{Routes: routes, External: ex, Internal: in}
	if t.tls.Default != "" || len(t.tls.Exact) > 0 || len(t.tls.Wildcard) > 0 {
		w.TLS = &t.tls
	}
	return json.Marshal(w)
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (t *Table) UnmarshalJSON(b []byte) error {
	var w tableJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	get := func(ids []int) (*host, error) {
		if ids == nil {
			return nil, nil
		}
		e := &host{}
		for _, i := range ids {
			if i < 0 || i >= len(w.Routes) || w.Routes[i] == nil {
				return nil, &json.UnsupportedValueError{Str: "route index out of range"}
			}
			e.Routes = append(e.Routes, w.Routes[i])
		}
		return e, nil
	}
	conv := func(lj listenerJSON) (listener, error) {
		var l listener
		for k, ids := range lj.Exact {
			e, err := get(ids)
			if err != nil {
				return l, err
			}
			if l.Exact == nil {
				l.Exact = map[string]*host{}
			}
			l.Exact[k] = e
		}
		for k, ids := range lj.Wildcard {
			e, err := get(ids)
			if err != nil {
				return l, err
			}
			if l.Wildcard == nil {
				l.Wildcard = map[string]*host{}
			}
			l.Wildcard[k] = e
		}
		e, err := get(lj.Any)
		l.Any = e
		return l, err
	}
	var err error
	if t.internal, err = conv(w.Internal); err != nil {
		return err
	}
	t.external, err = conv(w.External)
	t.n = len(w.Routes)
	if w.TLS != nil {
		t.tls = *w.TLS
	}
	return err
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
