package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// put stores body under key (its size known), failing t on error.
func put(t *testing.T, s Store, key, body string) {
	t.Helper()
	if err := s.Put(context.Background(), key, strings.NewReader(body), int64(len(body))); err != nil {
		t.Fatal(err)
	}
}

// get reads key, failing t on error.
func get(t *testing.T, s Store, key string) string {
	t.Helper()
	rc, err := s.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// list lists prefix, failing t on error.
func list(t *testing.T, s Store, prefix string) []string {
	t.Helper()
	keys, err := s.List(context.Background(), prefix)
	if err != nil {
		t.Fatal(err)
	}
	if keys == nil {
		t.Fatalf("List(%q) = nil, want a non-nil slice", prefix)
	}
	return keys
}

// testStore is the behaviour every Store shares (FS, HTTP over FS, S3): round trips,
// overwrites, nested lists and deletes that spare siblings.
func testStore(t *testing.T, s Store) {
	ctx := context.Background()
	put(t, s, "ns1/run/a/x", "x1")
	put(t, s, "ns1/run/a/y/z", "z")
	put(t, s, "ns1/run/ab/w", "w")
	put(t, s, "ns1/run/a.txt", "txt")
	put(t, s, "ns1/run/empty", "")
	put(t, s, "ns1/run/odd name/ü?#%.bin", "odd")
	if err := s.Put(ctx, "ns1/run/a/x", strings.NewReader("x2, longer"), -1); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{"ns1/run/a/x": "x2, longer", "ns1/run/a/y/z": "z", "ns1/run/empty": "", "ns1/run/odd name/ü?#%.bin": "odd"} {
		if got := get(t, s, key); got != want {
			t.Errorf("Get(%q) = %q, want %q", key, got, want)
		}
	}
	lists := []struct {
		prefix string
		want   []string
	}{
		{"ns1/run/a", []string{"ns1/run/a/x", "ns1/run/a/y/z"}},
		{"ns1/run/a/x", []string{"ns1/run/a/x"}},
		{"ns1/run", []string{"ns1/run/a.txt", "ns1/run/a/x", "ns1/run/a/y/z", "ns1/run/ab/w", "ns1/run/empty", "ns1/run/odd name/ü?#%.bin"}},
		{"ns1/ru", []string{}},
		{"ns1/other", []string{}},
	}
	for _, l := range lists {
		if d := cmp.Diff(l.want, list(t, s, l.prefix)); d != "" {
			t.Errorf("List(%q) (-want +got):\n%s", l.prefix, d)
		}
	}
	// A body of another length than announced fails and stores nothing.
	for _, size := range []int64{5, 7} {
		for name, r := range map[string]io.Reader{"stream": io.MultiReader(strings.NewReader("abcdef")), "seeker": strings.NewReader("abcdef")} {
			err := s.Put(ctx, "ns1/run/wrong", r, size)
			if err == nil || !strings.Contains(err.Error(), "put ns1/run/wrong: body") || !strings.Contains(err.Error(), "announced") {
				t.Errorf("Put(%s of 6 bytes, size %d) = %v, want an error about the body", name, size, err)
			}
		}
	}
	if _, err := s.Get(ctx, "ns1/run/wrong"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a body of the wrong length was stored: %v", err)
	}
	if _, err := s.Get(ctx, "ns1/run/missing"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "ns1/run/missing") {
		t.Errorf("Get(missing) = %v, want ErrNotFound naming the key", err)
	}
	if err := s.Delete(ctx, "ns1/run/a"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "ns1/run/ab/w"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "ns1/run/none"); err != nil {
		t.Errorf("Delete(absent) = %v, want nil", err)
	}
	if d := cmp.Diff([]string{"ns1/run/a.txt", "ns1/run/empty", "ns1/run/odd name/ü?#%.bin"}, list(t, s, "ns1/run")); d != "" {
		t.Errorf("after Delete, List (-want +got):\n%s", d)
	}
	if _, err := s.Get(ctx, "ns1/run/a/x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(deleted) = %v, want ErrNotFound", err)
	}
}

func TestFS(t *testing.T) {
	testStore(t, NewFS(t.TempDir()))
}

