// Command knative-images packages Knative Serving's binaries — built from the pinned
// knative.dev/serving module by `make knative-images` (hack/knative pins the version) —
// as the images kfup runs when components.knative.images is kfup: one image per binary,
// kfup.local/knative-serving/<binary>:<Knative Serving version>, each a single layer
// holding the static binary, run as 65532 (nonroot, as upstream's images). They are
// written as one docker-archive tarball for `docker load`; the label
// kfup.dev/knative-module records the module version, so the Makefile rebuilds only when
// the pin moves. The knative component names these references in place of the release
// manifests' digest references (components/knative: LocalImage).
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/kfup/kfup/components/knative"
	"github.com/kfup/kfup/internal/binimage"
)

// ModuleLabel is the image label holding the knative.dev/serving module version.
const ModuleLabel = "kfup.dev/knative-module"

func main() {
	dir := flag.String("binaries", "", "directory of the static linux binaries (activator, autoscaler, ...)")
	module := flag.String("knative-module", "", "knative.dev/serving module version the binaries were built from")
	out := flag.String("o", "", "docker-archive tarball to write")
	flag.Parse()
	if *dir == "" || *module == "" || *out == "" {
		fmt.Fprintln(os.Stderr, "knative-images: --binaries, --knative-module and -o are required")
		os.Exit(2)
	}
	if err := run(*dir, *module, *out); err != nil {
		fmt.Fprintln(os.Stderr, "knative-images:", err)
		os.Exit(1)
	}
}

func run(dir, module, out string) error {
	m := map[name.Reference]v1.Image{}
	for _, bin := range knative.Binaries {
		path := filepath.Join(dir, bin)
		ref, err := name.NewTag(knative.LocalImage(bin))
		if err != nil {
			return err
		}
		img, err := binimage.KoApp(path, map[string]string{ModuleLabel: module,
			"org.opencontainers.image.title": "Knative Serving " + bin + " built by kfup from knative.dev/serving " + module})
		if err != nil {
			return err
		}
		m[ref] = img
	}
	return tarball.MultiRefWriteToFile(out, m)
}
