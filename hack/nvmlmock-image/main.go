// Command nvmlmock-image packages a test build of kfup's in-cluster binary (cmd/kfup-manager
// built with CGO_ENABLED=1 -tags nvmlmock, linked statically; `make nvmlmock-image`) as a
// local Docker image for the GPU-less e2e test: its `kfup agent device-plugin` knows the
// test-only --mock-nvml switch. The image is never the manager image: it has its own
// repository (kfup.local/kfup-nvmlmock) and a label saying what it is, and the tool refuses
// a binary that lacks the switch, so a shipped build cannot be packaged by mistake and a
// mock build cannot pass for a shipped one.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/kfup/kfup/internal/binimage"
)

// TestOnlyLabel marks the image as a test build.
const TestOnlyLabel = "kfup.dev/test-only"

func main() {
	binary := flag.String("binary", "", "static linux kfup-manager binary built with -tags nvmlmock")
	tag := flag.String("tag", "", "image reference, such as kfup.local/kfup-nvmlmock:e2e")
	out := flag.String("o", "", "docker-archive tarball to write")
	flag.Parse()
	if *binary == "" || *tag == "" || *out == "" {
		fmt.Fprintln(os.Stderr, "nvmlmock-image: --binary, --tag and -o are required")
		os.Exit(2)
	}
	if err := run(*binary, *tag, *out); err != nil {
		fmt.Fprintln(os.Stderr, "nvmlmock-image:", err)
		os.Exit(1)
	}
}

func run(binary, tag, out string) error {
	ref, err := name.NewTag(tag)
	if err != nil {
		return err
	}
	if !strings.Contains(ref.RepositoryStr(), "nvmlmock") {
		return fmt.Errorf("tag %s: the repository must name nvmlmock, so that the image never passes for kfup's manager image", tag)
	}
	arch, err := binimage.StaticLinuxArch(binary)
	if err != nil {
		return fmt.Errorf("%w (link it statically: -ldflags '-linkmode external -extldflags -static')", err)
	}
	if err := hasMockSwitch(binary); err != nil {
		return err
	}
	bin, err := os.ReadFile(binary)
	if err != nil {
		return err
	}
	const nonRoot = 65532 // as the manager image; the device plugin's pod runs as root anyway
	img, err := binimage.Build(binimage.Spec{
		Arch:       arch,
		Dirs:       []string{"etc", "tmp"},
		Files:      append(binimage.PasswdFiles("kfup", nonRoot), binimage.File{Path: "kfup", Mode: 0o755, Data: bin}),
		Entrypoint: []string{"/kfup"},
		Cmd:        []string{"agent", "device-plugin", "--help"},
		User:       fmt.Sprintf("%d:%d", nonRoot, nonRoot),
		Labels: map[string]string{
			"org.opencontainers.image.title": "kfup in-cluster binary with go-nvml's mock servers (test build, never shipped)",
			TestOnlyLabel:                    "nvmlmock",
		},
	})
	if err != nil {
		return err
	}
	return tarball.WriteToFile(out, ref, img)
}

// hasMockSwitch runs the binary with an unknown mock server: a mock build names the
// servers it knows, a shipped build says the flag is unknown.
func hasMockSwitch(binary string) error {
	var stderr bytes.Buffer
	cmd := exec.Command(binary, "agent", "device-plugin", "--mock-nvml=no-such-server", "--plugin-dir", os.TempDir())
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return fmt.Errorf("run %s: %w", binary, err)
	}
	if !strings.Contains(stderr.String(), "unknown mock server") {
		return fmt.Errorf("%s has no --mock-nvml switch (build it with CGO_ENABLED=1 -tags nvmlmock): %s", binary, strings.TrimSpace(stderr.String()))
	}
	return nil
}
