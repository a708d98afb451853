// Package knative is the install component of Knative Serving, from the pinned release
// manifests that manifests/ embeds (vendored from the knative.dev/operator module by make
// generate), with its networking layer: kfup's own ingress (components/ingress, which
// serves Knative's KIngresses) or net-istio on Istio's ingress gateway.
package knative

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfup/kfup/components"
	kingressv1alpha1 "github.com/kfup/kfup/components/ingress/api/v1alpha1"
	"github.com/kfup/kfup/manifests"
	"github.com/kfup/kfup/profiles"
)

// Names of the component and the namespace it installs into.
const (
	Name      = "knative"
	Namespace = "knative-serving"
)

// Settings configure Knative Serving.
type Settings struct {
	// ScaleToZero lets idle revisions scale to zero pods (config-autoscaler).
	ScaleToZero bool
	// Domain is the DNS suffix of service URLs (config-domain).
	Domain string
	// Images is where Knative's images come from: profiles.KnativeImagesUpstream (the
	// release's digest references) or profiles.KnativeImagesKfup (LocalImage: built by
	// `make knative-images` from the pinned module, loaded into the nodes).
	Images string
	// Ingress is the networking layer: profiles.KnativeIngressKfup or
	// profiles.KnativeIngressIstio (net-istio).
	Ingress string
	// RegistriesSkippingTagResolving, comma-separated, go into config-deployment.
	RegistriesSkippingTagResolving string
}

// KfupIngressClass is Knative's ingress class (config-network ingress-class) of kfup's
// ingress: the KIngresses its controller serves.
const KfupIngressClass = kingressv1alpha1.Class

// SettingsFor returns the settings of profile p's components.knative.
func SettingsFor(p *profiles.Profile) Settings {
	k := p.Components.Knative
	return Settings{ScaleToZero: k.ScaleToZero, Domain: k.Domain, Images: k.Images, Ingress: k.Ingress,
		RegistriesSkippingTagResolving: k.RegistriesSkippingTagResolving}
}

// Binaries are Knative Serving's binaries, each the image of the same name in the
// release (knative.dev/serving/cmd/<binary>).
var Binaries = []string{"activator", "autoscaler", "autoscaler-hpa", "controller", "queue", "webhook"}

// upstreamPrefix starts the release manifests' image references:
// <upstreamPrefix><binary>@sha256:<digest>.
const upstreamPrefix = "gcr.io/knative-releases/knative.dev/serving/cmd/"

// LocalImage is the reference of the image kfup builds for binary.
func LocalImage(binary string) string {
	return "kfup.local/knative-serving/" + binary + ":" + manifests.KnativeServingVersion
}

// localImageOf maps a release image reference to kfup's own image of that binary; ok is
// false for a reference that is not one of Knative Serving's binaries.
func localImageOf(ref string) (string, bool) {
	rest, ok := strings.CutPrefix(ref, upstreamPrefix)
	if !ok {
		return "", false
	}
	bin, _, _ := strings.Cut(rest, "@")
	bin, _, _ = strings.Cut(bin, ":")
	if !slices.Contains(Binaries, bin) {
		return "", false
	}
	return LocalImage(bin), true
}

// useLocalImages rewrites every reference to a Knative Serving image in objs —
// containers, the queue-proxy's caching Image and config-deployment's
// queue-sidecar-image — to kfup's own images: the release names digests, which an image
// built here cannot have, so the references change instead of the YAML.
func useLocalImages(objs []*unstructured.Unstructured) error {
	for _, o := range objs {
		switch {
		case o.GetKind() == "Image":
			if img, ok, _ := unstructured.NestedString(o.Object, "spec", "image"); ok {
				if local, ok := localImageOf(img); ok {
					if err := unstructured.SetNestedField(o.Object, local, "spec", "image"); err != nil {
						return err
					}
				}
			}
		case o.GetKind() == "ConfigMap" && o.GetName() == "config-deployment":
			if img, ok, _ := unstructured.NestedString(o.Object, "data", "queue-sidecar-image"); ok {
				if local, ok := localImageOf(img); ok {
					if err := unstructured.SetNestedField(o.Object, local, "data", "queue-sidecar-image"); err != nil {
						return err
					}
				}
			}
		}
		if err := components.MapContainerImages(o, localImageOf); err != nil {
			return fmt.Errorf("%s %s: %w", o.GetKind(), o.GetName(), err)
		}
	}
	return nil
}

