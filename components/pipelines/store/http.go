package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// The HTTP protocol of NewServer and NewHTTP.
const (
	objectsPath = "/v1/objects/" // + key, each segment escaped: GET, PUT, DELETE (a prefix)
	listPath    = "/v1/list"     // ?prefix=: GET, {"keys": [...]}
)

// listResponse is the body of GET /v1/list.
type listResponse struct {
	Keys []string `json:"keys"`
}

// maxListBody bounds the body of a list answer NewHTTP reads (a bound on memory: the
// server's default MaxListKeys of 1024-byte keys fits).
const maxListBody = 256 << 20

// httpStore is a client of NewServer.
type httpStore struct {
	base string
	c    *http.Client
}

// NewHTTP returns a client of the artifact server ([NewServer]) at baseURL
// ("http://host:port"), with the same URIs as NewFS. With a nil client it uses one with
// connect and response-header timeouts but none on whole transfers, which may be long.
func NewHTTP(baseURL string, client *http.Client) Store {
	if client == nil {
		client = defaultClient()
	}
	return &httpStore{base: strings.TrimRight(baseURL, "/"), c: client}
}

// defaultClient is http.DefaultTransport's settings with a dial and a response-header
// timeout, so a server that accepts and never answers fails instead of hanging the task.
// The header timeout starts once a PUT's body is sent, and covers the server's fsync.
func defaultClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.ResponseHeaderTimeout = 5 * time.Minute
	t.TLSHandshakeTimeout = 30 * time.Second
	return &http.Client{Transport: t}
}

func (s *httpStore) URI(key string) string         { return fsURI(key) }
func (s *httpStore) Key(uri string) (string, bool) { return fsKey(uri) }

// escapeKey escapes each segment of key for a URL path.
func escapeKey(key string) string {
	segs := strings.Split(key, "/")
	for i, seg := range segs {
		segs[i] = url.PathEscape(seg)
	}
	return strings.Join(segs, "/")
}

func (s *httpStore) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	if err := checkKey("put", key); err != nil {
		return err
	}
	var body io.ReadCloser = io.NopCloser(r) // the caller closes r, not the transport
	switch {
	case size == 0:
		body = http.NoBody
	case size > 0:
		body = io.NopCloser(newExactReader(r, size))
	}
	resp, err := s.do(ctx, http.MethodPut, s.base+objectsPath+escapeKey(key), body, size)
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	drain(resp)
	return nil
}

func (s *httpStore) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := checkKey("get", key); err != nil {
		return nil, err
	}
	resp, err := s.do(ctx, http.MethodGet, s.base+objectsPath+escapeKey(key), nil, 0)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	return resp.Body, nil
}

func (s *httpStore) List(ctx context.Context, prefix string) ([]string, error) {
	if err := checkKey("list", prefix); err != nil {
		return nil, err
	}
	fail := func(err error) error { return fmt.Errorf("list %s: %w", prefix, err) }
	resp, err := s.do(ctx, http.MethodGet, s.base+listPath+"?prefix="+url.QueryEscape(prefix), nil, 0)
	if err != nil {
		return nil, fail(err)
	}
	defer drain(resp)
	var lr listResponse
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxListBody)).Decode(&lr); err != nil {
		return nil, fail(fmt.Errorf("read the artifact server's answer: %w", err))
	}
	keys := make([]string, 0, len(lr.Keys))
	for _, k := range lr.Keys {
		if (k != prefix && !strings.HasPrefix(k, prefix+"/")) || ValidKey(k) != nil {
			return nil, fail(fmt.Errorf("the artifact server answered key %q, not under the prefix", k))
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys, nil
}

func (s *httpStore) Delete(ctx context.Context, prefix string) error {
	if err := checkKey("delete", prefix); err != nil {
		return err
	}
	resp, err := s.do(ctx, http.MethodDelete, s.base+objectsPath+escapeKey(prefix), nil, 0)
	if err != nil {
		return fmt.Errorf("delete %s: %w", prefix, err)
	}
	drain(resp)
	return nil
}

// do sends one request and returns a 2xx response; any other status is an error with
// the status and the server's one-line message (404 wraps ErrNotFound).
func (s *httpStore) do(ctx context.Context, method, u string, body io.ReadCloser, size int64) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	if body != nil && body != http.NoBody {
		req.ContentLength = size // -1: unknown, sent chunked
		req.Header.Set("Content-Type", "application/octet-stream")
	}
	resp, err := s.c.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if be, ok := asBodyError(err); ok {
			return nil, be
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("artifact server %s: %w", s.base, err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	drain(resp)
	msg := oneLine(string(b))
	status := fmt.Sprintf("%d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	if resp.StatusCode == http.StatusNotFound {
		return nil, fmt.Errorf("%w (artifact server: %s)", ErrNotFound, status)
	}
	if msg == "" {
		return nil, fmt.Errorf("artifact server: %s", status)
	}
	return nil, fmt.Errorf("artifact server: %s: %s", status, msg)
}

// drain reads a little of what is left of resp's body, so the connection is reused,
// and closes it.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
}

// oneLine squeezes s onto one bounded line.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 500 {
		s = s[:500] + "…"
	}
	return s
}
