package knative

import (
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kfup/kfup/components"
	"github.com/kfup/kfup/profiles"
)

// With components.knative.images kfup every Knative Serving image the release names —
// the Deployments', the queue-proxy's caching Image and config-deployment's
// queue-sidecar-image — is kfup's own; upstream keeps the release's digests.
func TestLocalImages(t *testing.T) {
	s := DefaultSettings()
	s.Images = profiles.KnativeImagesKfup
	objs, err := ServingObjects(s)
	if err != nil {
		t.Fatal(err)
	}
	refs := components.ContainerImages(objs)
	for _, o := range objs {
		if o.GetKind() == "Image" {
			img, _, _ := unstructured.NestedString(o.Object, "spec", "image")
			refs = append(refs, img)
		}
		if o.GetKind() == "ConfigMap" && o.GetName() == "config-deployment" {
			img, _, _ := unstructured.NestedString(o.Object, "data", "queue-sidecar-image")
			refs = append(refs, img)
		}
	}
	var want []string
	for _, b := range Binaries {
		want = append(want, LocalImage(b))
	}
	seen := map[string]bool{}
	for _, r := range refs {
		seen[r] = true
		if !slices.Contains(want, r) {
			t.Errorf("image %s is not one kfup builds", r)
		}
	}
	for _, w := range want {
		if !seen[w] {
			t.Errorf("no object runs %s", w)
		}
	}
	if !seen[LocalImage("queue")] {
		t.Error("the queue-proxy image was not rewritten")
	}

	up, err := ServingObjects(DefaultSettings())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range components.ContainerImages(up) {
		if !strings.HasPrefix(r, upstreamPrefix) || !strings.Contains(r, "@sha256:") {
			t.Errorf("upstream image %s is not the release's digest reference", r)
		}
	}
	if _, ok := localImageOf("gcr.io/knative-releases/knative.dev/net-istio/cmd/controller@sha256:00"); ok {
		t.Error("a net-istio image was mapped to a Knative Serving one")
	}
}
