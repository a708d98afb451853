package route

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	kingressv1alpha1 "github.com/kfup/kfup/components/ingress/api/v1alpha1"
)

// Resolver finds the address of a Service port.
type Resolver interface {
	// Resolve returns the backend of Service namespace/name's port (a number or a port
	// name) with Endpoints (or Address) and H2C filled in; an error says why it cannot
	// be resolved.
	Resolve(namespace, name string, port intstr.IntOrString) (Backend, error)
	// Certificate returns the certificate of TLS Secret namespace/name (ParseCert):
	// ErrNoSecret when there is none yet, a *BadSecretError when it holds no usable
	// pair, another error when it cannot be read now.
	Certificate(namespace, name string) (Cert, error)
}

// Result is what compiling one object gives: the routes it adds, the reasons it cannot be
// served as written (each naming the field), and the Services it waits for.
type Result struct {
	// Invalid lists what the proxy cannot express; when it is not empty the object adds
	// no route at all (never a silently wrong one).
	Invalid field.ErrorList
	// Waiting lists the backends that cannot be resolved yet ("ns/name:port: why").
	Waiting []string
	// NoEndpoints lists the backends resolved without a ready endpoint yet
	// ("ns/name:port"): their requests get 503 until the Service has one.
	NoEndpoints []string
	// Backends are every Service the object names, "namespace/name".
	Backends []string
	// Secrets are every TLS Secret the object names, "namespace/name".
	Secrets []string
	// WaitingSecrets lists the TLS Secrets that cannot be read yet ("Secret ns/name:
	// why"): their hosts get no certificate until they can.
	WaitingSecrets []string
	// Certs are the certificates the object's TLS entries name, by Cert.Name.
	Certs map[string]Cert
	// Conflicts lists the TLS hosts another object holds with another certificate
	// (ClaimCerts): they keep that one, and this object is not Ready.
	Conflicts []string
	// Ignored lists what the object asks for that kfup's ingress leaves out, said in a
	// Warning (an Ingress TLS entry without a Secret).
	Ignored []string
	add     []pending
	certs   []pendingCert
	tlsSeen []tlsSeen
	source  string
}

type pending struct {
	vis   Visibility
	hosts []string
	route *Route
}

// AddTo adds the object's certificates (ClaimCerts) and routes (AddRoutes) to t.
func (r *Result) AddTo(t *Table) {
	r.ClaimCerts(t)
	r.AddRoutes(t)
}

// AddRoutes adds the object's routes to t, unless it is invalid.
func (r *Result) AddRoutes(t *Table) {
	if len(r.Invalid) > 0 {
		return
	}
	for _, p := range r.add {
		t.Add(p.vis, p.hosts, p.route)
	}
}

// Knative's probe headers (knative.dev/networking/pkg/http/header): a request carrying
// HashHeader: HashOverride is tagged on its way through with the hash of the KIngress
// version that routed it.
const (
	HashHeader   = "K-Network-Hash"
	HashOverride = "override"
)

