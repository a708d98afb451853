package manager

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"runtime"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/kfup/kfup/internal/errs"
)

// BinaryEnv names the environment variable that points at a linux kfup binary to put in
// the manager image (needed when kfup itself runs on macOS or Windows).
const BinaryEnv = "KFUP_MANAGER_BINARY"

// ImageRepo is the repository of the manager image. It never leaves the cluster's nodes:
// kfup builds it and loads it, no registry is involved.
const ImageRepo = "kfup.local/kfup-manager"

// nonRoot is the uid/gid the manager runs as.
const nonRoot = 65532

// ResolveBinary returns the kfup binary to run in the cluster: $KFUP_MANAGER_BINARY, else
// this very executable when kfup runs on Linux (the nodes share the host's architecture).
func ResolveBinary() (string, error) {
	if p := os.Getenv(BinaryEnv); p != "" {
		return p, nil
	}
	if runtime.GOOS != "linux" {
		return "", errs.Usage(fmt.Sprintf("build one with 'GOOS=linux GOARCH=%s CGO_ENABLED=0 go build -o kfup-linux ./cmd/kfup' and set %s=./kfup-linux", runtime.GOARCH, BinaryEnv),
			"kfup runs on %s, but the manager image needs a linux kfup binary", runtime.GOOS)
	}
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find the kfup executable: %w", err)
	}
	return exe, nil
}

// BuildImage builds the manager image from a kfup binary: one layer holding /kfup and a
// passwd entry for the non-root user, entrypoint `/kfup manager`. The tag is derived from
// the binary's hash, so the same binary always gives the same image. The binary must be a
// static linux executable (CGO_ENABLED=0), since the image has no libc.
func BuildImage(binaryPath string) (v1.Image, string, error) {
	bin, err := os.ReadFile(binaryPath)
	if err != nil {
		return nil, "", fmt.Errorf("read manager binary: %w", err)
	}
	arch, err := checkStaticLinux(binaryPath)
	if err != nil {
		return nil, "", err
	}
	sum := sha256.Sum256(bin)
	tag := ImageRepo + ":" + hex.EncodeToString(sum[:])[:16]

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	files := []struct {
		name string
		mode int64
		data []byte
	}{
		{"etc/passwd", 0o644, []byte(fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\nkfup:x:%d:%d:kfup:/:/sbin/nologin\n", nonRoot, nonRoot))},
		{"etc/group", 0o644, []byte(fmt.Sprintf("root:x:0:\nkfup:x:%d:\n", nonRoot))},
		{"kfup", 0o755, bin},
	}
	for _, d := range []string{"etc/", "tmp/"} {
		mode := int64(0o755)
		if d == "tmp/" {
			mode = 0o1777
		}
		if err := tw.WriteHeader(&tar.Header{Name: d, Typeflag: tar.TypeDir, Mode: mode}); err != nil {
			return nil, "", err
		}
	}
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Typeflag: tar.TypeReg, Mode: f.mode, Size: int64(len(f.data))}); err != nil {
			return nil, "", err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, "", err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, "", err
	}
	layerBytes := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerBytes)), nil
	})
	if err != nil {
		return nil, "", err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return nil, "", err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, "", err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", arch
	cfg.Config.Entrypoint = []string{"/kfup"}
	cfg.Config.Cmd = []string{"manager"}
	cfg.Config.User = fmt.Sprintf("%d:%d", nonRoot, nonRoot)
	cfg.Config.WorkingDir = "/"
	cfg.Config.Labels = map[string]string{"org.opencontainers.image.title": "kfup-manager"}
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		return nil, "", err
	}
	return img, tag, nil
}

// checkStaticLinux returns the GOARCH of a static linux ELF binary, or an error saying
// how to build one.
func checkStaticLinux(path string) (string, error) {
	const hint = "build kfup with CGO_ENABLED=0 (make build does), or point " + BinaryEnv + " at such a build"
	f, err := elf.Open(path)
	if err != nil {
		return "", errs.Usage(hint, "manager binary %s is not a linux executable: %v", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return "", errs.Usage(hint, "manager binary %s is dynamically linked; the manager image has no libc", path)
		}
	}
	switch f.Machine {
	case elf.EM_X86_64:
		return "amd64", nil
	case elf.EM_AARCH64:
		return "arm64", nil
	default:
		return "", errs.Usage(hint, "manager binary %s is for unsupported machine %s", path, f.Machine)
	}
}