func TestFSConflicts(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	s := NewFS(root)
	put(t, s, "ns/file", "f")
	put(t, s, "ns/dir/x", "x")
	tests := []struct {
		name string
		do   func() error
		err  string
	}{
		{"short body", func() error { return s.Put(ctx, "ns/short", strings.NewReader("abc"), 5) }, "put ns/short: body ended after 3 of the 5 bytes announced"},
		{"long body", func() error { return s.Put(ctx, "ns/long", strings.NewReader("abcdef"), 5) }, "put ns/long: body is longer than the 5 bytes announced"},
		{"under a file", func() error { return s.Put(ctx, "ns/file/x", strings.NewReader("x"), 1) }, "a parent of ns/file/x is itself a key"},
		{"over a directory", func() error { return s.Put(ctx, "ns/dir", strings.NewReader("x"), 1) }, "put ns/dir: keys exist under ns/dir/: delete them first"},
		{"get a directory", func() error { _, err := s.Get(ctx, "ns/dir"); return err }, "get ns/dir: artifact not found (keys exist under ns/dir/; list them)"},
		{"get under a file", func() error { _, err := s.Get(ctx, "ns/file/x"); return err }, "get ns/file/x: artifact not found"},
		{"reserved name", func() error { return s.Put(ctx, "ns/"+tmpPrefix+"x", strings.NewReader("x"), 1) }, `file names starting ".kfup-tmp-" are the FS store's temporary files`},
		{"canceled", func() error {
			c, cancel := context.WithCancel(ctx)
			cancel()
			return s.Put(c, "ns/c", strings.NewReader("x"), 1)
		}, "put ns/c: context canceled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantErr(t, tt.do(), tt.err) })
	}
	if d := cmp.Diff([]string{"ns/dir/x", "ns/file"}, list(t, s, "ns")); d != "" {
		t.Errorf("failed puts left keys (-want +got):\n%s", d)
	}
	if tmp, _ := filepath.Glob(filepath.Join(root, "ns", tmpPrefix+"*")); len(tmp) > 0 {
		t.Errorf("failed puts left temporary files: %v", tmp)
	}
}

// TestFSEscapes plants symlinks under the root that lead outside it: nothing is read,
// written, listed or deleted through them.
func TestFSEscapes(t *testing.T) {
	ctx := context.Background()
	root, outside := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := NewFS(root)
	put(t, s, "ns/ok", "ok")
	for link, target := range map[string]string{"ns/dirlink": outside, "ns/filelink": filepath.Join(outside, "secret"), "ns/rel": "../../" + filepath.Base(outside)} {
		if err := os.Symlink(target, filepath.Join(root, filepath.FromSlash(link))); err != nil {
			t.Fatal(err)
		}
	}
	for _, key := range []string{"ns/dirlink/secret", "ns/filelink", "ns/rel/secret"} {
		if _, err := s.Get(ctx, key); err == nil || errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "leads outside the store") {
			t.Errorf("Get(%q) = %v, want a refusal", key, err)
		}
	}
	if err := s.Put(ctx, "ns/dirlink/planted", strings.NewReader("x"), 1); err == nil || !strings.Contains(err.Error(), "leads outside the store") {
		t.Errorf("Put through a symlink = %v, want a refusal", err)
	}
	if d := cmp.Diff([]string{"ns/ok"}, list(t, s, "ns")); d != "" {
		t.Errorf("List (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{}, list(t, s, "ns/dirlink")); d != "" {
		t.Errorf("List(symlink) (-want +got):\n%s", d)
	}
	if err := s.Delete(ctx, "ns/dirlink"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "ns/rel/secret"); err == nil {
		t.Error("Delete through a symlink: no error")
	}
	ents, err := os.ReadDir(outside)
	if err != nil || len(ents) != 1 || ents[0].Name() != "secret" {
		t.Errorf("outside the root: %v, %v; want only the untouched secret", ents, err)
	}
	if _, err := os.Lstat(filepath.Join(root, "ns", "dirlink")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Delete left the symlink: %v", err)
	}
}

func TestFSMissingRoot(t *testing.T) {
	ctx := context.Background()
	root := filepath.Join(t.TempDir(), "not", "yet")
	s := NewFS(root)
	if _, err := s.Get(ctx, "a"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get = %v, want ErrNotFound", err)
	}
	if d := cmp.Diff([]string{}, list(t, s, "a")); d != "" {
		t.Error(d)
	}
	if err := s.Delete(ctx, "a"); err != nil {
		t.Errorf("Delete = %v", err)
	}
	put(t, s, "a/b", "b")
	if fi, err := os.Stat(filepath.Join(root, "a", "b")); err != nil || fi.Mode().Perm()&0o600 != 0o600 {
		t.Errorf("the file: %v, %v", fi, err)
	}
}

// TestFSPutAtomic checks that a Put in progress is invisible and that concurrent
// readers and writers of one key only ever see whole files.
func TestFSPutAtomic(t *testing.T) {
	ctx := context.Background()
	s := NewFS(t.TempDir())
	put(t, s, "ns/k", "old")
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- s.Put(ctx, "ns/k", pr, -1) }()
	if _, err := pw.Write([]byte("new, partly")); err != nil {
		t.Fatal(err)
	}
	if got := get(t, s, "ns/k"); got != "old" {
		t.Errorf("during the Put, Get = %q, want the old file", got)
	}
	if d := cmp.Diff([]string{"ns/k"}, list(t, s, "ns")); d != "" {
		t.Errorf("during the Put, List (-want +got):\n%s", d)
	}
	fmt.Fprint(pw, " then all")
	pw.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := get(t, s, "ns/k"); got != "new, partly then all" {
		t.Errorf("Get = %q", got)
	}

	bodies := map[string]bool{}
	for i := range 4 {
		bodies[strings.Repeat(string(rune('a'+i)), 64<<10)] = true
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for b := range bodies {
		wg.Go(func() {
			for range 5 {
				if err := s.Put(ctx, "ns/hot", strings.NewReader(b), int64(len(b))); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			rc, err := s.Get(ctx, "ns/hot")
			if errors.Is(err, ErrNotFound) {
				continue
			} else if err != nil {
				errs <- err
				return
			}
			b, _ := io.ReadAll(rc)
			rc.Close()
			if !bodies[string(b)] {
				errs <- fmt.Errorf("read a torn file of %d bytes", len(b))
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
