package proxy

import (
	"crypto/tls"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kfup/kfup/components/ingress/route"
)

// Keys of a certificate in the certificates Secret (DefaultCertsSecret).
const (
	CertChainSuffix = ".crt"
	CertKeySuffix   = ".key"
)

// certStore holds the TLS listener's certificates by name: those of the latest
// certificates Secret, and those of an earlier one that the table served still names
// (the controller writes the Secret before the table, so a certificate the new table no
// longer names may leave the Secret while the old table is still served).
type certStore struct {
	mu         sync.Mutex
	fromSecret map[string]*tls.Certificate
	held       map[string]*tls.Certificate
	named      []string // by the table served
	cur        atomic.Pointer[map[string]*tls.Certificate]
}

func (s *certStore) get(name string) *tls.Certificate {
	if m := s.cur.Load(); m != nil {
		return (*m)[name]
	}
	return nil
}

// missing lists the names among names that are not loaded.
func (s *certStore) missing(names []string) []string {
	var out []string
	for _, n := range names {
		if s.get(n) == nil {
			out = append(out, n)
		}
	}
	return out
}

// publish makes fromSecret and held the certificates served; the caller holds mu.
func (s *certStore) publish() {
	m := maps.Clone(s.fromSecret)
	if m == nil {
		m = map[string]*tls.Certificate{}
	}
	maps.Copy(m, s.held)
	s.cur.Store(&m)
}

// keepNamed holds, of the certificates served now, those in names that the latest Secret
// lacks; the caller holds mu.
func (s *certStore) keepNamed(names []string) {
	held := map[string]*tls.Certificate{}
	for _, n := range names {
		if _, ok := s.fromSecret[n]; ok {
			continue
		}
		if c := s.get(n); c != nil {
			held[n] = c
		}
	}
	s.held = held
}

// tableLoaded records the certificates the table served now names, and lets go of the held
// ones it does not.
func (s *certStore) tableLoaded(names []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.named = names
	s.keepNamed(names)
	s.publish()
}

// LoadCerts serves the certificates of the certificates Secret's data: each <name>.crt
// with its <name>.key, where name is route.CertName of the pair (what the table names).
// A pair that does not parse, or whose content does not match its name, is left out and
// said in the error; the others are served.
func (p *Proxy) LoadCerts(data map[string][]byte) error {
	loaded := map[string]*tls.Certificate{}
	var errsOut []error
	for _, k := range slices.Sorted(maps.Keys(data)) {
		name, ok := strings.CutSuffix(k, CertChainSuffix)
		if !ok {
			if _, isKey := strings.CutSuffix(k, CertKeySuffix); !isKey {
				errsOut = append(errsOut, fmt.Errorf("key %q is neither <name>%s nor <name>%s", k, CertChainSuffix, CertKeySuffix))
			}
			continue
		}
		chain, key := data[k], data[name+CertKeySuffix]
		if key == nil {
			errsOut = append(errsOut, fmt.Errorf("certificate %s has no %s%s", name, name, CertKeySuffix))
			continue
		}
		if got := route.CertName(chain, key); got != name {
			errsOut = append(errsOut, fmt.Errorf("certificate %s: its content is %s", name, got))
			continue
		}
		pair, err := tls.X509KeyPair(chain, key)
		if err != nil {
			errsOut = append(errsOut, fmt.Errorf("certificate %s: %w", name, err))
			continue
		}
		loaded[name] = &pair
	}
	s := &p.certs
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fromSecret = loaded
	s.keepNamed(s.named)
	s.publish()
	return errors.Join(errsOut...)
}

// TLSConfig is the external TLS listener's configuration: the certificate is the one the
// table served names for the client's SNI server name (its exact host, else a wildcard,
// else the default certificate); a name without one fails the handshake. TLS 1.2 at least.
func (p *Proxy) TLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"h2", "http/1.1"},
		GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			name := p.cur.Load().tab.CertFor(hello.ServerName)
			if name == "" {
				return nil, fmt.Errorf("kfup-ingress: no certificate for server name %q", hello.ServerName)
			}
			c := p.certs.get(name)
			if c == nil {
				return nil, fmt.Errorf("kfup-ingress: certificate %s of server name %q not loaded yet", name, hello.ServerName)
			}
			return c, nil
		},
	}
}

// TLSServer returns an http.Server for h on a TLS listener (ServeTLS with empty file
// names): HTTP/1.1 and HTTP/2, by ALPN, with the proxy's certificates.
func (p *Proxy) TLSServer(h http.Handler) *http.Server {
	var protos http.Protocols
	protos.SetHTTP1(true)
	protos.SetHTTP2(true)
	return &http.Server{Handler: h, Protocols: &protos, TLSConfig: p.TLSConfig(), ReadHeaderTimeout: 30 * time.Second}
}
