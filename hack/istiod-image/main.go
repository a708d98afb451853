// Command istiod-image packages a pilot-discovery binary (built from the pinned
// istio.io/istio module by `make istiod-image`, see hack/istiod) as the istiod image the
// Istio chart names, docker.io/istio/pilot:<pinned tag>, and writes it as a docker-archive
// tarball for `docker load`. Like upstream's image it runs pilot-discovery as uid 1337; the
// label kfup.dev/istio-module records the module version, so the Makefile rebuilds only
// when the pin moves.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/kfup/kfup/internal/binimage"
)

// ModuleLabel is the image label holding the istio.io/istio module version.
const ModuleLabel = "kfup.dev/istio-module"

func main() {
	binary := flag.String("binary", "", "static linux pilot-discovery binary")
	tag := flag.String("tag", "", "image reference, such as docker.io/istio/pilot:1.31.0")
	module := flag.String("istio-module", "", "istio.io/istio module version the binary was built from")
	out := flag.String("o", "", "docker-archive tarball to write")
	flag.Parse()
	if *binary == "" || *tag == "" || *module == "" || *out == "" {
		fmt.Fprintln(os.Stderr, "istiod-image: --binary, --tag, --istio-module and -o are required")
		os.Exit(2)
	}
	if err := run(*binary, *tag, *module, *out); err != nil {
		fmt.Fprintln(os.Stderr, "istiod-image:", err)
		os.Exit(1)
	}
}

func run(binary, tag, module, out string) error {
	ref, err := name.NewTag(tag)
	if err != nil {
		return err
	}
	arch, err := binimage.StaticLinuxArch(binary)
	if err != nil {
		return fmt.Errorf("%w (build it with CGO_ENABLED=0)", err)
	}
	bin, err := os.ReadFile(binary)
	if err != nil {
		return err
	}
	const uid = 1337 // istio-proxy, as in upstream's images
	img, err := binimage.Build(binimage.Spec{
		Arch:       arch,
		Dirs:       []string{"etc", "tmp", "usr", "usr/local", "usr/local/bin", "var", "var/lib", "var/lib/istio"},
		Files:      append(binimage.PasswdFiles("istio-proxy", uid), binimage.File{Path: "usr/local/bin/pilot-discovery", Mode: 0o755, Data: bin}),
		Entrypoint: []string{"/usr/local/bin/pilot-discovery"},
		User:       fmt.Sprintf("%d:%d", uid, uid),
		Labels:     map[string]string{ModuleLabel: module, "org.opencontainers.image.title": "istiod (pilot-discovery) built by kfup from istio.io/istio " + module},
	})
	if err != nil {
		return err
	}
	return tarball.WriteToFile(out, ref, img)
}
