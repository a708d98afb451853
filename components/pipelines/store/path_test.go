package store

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// writeTree writes files (relative slash path → content) under dir.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for rel, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// readTree is the regular files under dir (relative slash path → content).
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	got := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		got[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestUploadDownloadPath(t *testing.T) {
	ctx := context.Background()
	httpStore, _, _, _ := serve(t, prefixAuthorizer, ServerOptions{})
	for name, s := range map[string]Store{"fs": NewFS(t.TempDir()), "http": httpStore} {
		t.Run(name, func(t *testing.T) {
			local := t.TempDir()

			// A file.
			writeTree(t, local, map[string]string{"model.txt": "weights"})
			if err := UploadPath(ctx, s, "ns1/run/train/model", filepath.Join(local, "model.txt")); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff([]string{"ns1/run/train/model"}, list(t, s, "ns1/run/train/model")); d != "" {
				t.Errorf("file upload (-want +got):\n%s", d)
			}
			dst := filepath.Join(t.TempDir(), "minio", "kfup", "model")
			if err := DownloadPath(ctx, s, "ns1/run/train/model", dst); err != nil {
				t.Fatal(err)
			}
			if b, err := os.ReadFile(dst); err != nil || string(b) != "weights" {
				t.Errorf("downloaded file: %q, %v", b, err)
			}

			// A directory, over an earlier upload's file.
			tree := map[string]string{"a.txt": "a", "sub/b.bin": "b", "sub/deeper/c": "", "sp ace/ü": "u"}
			dir := filepath.Join(local, "dataset")
			writeTree(t, dir, tree)
			for _, d := range []string{"empty", "sub/empty"} {
				if err := os.MkdirAll(filepath.Join(dir, filepath.FromSlash(d)), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Symlink(filepath.Join(local, "model.txt"), filepath.Join(dir, "link")); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(local, filepath.Join(dir, "sub", "dirlink")); err != nil {
				t.Fatal(err)
			}
			put(t, s, "ns1/run/train/data/stale", "old")
			if err := UploadPath(ctx, s, "ns1/run/train/data", dir); err != nil {
				t.Fatal(err)
			}
			want := []string{"ns1/run/train/data/a.txt", "ns1/run/train/data/sp ace/ü", "ns1/run/train/data/sub/b.bin", "ns1/run/train/data/sub/deeper/c"}
			if d := cmp.Diff(want, list(t, s, "ns1/run/train/data")); d != "" {
				t.Errorf("directory upload (-want +got):\n%s", d)
			}
			dst = filepath.Join(t.TempDir(), "data")
			if err := DownloadPath(ctx, s, "ns1/run/train/data", dst); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tree, readTree(t, dst)); d != "" {
				t.Errorf("downloaded tree (-want +got):\n%s", d)
			}
			// Downloading again over the same tree overwrites it.
			if err := DownloadPath(ctx, s, "ns1/run/train/data", dst); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestPathErrors(t *testing.T) {
	ctx := context.Background()
	s := NewFS(t.TempDir())
	local, outside := t.TempDir(), t.TempDir()
	put(t, s, "ns1/file", "f")
	put(t, s, "ns1/tree/sub/x", "x")
	put(t, s, "ns1/tree/y", "y")
	if err := os.MkdirAll(filepath.Join(local, "dst"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(local, "dst", "sub")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "f"), filepath.Join(local, "filelink")); err != nil {
		t.Fatal(err)
	}
	writeTree(t, local, map[string]string{"bad/ok": "ok", "bad/a\nb": "x"})
	tests := []struct {
		name string
		do   func() error
		err  string
	}{
		{"upload a missing path", func() error { return UploadPath(ctx, s, "ns1/out", filepath.Join(local, "none")) },
			"upload " + filepath.Join(local, "none") + " to ns1/out: " + filepath.Join(local, "none") + " does not exist"},
		{"upload a file name no key can hold", func() error { return UploadPath(ctx, s, "ns1/out", filepath.Join(local, "bad")) },
			`cannot be stored: invalid artifact key "ns1/out/a\nb": control character U+000A`},
		{"upload under a bad key", func() error { return UploadPath(ctx, s, "ns1/../x", local) }, `upload: invalid artifact key "ns1/../x"`},
		{"download an absent key", func() error { return DownloadPath(ctx, s, "ns1/none", filepath.Join(local, "n")) },
			"download ns1/none to " + filepath.Join(local, "n") + ": artifact not found"},
		{"download through a planted symlink", func() error { return DownloadPath(ctx, s, "ns1/tree", filepath.Join(local, "dst")) },
			"path escapes from parent"},
		{"download onto a symlink out", func() error { return DownloadPath(ctx, s, "ns1/file", filepath.Join(local, "filelink")) },
			"path escapes from parent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantErr(t, tt.do(), tt.err) })
	}
	if _, err := s.Get(ctx, "ns1/none"); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	if err := DownloadPath(ctx, s, "ns1/none", t.TempDir()); !errors.Is(err, ErrNotFound) {
		t.Errorf("DownloadPath(absent) = %v, want ErrNotFound", err)
	}
	if d := cmp.Diff(map[string]string{}, readTree(t, outside)); d != "" {
		t.Errorf("written outside the destination (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{}, list(t, s, "ns1/out")); d != "" || strings.Contains(strings.Join(list(t, s, "ns1"), ","), "out") {
		t.Errorf("a refused upload stored keys (-want +got):\n%s", d)
	}
}
