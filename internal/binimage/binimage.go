// Package binimage builds single-layer container images around static Linux binaries with
// go-containerregistry: no Dockerfile, no base image, no registry. kfup builds its
// manager image this way, and the e2e harness builds istiod from the pinned Istio module.
package binimage

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// File is a regular file of the image.
type File struct {
	Path string // relative to /, such as "usr/local/bin/tool"
	Mode int64
	Data []byte
	// Link, when set, makes the file a symbolic link to it (Mode and Data unused).
	Link string
}

// Spec describes an image.
type Spec struct {
	// Arch is the GOARCH of the binaries (amd64, arm64).
	Arch string
	// Dirs are created (0755; "tmp" gets 1777) before Files; parents are not implied.
	Dirs []string
	// Files are the image's files.
	Files []File
	// Entrypoint, Cmd, User and Labels go into the image config; WorkingDir is /.
	Entrypoint, Cmd []string
	User            string
	Labels          map[string]string
}

// Build builds the image of s: one layer with every directory and file, and the config.
func Build(s Spec) (v1.Image, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, d := range s.Dirs {
		mode := int64(0o755)
		if d == "tmp" {
			mode = 0o1777
		}
		if err := tw.WriteHeader(&tar.Header{Name: d + "/", Typeflag: tar.TypeDir, Mode: mode}); err != nil {
			return nil, err
		}
	}
	for _, f := range s.Files {
		if f.Link != "" {
			if err := tw.WriteHeader(&tar.Header{Name: f.Path, Typeflag: tar.TypeSymlink, Linkname: f.Link, Mode: 0o777}); err != nil {
				return nil, err
			}
			continue
		}
		if err := tw.WriteHeader(&tar.Header{Name: f.Path, Typeflag: tar.TypeReg, Mode: f.Mode, Size: int64(len(f.Data))}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.Data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	layerBytes := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerBytes)), nil
	})
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return nil, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", s.Arch
	cfg.Config.Entrypoint = s.Entrypoint
	cfg.Config.Cmd = s.Cmd
	cfg.Config.User = s.User
	cfg.Config.WorkingDir = "/"
	cfg.Config.Labels = s.Labels
	return mutate.ConfigFile(img, cfg)
}

// PasswdFiles returns etc/passwd and etc/group with root and one non-root user, so that
// the image's numeric user has a name (some programs look it up).
func PasswdFiles(user string, id int) []File {
	return []File{
		{Path: "etc/passwd", Mode: 0o644, Data: fmt.Appendf(nil, "root:x:0:0:root:/root:/sbin/nologin\n%s:x:%d:%d:%s:/:/sbin/nologin\n", user, id, id, user)},
		{Path: "etc/group", Mode: 0o644, Data: fmt.Appendf(nil, "root:x:0:\n%s:x:%d:\n", user, id)},
	}
}

// StaticLinuxArch returns the GOARCH of a static Linux ELF executable, or an error when
// path is not one (not ELF, dynamically linked, an unsupported machine).
func StaticLinuxArch(path string) (string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return "", fmt.Errorf("%s is not a linux executable: %v", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return "", fmt.Errorf("%s is dynamically linked; the image has no libc", path)
		}
	}
	arch, ok := map[elf.Machine]string{elf.EM_X86_64: "amd64", elf.EM_AARCH64: "arm64"}[f.Machine]
	if !ok {
		return "", fmt.Errorf("%s is for unsupported machine %s", path, f.Machine)
	}
	return arch, nil
}

// KoUID is the user ko-built images run as (nonroot), and so KoApp's.
const KoUID = 65532

// KoApp builds the image of the static Linux binary at path as ko lays out upstream's
// images (Knative's): the binary as /ko-app/<its file name> on an otherwise empty image,
// its entrypoint, run as KoUID, with labels.
func KoApp(path string, labels map[string]string) (v1.Image, error) {
	arch, err := StaticLinuxArch(path)
	if err != nil {
		return nil, fmt.Errorf("%w (build it with CGO_ENABLED=0)", err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	bin := filepath.Base(path)
	return Build(Spec{
		Arch:       arch,
		Dirs:       []string{"etc", "tmp", "ko-app"},
		Files:      append(PasswdFiles("nonroot", KoUID), File{Path: "ko-app/" + bin, Mode: 0o755, Data: data}),
		Entrypoint: []string{"/ko-app/" + bin},
		User:       fmt.Sprintf("%d:%d", KoUID, KoUID),
		Labels:     labels,
	})
}
