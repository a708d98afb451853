package incluster

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/kfup/kfup/internal/testio"
)

// TestAgentCheckpoint runs `kfup agent checkpoint` as a pbt trial's init container does:
// the child's directory is a copy of the parent's; relative paths are usage errors.
func TestAgentCheckpoint(t *testing.T) {
	vol := t.TempDir()
	parent, child := filepath.Join(vol, "exp", "exp-a"), filepath.Join(vol, "exp", "exp-b")
	if err := os.MkdirAll(parent, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(parent, "training.ckpt"), []byte("step=20"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut testio.Buffer
	if code := Main(context.Background(), []string{"agent", "checkpoint", "--dir", child, "--parent", parent}, &out, &errOut, nil); code != 0 {
		t.Fatalf("exit %d: %s%s", code, out.String(), errOut.String())
	}
	if b, err := os.ReadFile(filepath.Join(child, "training.ckpt")); err != nil || string(b) != "step=20" {
		t.Errorf("the child's checkpoint: %q, %v: want the parent's", b, err)
	}
	for _, args := range [][]string{{"--dir", "exp/exp-b"}, {"--dir", child, "--parent", "exp-a"}} {
		if code := Main(context.Background(), append([]string{"agent", "checkpoint"}, args...), &out, &errOut, nil); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}
