package storage

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// env is a fake environment for Options.Getenv.
func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

// tree is dir's files and their contents.
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

type entry struct{ name, body string }

func tgz(t *testing.T, es ...entry) []byte {
	t.Helper()
	var b bytes.Buffer
	gz := gzip.NewWriter(&b)
	tw := tar.NewWriter(gz)
	for _, e := range es {
		if strings.HasSuffix(e.name, "/") {
			_ = tw.WriteHeader(&tar.Header{Name: e.name, Typeflag: tar.TypeDir, Mode: 0o755})
			continue
		}
		if err := tw.WriteHeader(&tar.Header{Name: e.name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(e.body))}); err != nil {
			t.Fatal(err)
		}
		_, _ = tw.Write([]byte(e.body))
	}
	_ = tw.WriteHeader(&tar.Header{Name: "link", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"})
	tw.Close()
	gz.Close()
	return b.Bytes()
}

func zipOf(t *testing.T, es ...entry) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, e := range es {
		f, err := zw.Create(e.name)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = f.Write([]byte(e.body))
	}
	zw.Close()
	return b.Bytes()
}

// files serves path → body; other paths are 404, and /forbidden is 403.
func files(t *testing.T, m map[string][]byte) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/forbidden" {
			http.Error(w, "nope", http.StatusForbidden)
			return
		}
		b, ok := m[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(b)
	}))
	t.Cleanup(s.Close)
	return s
}

// closedURL is a base URL nothing listens on.
func closedURL(t *testing.T) string {
	s := httptest.NewServer(http.NotFoundHandler())
	u := s.URL
	s.Close()
	return u
}

