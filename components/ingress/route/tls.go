package route

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Cert is a certificate chain and its private key, PEM, as a TLS Secret holds them
// (tls.crt, tls.key).
type Cert struct {
	// Name identifies the pair by its content (CertName): the table names certificates by
	// it, so a rotated certificate is a new table, and the proxy loads them by it.
	Name       string
	Chain, Key []byte
	// NotAfter is when the leaf certificate expires.
	NotAfter time.Time
}

// CertName names a certificate chain and key by their content: the first 8 bytes of the
// SHA-256 of both, in hex.
func CertName(chain, key []byte) string {
	h := sha256.New()
	h.Write(chain)
	h.Write([]byte{0})
	h.Write(key)
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// ErrNoSecret says a TLS entry's Secret does not exist (yet).
var ErrNoSecret = errors.New("no such Secret")

// BadSecretError says a TLS entry's Secret exists but holds no usable certificate: the
// entry is invalid (never served with another certificate) until the Secret is fixed.
type BadSecretError struct{ Why string }

func (e *BadSecretError) Error() string { return e.Why }

// ParseCert reads the certificate of a TLS Secret: tls.crt (the chain, leaf first) and
// tls.key, which must be a pair (crypto/tls.X509KeyPair). Any other shape is a
// *BadSecretError saying what is wrong.
func ParseCert(s *corev1.Secret) (Cert, error) {
	chain, key := s.Data[corev1.TLSCertKey], s.Data[corev1.TLSPrivateKeyKey]
	var missing []string
	if len(chain) == 0 {
		missing = append(missing, corev1.TLSCertKey)
	}
	if len(key) == 0 {
		missing = append(missing, corev1.TLSPrivateKeyKey)
	}
	if len(missing) > 0 {
		return Cert{}, &BadSecretError{Why: fmt.Sprintf("Secret %s/%s has no %s: a TLS Secret holds tls.crt and tls.key (kubectl create secret tls NAME --cert=FILE --key=FILE)",
			s.Namespace, s.Name, strings.Join(missing, " or "))}
	}
	pair, err := tls.X509KeyPair(chain, key)
	if err != nil {
		return Cert{}, &BadSecretError{Why: fmt.Sprintf("Secret %s/%s: tls.crt and tls.key are not a certificate and its key: %v", s.Namespace, s.Name, err)}
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return Cert{}, &BadSecretError{Why: fmt.Sprintf("Secret %s/%s: tls.crt: %v", s.Namespace, s.Name, err)}
	}
	return Cert{Name: CertName(chain, key), Chain: chain, Key: key, NotAfter: leaf.NotAfter}, nil
}

// tlsHosts maps the host names of the external TLS listener to the names of their
// certificates, as a client's SNI server name picks one: its exact name, else the wildcard
// ("*.example.com", one label) with the longest suffix, else the default certificate (a
// TLS entry without hosts).
type tlsHosts struct {
	Exact    map[string]string `json:"exact,omitempty"`
	Wildcard map[string]string `json:"wildcard,omitempty"`
	Default  string            `json:"default,omitempty"`
}

// certClaim is who put a certificate on a host: a second object naming another
// certificate for that host is refused.
type certClaim struct {
	name, source string
}

// AddCert serves certificate name for host ("": the default certificate) on the external
// TLS listener, for source. A host that already has another certificate is not taken
// over: AddCert adds nothing and returns the source holding it.
func (t *Table) AddCert(source, host, name string) (holder string) {
	h := strings.ToLower(host)
	if c, ok := t.claims[h]; ok {
		if c.name != name {
			return c.source
		}
		return ""
	}
	if t.claims == nil {
		t.claims = map[string]certClaim{}
	}
	t.claims[h] = certClaim{name: name, source: source}
	switch suffix, wild := strings.CutPrefix(h, "*"); {
	case h == "":
		t.tls.Default = name
	case wild:
		if t.tls.Wildcard == nil {
			t.tls.Wildcard = map[string]string{}
		}
		t.tls.Wildcard[suffix] = name
	default:
		if t.tls.Exact == nil {
			t.tls.Exact = map[string]string{}
		}
		t.tls.Exact[h] = name
	}
	return ""
}

// CertFor is the name of the certificate the TLS listener answers a client's SNI server
// name with; empty when it has none.
func (t *Table) CertFor(serverName string) string {
	name := strings.ToLower(strings.TrimSuffix(serverName, "."))
	if c, ok := t.tls.Exact[name]; ok {
		return c
	}
	if c, ok := wildcard(t.tls.Wildcard, name); ok {
		return c
	}
	return t.tls.Default
}

// CertNames lists the certificates the table names, sorted.
func (t *Table) CertNames() []string {
	var out []string
	add := func(n string) {
		if n != "" && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	for _, k := range sortedKeys(t.tls.Exact) {
		add(t.tls.Exact[k])
	}
	for _, k := range sortedKeys(t.tls.Wildcard) {
		add(t.tls.Wildcard[k])
	}
	add(t.tls.Default)
	slices.Sort(out)
	return out
}

// TLSHosts lists the host names (and wildcards) that have a certificate, sorted; "*"
// stands for the default certificate.
func (t *Table) TLSHosts() []string {
	var out []string
	for h := range t.tls.Exact {
		out = append(out, h)
	}
	for s := range t.tls.Wildcard {
		out = append(out, "*"+s)
	}
	if t.tls.Default != "" {
		out = append(out, "*")
	}
	slices.Sort(out)
	return out
}

// pendingCert is one TLS entry of an object, resolved: its certificate and its hosts
// (none: the object's own rule hosts, see ownHosts).
type pendingCert struct {
	fp    *field.Path
	hosts []string
	name  string
}

// tlsEntry resolves one TLS entry's Secret: its certificate is served for hosts once the
// object is added to a table (AddTo).
func (out *Result) tlsEntry(fp *field.Path, hosts []string, ns, name string, res Resolver) {
	// One object, one certificate per host: a host twice with two Secrets is the
	// object's own contradiction.
	for i, h := range hosts {
		for _, c := range out.tlsSeen {
			if slices.ContainsFunc(c.hosts, func(o string) bool { return strings.EqualFold(o, h) }) && c.secret != ns+"/"+name {
				out.Invalid = append(out.Invalid, field.Invalid(fp.Child("hosts").Index(i), h,
					"already in "+c.fp.String()+" with Secret "+c.secret+": one Secret per host"))
			}
		}
	}
	out.tlsSeen = append(out.tlsSeen, tlsSeen{fp: fp, hosts: hosts, secret: ns + "/" + name})
	key := ns + "/" + name
	if !slices.Contains(out.Secrets, key) {
		out.Secrets = append(out.Secrets, key)
	}
	c, err := res.Certificate(ns, name)
	var bad *BadSecretError
	switch {
	case errors.As(err, &bad):
		out.Invalid = append(out.Invalid, field.Invalid(fp.Child("secretName"), name, bad.Why))
		return
	case err != nil:
		out.WaitingSecrets = append(out.WaitingSecrets, fmt.Sprintf("Secret %s: %v", key, err))
		return
	}
	if out.Certs == nil {
		out.Certs = map[string]Cert{}
	}
	out.Certs[c.Name] = c
	out.certs = append(out.certs, pendingCert{fp: fp, hosts: hosts, name: c.Name})
}

// tlsSeen is a TLS entry of the object being compiled, for the duplicate check.
type tlsSeen struct {
	fp     *field.Path
	hosts  []string
	secret string
}

// ownHosts gives the TLS entries without hosts the object's own external rule hosts (as
// Kubernetes' ingress controllers read a hostless entry), or, when it has none, the
// default certificate (the host "").
func (out *Result) ownHosts(ruleHosts []string) {
	for i := range out.certs {
		if len(out.certs[i].hosts) > 0 {
			continue
		}
		out.certs[i].hosts = slices.Clone(ruleHosts)
		if len(ruleHosts) == 0 {
			out.certs[i].hosts = []string{""}
		}
	}
}

// ClaimCerts puts the object's certificates on their hosts in t, unless it is invalid. A
// host that already has another certificate (an object that claimed it first) is left to
// it and said in Conflicts; the object's other hosts get theirs.
func (r *Result) ClaimCerts(t *Table) {
	if len(r.Invalid) > 0 {
		return
	}
	for _, c := range r.certs {
		for _, h := range c.hosts {
			if holder := t.AddCert(r.source, h, c.name); holder != "" {
				what := "host " + h
				if h == "" {
					what = "the default certificate (a TLS entry of an object without hosts)"
				}
				r.Conflicts = append(r.Conflicts, fmt.Sprintf("%s: %s already has another certificate, from %s (give each host one Secret)", c.fp, what, holder))
			}
		}
	}
}

// validTLSHosts checks a TLS entry's host names (DNS names, optionally with a leading
// "*.").
func (out *Result) validTLSHosts(fp *field.Path, hosts []string) {
	for i, h := range hosts {
		check := strings.TrimPrefix(strings.ToLower(h), "*.")
		if errs := validation.IsDNS1123Subdomain(check); len(errs) > 0 || strings.Contains(check, "*") {
			out.Invalid = append(out.Invalid, field.Invalid(fp.Index(i), h, "a DNS name, optionally with a leading '*.'"))
		}
	}
}
