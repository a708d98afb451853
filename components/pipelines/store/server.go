package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Authorizer decides whether the HTTP request r may read (write false) or write or
// delete (write true) key; for a list or a delete, key is the prefix. Its error is the
// 403 answer's message, which the task pod's log shows: say what is allowed.
type Authorizer interface {
	Authorize(r *http.Request, key string, write bool) error
}

// AuthorizerFunc adapts a function to an Authorizer.
type AuthorizerFunc func(r *http.Request, key string, write bool) error

// Authorize calls f.
func (f AuthorizerFunc) Authorize(r *http.Request, key string, write bool) error {
	return f(r, key, write)
}

// Default server bounds.
const (
	// DefaultMaxObjectBytes bounds one uploaded object: 8 GiB.
	DefaultMaxObjectBytes int64 = 8 << 30
	// DefaultMaxListKeys bounds the keys one list answers.
	DefaultMaxListKeys = 100_000
)

// ServerOptions configure NewServer; the zero value is production's.
type ServerOptions struct {
	// MaxObjectBytes bounds one upload (DefaultMaxObjectBytes when 0); a larger one is
	// answered 413.
	MaxObjectBytes int64
	// MaxListKeys bounds one list answer (DefaultMaxListKeys when 0).
	MaxListKeys int
	// Log receives one line per refused or failed request (nothing when nil).
	Log func(format string, args ...any)
}

// server is NewServer's handler.
type server struct {
	s Store
	a Authorizer
	o ServerOptions
}

// NewServer serves s over HTTP to task pods, asking a about every request (a nil a
// refuses them all). The protocol, which NewHTTP speaks:
//
//	GET    /v1/objects/<key>       the file (404 when absent)
//	PUT    /v1/objects/<key>       store the body (Content-Length may be absent)
//	DELETE /v1/objects/<prefix>    delete the key and everything under prefix/
//	GET    /v1/list?prefix=<p>     {"keys": [...]}, sorted
//
// Keys are escaped segment by segment. Errors are one-line text bodies: 400 for a bad
// key, 403 with the Authorizer's message, 404 for an absent key, 413 for an upload over
// MaxObjectBytes, 422 for a list over MaxListKeys.
func NewServer(s Store, a Authorizer, o ServerOptions) http.Handler {
	if o.MaxObjectBytes <= 0 {
		o.MaxObjectBytes = DefaultMaxObjectBytes
	}
	if o.MaxListKeys <= 0 {
		o.MaxListKeys = DefaultMaxListKeys
	}
	if o.Log == nil {
		o.Log = func(string, ...any) {}
	}
	return &server{s: s, a: a, o: o}
}

// httpError is an answer other than 2xx.
type httpError struct {
	code int
	msg  string
}

func (e *httpError) Error() string { return e.msg }

func (h *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var err error
	switch {
	case strings.HasPrefix(r.URL.Path, objectsPath):
		err = h.object(w, r)
	case r.URL.Path == listPath:
		err = h.list(w, r)
	default:
		err = &httpError{http.StatusNotFound, fmt.Sprintf("no endpoint %s: use %s<key> or %s?prefix=<prefix>", r.URL.Path, objectsPath, listPath)}
	}
	if err != nil {
		h.fail(w, r, err)
	}
}

