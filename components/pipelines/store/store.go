// Package store is the artifact store of kfup's Kubeflow Pipelines: task pods (the
// launcher) upload their output artifacts to it and download their input artifacts from
// it, under slash-separated keys such as "ns1/run-a-1b2c3d4e/train/model/weights.bin".
//
// Three stores implement [Store]:
//   - [NewFS] keeps files in a directory (the manager's PVC);
//   - [NewHTTP] is a client of [NewServer], which the manager runs over an FS store so
//     task pods reach the PVC without mounting it;
//   - [NewS3] keeps objects in an S3 bucket (AWS, MinIO or another S3-compatible server).
//
// The FS and HTTP stores name an artifact "minio://kfup/<key>". kfup's store is not
// MinIO and "kfup" is kfup's own bucket name: the scheme is there because the kfp Python
// SDK maps an artifact's URI to the local path a component reads and writes (minio://X
// → /minio/X, s3://X → /s3/X, gs://X → /gcs/X, see [LocalPath]), so Python components
// work unchanged when the launcher puts the artifacts at those paths.
package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// ErrNotFound is wrapped by Get (and DownloadPath) when a key is absent.
var ErrNotFound = errors.New("artifact not found")

// Store keeps artifact files under slash-separated keys such as
// "ns1/run-a-1b2c3d4e/train/model/weights.bin". Its methods are safe for concurrent use;
// every method checks its key or prefix with [ValidKey].
type Store interface {
	// Put stores the size bytes of r under key (size -1 when unknown), replacing an
	// existing key atomically: readers see the old file or the new one, never a part.
	Put(ctx context.Context, key string, r io.Reader, size int64) error
	// Get opens the file under key; an absent key is an error wrapping ErrNotFound.
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	// List returns every key equal to prefix or under prefix+"/", recursively, sorted;
	// none is an empty list and no error.
	List(ctx context.Context, prefix string) ([]string, error)
	// Delete removes the key prefix and everything under prefix+"/" (never "prefixes" of
	// the same spelling: "a/b" leaves "a/bc"); nothing there is no error.
	Delete(ctx context.Context, prefix string) error
	// URI is the artifact URI users (and the kfp SDK) see for key.
	URI(key string) string
	// Key is the inverse of URI; false when uri is not this store's.
	Key(uri string) (string, bool)
}

// MaxKeyBytes bounds a key's length (S3's own bound on object keys).
const MaxKeyBytes = 1024

// maxFiles bounds the files UploadPath and DownloadPath move in one call, and maxListKeys
// the keys one List returns (a bound on memory, far above any real artifact).
const (
	maxFiles    = 100_000
	maxListKeys = 1_000_000
)

// invalidKeyError is ValidKey's error; NewServer answers it with 400.
type invalidKeyError struct{ key, why string }

func (e *invalidKeyError) Error() string {
	k := e.key
	if len(k) > 120 {
		k = k[:120] + "…"
	}
	return fmt.Sprintf("invalid artifact key %q: %s", k, e.why)
}

// ValidKey checks that key can name an artifact in every store: non-empty, at most
// MaxKeyBytes bytes of UTF-8, no leading or trailing "/", no empty ("//"), "." or ".."
// segment, no NUL or other control character. The error names the key.
func ValidKey(key string) error {
	bad := func(why string) error { return &invalidKeyError{key: key, why: why} }
	switch {
	case key == "":
		return bad("empty")
	case len(key) > MaxKeyBytes:
		return bad(fmt.Sprintf("%d bytes, more than %d", len(key), MaxKeyBytes))
	case !utf8.ValidString(key):
		return bad("not UTF-8")
	case strings.HasPrefix(key, "/"):
		return bad(`starts with "/"`)
	case strings.HasSuffix(key, "/"):
		return bad(`ends with "/"`)
	}
	for _, c := range key {
		if c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) {
			return bad(fmt.Sprintf("control character %U", c))
		}
	}
	for seg := range strings.SplitSeq(key, "/") {
		switch seg {
		case "":
			return bad(`empty segment ("//")`)
		case ".", "..":
			return bad(fmt.Sprintf("%q segment", seg))
		}
	}
	return nil
}

// checkKey is ValidKey's error prefixed with the operation that refused it.
func checkKey(op, key string) error {
	if err := ValidKey(key); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}

// fsURIPrefix starts the URI of an FS or HTTP store's artifact.
const fsURIPrefix = "minio://kfup/"

// fsURI is an FS or HTTP store's URI for key.
func fsURI(key string) string { return fsURIPrefix + key }

// FSURI is the URI of key in kfup's own stores (FS and HTTP: the pvc store), for a
// reader that knows the key but holds no Store.
func FSURI(key string) string { return fsURI(key) }

