package bundle

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/kfup/kfup/internal/errs"
)

// pushIndex pushes a two-platform index (the nodes' platform and another) to a registry
// on 127.0.0.1 and returns its digest reference and the image of the nodes' platform.
func pushIndex(t *testing.T, host string) (string, v1.Image, v1.Image) {
	t.Helper()
	native, err := random.Image(256, 2)
	if err != nil {
		t.Fatal(err)
	}
	other, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	otherArch := "arm64"
	if nodePlatform().Architecture == "arm64" {
		otherArch = "amd64"
	}
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: other, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: otherArch}}},
		mutate.IndexAddendum{Add: native, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: nodePlatform().Architecture}}},
	)
	tag, err := name.NewTag(host + "/knative/controller:v1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(tag, idx); err != nil {
		t.Fatal(err)
	}
	d, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return host + "/knative/controller@" + d.String(), native, other
}

func TestSaveBundleKeepsDigestPinnedImages(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")

	indexRef, native, other := pushIndex(t, host)
	single, err := random.Image(128, 1)
	if err != nil {
		t.Fatal(err)
	}
	singleTag, _ := name.NewTag(host + "/knative/queue:v1")
	if err := remote.Write(singleTag, single); err != nil {
		t.Fatal(err)
	}
	singleDigest, _ := single.Digest()
	singleRef := host + "/knative/queue@" + singleDigest.String()
	built, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}

	out := filepath.Join(t.TempDir(), "bundle.tar")
	refs := []ImageRef{
		{Ref: "kfup.local/kfup-manager:abc", Source: SourceKfup, built: built},
		{Ref: indexRef, Source: SourceRegistry},
		{Ref: singleRef, Source: SourceRegistry},
	}
	if err := Save(context.Background(), out, refs); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(out + ".partial"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("partial file left behind: %v", err)
	}

	// the docker-archive part: the tag-named image, readable as before
	tags, err := Tags(out)
	if err != nil || !slices.Equal(tags, []string{"kfup.local/kfup-manager:abc"}) {
		t.Fatalf("Tags = %v, %v", tags, err)
	}
	tag, _ := name.NewTag("kfup.local/kfup-manager:abc")
	if _, err := tarball.ImageFromPath(out, &tag); err != nil {
		t.Fatalf("docker-archive part: %v", err)
	}

	// the OCI part: both pinned refs, digests unchanged, only the nodes' platform's image
	pinned, err := Pinned(out)
	if err != nil || !slices.Equal(pinned, []string{indexRef, singleRef}) {
		t.Fatalf("Pinned = %v, %v", pinned, err)
	}
	dir := extractLayout(t, out)
	p, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	ii, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	im, err := ii.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 2 || "@"+im.Manifests[0].Digest.String() != indexRef[strings.Index(indexRef, "@"):] ||
		im.Manifests[1].Digest != singleDigest || im.Manifests[0].Annotations[annotationContainerdName] != indexRef {
		t.Fatalf("layout index: %+v", im.Manifests)
	}
	nativeDigest, _ := native.Digest()
	otherDigest, _ := other.Digest()
	for _, d := range []v1.Hash{nativeDigest, singleDigest} {
		if _, err := p.Blob(d); err != nil {
			t.Errorf("blob %s missing: %v", d, err)
		}
	}
	if _, err := p.Blob(otherDigest); err == nil {
		t.Errorf("the other platform's manifest %s was saved too", otherDigest)
	}
	nested, err := ii.ImageIndex(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	img, err := nested.Image(nativeDigest)
	if err != nil {
		t.Fatal(err)
	}
	if layers, err := img.Layers(); err != nil || len(layers) != 2 {
		t.Fatalf("native image layers: %d, %v", len(layers), err)
	}
}

func TestSaveBundlePinnedImageUnreachable(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	host := strings.TrimPrefix(srv.URL, "http://")
	srv.Close()
	out := filepath.Join(t.TempDir(), "bundle.tar")
	ref := host + "/gone@sha256:" + strings.Repeat("a", 64)
	err := Save(context.Background(), out, []ImageRef{{Ref: ref, Source: SourceRegistry}})
	if errs.KindOf(err) != errs.KindNotFound || !strings.Contains(err.Error(), ref) || !strings.Contains(errs.HintOf(err), "reaches the registry") {
		t.Fatalf("want a not-found error naming %s with a hint, got %v (hint %q)", ref, err, errs.HintOf(err))
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("bundle written despite the error: %v", err)
	}
	if _, err := os.Stat(out + ".partial"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("partial bundle left: %v", err)
	}
}

// extractLayout copies the OCI layout part of bundle into a directory.
func extractLayout(t *testing.T, bundle string) string {
	t.Helper()
	dir := t.TempDir()
	f, err := os.Open(bundle)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return dir
		}
		if err != nil {
			t.Fatal(err)
		}
		if !isLayoutFile(h.Name) {
			continue
		}
		dst := filepath.Join(dir, filepath.FromSlash(h.Name))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// docker save (Docker 25+) writes an index.json naming its tags: those are not pinned
// images, and such an archive loads as a plain docker-archive.
func TestBundlePinnedIgnoresTagNamedIndexEntries(t *testing.T) {
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	dockerPart := filepath.Join(t.TempDir(), "d.tar")
	tag, _ := name.NewTag("example.com/app:v1")
	if err := tarball.MultiRefWriteToFile(dockerPart, map[name.Reference]v1.Image{tag: img}); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	index := fmt.Sprintf(`{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":%q,"size":1,"annotations":{%q:"example.com/app:v1"}}]}`, d.String(), annotationContainerdName)
	out := filepath.Join(t.TempDir(), "save.tar")
	if err := writeFilteredTar(out, dockerPart, func(string) bool { return true }, map[string][]byte{"index.json": []byte(index)}); err != nil {
		t.Fatal(err)
	}
	if pinned, err := Pinned(out); err != nil || len(pinned) != 0 {
		t.Fatalf("Pinned = %v, %v; want none", pinned, err)
	}
	if tags, err := Tags(out); err != nil || !slices.Equal(tags, []string{"example.com/app:v1"}) {
		t.Fatalf("Tags = %v, %v", tags, err)
	}
}