// object serves /v1/objects/<key>.
func (h *server) object(w http.ResponseWriter, r *http.Request) error {
	key, err := pathKey(strings.TrimPrefix(r.URL.EscapedPath(), objectsPath))
	if err != nil {
		return err
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		if err := h.authorize(r, key, false); err != nil {
			return err
		}
		rc, err := h.s.Get(r.Context(), key)
		if err != nil {
			return err
		}
		defer rc.Close()
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if st, ok := rc.(interface{ Stat() (fs.FileInfo, error) }); ok {
			if fi, err := st.Stat(); err == nil {
				w.Header().Set("Content-Length", strconv.FormatInt(fi.Size(), 10))
			}
		}
		if r.Method == http.MethodHead {
			return nil
		}
		if _, err := io.Copy(w, rc); err != nil && r.Context().Err() == nil {
			h.o.Log("artifact server: GET %s: send: %v", key, err) // the status is sent
		}
		return nil
	case http.MethodPut:
		if err := h.authorize(r, key, true); err != nil {
			return err
		}
		if r.ContentLength > h.o.MaxObjectBytes {
			return h.tooLarge(key)
		}
		body := http.MaxBytesReader(w, r.Body, h.o.MaxObjectBytes)
		if err := h.s.Put(r.Context(), key, body, r.ContentLength); err != nil {
			if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
				return h.tooLarge(key)
			}
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	case http.MethodDelete:
		if err := h.authorize(r, key, true); err != nil {
			return err
		}
		if err := h.s.Delete(r.Context(), key); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	default:
		w.Header().Set("Allow", "GET, HEAD, PUT, DELETE")
		return &httpError{http.StatusMethodNotAllowed, fmt.Sprintf("method %s is not served on %s<key>: use GET, PUT or DELETE", r.Method, objectsPath)}
	}
}

func (h *server) tooLarge(key string) error {
	return &httpError{http.StatusRequestEntityTooLarge, fmt.Sprintf("put %s: more than the artifact server's limit of %d bytes", key, h.o.MaxObjectBytes)}
}

// list serves /v1/list?prefix=.
func (h *server) list(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		return &httpError{http.StatusMethodNotAllowed, fmt.Sprintf("method %s is not served on %s: use GET", r.Method, listPath)}
	}
	prefix := r.URL.Query().Get("prefix")
	if err := ValidKey(prefix); err != nil {
		return fmt.Errorf("list: %w", err)
	}
	if err := h.authorize(r, prefix, false); err != nil {
		return err
	}
	keys, err := h.s.List(r.Context(), prefix)
	if err != nil {
		return err
	}
	if len(keys) > h.o.MaxListKeys {
		return &httpError{http.StatusUnprocessableEntity, fmt.Sprintf("list %s: more than the artifact server's limit of %d keys: list a narrower prefix", prefix, h.o.MaxListKeys)}
	}
	if keys == nil {
		keys = []string{}
	}
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(listResponse{Keys: keys}); err != nil && r.Context().Err() == nil {
		h.o.Log("artifact server: list %s: send: %v", prefix, err) // the status is sent
	}
	return nil
}

// authorize asks the Authorizer; its refusal is a 403 with its message.
func (h *server) authorize(r *http.Request, key string, write bool) error {
	if h.a == nil {
		return &httpError{http.StatusForbidden, "the artifact server has no authorizer: it refuses every request"}
	}
	if err := h.a.Authorize(r, key, write); err != nil {
		return &httpError{http.StatusForbidden, err.Error()}
	}
	return nil
}

// pathKey is the key of an escaped URL path: each segment unescaped, then ValidKey.
func pathKey(escaped string) (string, error) {
	segs := strings.Split(escaped, "/")
	for i, seg := range segs {
		s, err := url.PathUnescape(seg)
		if err != nil || strings.Contains(s, "/") {
			return "", &httpError{http.StatusBadRequest, fmt.Sprintf("bad key segment %q in the URL path", seg)}
		}
		segs[i] = s
	}
	key := strings.Join(segs, "/")
	if err := ValidKey(key); err != nil {
		return "", err
	}
	return key, nil
}

// fail answers err: its status, and its message on one line.
func (h *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := http.StatusInternalServerError
	var he *httpError
	var ke *invalidKeyError
	switch {
	case errors.As(err, &he):
		code = he.code
	case errors.As(err, &ke):
		code = http.StatusBadRequest
	case errors.Is(err, ErrNotFound):
		code = http.StatusNotFound
	case r.Context().Err() != nil:
		return // the client has gone
	}
	if code != http.StatusNotFound {
		h.o.Log("artifact server: %s %s from %s: %d: %v", r.Method, r.URL.Path, r.RemoteAddr, code, err)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	fmt.Fprintln(w, oneLine(err.Error()))
}