// fsKey is the inverse of fsURI.
func fsKey(uri string) (string, bool) {
	key, ok := strings.CutPrefix(uri, fsURIPrefix)
	if !ok || ValidKey(key) != nil {
		return "", false
	}
	return key, true
}

// localMounts are the kfp SDK's local paths of remote artifact URIs
// (kfp.dsl.types.artifact_types: _MINIO_LOCAL_MOUNT_PREFIX and its siblings).
var localMounts = []struct{ scheme, dir string }{
	{"minio://", "/minio/"},
	{"s3://", "/s3/"},
	{"gs://", "/gcs/"},
}

// LocalPath is the local path the kfp SDK gives an artifact with uri (Artifact.path):
// minio://X is /minio/X, s3://X is /s3/X, gs://X is /gcs/X. It is false for any other
// scheme, and for a URI whose path would leave the mount ("s3://../etc").
func LocalPath(uri string) (string, bool) {
	for _, m := range localMounts {
		rest, ok := strings.CutPrefix(uri, m.scheme)
		if !ok {
			continue
		}
		if !filepath.IsLocal(rest) || strings.ContainsRune(rest, 0) {
			return "", false
		}
		return m.dir + rest, true
	}
	return "", false
}

// FromEnv opens the store a task pod was given: KFUP_ARTIFACT_STORE is the URL of kfup's
// artifact server, "http://host:port" ([NewHTTP]), or "s3" ([NewS3] configured by
// [S3ConfigFromEnv]). getenv is os.Getenv when nil.
func FromEnv(ctx context.Context, getenv func(string) string) (Store, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	const accepted = `"s3" or the URL of kfup's artifact server (http://host:port)`
	v := getenv("KFUP_ARTIFACT_STORE")
	switch {
	case v == "":
		return nil, fmt.Errorf("KFUP_ARTIFACT_STORE is not set: want %s", accepted)
	case v == "s3":
		cfg, err := S3ConfigFromEnv(getenv)
		if err != nil {
			return nil, fmt.Errorf("KFUP_ARTIFACT_STORE=s3: %w", err)
		}
		return NewS3(ctx, cfg)
	case strings.HasPrefix(v, "http://") || strings.HasPrefix(v, "https://"):
		u, err := url.Parse(v)
		if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("KFUP_ARTIFACT_STORE=%q is not a server URL: want %s", v, accepted)
		}
		return NewHTTP(v, nil), nil
	default:
		return nil, fmt.Errorf("KFUP_ARTIFACT_STORE=%q is not accepted: want %s", v, accepted)
	}
}

// ctxReader fails its reads once ctx is done, so a copy from a reader that ignores
// contexts still stops.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// copySized copies r to w: exactly size bytes when size >= 0 (fewer or more is an
// error), everything otherwise.
func copySized(ctx context.Context, w io.Writer, r io.Reader, size int64) (int64, error) {
	r = ctxReader{ctx, r}
	if size >= 0 {
		r = newExactReader(r, size)
	}
	return io.Copy(w, r)
}

// bodyError is an exactReader's refusal of a body; the stores report it as it is, not
// as the transport failure it causes.
type bodyError struct{ err error }

func (e *bodyError) Error() string { return e.err.Error() }
func (e *bodyError) Unwrap() error { return e.err }

// asBodyError is the bodyError in err's chain, if any.
func asBodyError(err error) (error, bool) {
	be, ok := errors.AsType[*bodyError](err)
	return be, ok
}

// exactReader passes on exactly size bytes of r and fails otherwise, before handing on
// the last bytes when r has more: a request whose Content-Length is size then never
// completes with the wrong body, so the server stores nothing.
type exactReader struct {
	r          io.Reader
	left, size int64
}

func newExactReader(r io.Reader, size int64) *exactReader {
	return &exactReader{r: r, left: size, size: size}
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.left <= 0 {
		if e.more() {
			return 0, &bodyError{fmt.Errorf("body is longer than the %d bytes announced", e.size)}
		}
		return 0, io.EOF
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.r.Read(p)
	e.left -= int64(n)
	switch {
	case e.left == 0 && e.more():
		return 0, &bodyError{fmt.Errorf("body is longer than the %d bytes announced", e.size)}
	case e.left > 0 && errors.Is(err, io.EOF):
		return n, &bodyError{fmt.Errorf("body ended after %d of the %d bytes announced: %w", e.size-e.left, e.size, io.ErrUnexpectedEOF)}
	case e.left == 0 && err == nil:
		return n, io.EOF
	}
	return n, err
}

// more reports whether r has a byte left.
func (e *exactReader) more() bool {
	var one [1]byte
	for range 100 { // a reader may answer 0, nil a few times
		n, err := e.r.Read(one[:])
		if n > 0 {
			return true
		}
		if err != nil {
			return false
		}
	}
	return false
}
