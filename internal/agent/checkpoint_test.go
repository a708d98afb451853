package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// tree lists a directory's entries as "path mode [content | -> target]", sorted.
func tree(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		line := rel + " " + fi.Mode().String()
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			line += " -> " + target
		case fi.Mode().IsRegular():
			b, _ := os.ReadFile(p)
			line += " " + string(b)
		}
		out = append(out, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestPrepareCheckpoint(t *testing.T) {
	vol := t.TempDir()
	exp := filepath.Join(vol, "exp")
	var out strings.Builder

	// generation 0: an empty directory every user may write, its parents made
	first := filepath.Join(exp, "exp-a")
	if err := PrepareCheckpoint(&out, first, ""); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{". drwxrwxrwx"}, tree(t, first)); d != "" {
		t.Errorf("empty checkpoint (-want +got):\n%s", d)
	}
	// the trial writes its checkpoint (here as the same user, with tight modes)
	if err := os.MkdirAll(filepath.Join(first, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{"training.ckpt": "step=20", "sub/opt.bin": "adam"} {
		if err := os.WriteFile(filepath.Join(first, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("training.ckpt", filepath.Join(first, "latest")); err != nil {
		t.Fatal(err)
	}

	// a child: a copy of its parent, writable by every user; no temporary left behind
	child := filepath.Join(exp, "exp-b")
	if err := PrepareCheckpoint(&out, child, first); err != nil {
		t.Fatal(err)
	}
	want := []string{
		". drwxrwxrwx",
		"latest Lrwxrwxrwx -> training.ckpt",
		"sub drwxrwxrwx",
		"sub/opt.bin -rw-rw-rw- adam",
		"training.ckpt -rw-rw-rw- step=20",
	}
	if d := cmp.Diff(want, tree(t, child)); d != "" {
		t.Errorf("copied checkpoint (-want +got):\n%s", d)
	}
	if entries, _ := os.ReadDir(exp); len(entries) != 2 {
		t.Errorf("the experiment's directory holds %d entries, want the two trials' (no temporary)", len(entries))
	}

	// a retried pod keeps what its trial wrote
	if err := os.WriteFile(filepath.Join(child, "training.ckpt"), []byte("step=25"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := PrepareCheckpoint(&out, child, first); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(child, "training.ckpt")); string(b) != "step=25" {
		t.Errorf("a retried pod's checkpoint was overwritten: %q", b)
	}

	// a parent without a checkpoint: an empty directory, noted
	orphan := filepath.Join(exp, "exp-c")
	out.Reset()
	if err := PrepareCheckpoint(&out, orphan, filepath.Join(exp, "exp-gone")); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{". drwxrwxrwx"}, tree(t, orphan)); d != "" || !strings.Contains(out.String(), "starting empty") {
		t.Errorf("checkpoint of a missing parent (-want +got):\n%s\noutput %q", d, out.String())
	}

	// a file where the directory should be is an error, left alone
	file := filepath.Join(exp, "exp-d")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := PrepareCheckpoint(&out, file, ""); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("a file at the checkpoint's path: %v, want an error", err)
	}
}

// TestPrepareCheckpointUnreadableParent: a parent file this user cannot read fails the
// copy with the reason, and leaves no directory behind.
func TestPrepareCheckpointUnreadableParent(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads every file")
	}
	exp := t.TempDir()
	parent := filepath.Join(exp, "p")
	if err := os.Mkdir(parent, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(parent, "secret.ckpt"), []byte("x"), 0o000); err != nil {
		t.Fatal(err)
	}
	child := filepath.Join(exp, "c")
	err := PrepareCheckpoint(&strings.Builder{}, child, parent)
	if err == nil || !strings.Contains(err.Error(), "readable by user 65532") {
		t.Fatalf("error %v: want one naming the user that must read the parent's files", err)
	}
	if entries, _ := os.ReadDir(exp); len(entries) != 1 {
		t.Errorf("%d entries left in the experiment's directory, want only the parent's", len(entries))
	}
}
