//go:build e2e

package e2e

import (
	"context"
	"io"
	"log"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	corev1 "k8s.io/api/core/v1"

	bundlepkg "github.com/kfup/kfup/bundle"
	"github.com/kfup/kfup/components/training/builders"
)

const busyboxImage = "kfup-offline/busybox:1"

// An image pinned by digest (as Knative's are) travels in a bundle: kfup images save
// fetches it from its registry with its manifests unchanged (of a multi-platform index,
// the nodes' platform only), kfup images load imports it into the node, and a pod asking
// for image@sha256:<index digest> runs from it. The registry lives on the host's loopback,
// which the node cannot reach: the pod can only start from the bundle.
func TestDigestPinnedImageThroughBundle(t *testing.T) {
	ctx := context.Background()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")

	// busybox for the nodes' platform, a random image for another one, in one index
	dir := t.TempDir()
	saved := filepath.Join(dir, "busybox.tar")
	if _, err := docker("save", "-o", saved, busyboxImage); err != nil {
		t.Fatalf("docker save %s: %v", busyboxImage, err)
	}
	bb, err := tarball.ImageFromPath(saved, nil)
	if err != nil {
		t.Fatal(err)
	}
	other, err := random.Image(1024, 1)
	if err != nil {
		t.Fatal(err)
	}
	otherArch := map[string]string{"amd64": "arm64"}[runtime.GOARCH]
	if otherArch == "" {
		otherArch = "amd64"
	}
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: bb, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: runtime.GOARCH}}},
		mutate.IndexAddendum{Add: other, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: otherArch}}},
	)
	tag, err := name.NewTag(host + "/serving/cmd/queue:v1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(tag, idx); err != nil {
		t.Fatal(err)
	}
	digest, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	ref := host + "/serving/cmd/queue@" + digest.String()

	bundle := filepath.Join(dir, "bundle.tar")
	if err := bundlepkg.Save(ctx, bundle, []bundlepkg.ImageRef{{Ref: ref, Source: bundlepkg.SourceRegistry}}); err != nil {
		t.Fatalf("save bundle: %v", err)
	}
	srv.Close() // from here on, nothing can be fetched
	r := mustKfup(t, "images", "load", bundle, "--name", clusterName)
	if !strings.Contains(r.stdout, ref) {
		t.Fatalf("kfup images load did not report %s:\n%s%s", ref, r.stdout, r.stderr)
	}

	ns := testNamespace(t)
	pod := builders.MakePod("pinned", ns).Image(ref).Command("sh", "-c", "echo pinned-ok").Obj()
	pod.Spec.Containers[0].ImagePullPolicy = corev1.PullIfNotPresent
	if logs := runPod(t, pod, 2*time.Minute); !strings.Contains(logs, "pinned-ok") {
		t.Fatalf("logs:\n%s", logs)
	}
}
