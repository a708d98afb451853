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

// TestAgentStorageInitializer runs `kfup agent storage-initializer` as the init
// container: a model is copied; a missing one exits non-zero with one line on stderr
// and the same line in the termination message.
func TestAgentStorageInitializer(t *testing.T) {
	src, dest := t.TempDir(), filepath.Join(t.TempDir(), "models")
	if err := os.WriteFile(filepath.Join(src, "model.bst"), []byte("trees"), 0o644); err != nil {
		t.Fatal(err)
	}
	termLog := filepath.Join(t.TempDir(), "termination-log")
	var out, errOut testio.Buffer
	if code := Main(context.Background(), []string{"agent", "storage-initializer", "--termination-log", termLog, "file://" + src, dest}, &out, &errOut, nil); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if b, err := os.ReadFile(filepath.Join(dest, "model.bst")); err != nil || string(b) != "trees" {
		t.Errorf("model.bst = %q, %v", b, err)
	}
	errOut = testio.Buffer{}
	code := Main(context.Background(), []string{"agent", "storage-initializer", "--termination-log", termLog, "file:///nowhere/model", dest}, &out, &errOut, nil)
	msg, _ := os.ReadFile(termLog)
	if code == 0 || !strings.Contains(string(msg), "file:///nowhere/model: no such file or directory in the pod") || strings.Contains(string(msg), "\n") {
		t.Errorf("exit %d, termination message %q", code, msg)
	}
	if !strings.Contains(errOut.String(), "ERROR: storage initializer: file:///nowhere/model") {
		t.Errorf("stderr %q", errOut.String())
	}
	errOut = testio.Buffer{}
	if code := Main(context.Background(), []string{"agent", "storage-initializer", "s3://b/m"}, &out, &errOut, nil); code != 2 {
		t.Errorf("one argument: exit %d, want 2 (%s)", code, errOut.String())
	}
}
