package incluster

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kfup/kfup/internal/agent"
	"github.com/kfup/kfup/internal/testio"
	"github.com/kfup/kfup/internal/workspace"
)

// TestAgentUnpack joins an archive split in chunks, as the projected volume of its
// ConfigMaps shows them (with the volume's hidden entries), checks its digest and
// extracts it; a wrong digest fails.
func TestAgentUnpack(t *testing.T) {
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "train.py"), []byte(strings.Repeat("print('hello')\n", 2000)), 0o644)
	os.MkdirAll(filepath.Join(src, "helper"), 0o755)
	os.WriteFile(filepath.Join(src, "helper", "m.py"), []byte("X = 1\n"), 0o644)
	a, err := workspace.Build(src, workspace.Options{})
	if err != nil {
		t.Fatal(err)
	}
	chunks := t.TempDir()
	half := len(a.Data) / 2
	os.WriteFile(filepath.Join(chunks, "0000"), a.Data[:half], 0o644)
	os.WriteFile(filepath.Join(chunks, "0001"), a.Data[half:], 0o644)
	os.MkdirAll(filepath.Join(chunks, "..2026_12_04_14_00_00.1"), 0o755)
	os.Symlink("..2026_12_04_14_00_00.1", filepath.Join(chunks, "..data"))
	dest := filepath.Join(t.TempDir(), "workspace")
	var out, errOut testio.Buffer
	if code := Main(context.Background(), []string{"agent", "unpack", "--from", chunks, "--digest", a.Digest, "--to", dest}, &out, &errOut, nil); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if b, err := os.ReadFile(filepath.Join(dest, "helper", "m.py")); err != nil || string(b) != "X = 1\n" {
		t.Errorf("helper/m.py: %q %v", b, err)
	}
	if !strings.Contains(out.String(), "unpacked archive "+a.Digest+": 2 files") {
		t.Errorf("output %q", out.String())
	}
	wrong := "sha256:" + strings.Repeat("0", 64)
	if code := Main(context.Background(), []string{"agent", "unpack", "--from", chunks, "--digest", wrong, "--to", t.TempDir()}, &out, &errOut, nil); code == 0 {
		t.Error("a wrong digest unpacked")
	}
	if code := Main(context.Background(), []string{"agent", "unpack", "--from", "rel", "--digest", a.Digest, "--to", dest}, &out, &errOut, nil); code != 2 {
		t.Errorf("relative --from: exit %d, want 2", code)
	}
}

// TestAgentOutputs: the sidecar returns at once after SIGTERM when there are no outputs,
// waits for --release when there are, and gives up after --wait; --pack writes what is
// there and nothing when it is empty.
func TestAgentOutputs(t *testing.T) {
	dir, state := t.TempDir(), t.TempDir()
	done, cancel := context.WithCancel(context.Background())
	cancel() // the kubelet's SIGTERM
	var out bytes.Buffer
	start := time.Now()
	if err := agent.HoldOutputs(done, &out, dir, state, time.Minute, 10*time.Millisecond); err != nil || time.Since(start) > time.Second {
		t.Fatalf("empty outputs: %v after %s", err, time.Since(start))
	}
	var packed bytes.Buffer
	var errOut testio.Buffer
	if code := Main(context.Background(), []string{"agent", "outputs", "--pack", "--dir", dir}, &packed, &errOut, nil); code != 0 || packed.Len() != 0 {
		t.Fatalf("pack of nothing: exit %d, %d bytes", code, packed.Len())
	}
	os.MkdirAll(filepath.Join(dir, "plots"), 0o755)
	os.WriteFile(filepath.Join(dir, "plots", "loss.txt"), []byte("0.1"), 0o644)
	released := make(chan error, 1)
	go func() {
		time.Sleep(100 * time.Millisecond)
		var o, e testio.Buffer
		if code := Main(context.Background(), []string{"agent", "outputs", "--release", "--state", state}, &o, &e, nil); code != 0 {
			released <- os.ErrInvalid
			return
		}
		released <- nil
	}()
	out.Reset()
	start = time.Now()
	if err := agent.HoldOutputs(done, &out, dir, state, time.Minute, 10*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := <-released; err != nil {
		t.Fatal("release failed")
	}
	if d := time.Since(start); d < 100*time.Millisecond || d > 10*time.Second || !strings.Contains(out.String(), "outputs: fetched") {
		t.Errorf("held %s: %q", d, out.String())
	}
	out.Reset()
	os.Remove(filepath.Join(state, agent.FetchedFile))
	if err := agent.HoldOutputs(done, &out, dir, state, 50*time.Millisecond, 10*time.Millisecond); err != nil || !strings.Contains(out.String(), "not fetched within 50ms") {
		t.Errorf("timeout: %v %q", err, out.String())
	}
	packed.Reset()
	if code := Main(context.Background(), []string{"agent", "outputs", "--pack", "--dir", dir}, &packed, &errOut, nil); code != 0 {
		t.Fatalf("pack: exit %d: %s", code, errOut.String())
	}
	got := t.TempDir()
	if _, err := workspace.Extract(bytes.NewReader(packed.Bytes()), got, ""); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(got, "plots", "loss.txt")); err != nil || string(b) != "0.1" {
		t.Errorf("loss.txt %q %v", b, err)
	}
}