// ProbeHash is the version of a KIngress as Knative computes it (ComputeHash in
// knative.dev/networking/pkg/ingress): the SHA-256 of the spec's JSON followed by the
// namespace and the name, in hex. kfup's KIngress types have Knative's fields and JSON
// names, so the spec encodes to the same bytes.
func ProbeHash(ing *kingressv1alpha1.Ingress) (string, error) {
	b, err := json.Marshal(ing.Spec)
	if err != nil {
		return "", err
	}
	b = append(b, ing.Namespace...)
	b = append(b, ing.Name...)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// Fingerprint identifies the routes the object adds — hosts, visibility, matches,
// headers, splits and their resolved backends, the hosts it has certificates for, whether
// it is added at all — so that the controller can tell whether a table the proxy serves
// already routes this object as it now compiles, whatever else changed in the table. It
// leaves the backends' endpoints out: pods coming and going (a scale-up, a rollout)
// change the table, not what the object is routed to (NoEndpoints says whether its
// backends have any); and which certificate a host has: a rotated certificate is served
// as soon as the proxy loads it, the old one until then, with no gap to report.
func (r *Result) Fingerprint() string {
	type entry struct {
		Vis   Visibility `json:"vis"`
		Hosts []string   `json:"hosts"`
		Route Route      `json:"route"`
	}
	var certHosts []string
	for _, c := range r.certs {
		certHosts = append(certHosts, c.hosts...)
	}
	entries := make([]entry, 0, len(r.add))
	for _, p := range r.add {
		rt := *p.route
		rt.Splits = slices.Clone(rt.Splits)
		for i := range rt.Splits {
			rt.Splits[i].Backend.Endpoints = nil
		}
		entries = append(entries, entry{p.vis, p.hosts, rt})
	}
	b, _ := json.Marshal(struct {
		Added     bool     `json:"added"`
		Routes    []entry  `json:"routes"`
		CertHosts []string `json:"certHosts,omitempty"`
		Conflicts []string `json:"conflicts,omitempty"`
	}{len(r.Invalid) == 0, entries, certHosts, r.Conflicts}) // plain data: never fails
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// KIngress compiles a Knative Ingress.
func KIngress(ing *kingressv1alpha1.Ingress, res Resolver) *Result {
	src := "kingress " + ing.Namespace + "/" + ing.Name
	out := &Result{source: src}
	spec := field.NewPath("spec")
	hash, err := ProbeHash(ing)
	if err != nil {
		out.Invalid = append(out.Invalid, field.InternalError(spec, fmt.Errorf("encode the spec: %w", err)))
	}
	for i, t := range ing.Spec.TLS {
		tp := spec.Child("tls").Index(i)
		out.validTLSHosts(tp.Child("hosts"), t.Hosts)
		switch {
		case t.SecretName == "":
			out.Invalid = append(out.Invalid, field.Required(tp.Child("secretName"), "the TLS Secret (tls.crt, tls.key) of these hosts"))
		case t.SecretNamespace == "":
			out.Invalid = append(out.Invalid, field.Required(tp.Child("secretNamespace"), "the namespace of Secret "+t.SecretName))
		default:
			out.tlsEntry(tp, t.Hosts, t.SecretNamespace, t.SecretName, res)
		}
	}
	redirect := false
	switch ing.Spec.HTTPOption {
	case "", kingressv1alpha1.HTTPOptionEnabled:
	case kingressv1alpha1.HTTPOptionRedirected:
		redirect = true
	default:
		out.Invalid = append(out.Invalid, field.NotSupported(spec.Child("httpOption"), ing.Spec.HTTPOption,
			[]string{string(kingressv1alpha1.HTTPOptionEnabled), string(kingressv1alpha1.HTTPOptionRedirected)}))
	}
	for i, rule := range ing.Spec.Rules {
		rp := spec.Child("rules").Index(i)
		vis := External
		switch rule.Visibility {
		case "", kingressv1alpha1.IngressVisibilityExternalIP:
		case kingressv1alpha1.IngressVisibilityClusterLocal:
			vis = ClusterLocal
		default:
			out.Invalid = append(out.Invalid, field.NotSupported(rp.Child("visibility"), rule.Visibility,
				[]string{string(kingressv1alpha1.IngressVisibilityExternalIP), string(kingressv1alpha1.IngressVisibilityClusterLocal)}))
		}
		for j, h := range rule.Hosts {
			if errs := validation.IsDNS1123Subdomain(strings.ToLower(h)); len(errs) > 0 {
				out.Invalid = append(out.Invalid, field.Invalid(rp.Child("hosts").Index(j), h, strings.Join(errs, "; ")))
			}
		}
		if rule.HTTP == nil {
			out.Invalid = append(out.Invalid, field.Required(rp.Child("http"), "a rule needs http paths"))
			continue
		}
		for j, p := range rule.HTTP.Paths {
			pp := rp.Child("http", "paths").Index(j)
			r := &Route{Source: src, Path: p.Path, Match: PathPrefix, RewriteHost: p.RewriteHost,
				AppendHeaders: canonical(p.AppendHeaders), ProbeHash: hash, RedirectHTTPS: redirect}
			if p.Path != "" && !strings.HasPrefix(p.Path, "/") {
				out.Invalid = append(out.Invalid, field.Invalid(pp.Child("path"), p.Path, "must begin with '/'"))
			}
			if p.RewriteHost != "" {
				if errs := validation.IsDNS1123Subdomain(p.RewriteHost); len(errs) > 0 {
					out.Invalid = append(out.Invalid, field.Invalid(pp.Child("rewriteHost"), p.RewriteHost, strings.Join(errs, "; ")))
				}
			}
			for k, m := range p.Headers {
				if !validHeaderName(k) {
					out.Invalid = append(out.Invalid, field.Invalid(pp.Child("headers").Key(k), k, "not an HTTP header name"))
					continue
				}
				if r.Headers == nil {
					r.Headers = map[string]string{}
				}
				r.Headers[http.CanonicalHeaderKey(k)] = m.Exact
			}
			if len(p.Splits) == 0 {
				out.Invalid = append(out.Invalid, field.Required(pp.Child("splits"), "a path needs at least one split"))
			}
			total := 0
			for k, s := range p.Splits {
				sp := pp.Child("splits").Index(k)
				pct := s.Percent
				if len(p.Splits) == 1 && pct == 0 {
					pct = 100 // Knative: a lone split takes everything
				}
				if pct < 0 || pct > 100 {
					out.Invalid = append(out.Invalid, field.Invalid(sp.Child("percent"), s.Percent, "must be 0-100"))
				}
				total += pct
				b := out.backend(sp, s.ServiceNamespace, s.ServiceName, s.ServicePort, res)
				r.Splits = append(r.Splits, Split{Backend: b, Percent: pct, AppendHeaders: canonical(s.AppendHeaders)})
			}
			if len(p.Splits) > 0 && total != 100 {
				out.Invalid = append(out.Invalid, field.Invalid(pp.Child("splits"), total, "the splits' percents must add up to 100"))
			}
			out.add = append(out.add, pending{vis: vis, hosts: rule.Hosts, route: r})
		}
	}
	var external []string
	for _, rule := range ing.Spec.Rules {
		if rule.Visibility != kingressv1alpha1.IngressVisibilityClusterLocal {
			external = append(external, rule.Hosts...)
		}
	}
	out.ownHosts(external)
	return out
}

// K8sIngress compiles a Kubernetes Ingress (the caller checks its class).
func K8sIngress(ing *networkingv1.Ingress, res Resolver) *Result {
	src := "ingress " + ing.Namespace + "/" + ing.Name
	out := &Result{source: src}
	spec := field.NewPath("spec")
	for i, t := range ing.Spec.TLS {
		tp := spec.Child("tls").Index(i)
		out.validTLSHosts(tp.Child("hosts"), t.Hosts)
		if t.SecretName == "" {
			out.Ignored = append(out.Ignored, tp.Child("secretName").String()+
				" is empty: kfup's ingress has no default certificate, so this entry is left out (name a TLS Secret of the Ingress's namespace, with tls.crt and tls.key)")
			continue
		}
		out.tlsEntry(tp, t.Hosts, ing.Namespace, t.SecretName, res)
	}
	if d := ing.Spec.DefaultBackend; d != nil {
		if b, ok := out.k8sBackend(spec.Child("defaultBackend"), ing.Namespace, d, res); ok {
			out.add = append(out.add, pending{vis: External, route: &Route{Source: src, Path: "/", Match: PathPrefix,
				Splits: []Split{{Backend: b, Percent: 100}}}})
		}
	}
	for i, rule := range ing.Spec.Rules {
		rp := spec.Child("rules").Index(i)
		var hosts []string
		if rule.Host != "" {
			h := strings.ToLower(rule.Host)
			check := strings.TrimPrefix(h, "*.")
			if errs := validation.IsDNS1123Subdomain(check); len(errs) > 0 || strings.Contains(check, "*") {
				out.Invalid = append(out.Invalid, field.Invalid(rp.Child("host"), rule.Host, "a DNS name, optionally with a leading '*.'"))
			}
			hosts = []string{h}
		}
		if rule.HTTP == nil {
			continue // a host without paths routes nothing, as Kubernetes says
		}
		for j, p := range rule.HTTP.Paths {
			pp := rp.Child("http", "paths").Index(j)
			r := &Route{Source: src, Path: p.Path}
			pt := networkingv1.PathTypeImplementationSpecific
			if p.PathType != nil {
				pt = *p.PathType
			}
			switch pt {
			case networkingv1.PathTypeExact:
				r.Match = PathExact
			case networkingv1.PathTypePrefix:
				r.Match = PathSegments
			case networkingv1.PathTypeImplementationSpecific:
				r.Match = PathPrefix // kfup's implementation-specific meaning: a literal prefix
			default:
				out.Invalid = append(out.Invalid, field.NotSupported(pp.Child("pathType"), pt,
					[]string{string(networkingv1.PathTypeExact), string(networkingv1.PathTypePrefix), string(networkingv1.PathTypeImplementationSpecific)}))
			}
			if p.Path == "" && pt != networkingv1.PathTypeImplementationSpecific {
				out.Invalid = append(out.Invalid, field.Required(pp.Child("path"), "pathType "+string(pt)+" needs a path"))
			} else if p.Path != "" && !strings.HasPrefix(p.Path, "/") {
				out.Invalid = append(out.Invalid, field.Invalid(pp.Child("path"), p.Path, "must begin with '/'"))
			}
			b, ok := out.k8sBackend(pp.Child("backend"), ing.Namespace, &p.Backend, res)
			if !ok {
				continue
			}
			r.Splits = []Split{{Backend: b, Percent: 100}}
			out.add = append(out.add, pending{vis: External, hosts: hosts, route: r})
		}
	}
	var hosts []string
	for _, rule := range ing.Spec.Rules {
		if rule.Host != "" {
			hosts = append(hosts, strings.ToLower(rule.Host))
		}
	}
	out.ownHosts(hosts)
	return out
}

func (out *Result) k8sBackend(fp *field.Path, ns string, b *networkingv1.IngressBackend, res Resolver) (Backend, bool) {
	if b.Resource != nil {
		out.Invalid = append(out.Invalid, field.NotSupported(fp.Child("resource"), b.Resource.Kind, []string{"a service backend"}))
		return Backend{}, false
	}
	if b.Service == nil {
		out.Invalid = append(out.Invalid, field.Required(fp.Child("service"), "kfup's ingress routes to Services"))
		return Backend{}, false
	}
	port := intstr.FromInt32(b.Service.Port.Number)
	if b.Service.Port.Name != "" {
		port = intstr.FromString(b.Service.Port.Name)
	}
	return out.backend(fp.Child("service"), ns, b.Service.Name, port, res), true
}

func (out *Result) backend(fp *field.Path, ns, name string, port intstr.IntOrString, res Resolver) Backend {
	if ns == "" || name == "" {
		out.Invalid = append(out.Invalid, field.Required(fp, "a Service namespace and name"))
		return Backend{}
	}
	if port.Type == intstr.Int && (port.IntVal < 1 || port.IntVal > 65535) {
		out.Invalid = append(out.Invalid, field.Invalid(fp.Child("servicePort"), port.IntVal, "a port number 1-65535 or a port name"))
	}
	key := ns + "/" + name
	if !slices.Contains(out.Backends, key) {
		out.Backends = append(out.Backends, key)
	}
	b, err := res.Resolve(ns, name, port)
	switch {
	case err != nil:
		out.Waiting = append(out.Waiting, fmt.Sprintf("%s:%s: %v", key, port.String(), err))
		b = Backend{Namespace: ns, Name: name, Port: port.String()}
	case !b.Reachable() && !slices.Contains(out.NoEndpoints, b.String()):
		out.NoEndpoints = append(out.NoEndpoints, b.String())
	}
	return b
}

func canonical(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[http.CanonicalHeaderKey(k)] = v
	}
	return out
}

// validHeaderName says whether s is an HTTP token (RFC 9110).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"(),/:;<=>?@[\\]{}", c) >= 0 {
			return false
		}
	}
	return true
}
