package binimage

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestBuild(t *testing.T) {
	img, err := Build(Spec{
		Arch:       "arm64",
		Dirs:       []string{"etc", "tmp", "usr", "usr/local", "usr/local/bin"},
		Files:      append(PasswdFiles("svc", 1337), File{Path: "usr/local/bin/tool", Mode: 0o755, Data: []byte("binary")}),
		Entrypoint: []string{"/usr/local/bin/tool"},
		Cmd:        []string{"serve"},
		User:       "1337:1337",
		Labels:     map[string]string{"k": "v"},
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.OS != "linux" || cfg.Architecture != "arm64" || cfg.Config.User != "1337:1337" ||
		cfg.Config.Entrypoint[0] != "/usr/local/bin/tool" || cfg.Config.Cmd[0] != "serve" || cfg.Config.Labels["k"] != "v" {
		t.Fatalf("config: %+v", cfg)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("want one layer, got %d (%v)", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got := map[string]string{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		got[h.Name] = fmt.Sprintf("%o %s", h.Mode, strings.SplitN(string(b), "\n", 2)[0])
	}
	want := map[string]string{
		"etc/": "755 ", "tmp/": "1777 ", "usr/": "755 ", "usr/local/": "755 ", "usr/local/bin/": "755 ",
		"etc/passwd":         "644 root:x:0:0:root:/root:/sbin/nologin",
		"etc/group":          "644 root:x:0:",
		"usr/local/bin/tool": "755 binary",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("layer (-want +got):\n%s", diff)
	}
}

func TestStaticLinuxArch(t *testing.T) {
	script := filepath.Join(t.TempDir(), "script")
	if err := os.WriteFile(script, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := StaticLinuxArch(script); err == nil || !strings.Contains(err.Error(), "not a linux executable") {
		t.Fatalf("script: %v", err)
	}
	if _, err := os.Stat("/bin/sh"); err == nil {
		if _, err := StaticLinuxArch("/bin/sh"); err == nil || !strings.Contains(err.Error(), "dynamically linked") {
			t.Fatalf("/bin/sh: %v", err)
		}
	}
}

// KoApp lays a static binary out as ko does (/ko-app/<name>, nonroot) and refuses what is
// not one, saying how to build it.
func TestKoApp(t *testing.T) {
	script := filepath.Join(t.TempDir(), "script")
	if err := os.WriteFile(script, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := KoApp(script, nil); err == nil || !strings.Contains(err.Error(), "CGO_ENABLED=0") {
		t.Fatalf("script: %v", err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := StaticLinuxArch(self); err != nil {
		t.Skipf("the test binary is not a static linux executable: %v", err)
	}
	img, err := KoApp(self, map[string]string{"k": "v"})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if want := "/ko-app/" + filepath.Base(self); cfg.Config.Entrypoint[0] != want || cfg.Config.User != "65532:65532" || cfg.Config.Labels["k"] != "v" {
		t.Fatalf("config: entrypoint %v, user %q, labels %v", cfg.Config.Entrypoint, cfg.Config.User, cfg.Config.Labels)
	}
}