func TestHTTP(t *testing.T) {
	srv := files(t, map[string][]byte{
		"/m/model.bst":     []byte("trees"),
		"/m/model.tar.gz":  tgz(t, entry{"model/", ""}, entry{"model/model.bst", "trees"}, entry{"./config.json", "{}"}),
		"/m/model.zip":     zipOf(t, entry{"a/model.bst", "trees"}, entry{"b.txt", "b"}),
		"/evil.tgz":        tgz(t, entry{"ok.txt", "ok"}, entry{"../evil.txt", "pwned"}),
		"/evil.zip":        zipOf(t, entry{"../../evil.txt", "pwned"}),
		"/abs.tgz":         tgz(t, entry{"/etc/model.bst", "trees"}),
		"/many.tgz":        tgz(t, entry{"1", "a"}, entry{"2", "b"}, entry{"3", "c"}),
		"/big.bin":         bytes.Repeat([]byte("x"), 100),
		"/bomb.tgz":        tgz(t, entry{"zeros", strings.Repeat("0", 10_000)}),
		"/":                []byte("index"),
		"/m/notgz.tar.gz":  []byte("plain"),
		"/m/with%20space":  []byte("s"),
		"/m/model.tgz.bak": []byte("bak"),
	})
	tests := []struct {
		name, path string
		o          Options
		want       map[string]string
		err        string
	}{
		{name: "file", path: "/m/model.bst", want: map[string]string{"model.bst": "trees"}},
		{name: "tar.gz unpacked", path: "/m/model.tar.gz", want: map[string]string{"model/model.bst": "trees", "config.json": "{}"}},
		{name: "zip unpacked", path: "/m/model.zip", want: map[string]string{"a/model.bst": "trees", "b.txt": "b"}},
		{name: "not an archive by name", path: "/m/model.tgz.bak", want: map[string]string{"model.tgz.bak": "bak"}},
		{name: "root named model", path: "/", want: map[string]string{"model": "index"}},
		{name: "absolute tar entry kept inside", path: "/abs.tgz", want: map[string]string{"etc/model.bst": "trees"}},
		{name: "tar ../ refused", path: "/evil.tgz", err: `refusing to write "../evil.txt"`},
		{name: "zip ../ refused", path: "/evil.zip", err: `refusing to write "../../evil.txt"`},
		{name: "bad gzip", path: "/m/notgz.tar.gz", err: "not gzip"},
		{name: "entry count bound", path: "/many.tgz", o: Options{MaxFiles: 2}, err: "more than 2 files"},
		{name: "size bound", path: "/big.bin", o: Options{MaxBytes: 10}, err: "more than 10 bytes"},
		{name: "unpacked size bound", path: "/bomb.tgz", o: Options{MaxBytes: 5000}, err: "more than 5000 bytes"},
		{name: "404", path: "/m/missing.bst", err: "/m/missing.bst: not found (404)"},
		{name: "403", path: "/forbidden", err: "403 Forbidden: nope: kfup sends no credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			dest := filepath.Join(root, "mnt", "models")
			err := Download(context.Background(), srv.URL+tt.path, dest, tt.o)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				if _, err := os.Stat(filepath.Join(root, "mnt", "evil.txt")); err == nil {
					t.Error("a ../ entry was written outside the model directory")
				}
				if tt.o.MaxBytes > 0 || tt.o.MaxFiles > 0 {
					if !errors.Is(err, errBounds) {
						t.Errorf("err %v is not errBounds", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, tree(t, dest)); d != "" {
				t.Errorf("files (-want +got):\n%s", d)
			}
		})
	}
	t.Run("unreachable", func(t *testing.T) {
		err := Download(context.Background(), closedURL(t)+"/model.bst?sig=secret", t.TempDir(), Options{})
		if err == nil || !strings.Contains(err.Error(), "cannot reach the host") || strings.Contains(err.Error(), "secret") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestFile(t *testing.T) {
	src := t.TempDir()
	for p, b := range map[string]string{"model.bst": "trees", "sub/vocab.txt": "v"} {
		_ = os.MkdirAll(filepath.Dir(filepath.Join(src, p)), 0o755)
		_ = os.WriteFile(filepath.Join(src, p), []byte(b), 0o644)
	}
	_ = os.WriteFile(filepath.Join(t.TempDir(), "x"), nil, 0o644)
	arch := filepath.Join(t.TempDir(), "m.tar.gz")
	_ = os.WriteFile(arch, tgz(t, entry{"model.bst", "trees"}), 0o644)
	tests := []struct {
		name, uri string
		want      map[string]string
		err       string
	}{
		{name: "directory", uri: "file://" + src, want: map[string]string{"model.bst": "trees", "sub/vocab.txt": "v"}},
		{name: "one file", uri: "file://" + filepath.Join(src, "model.bst"), want: map[string]string{"model.bst": "trees"}},
		{name: "archive unpacked", uri: "file://" + arch, want: map[string]string{"model.bst": "trees"}},
		{name: "missing", uri: "file:///nowhere/model", err: "file:///nowhere/model: no such file or directory in the pod"},
		{name: "empty directory", uri: "file://" + t.TempDir(), err: "the directory has no files"},
		{name: "relative", uri: "file://models/m", err: "must be absolute"},
		{name: "unknown scheme", uri: "azure://x/y", err: "scheme azure:// is not served; the storage initializer serves file://, http://, https://, s3://, gs://, hf://"},
		{name: "no scheme", uri: "/mnt/x", err: "has no scheme"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dest := t.TempDir()
			err := Download(context.Background(), tt.uri, dest, Options{})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, tree(t, dest)); d != "" {
				t.Errorf("files (-want +got):\n%s", d)
			}
		})
	}
}

func TestObjectPath(t *testing.T) {
	for _, tt := range []struct {
		key, prefix, want string
		ok                bool
	}{
		{"m/a/model.bst", "m/a", "model.bst", true},
		{"m/a/model.bst", "m/a/", "model.bst", true},
		{"m/a/x/y.bin", "m/a", "x/y.bin", true},
		{"m/ab/model.bst", "m/a", "", false},
		{"m/a/model.bst", "m/a/model.bst", "model.bst", true},
		{"m/a/", "m/a", "", false},
		{"top.bin", "", "top.bin", true},
	} {
		got, ok := objectPath(tt.key, tt.prefix)
		if got != tt.want || ok != tt.ok {
			t.Errorf("objectPath(%q, %q) = %q, %v; want %q, %v", tt.key, tt.prefix, got, ok, tt.want, tt.ok)
		}
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
