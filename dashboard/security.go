package dashboard

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net"
	"net/http"
	"strings"
	"sync"
)

// Security headers and names the dashboard uses.
const (
	// CookieName is the session cookie a browser gets for the one-time token.
	CookieName = "kfup_dashboard"
	// CSRFHeader must be on every write: a cross-site page cannot send a custom header
	// without a CORS preflight, which the dashboard never answers.
	CSRFHeader = "X-Kfup-Csrf"
	// contentSecurityPolicy allows scripts, styles and connections to the dashboard
	// itself only, no inline script or style, no framing.
	contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
		"connect-src 'self'; frame-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)

// randomToken returns 32 random bytes, URL-safe base64.
func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("dashboard: no randomness: " + err.Error()) // crypto/rand does not fail on Linux
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// auth holds the one-time login token and the sessions it was exchanged for.
type auth struct {
	mu       sync.Mutex
	token    string // empty once exchanged
	sessions map[string]bool
}

func newAuth(token string) *auth {
	return &auth{token: token, sessions: map[string]bool{}}
}

// exchange trades the login token for a new session id, once.
func (a *auth) exchange(token string) (string, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.token == "" || subtle.ConstantTimeCompare([]byte(token), []byte(a.token)) != 1 {
		return "", false
	}
	a.token = ""
	s := randomToken()
	a.sessions[s] = true
	return s, true
}

func (a *auth) valid(r *http.Request) bool {
	c, err := r.Cookie(CookieName)
	if err != nil || c.Value == "" {
		return false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.sessions[c.Value]
}

// loopbackHost reports whether a Host header names this machine's loopback interface
// (localhost, 127.0.0.0/8, ::1), with or without a port: a page from another site whose
// name resolves to 127.0.0.1 (DNS rebinding) sends its own name and is refused.
func loopbackHost(host string) bool {
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// sameOrigin reports whether a write came from a page of this dashboard: its Origin
// header must be this server's own origin (browsers send Origin on every POST).
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	return o != "" && o == "http://"+r.Host
}

// secure wraps the dashboard's routes with its checks, in order: the Host header, the
// security headers, the token exchange (/login), the session cookie (all but /assets/)
// and, on writes, the CSRF header and the Origin.
func (s *Server) secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !loopbackHost(r.Host) {
			http.Error(w, "kfup dashboard: this server answers only to localhost names (Host "+r.Host+" refused)", http.StatusForbidden)
			return
		}
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		if r.URL.Path == "/login" {
			s.login(w, r)
			return
		}
		if !strings.HasPrefix(r.URL.Path, "/assets/") && !s.auth.valid(r) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte("kfup dashboard: open the link 'kfup dashboard' printed (it carries a one-time token); " +
				"to get a new link, restart 'kfup dashboard'\n"))
			return
		}
		switch r.Method {
		case http.MethodGet, http.MethodHead:
		case http.MethodPost:
			if r.Header.Get(CSRFHeader) == "" || !sameOrigin(r) {
				http.Error(w, "kfup dashboard: write refused (it did not come from a dashboard page)", http.StatusForbidden)
				return
			}
		default:
			// no PUT, DELETE or OPTIONS: no CORS preflight is ever answered
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		if !strings.HasPrefix(r.URL.Path, "/assets/") {
			h.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}

// login exchanges the one-time token of the URL kfup opened for a session cookie
// (HttpOnly, SameSite=Strict) and redirects to the home view, dropping the token from
// the address bar.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	sess, ok := s.auth.exchange(r.URL.Query().Get("token"))
	if !ok {
		if s.auth.valid(r) { // a reload of the login URL in a browser already admitted
			http.Redirect(w, r, "/", http.StatusSeeOther)
			return
		}
		http.Error(w, "kfup dashboard: this link's token is wrong or was used already; restart 'kfup dashboard' for a new link", http.StatusForbidden)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: sess, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}
