// Package bundle carries images to air-gapped machines: it lists every image a cluster
// with a profile needs, saves them into one archive (a docker-archive of the images named
// by tag, followed by an OCI image layout of those pinned by digest) and loads such an
// archive into Docker and, through a provider's bootstrap.ImageLoader, into the nodes.
package bundle

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/kfup/kfup/bootstrap"
	"github.com/kfup/kfup/components"
	"github.com/kfup/kfup/components/registry"
	"github.com/kfup/kfup/internal/errs"
	"github.com/kfup/kfup/profiles"
)

// Image sources.
const (
	// SourceDocker images come from the local Docker image store (the node image).
	SourceDocker = "docker"
	// SourceKfup images are built by kfup from its own binary (the manager).
	SourceKfup = "kfup"
	// SourceRegistry images are pinned by digest and fetched from their registry, manifests
	// unchanged (Docker would rewrite them).
	SourceRegistry = "registry"
)

// ImageRef is one image a profile needs.
type ImageRef struct {
	Ref    string `json:"ref"`
	Source string `json:"source"`
	// Node is true for the kind node image, which goes into Docker, not into the nodes.
	Node bool `json:"node,omitempty"`
	// built is the image itself for SourceKfup images (built once, by ProfileImages).
	built v1.Image
}

// builder is a component whose image kfup builds itself instead of pulling it (the
// manager, from kfup's own binary); it returns the image and its tag.
type builder interface {
	Build() (v1.Image, string, error)
}

// ProfileImages lists every image creating a cluster with profile p needs (p nil: the
// cluster only): the node image, then the images of the enabled components: kfup builds
// its own, the others come from their registries (or a bundle).
func ProfileImages(p *profiles.Profile, nodeImage, managerBinary string) ([]ImageRef, error) {
	out := []ImageRef{{Ref: bootstrap.ResolveNodeImage(nodeImage), Source: SourceDocker, Node: true}}
	if p == nil {
		return out, nil
	}
	env := &components.Env{Profile: p}
	for _, c := range registry.All(managerBinary, p.Enabled(), p) {
		if !p.IsEnabled(c.Name()) {
			continue
		}
		if b, ok := c.(builder); ok {
			img, tag, err := b.Build()
			if err != nil {
				return nil, fmt.Errorf("images of %s: %w", c.Name(), err)
			}
			out = append(out, ImageRef{Ref: tag, Source: SourceKfup, built: img})
			continue
		}
		imgs, err := c.Images(env)
		if err != nil {
			return nil, fmt.Errorf("images of %s: %w", c.Name(), err)
		}
		for _, i := range imgs {
			src := SourceDocker
			if pinnedByDigest(i) {
				src = SourceRegistry
			}
			out = append(out, ImageRef{Ref: i, Source: src})
		}
	}
	return out, nil
}

