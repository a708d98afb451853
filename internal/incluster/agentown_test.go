package incluster

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOwnDir(t *testing.T) {
	dir := t.TempDir()
	// to its own owner: nothing to do, said so
	var out strings.Builder
	if err := OwnDir(&out, dir, os.Getuid(), os.Getgid()); err != nil || !strings.Contains(out.String(), "already") {
		t.Fatalf("own dir: %v %q", err, out.String())
	}
	f := filepath.Join(dir, "file")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := OwnDir(io.Discard, f, 1, 1); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("a file: %v", err)
	}
	if err := OwnDir(io.Discard, filepath.Join(dir, "missing"), 1, 1); err == nil {
		t.Error("a missing directory: no error")
	}
	if os.Getuid() == 0 { // root can give it away: the manager's init container's case
		if err := OwnDir(io.Discard, dir, 65532, 65532); err != nil {
			t.Fatal(err)
		}
		fi, _ := os.Stat(dir)
		if owner(fi) != [2]int{65532, 65532} {
			t.Errorf("owner %v", owner(fi))
		}
	}
}
