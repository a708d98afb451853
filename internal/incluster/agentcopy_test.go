package incluster

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/spf13/cobra"

	"github.com/kfup/kfup/internal/testio"
)

// TestAgentCopySelf runs `kfup agent copy-self` as a task pod's init container: the
// running binary lands at DEST, executable, its directory made; a relative DEST is a
// usage error.
func TestAgentCopySelf(t *testing.T) {
	dest := filepath.Join(t.TempDir(), "bin", "kfup")
	var out, errOut testio.Buffer
	if code := Main(context.Background(), []string{"agent", "copy-self", dest}, &out, &errOut, nil); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(self)
	got, err := os.ReadFile(dest)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("dest holds %d bytes (%v), want the %d of %s", len(got), err, len(want), self)
	}
	if fi, _ := os.Stat(dest); fi.Mode().Perm() != 0o755 {
		t.Errorf("mode %v", fi.Mode())
	}
	if entries, _ := os.ReadDir(filepath.Dir(dest)); len(entries) != 1 {
		t.Errorf("left behind: %v", entries)
	}
	// again, over the first copy
	if code := Main(context.Background(), []string{"agent", "copy-self", dest}, &out, &errOut, nil); code != 0 {
		t.Fatalf("second copy: exit %d: %s", code, errOut.String())
	}
	if code := Main(context.Background(), []string{"agent", "copy-self", "bin/kfup"}, &out, &errOut, nil); code != 2 {
		t.Errorf("relative DEST: exit %d, want 2", code)
	}
}

// A helper marked with AgentHelper goes under kfup agent, the others at the root.
func TestAgentHelpers(t *testing.T) {
	launch := AgentHelper(&cobra.Command{Use: "launch", Run: func(*cobra.Command, []string) {}})
	model := &cobra.Command{Use: "modelserver", Run: func(*cobra.Command, []string) {}}
	root := NewRootCmd(&bytes.Buffer{}, &bytes.Buffer{}, nil, launch, model)
	if c, _, err := root.Find([]string{"agent", "launch"}); err != nil || c != launch {
		t.Errorf("kfup agent launch: %v, %v", c, err)
	}
	if c, _, err := root.Find([]string{"modelserver"}); err != nil || c != model {
		t.Errorf("kfup modelserver: %v, %v", c, err)
	}
	if c, _, _ := root.Find([]string{"launch"}); c == launch {
		t.Error("the agent helper is at the root too")
	}
}
