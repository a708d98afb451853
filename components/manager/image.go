package manager

import (
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kfup/kfup/components"

	"github.com/kfup/kfup/internal/binimage"
	"github.com/kfup/kfup/internal/errs"
)

// BinaryEnv names the environment variable that points at a linux binary to put in the
// manager image (needed when kfup itself runs on macOS or Windows).
const BinaryEnv = "KFUP_MANAGER_BINARY"

// SlimBinary is the file name of the in-cluster binary (cmd/kfup-manager) that kfup looks
// for next to itself: the manager and job-pod helpers without the host tooling.
const SlimBinary = "kfup-manager"

// IngressBinary is the file name of the ingress proxy's own binary (cmd/kfup-ingress,
// `kfup agent ingress` alone), and its path in the manager image: BuildImage puts the one
// beside the manager binary there, or else a link to /kfup, which runs the same agent
// when invoked by that name. Its Deployment runs /kfup-ingress either way.
const IngressBinary = "kfup-ingress"

// ImageRepo is the repository of the manager image. It never leaves the cluster's nodes:
// kfup builds it and loads it, no registry is involved.
const ImageRepo = "kfup.local/kfup-manager"

// nonRoot is the uid/gid the manager runs as.
const nonRoot = 65532

// ResolveBinary returns the binary to run in the cluster: $KFUP_MANAGER_BINARY, else
// kfup-manager next to this executable (make build puts it there) when it was built for
// this architecture from the same source (module version and VCS revision in its build
// info) — a leftover from another build is passed over —, else, on Linux, where the nodes
// share the host's architecture, this very executable, which has the same in-cluster
// commands (kfup manager, kfup agent) but is larger.
func ResolveBinary() (string, error) {
	if p := os.Getenv(BinaryEnv); p != "" {
		return p, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find the kfup executable: %w", err)
	}
	if slim := filepath.Join(filepath.Dir(exe), SlimBinary); isFile(slim) && sameBuild(exe, slim) {
		if arch, err := binimage.StaticLinuxArch(slim); err == nil && arch == runtime.GOARCH {
			return slim, nil
		}
	}
	if runtime.GOOS != "linux" {
		return "", errs.Usage(fmt.Sprintf("build one with 'GOOS=linux GOARCH=%s CGO_ENABLED=0 go build -o kfup-manager ./cmd/kfup-manager' and set %s=./kfup-manager", runtime.GOARCH, BinaryEnv),
			"kfup runs on %s, but the manager image needs a linux binary", runtime.GOOS)
	}
	return exe, nil
}

// sameBuild says whether two Go binaries were built from the same source: the same main
// module version and the same VCS revision and dirty flag (both absent counts as equal).
func sameBuild(a, b string) bool {
	key := func(p string) (string, bool) {
		bi, err := buildinfo.ReadFile(p)
		if err != nil {
			return "", false
		}
		k := bi.Main.Version
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" || s.Key == "vcs.modified" {
				k += " " + s.Key + "=" + s.Value
			}
		}
		return k, true
	}
	ka, okA := key(a)
	kb, okB := key(b)
	return okA && okB && ka == kb
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// BuildImage builds the manager image from a kfup binary: one layer holding /kfup, the
// ingress proxy's /kfup-ingress (ingressBinaryFor) and a passwd entry for the non-root
// user, entrypoint `/kfup manager`. The tag is derived from the binaries' hash, so the
// same binaries always give the same image. The binary must be a static linux executable
// (CGO_ENABLED=0), since the image has no libc.
func BuildImage(binaryPath string) (v1.Image, string, error) {
	bin, err := os.ReadFile(binaryPath)
	if err != nil {
		return nil, "", fmt.Errorf("read manager binary: %w", err)
	}
	arch, err := binimage.StaticLinuxArch(binaryPath)
	if err != nil {
		return nil, "", errs.Usage("build kfup with CGO_ENABLED=0 (make build does), or point "+BinaryEnv+" at such a build", "manager binary: %v", err)
	}
	h := sha256.New()
	h.Write(bin)
	ingress := binimage.File{Path: IngressBinary, Link: "kfup"}
	if p := ingressBinaryFor(binaryPath, arch); p != "" {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, "", fmt.Errorf("read the ingress binary: %w", err)
		}
		ingress = binimage.File{Path: IngressBinary, Mode: 0o755, Data: data}
		h.Write(data)
	}
	tag := ImageRepo + ":" + hex.EncodeToString(h.Sum(nil))[:16]
	img, err := binimage.Build(binimage.Spec{
		Arch:       arch,
		Dirs:       []string{"etc", "tmp"},
		Files:      append(binimage.PasswdFiles("kfup", nonRoot), binimage.File{Path: "kfup", Mode: 0o755, Data: bin}, ingress),
		Entrypoint: []string{"/kfup"},
		Cmd:        []string{"manager"},
		User:       fmt.Sprintf("%d:%d", nonRoot, nonRoot),
		Labels:     map[string]string{"org.opencontainers.image.title": "kfup-manager"},
	})
	if err != nil {
		return nil, "", err
	}
	return img, tag, nil
}

// ingressBinaryFor returns the kfup-ingress beside the manager binary when it is a static
// linux executable of the same architecture built from the same source (make build puts
// it there): the ingress proxy then maps a binary of its own, without the controllers,
// and starts in half the memory; "" when there is none such (a leftover of another build
// is passed over), and the image links /kfup-ingress to /kfup.
func ingressBinaryFor(binaryPath, arch string) string {
	p := filepath.Join(filepath.Dir(binaryPath), IngressBinary)
	if !isFile(p) || !sameBuild(binaryPath, p) {
		return ""
	}
	if a, err := binimage.StaticLinuxArch(p); err != nil || a != arch {
		return ""
	}
	return p
}

// RunningImage is the manager image as the manager component runs it in env's cluster
// (loaded into the nodes, or pushed to components.manager.registry): the image the
// components that run kfup's helpers from it (the device plugin, the ingress proxy) use.
// binary is the kfup binary it is built from (ResolveBinary when empty).
func RunningImage(env *components.Env, binary string) (string, error) {
	_, tag, err := (&Component{Binary: binary}).Build()
	if err != nil {
		return "", err
	}
	if r := env.Config().Components.Manager.Registry; r != "" {
		return PushedRef(tag, r)
	}
	return tag, nil
}
