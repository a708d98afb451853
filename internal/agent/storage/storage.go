// Package storage is kfup's storage initializer, as KServe's: `kfup agent
// storage-initializer URI DEST` copies a model from file://, http(s)://, s3://, gs:// or
// hf:// into DEST (the serving pod's emptyDir at /mnt/models) before the model server
// starts. Credentials and endpoints come from the environment, as KServe's controller
// injects them; every failure is one line that names what is wrong.
package storage

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Default bounds on what one download may write.
const (
	// DefaultMaxBytes bounds the bytes written (downloads and unpacked archives): 64 GiB.
	DefaultMaxBytes int64 = 64 << 30
	// DefaultMaxFiles bounds the files written (objects, archive entries).
	DefaultMaxFiles = 100_000
)

// Schemes are the storageUri schemes the initializer serves (pvc:// is mounted by the
// controller instead).
var Schemes = []string{"file", "http", "https", "s3", "gs", "hf"}

// Options configure Download; the zero value is production's.
type Options struct {
	// Getenv reads the environment (os.Getenv when nil).
	Getenv func(string) string
	// HTTPClient makes the http(s)://, gs:// and hf:// requests (and the S3 client's,
	// unless S3_VERIFY_SSL or AWS_CA_BUNDLE ask for other TLS settings); nil: a client
	// with connect and response-header timeouts but none on the whole download.
	HTTPClient *http.Client
	// MaxBytes and MaxFiles bound what is written (DefaultMaxBytes, DefaultMaxFiles when 0).
	MaxBytes int64
	MaxFiles int
	// Log receives one line per file written (io.Discard when nil).
	Log io.Writer
}

func (o Options) getenv(k string) string {
	if o.Getenv == nil {
		return os.Getenv(k)
	}
	return o.Getenv(k)
}

func (o Options) client() *http.Client {
	if o.HTTPClient != nil {
		return o.HTTPClient
	}
	return &http.Client{Transport: newTransport(nil)}
}

// newTransport is http.DefaultTransport's settings with a response-header timeout, so a
// host that accepts and never answers fails instead of hanging the pod's start.
func newTransport(tlsConfig *tls.Config) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = 2 * time.Minute
	t.DialContext = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	if tlsConfig != nil {
		t.TLSClientConfig = tlsConfig
	}
	return t
}

// Download copies the model at uri into the directory dest (created when missing).
func Download(ctx context.Context, uri, dest string, o Options) error {
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxFiles <= 0 {
		o.MaxFiles = DefaultMaxFiles
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dest, err)
	}
	scheme, rest, ok := strings.Cut(uri, "://")
	if !ok {
		return fmt.Errorf("storageUri %q has no scheme: the storage initializer serves %s", uri, schemeList())
	}
	w := &writer{dest: dest, bytesLeft: o.MaxBytes, filesLeft: o.MaxFiles, maxBytes: o.MaxBytes, maxFiles: o.MaxFiles, log: o.Log}
	var err error
	switch scheme {
	case "file":
		err = downloadFile(rest, w)
	case "http", "https":
		err = downloadHTTP(ctx, uri, w, o)
	case "s3":
		err = downloadS3(ctx, uri, rest, w, o)
	case "gs":
		err = downloadGCS(ctx, uri, rest, w, o)
	case "hf":
		return downloadHF(ctx, uri, rest, w, o) // a Hub repository is never unpacked
	default:
		return fmt.Errorf("storageUri %q: scheme %s:// is not served; the storage initializer serves %s", uri, scheme, schemeList())
	}
	if err != nil {
		return err
	}
	return w.unpackSingle()
}

func schemeList() string {
	s := make([]string, len(Schemes))
	for i, sc := range Schemes {
		s[i] = sc + "://"
	}
	return strings.Join(s, ", ")
}

// writer writes a download's files under dest, within its bounds.
type writer struct {
	dest                string
	bytesLeft, maxBytes int64
	filesLeft, maxFiles int
	written             []string // relative paths
	log                 io.Writer
}

// errBounds says a download went past MaxBytes or MaxFiles.
var errBounds = errors.New("over the storage initializer's bounds")

// path is rel's path under dest; rel must stay inside it (no absolute path, no ..).
func (w *writer) path(rel string) (string, error) {
	rel = strings.TrimLeft(filepath.FromSlash(rel), string(filepath.Separator))
	if rel == "" || !filepath.IsLocal(rel) {
		return "", fmt.Errorf("refusing to write %q: the path leaves the model directory", rel)
	}
	return filepath.Join(w.dest, rel), nil
}

// create writes r into dest/rel, counting its bytes against the bounds.
func (w *writer) create(rel string, r io.Reader) error {
	p, err := w.path(rel)
	if err != nil {
		return err
	}
	if w.filesLeft <= 0 {
		return fmt.Errorf("more than %d files: %w", w.maxFiles, errBounds)
	}
	w.filesLeft--
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	n, err := io.Copy(f, io.LimitReader(r, w.bytesLeft+1))
	w.bytesLeft -= n
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", rel, err)
	}
	if w.bytesLeft < 0 {
		return fmt.Errorf("more than %d bytes at %s: %w", w.maxBytes, rel, errBounds)
	}
	w.written = append(w.written, filepath.ToSlash(rel))
	fmt.Fprintf(w.log, "wrote %s (%d bytes)\n", rel, n)
	return nil
}

// unpackSingle unpacks a download that is one archive (.tar.gz, .tgz, .zip) into dest
// and removes it, as KServe does.
func (w *writer) unpackSingle() error {
	if len(w.written) != 1 || archiveKind(w.written[0]) == "" {
		return nil
	}
	name := w.written[0]
	p := filepath.Join(w.dest, filepath.FromSlash(name))
	w.written = nil
	w.bytesLeft += fileSize(p) // the archive goes once unpacked
	w.filesLeft++
	if err := unpack(p, w); err != nil {
		return fmt.Errorf("unpack %s: %w", name, err)
	}
	return os.Remove(p)
}

func fileSize(p string) int64 {
	fi, err := os.Stat(p)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// httpStatusError is a response that was not 2xx.
type httpStatusError struct {
	code int
	body string
}

func (e *httpStatusError) Error() string {
	s := fmt.Sprintf("%d %s", e.code, http.StatusText(e.code))
	if e.body != "" {
		s += ": " + e.body
	}
	return s
}

// statusCode is the HTTP status of an *httpStatusError in err's chain; 0 when none.
func statusCode(err error) int {
	var se *httpStatusError
	if errors.As(err, &se) {
		return se.code
	}
	return 0
}

// get GETs url (with the header h), returning the body of a 2xx response; any other is
// an *httpStatusError with the start of its body, and a host that cannot be reached says so.
func get(ctx context.Context, c *http.Client, url string, h http.Header) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, unreachable(err)
	}
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		return nil, &httpStatusError{code: resp.StatusCode, body: oneLine(string(b))}
	}
	return resp.Body, nil
}

// unreachable rewords a transport error as a host that cannot be reached, without the
// URL (a signed URL's query is a secret).
func unreachable(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var dns *net.DNSError
	var op *net.OpError
	if errors.As(err, &dns) || errors.As(err, &op) {
		return fmt.Errorf("cannot reach the host: %w", err)
	}
	return err
}

// oneLine squeezes s onto one line (termination messages and condition messages are read
// as one).
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// OneLine is err's message on one line, for stderr and the termination message.
func OneLine(err error) string { return strings.Join(strings.Fields(err.Error()), " ") }
