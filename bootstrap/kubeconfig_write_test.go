package bootstrap

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// withFileSizeLimit runs fn while this process may not write files past limit bytes, as
// on a full disk: a write past it fails with EFBIG (Go ignores SIGXFSZ).
func withFileSizeLimit(t *testing.T, limit uint64, fn func()) {
	t.Helper()
	var old unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	if err := unix.Setrlimit(unix.RLIMIT_FSIZE, &unix.Rlimit{Cur: limit, Max: old.Max}); err != nil {
		t.Skipf("cannot limit the file size: %v", err)
	}
	defer func() {
		if err := unix.Setrlimit(unix.RLIMIT_FSIZE, &old); err != nil {
			t.Fatal(err)
		}
	}()
	fn()
}

// TestKubeconfigWriteFailureLeavesTheFile: a write of the user's kubeconfig that fails
// half-way leaves the file as it was — every other context still there — and nothing
// beside it. clientcmd's in-place write truncated it first.
func TestKubeconfigWriteFailureLeavesTheFile(t *testing.T) {
	tests := []struct {
		name   string
		change func(kc string) error
	}{{
		name: "merge a context",
		change: func(kc string) error {
			_, err := MergeContext(kindKubeconfig(t, "x", "https://127.0.0.1:6443"), ContextName("x"), kc, true)
			return err
		},
	}, {
		name:   "remove a context",
		change: func(kc string) error { return RemoveContext(ContextName("x"), kc) },
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			kc := filepath.Join(dir, "config")
			isolate(t, kc)
			// the user's own context, large enough that rewriting the file passes the limit
			mine := entry{name: "mine", server: "https://mine.example:6443", token: strings.Repeat("t", 4096)}
			writeKubeconfig(t, kc, kubeconfig("mine", mine, entry{name: ContextName("x"), server: "https://old:6443", token: "old"}))
			before, err := os.ReadFile(kc)
			if err != nil {
				t.Fatal(err)
			}
			withFileSizeLimit(t, 1024, func() { err = tt.change(kc) })
			if err == nil {
				t.Fatal("the change succeeded past the file size limit; want a write error")
			}
			after, _ := os.ReadFile(kc)
			if !bytes.Equal(before, after) {
				t.Fatalf("kubeconfig changed by a failed write (%d bytes, was %d):\n%.300s", len(after), len(before), after)
			}
			entries, _ := os.ReadDir(dir)
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			if diff := cmp.Diff([]string{"config"}, names); diff != "" {
				t.Errorf("files beside the kubeconfig (-want +got):\n%s", diff)
			}
		})
	}
}

// TestKubeconfigWriteKeepsModeAndLink: the rewritten file keeps its mode, and a
// kubeconfig that is a symlink stays one (the file it points to is replaced).
func TestKubeconfigWriteKeepsModeAndLink(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "dotfiles", "kubeconfig")
	if err := os.MkdirAll(filepath.Dir(real), 0o755); err != nil {
		t.Fatal(err)
	}
	writeKubeconfig(t, real, kubeconfig("mine", entry{name: "mine", server: "https://mine:6443", token: "mine"}))
	if err := os.Chmod(real, 0o640); err != nil {
		t.Fatal(err)
	}
	kc := filepath.Join(dir, "config")
	if err := os.Symlink(real, kc); err != nil {
		t.Fatal(err)
	}
	isolate(t, kc)
	if _, err := MergeContext(kindKubeconfig(t, "x", "https://127.0.0.1:6443"), ContextName("x"), kc, true); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(kc); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("kubeconfig is no longer a symlink: %v, %v", fi, err)
	}
	if fi, err := os.Stat(real); err != nil || fi.Mode().Perm() != 0o640 {
		t.Fatalf("mode of the kubeconfig = %v, %v; want -rw-r-----", fi.Mode(), err)
	}
	cfg := readKubeconfig(t, real)
	var contexts []string
	for n := range cfg.Contexts {
		contexts = append(contexts, n)
	}
	slices.Sort(contexts)
	if diff := cmp.Diff([]string{"kfup-x", "mine"}, contexts); diff != "" || cfg.CurrentContext != "kfup-x" {
		t.Errorf("contexts (-want +got):\n%s\ncurrent: %s", diff, cfg.CurrentContext)
	}
}
