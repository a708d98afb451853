package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// fakeBinary writes a shell script that prints msg on stderr and exits with code.
func fakeBinary(t *testing.T, msg string, code int) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "kfup-manager")
	script := "#!/bin/sh\necho '" + msg + "' >&2\nexit " + strconv.Itoa(code) + "\n"
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestHasMockSwitch(t *testing.T) {
	mock := fakeBinary(t, `ERROR: unknown mock server "no-such-server" (known: dgxa100, dgxh100)`, 1)
	if err := hasMockSwitch(mock); err != nil {
		t.Errorf("a mock build: %v", err)
	}
	shipped := fakeBinary(t, "ERROR: unknown flag: --mock-nvml", 2)
	if err := hasMockSwitch(shipped); err == nil || !strings.Contains(err.Error(), "has no --mock-nvml switch") {
		t.Errorf("a shipped build: err %v, want it refused", err)
	}
	if err := hasMockSwitch(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("a missing binary was accepted")
	}
}

func TestRunRefuses(t *testing.T) {
	out := filepath.Join(t.TempDir(), "image.tar")
	mock := fakeBinary(t, `unknown mock server "x"`, 1)
	for _, tc := range []struct{ tag, want string }{
		{"kfup.local/kfup-manager:e2e", "must name nvmlmock"},
		{"kfup.local/kfup-nvmlmock:e2e", "not a linux executable"}, // a script, not a static ELF
	} {
		err := run(mock, tc.tag, out)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("run(%s): err %v, want %q", tc.tag, err, tc.want)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("an image was written")
	}
}
