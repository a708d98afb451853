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

// configData returns ConfigMap name's data among objs.
func configData(t *testing.T, objs []*unstructured.Unstructured, name string) map[string]string {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == "ConfigMap" && o.GetName() == name && o.GetNamespace() == Namespace {
			data, _, _ := unstructured.NestedStringMap(o.Object, "data")
			return data
		}
	}
	t.Fatalf("no ConfigMap %s", name)
	return nil
}

// On kfup's ingress (the default) Knative's KIngresses get kfup's class and tags of the
// listed registries are not resolved; on Istio config-network keeps Knative's default (net-istio's class).
// Knative installs after its networking layer, and its images leave out net-istio's
// unless it runs on Istio.
func TestNetworkingLayer(t *testing.T) {
	s := DefaultSettings()
	s.RegistriesSkippingTagResolving = "kind.local,kfup-offline"
	objs, err := ServingObjects(s)
	if err != nil {
		t.Fatal(err)
	}
	if got := configData(t, objs, "config-network")["ingress-class"]; got != KfupIngressClass {
		t.Errorf("config-network ingress-class = %q, want %q", got, KfupIngressClass)
	}
	if got := configData(t, objs, "config-network")["autocreate-cluster-domain-claims"]; got != "true" {
		t.Errorf("config-network autocreate-cluster-domain-claims = %q, want true (InferenceServices' DomainMappings)", got)
	}
	features := configData(t, objs, "config-features")
	for _, f := range PodSpecFeatures {
		if features[f] != "enabled" {
			t.Errorf("config-features %s = %q, want enabled (InferenceServices' pods need it)", f, features[f])
		}
	}
	if got := configData(t, objs, "config-deployment")["registries-skipping-tag-resolving"]; got != "kind.local,kfup-offline" {
		t.Errorf("registries-skipping-tag-resolving = %q", got)
	}
	if d := (Component{}).DependsOn(); !slices.Equal(d, []string{profiles.Ingress}) {
		t.Errorf("DependsOn on kfup's ingress = %v", d)
	}

	s.Ingress = profiles.KnativeIngressIstio
	objs, err = ServingObjects(s)
	if err != nil {
		t.Fatal(err)
	}
	if got, set := configData(t, objs, "config-network")["ingress-class"]; set {
		t.Errorf("on Istio config-network ingress-class = %q, want it unset (Knative's default: net-istio's)", got)
	}
	if d := (Component{Ingress: profiles.KnativeIngressIstio}).DependsOn(); !slices.Equal(d, []string{profiles.Istio}) {
		t.Errorf("DependsOn on Istio = %v", d)
	}

	kfup, err := Component{}.Images(&components.Env{})
	if err != nil {
		t.Fatal(err)
	}
	p := profiles.Defaults()
	p.Components.Knative.Ingress = profiles.KnativeIngressIstio
	onIstio, err := Component{}.Images(&components.Env{Profile: p})
	if err != nil {
		t.Fatal(err)
	}
	for _, img := range kfup {
		if strings.Contains(img, "net-istio") {
			t.Errorf("on kfup's ingress, images include %s", img)
		}
	}
	if len(onIstio) <= len(kfup) || !slices.ContainsFunc(onIstio, func(s string) bool { return strings.Contains(s, "net-istio") }) {
		t.Errorf("on Istio the images should add net-istio's: %v", onIstio)
	}
}