// Save writes every image in refs (as ProfileImages returns them) into one bundle
// at path (written to a temporary file first, so an interrupted save leaves no partial
// bundle): a docker-archive of the images named by tag — from the local Docker image
// store, which must have them, or built by kfup — followed by an OCI image layout of the
// images pinned by digest, fetched from their registries for the nodes' platform.
func Save(ctx context.Context, path string, refs []ImageRef) error {
	dir, err := os.MkdirTemp("", "kfup-bundle-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	images := map[name.Reference]v1.Image{}
	var pinned []string
	for i, r := range refs {
		if r.Source == SourceRegistry {
			pinned = append(pinned, r.Ref)
			continue
		}
		// a bundle names images by tag: Docker cannot look up a loaded image by digest
		tag, err := name.NewTag(withoutDigest(r.Ref))
		if err != nil {
			return fmt.Errorf("image %s: %w", r.Ref, err)
		}
		switch {
		case r.built != nil:
			images[tag] = r.built
		case r.Source == SourceKfup:
			return fmt.Errorf("image %s is built by kfup: list it with ProfileImages", r.Ref)
		default:
			f := filepath.Join(dir, fmt.Sprintf("%d.tar", i))
			out, err := exec.CommandContext(ctx, "docker", "save", "-o", f, r.Ref).CombinedOutput()
			if err != nil {
				return errs.New(errs.KindNotFound, fmt.Sprintf("pull or build %s first (docker images lists what is there)", r.Ref),
					"docker save %s: %s", r.Ref, strings.TrimSpace(string(out)))
			}
			img, err := tarball.ImageFromPath(f, &tag)
			if err != nil {
				return fmt.Errorf("read %s: %w", r.Ref, err)
			}
			images[tag] = img
		}
	}
	// pinned images first: a registry that cannot be reached fails the save before any
	// large file is written
	layoutDir := filepath.Join(dir, "oci")
	if len(pinned) > 0 {
		if err := writePinnedLayout(ctx, layoutDir, pinned); err != nil {
			return err
		}
	}
	tmp := path + ".partial"
	defer os.Remove(tmp) // gone after the rename
	dockerPart := ""
	if len(images) > 0 {
		dockerPart = tmp
		if len(pinned) > 0 {
			dockerPart = filepath.Join(dir, "docker-archive.tar")
		}
		if err := tarball.MultiRefWriteToFile(dockerPart, images); err != nil {
			return fmt.Errorf("write bundle: %w", err)
		}
	}
	if len(pinned) > 0 {
		if err := combineBundle(tmp, dockerPart, layoutDir); err != nil {
			return fmt.Errorf("write bundle: %w", err)
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Tags lists the image tags in a bundle written by Save (or docker save).
func Tags(path string) ([]string, error) {
	var m tarball.Manifest
	found, err := decodeBundleFile(path, "manifest.json", &m)
	if err != nil {
		return nil, err
	}
	if !found {
		if pinned, _ := Pinned(path); len(pinned) > 0 {
			return nil, nil // only images pinned by digest
		}
		return nil, errs.Usage("pass a bundle written by 'kfup images save'", "%s has no manifest.json: not an image bundle", path)
	}
	var tags []string
	for _, d := range m {
		tags = append(tags, d.RepoTags...)
	}
	return tags, nil
}

// decodeBundleFile decodes the JSON file name of the bundle at path into v; found is
// false when the bundle has no such file.
func decodeBundleFile(path, name string, v any) (found bool, err error) {
	const hint = "pass a bundle written by 'kfup images save'"
	f, err := os.Open(path)
	if err != nil {
		return false, errs.Usage(hint, "open bundle: %v", err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return false, nil
		}
		if err != nil {
			return false, errs.Usage(hint, "%s is not a tar archive: %v", path, err)
		}
		if h.Name != name {
			continue
		}
		if err := json.NewDecoder(tr).Decode(v); err != nil {
			return false, fmt.Errorf("%s: %s: %w", path, name, err)
		}
		return true, nil
	}
}

// LoadIntoDocker loads the bundle into the local Docker image store (so that the
// node image is there before kind needs it).
func LoadIntoDocker(ctx context.Context, path string) error {
	tags, err := Tags(path)
	if err != nil {
		return err
	}
	if len(tags) == 0 {
		return nil // images pinned by digest only: they go into the nodes, not Docker
	}
	archive := path
	if pinned, err := Pinned(path); err != nil {
		return err
	} else if len(pinned) > 0 {
		// only the docker-archive part: a Docker on containerd's image store would read
		// the OCI layout part instead of manifest.json
		dir, err := os.MkdirTemp("", "kfup-bundle-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		archive = filepath.Join(dir, "docker-archive.tar")
		if err := writeFilteredTar(archive, path, func(n string) bool { return !isLayoutFile(n) }, nil); err != nil {
			return fmt.Errorf("read %s: %w", path, err)
		}
	}
	out, err := exec.CommandContext(ctx, "docker", "load", "-i", archive).CombinedOutput()
	if err != nil {
		return fmt.Errorf("docker load %s: %w: %s", path, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// LoadIntoNodes imports the bundle's images, except kind node images, into every
// node of cluster through loader. It returns the images imported.
func LoadIntoNodes(ctx context.Context, loader bootstrap.ImageLoader, cluster, path string) ([]string, error) {
	tags, err := Tags(path)
	if err != nil {
		return nil, err
	}
	images := map[name.Reference]v1.Image{}
	var loaded []string
	for _, t := range tags {
		tag, err := name.NewTag(t)
		if err != nil {
			return nil, err
		}
		img, err := tarball.ImageFromPath(path, &tag)
		if err != nil {
			return nil, fmt.Errorf("read %s from %s: %w", t, path, err)
		}
		if isNodeImage(img) {
			continue
		}
		images[tag] = img
		loaded = append(loaded, t)
	}
	if len(images) > 0 {
		dir, err := os.MkdirTemp("", "kfup-bundle-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		sub := filepath.Join(dir, "images.tar")
		if err := tarball.MultiRefWriteToFile(sub, images); err != nil {
			return nil, err
		}
		if err := loader.ImportArchive(ctx, cluster, sub); err != nil {
			return nil, err
		}
	}
	idx, err := pinnedIndex(path)
	if err != nil {
		return nil, err
	}
	if len(idx.Manifests) > 0 {
		if err := importPinned(ctx, loader, cluster, path, idx); err != nil {
			return nil, err
		}
		for _, m := range idx.Manifests {
			loaded = append(loaded, m.Annotations[annotationContainerdName])
		}
	}
	slices.Sort(loaded)
	return loaded, nil
}

// isNodeImage reports whether img is a kind node image (kind's entrypoint running
// systemd): those belong in Docker, not inside the nodes.
func isNodeImage(img v1.Image) bool {
	cfg, err := img.ConfigFile()
	if err != nil {
		return false
	}
	return slices.Contains(cfg.Config.Entrypoint, "/usr/local/bin/entrypoint") && slices.Contains(cfg.Config.Cmd, "/sbin/init")
}

// withoutDigest returns ref without its @sha256:... part.
func withoutDigest(ref string) string {
	if i := strings.Index(ref, "@"); i >= 0 {
		return ref[:i]
	}
	return ref
}