// PodSpecFeatures are the Knative features (config-features) kfup enables: the pod
// fields a Serverless InferenceService's pod uses, which Knative refuses by default —
// the storage initializer is an init container, a pvc:// model a mounted claim, and GPU
// or node placement needs affinity, node selectors, tolerations and runtime classes.
var PodSpecFeatures = []string{
	"kubernetes.podspec-init-containers",
	"kubernetes.podspec-persistent-volume-claim",
	"kubernetes.podspec-affinity",
	"kubernetes.podspec-nodeselector",
	"kubernetes.podspec-tolerations",
	"kubernetes.podspec-runtimeclassname",
	"kubernetes.podspec-fieldref",
}

// DefaultSettings are the settings of the default profile (profiles.Defaults).
func DefaultSettings() Settings { return SettingsFor(profiles.Defaults()) }

// Component installs Knative Serving and its networking layer.
type Component struct {
	// Ingress is components.knative.ingress of the profile being installed (empty:
	// the default's): it decides what Knative installs after.
	Ingress string
}

// Name returns "knative".
func (Component) Name() string { return Name }

// DependsOn returns what the profile's Requires says knative needs: kfup's ingress (its
// proxy serves the KIngresses; the manager, whose controller programs it, installs after
// Knative's CRDs) or Istio (net-istio programs Istio's gateways).
func (c Component) DependsOn() []string {
	p := profiles.Defaults()
	if c.Ingress != "" {
		p.Components.Knative.Ingress = c.Ingress
	}
	return p.Requires(profiles.Knative)
}

func settings(env *components.Env) Settings { return SettingsFor(env.Config()) }

// ServingObjects returns the Knative Serving objects (CRDs, core, HPA autoscaler) with the
// settings applied. The post-install storage-version migration job is left out: it only
// matters when upgrading an existing Knative.
func ServingObjects(s Settings) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	for _, f := range manifests.KnativeServing() {
		if strings.Contains(f.Name, "post-install") {
			continue
		}
		objs, err := components.DecodeYAML(f.Name, f.Data)
		if err != nil {
			return nil, err
		}
		out = append(out, objs...)
	}
	if s.Images == profiles.KnativeImagesKfup {
		if err := useLocalImages(out); err != nil {
			return nil, err
		}
	}
	for _, o := range out {
		if o.GetKind() != "ConfigMap" || o.GetNamespace() != Namespace {
			continue
		}
		switch o.GetName() {
		case "config-autoscaler":
			if err := unstructured.SetNestedField(o.Object, fmt.Sprint(s.ScaleToZero), "data", "enable-scale-to-zero"); err != nil {
				return nil, err
			}
		case "config-network":
			if s.Ingress != profiles.KnativeIngressIstio {
				if err := unstructured.SetNestedField(o.Object, KfupIngressClass, "data", "ingress-class"); err != nil {
					return nil, err
				}
			}
			// a DomainMapping (a Serverless InferenceService's own host) needs a claim
			// of its domain: Knative makes it for the first namespace to map it
			if err := unstructured.SetNestedField(o.Object, "true", "data", "autocreate-cluster-domain-claims"); err != nil {
				return nil, err
			}
		case "config-deployment":
			if s.RegistriesSkippingTagResolving != "" {
				if err := unstructured.SetNestedField(o.Object, s.RegistriesSkippingTagResolving, "data", "registries-skipping-tag-resolving"); err != nil {
					return nil, err
				}
			}
		case "config-features":
			// what InferenceServices' pods need: the storage initializer (an init
			// container), pvc:// models, and the pod fields of GPU and node placement
			for _, f := range PodSpecFeatures {
				if err := unstructured.SetNestedField(o.Object, "enabled", "data", f); err != nil {
					return nil, err
				}
			}
		case "config-domain":
			if s.Domain != "" {
				if err := unstructured.SetNestedField(o.Object, "", "data", s.Domain); err != nil {
					return nil, err
				}
			}
		}
	}
	return out, nil
}

// NetIstioObjects returns the net-istio objects.
func NetIstioObjects() ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	for _, f := range manifests.NetIstio() {
		objs, err := components.DecodeYAML(f.Name, f.Data)
		if err != nil {
			return nil, err
		}
		out = append(out, objs...)
	}
	return out, nil
}

