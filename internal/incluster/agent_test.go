package incluster

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kfup/kfup/internal/testio"
)

// TestAgentMetricsDrainsOnSIGTERM runs `kfup agent metrics` as the kubelet does: it
// follows the file, and SIGTERM makes it copy what remains (a last line without a
// newline) and exit 0.
func TestAgentMetricsDrainsOnSIGTERM(t *testing.T) {
	path := filepath.Join(t.TempDir(), "metrics.log")
	if err := os.WriteFile(path, []byte("loss=0.5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut testio.Buffer
	code := make(chan int, 1)
	go func() {
		code <- Main(context.Background(), []string{"agent", "metrics", "--kind", "file", "--path", path, "--interval", "1h"}, &out, &errOut, nil)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), "loss=0.5\n") {
		if time.Now().After(deadline) {
			t.Fatalf("the file was never copied: %q (%s)", out.String(), errOut.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("loss=0.25")
	f.Close()
	// the command's handler is registered before the first line is copied
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-code:
		if c != 0 || out.String() != "loss=0.5\nloss=0.25\n" {
			t.Fatalf("exit %d, output %q (%s): want 0 and both lines", c, out.String(), errOut.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("SIGTERM did not stop the command")
	}
}

func TestAgentMetricsUsage(t *testing.T) {
	for _, args := range [][]string{
		{"--kind", "file", "--path", "metrics.log"},
		{"--kind", "file", "--path", "/m.log", "--format", "yaml"},
		{"--kind", "prometheus", "--path", "/m"},
	} {
		var out, errOut testio.Buffer
		if code := Main(context.Background(), append([]string{"agent", "metrics"}, args...), &out, &errOut, nil); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, errOut.String())
		}
	}
}

func TestAgentPushUsage(t *testing.T) {
	t.Setenv("KATIB_TRIAL_NAME", "")
	for _, args := range [][]string{
		{"loss=0.5"},                        // no trial name
		{"--trial", "exp-abcdefgh"},         // no metrics
		{"--trial", "exp-abcdefgh", "loss"}, // not name=value
		{"--trial", "exp-abcdefgh", "loss=low"},
	} {
		var out, errOut testio.Buffer
		if code := Main(context.Background(), append([]string{"agent", "push"}, args...), &out, &errOut, nil); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, errOut.String())
		}
	}
}
