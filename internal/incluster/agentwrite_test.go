package incluster

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/kfup/kfup/internal/testio"
)

func TestAgentWriteFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outputs", "msg", "data")
	var out, errOut testio.Buffer
	if code := Main(context.Background(), []string{"agent", "write-file", path, "kfup 42"}, &out, &errOut, nil); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "kfup 42" {
		t.Fatalf("wrote %q (%v)", b, err)
	}
	for _, args := range [][]string{{path}, {"", "x"}, {path, "a", "b"}} {
		if code := Main(context.Background(), append([]string{"agent", "write-file"}, args...), &out, &errOut, nil); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}