// Images lists every container image of the Knative deployments and the queue-proxy
// sidecar image (and net-istio's on Istio), sorted.
func (Component) Images(env *components.Env) ([]string, error) {
	s := settings(env)
	all, err := ServingObjects(s)
	if err != nil {
		return nil, err
	}
	if s.Ingress == profiles.KnativeIngressIstio {
		net, err := NetIstioObjects()
		if err != nil {
			return nil, err
		}
		all = append(all, net...)
	}
	seen := map[string]bool{}
	for _, img := range components.ContainerImages(all) {
		seen[img] = true
	}
	for _, o := range all {
		if o.GetKind() == "Image" { // caching.internal.knative.dev Image: the queue-proxy sidecar
			if img, ok, _ := unstructured.NestedString(o.Object, "spec", "image"); ok {
				seen[img] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for img := range seen {
		out = append(out, img)
	}
	sort.Strings(out)
	return out, nil
}

// LocalImages are kfup's own images of Knative Serving's binaries (LocalImage of each).
func LocalImages() []string {
	out := make([]string, 0, len(Binaries))
	for _, b := range Binaries {
		out = append(out, LocalImage(b))
	}
	return out
}

// Install applies Knative Serving; with components.knative.images=kfup it first copies
// kfup's Knative images from the local Docker into the nodes. On Istio it then waits for
// Knative's webhook (it validates the ConfigMaps that net-istio brings) and applies
// net-istio; with kfup's ingress it deletes a net-istio kfup installed before (the
// setting changed), whose controller would fight over the KIngresses.
func (c Component) Install(ctx context.Context, env *components.Env) error {
	s := settings(env)
	if s.Images == profiles.KnativeImagesKfup && env.Images != nil {
		if err := env.Images.LoadLocalImages(ctx, LocalImages()...); err != nil {
			return fmt.Errorf("components.knative.images=kfup: %w (make knative-images builds them)", err)
		}
	}
	serving, err := ServingObjects(s)
	if err != nil {
		return err
	}
	if err := components.Apply(ctx, env.Client, Name, serving); err != nil {
		return err
	}
	net, err := NetIstioObjects()
	if err != nil {
		return err
	}
	if s.Ingress != profiles.KnativeIngressIstio {
		return deleteNetIstio(ctx, env.Client, net)
	}
	if err := waitDeployments(ctx, env.Client, "webhook"); err != nil {
		return fmt.Errorf("knative webhook: %w", err)
	}
	return components.Apply(ctx, env.Client, Name, net)
}

// netIstioController is the Deployment that tells whether kfup installed net-istio.
const netIstioController = "net-istio-controller"

// deleteNetIstio deletes net's objects when kfup installed net-istio (its controller
// Deployment carries kfup's component label); a net-istio installed by someone else is
// left alone.
func deleteNetIstio(ctx context.Context, c client.Client, net []*unstructured.Unstructured) error {
	var d appsv1.Deployment
	switch err := c.Get(ctx, client.ObjectKey{Namespace: Namespace, Name: netIstioController}, &d); {
	case apierrors.IsNotFound(err):
		return nil
	case err != nil:
		return fmt.Errorf("read Deployment %s/%s: %w", Namespace, netIstioController, err)
	}
	if d.Labels[components.LabelComponent] != Name {
		return nil
	}
	return components.Delete(ctx, c, net)
}

// Ready waits for every Knative deployment to be available.
func (Component) Ready(ctx context.Context, env *components.Env) error {
	return waitDeployments(ctx, env.Client)
}

// waitDeployments waits until the named deployments of knative-serving (all when none
// are named) are available.
func waitDeployments(ctx context.Context, c client.Client, names ...string) error {
	return components.WaitDeployments(ctx, c, Namespace, names...)
}

// Uninstall deletes net-istio and Knative Serving (with every Knative Service).
func (Component) Uninstall(ctx context.Context, env *components.Env) error {
	net, err := NetIstioObjects()
	if err != nil {
		return err
	}
	serving, err := ServingObjects(settings(env))
	if err != nil {
		return err
	}
	return components.Delete(ctx, env.Client, append(net, serving...))
}
