package bundle

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/kfup/kfup/bootstrap"
	"github.com/kfup/kfup/internal/errs"
)

// Images pinned by digest (Knative's, gcr.io/...@sha256:...) cannot go through a
// docker-archive: Docker rewrites manifests, so the digest the pods ask for would not
// exist. A bundle therefore carries them as an OCI image layout (oci-layout, index.json,
// blobs/sha256/...) beside the docker-archive part (manifest.json and its files), fetched
// from their registry with the manifests byte for byte. For a multi-platform index only the
// nodes' platform is kept (the index itself is kept as is, so its digest still matches).

// Annotations naming an image in an OCI layout: containerd's, and the OCI one.
const (
	annotationContainerdName = "io.containerd.image.name"
	annotationOCIRefName     = "org.opencontainers.image.ref.name"
)

// pinnedByDigest reports whether ref names its image by digest.
func pinnedByDigest(ref string) bool { return strings.Contains(ref, "@sha256:") }

// nodePlatform is the platform of the nodes kfup creates: kind's nodes run the host's
// architecture.
func nodePlatform() v1.Platform { return v1.Platform{OS: "linux", Architecture: runtime.GOARCH} }

// writePinnedLayout writes an OCI image layout in dir holding the images refs name (pinned
// by digest), fetched from their registries for the nodes' platform.
func writePinnedLayout(ctx context.Context, dir string, refs []string) error {
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	for _, ref := range refs {
		if err := writePinned(ctx, p, ref, nodePlatform()); err != nil {
			return err
		}
	}
	return nil
}

// writePinned fetches the image or index ref names into the layout at p, keeping its
// manifest digest; of an index, only the image for platform is written.
func writePinned(ctx context.Context, p layout.Path, ref string, platform v1.Platform) error {
	r, err := name.NewDigest(ref)
	if err != nil {
		return errs.Usage("name the image as registry/repository@sha256:<digest>", "image %s: %v", ref, err)
	}
	desc, err := remote.Get(r, remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain))
	if err != nil {
		return errs.New(errs.KindNotFound, "save bundles on a machine that reaches the registry (docker login for private ones)",
			"fetch %s: %v", ref, err)
	}
	annotations := map[string]string{annotationContainerdName: ref, annotationOCIRefName: ref}
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			return err
		}
		manifest, err := idx.IndexManifest()
		if err != nil {
			return err
		}
		var chosen *v1.Descriptor
		for i, m := range manifest.Manifests {
			if m.Platform != nil && m.Platform.Satisfies(platform) {
				chosen = &manifest.Manifests[i]
				break
			}
		}
		if chosen == nil {
			return fmt.Errorf("image %s has no %s/%s variant", ref, platform.OS, platform.Architecture)
		}
		img, err := idx.Image(chosen.Digest)
		if err != nil {
			return err
		}
		if err := p.WriteImage(img); err != nil {
			return fmt.Errorf("write %s: %w", ref, err)
		}
		raw, err := idx.RawManifest()
		if err != nil {
			return err
		}
		if err := p.WriteBlob(desc.Digest, io.NopCloser(bytes.NewReader(raw))); err != nil {
			return err
		}
	} else {
		img, err := desc.Image()
		if err != nil {
			return err
		}
		if err := p.WriteImage(img); err != nil {
			return fmt.Errorf("write %s: %w", ref, err)
		}
	}
	d := desc.Descriptor
	d.Annotations = annotations
	return p.AppendDescriptor(d)
}

// appendDir adds every file under dir to tw, named relative to dir.
func appendDir(tw *tar.Writer, dir string) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		return appendFile(tw, filepath.ToSlash(rel), path)
	})
}

func appendFile(tw *tar.Writer, name, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: st.Size(), Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return err
}

// writeTar creates the tar archive out with what fill writes into it; on an error the
// file may be left incomplete (callers write temporary files).
func writeTar(out string, fill func(*tar.Writer) error) error {
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(f)
	err = fill(tw)
	if err == nil {
		err = tw.Close()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// combineBundle writes to out the docker-archive at dockerArchive (if any) followed by
// the OCI layout in layoutDir.
func combineBundle(out, dockerArchive, layoutDir string) error {
	return writeTar(out, func(tw *tar.Writer) error {
		if dockerArchive != "" {
			if err := copyTar(tw, dockerArchive, func(string) bool { return true }); err != nil {
				return err
			}
		}
		return appendDir(tw, layoutDir)
	})
}

// writeFilteredTar writes to out the regular files of the tar at path whose names keep
// accepts, then extra (name → content) files.
func writeFilteredTar(out, path string, keep func(string) bool, extra map[string][]byte) error {
	return writeTar(out, func(tw *tar.Writer) error {
		if err := copyTar(tw, path, keep); err != nil {
			return err
		}
		for name, data := range extra {
			if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
				return err
			}
			if _, err := tw.Write(data); err != nil {
				return err
			}
		}
		return nil
	})
}

// copyTar copies the regular files of the tar at path whose names keep accepts into tw.
func copyTar(tw *tar.Writer, path string, keep func(string) bool) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if h.Typeflag != tar.TypeReg || !keep(h.Name) {
			continue
		}
		if err := tw.WriteHeader(&tar.Header{Name: h.Name, Mode: 0o644, Size: h.Size, Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		if _, err := io.Copy(tw, tr); err != nil {
			return err
		}
	}
}

// isLayoutFile reports whether a bundle entry belongs to its OCI layout part.
func isLayoutFile(n string) bool {
	return n == "oci-layout" || n == "index.json" || strings.HasPrefix(n, "blobs/")
}

// Pinned lists the images a bundle carries by digest (its OCI layout part). Other
// entries of an index.json (docker save writes one naming its tags) are not pinned images.
func Pinned(path string) ([]string, error) {
	idx, err := pinnedIndex(path)
	if err != nil {
		return nil, err
	}
	var refs []string
	for _, m := range idx.Manifests {
		refs = append(refs, m.Annotations[annotationContainerdName])
	}
	return refs, nil
}

// pinnedIndex is the bundle's index.json reduced to the images named by digest.
func pinnedIndex(path string) (*v1.IndexManifest, error) {
	var idx v1.IndexManifest
	if _, err := decodeBundleFile(path, "index.json", &idx); err != nil {
		return nil, err
	}
	idx.Manifests = slices.DeleteFunc(idx.Manifests, func(m v1.Descriptor) bool {
		return !pinnedByDigest(m.Annotations[annotationContainerdName])
	})
	return &idx, nil
}

// importPinned imports the images of idx (pinnedIndex of bundle) from the OCI layout part
// of bundle into every node of cluster.
func importPinned(ctx context.Context, loader bootstrap.ImageLoader, cluster, bundle string, idx *v1.IndexManifest) error {
	dir, err := os.MkdirTemp("", "kfup-pinned-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	index, err := json.Marshal(idx)
	if err != nil {
		return err
	}
	archive := filepath.Join(dir, "oci.tar")
	onlyBlobs := func(n string) bool { return n == "oci-layout" || strings.HasPrefix(n, "blobs/") }
	if err := writeFilteredTar(archive, bundle, onlyBlobs, map[string][]byte{"index.json": index}); err != nil {
		return fmt.Errorf("read the pinned images of %s: %w", bundle, err)
	}
	return loader.ImportOCIArchive(ctx, cluster, archive)
}
