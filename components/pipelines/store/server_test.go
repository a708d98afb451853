package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// prefixAuthorizer lets a client read under ns1/ and write only under ns1/run, as the
// manager's authorizer does for one task pod.
var prefixAuthorizer = AuthorizerFunc(func(r *http.Request, key string, write bool) error {
	under := func(p string) bool { return key == p || strings.HasPrefix(key, p+"/") }
	switch {
	case write && !under("ns1/run"):
		return fmt.Errorf("task pod ns1/pod-a may write only under ns1/run")
	case !under("ns1"):
		return fmt.Errorf("task pod ns1/pod-a may read only artifacts of namespace ns1")
	}
	return nil
})

// serve starts NewServer over an FS store and returns a client of it, the FS store
// behind it, and the server's log.
func serve(t *testing.T, a Authorizer, o ServerOptions) (Store, Store, *httptest.Server, func() string) {
	t.Helper()
	fs := NewFS(t.TempDir())
	var mu sync.Mutex
	var log strings.Builder
	o.Log = func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(&log, format+"\n", args...)
	}
	srv := httptest.NewServer(NewServer(fs, a, o))
	t.Cleanup(srv.Close)
	return NewHTTP(srv.URL+"/", srv.Client()), fs, srv, func() string { mu.Lock(); defer mu.Unlock(); return log.String() }
}

func TestServer(t *testing.T) {
	c, _, _, _ := serve(t, prefixAuthorizer, ServerOptions{})
	testStore(t, c)
}

func TestServerRefusals(t *testing.T) {
	ctx := context.Background()
	c, fs, _, log := serve(t, prefixAuthorizer, ServerOptions{MaxObjectBytes: 1 << 20})
	put(t, fs, "ns1/other/x", "x")
	put(t, fs, "ns2/y", "y")
	big := strings.Repeat("b", 1<<20+1)
	tests := []struct {
		name string
		do   func() error
		err  string
	}{
		{"write outside the task", func() error { return c.Put(ctx, "ns1/other/x", strings.NewReader("new"), 3) },
			"put ns1/other/x: artifact server: 403 Forbidden: task pod ns1/pod-a may write only under ns1/run"},
		{"delete outside the task", func() error { return c.Delete(ctx, "ns1/other") },
			"delete ns1/other: artifact server: 403 Forbidden: task pod ns1/pod-a may write only under ns1/run"},
		{"read another namespace", func() error { _, err := c.Get(ctx, "ns2/y"); return err },
			"get ns2/y: artifact server: 403 Forbidden: task pod ns1/pod-a may read only artifacts of namespace ns1"},
		{"list another namespace", func() error { _, err := c.List(ctx, "ns2"); return err },
			"list ns2: artifact server: 403 Forbidden: task pod ns1/pod-a may read only"},
		{"too large, length known", func() error { return c.Put(ctx, "ns1/run/big", strings.NewReader(big), int64(len(big))) },
			"put ns1/run/big: artifact server: 413 Request Entity Too Large: put ns1/run/big: more than the artifact server's limit of 1048576 bytes"},
		{"too large, chunked", func() error { return c.Put(ctx, "ns1/run/big", io.MultiReader(strings.NewReader(big)), -1) },
			"put ns1/run/big: artifact server: 413 Request Entity Too Large"},
		{"absent", func() error { _, err := c.Get(ctx, "ns1/run/none"); return err },
			"get ns1/run/none: artifact not found (artifact server: 404 Not Found)"},
		{"canceled", func() error {
			cc, cancel := context.WithCancel(ctx)
			cancel()
			_, err := c.Get(cc, "ns1/other/x")
			return err
		}, "get ns1/other/x: context canceled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantErr(t, tt.do(), tt.err) })
	}
	if _, err := c.Get(ctx, "ns1/run/none"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(absent) = %v, want ErrNotFound", err)
	}
	if got := get(t, fs, "ns1/other/x"); got != "x" {
		t.Errorf("a refused Put changed the file: %q", got)
	}
	if d := cmp.Diff([]string{}, list(t, fs, "ns1/run")); d != "" {
		t.Errorf("refused uploads left keys (-want +got):\n%s", d)
	}
	if l := log(); !strings.Contains(l, "PUT /v1/objects/ns1/other/x from ") || !strings.Contains(l, ": 403: task pod ns1/pod-a may write only under ns1/run") {
		t.Errorf("the server's log misses the refusal:\n%s", l)
	}
}

// TestServerProtocol sends requests NewHTTP never sends.
func TestServerProtocol(t *testing.T) {
	_, fs, srv, _ := serve(t, prefixAuthorizer, ServerOptions{MaxListKeys: 2})
	put(t, fs, "ns1/run/a b/ü", "hello")
	put(t, fs, "ns1/run/c", "c")
	put(t, fs, "ns1/run/d", "d")
	tests := []struct {
		method, path string
		code         int
		body         string
	}{
		{"GET", "/v1/objects/ns1/run/a%20b/%C3%BC", 200, "hello"},
		{"HEAD", "/v1/objects/ns1/run/c", 200, ""},
		{"GET", "/v1/objects/ns1/run/a%2Fb", 400, `bad key segment "a%2Fb" in the URL path`},
		{"GET", "/v1/objects/ns1/%2E%2E/x", 400, `invalid artifact key "ns1/../x": ".." segment`},
		{"GET", "/v1/objects/ns1//x", 400, `invalid artifact key "ns1//x": empty segment`},
		{"GET", "/v1/objects/", 400, `invalid artifact key "": empty`},
		{"GET", "/v1/objects/ns1/%00", 400, "control character U+0000"},
		{"GET", "/v1/list", 400, `list: invalid artifact key "": empty`},
		{"GET", "/v1/list?prefix=ns1/run/a%20b", 200, `{"keys":["ns1/run/a b/ü"]}`},
		{"GET", "/v1/list?prefix=ns1/none", 200, `{"keys":[]}`},
		{"GET", "/v1/list?prefix=ns1/run", 422, "list ns1/run: more than the artifact server's limit of 2 keys: list a narrower prefix"},
		{"POST", "/v1/objects/ns1/run/c", 405, "method POST is not served"},
		{"PUT", "/v1/list?prefix=ns1", 405, "method PUT is not served"},
		{"GET", "/v2/objects/x", 404, "no endpoint /v2/objects/x"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, srv.URL+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.code || !strings.Contains(string(b), tt.body) {
				t.Errorf("%d %q, want %d with %q", resp.StatusCode, b, tt.code, tt.body)
			}
			if tt.code >= 400 && bytes.Count(b, []byte("\n")) != 1 {
				t.Errorf("error body %q is not one line", b)
			}
		})
	}
	resp, err := srv.Client().Head(srv.URL + "/v1/objects/ns1/run/c")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.ContentLength != 1 || resp.Header.Get("Content-Type") != "application/octet-stream" {
		t.Errorf("HEAD: length %d, type %q", resp.ContentLength, resp.Header.Get("Content-Type"))
	}
}

func TestServerNoAuthorizer(t *testing.T) {
	c, fs, _, _ := serve(t, nil, ServerOptions{})
	put(t, fs, "ns1/a", "a")
	_, err := c.Get(context.Background(), "ns1/a")
	wantErr(t, err, "get ns1/a: artifact server: 403 Forbidden: the artifact server has no authorizer")
}

func TestHTTPUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	_, err := NewHTTP(url, nil).List(context.Background(), "ns1")
	wantErr(t, err, "list ns1: artifact server "+url+": dial tcp")
}
