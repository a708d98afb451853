// Package istio is the install component of Istio: the base chart (CRDs, cluster roles),
// istiod and the ingress gateway, rendered with the Helm v3 SDK from the charts that the
// pinned istio.io/istio module embeds, with image hub and tag pinned to a release.
package istio

import (
	"context"
	"sort"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kfup/kfup/components"
	"github.com/kfup/kfup/manifests"
	"github.com/kfup/kfup/profiles"
)

// Names of the component, its namespace, the gateway release and the Gateway that
// Standard-mode InferenceServices' VirtualServices bind to.
const (
	Name               = "istio"
	Namespace          = "istio-system"
	GatewayName        = "istio-ingressgateway"
	ServingGatewayName = "kfup-gateway"
)

// Settings configure Istio.
type Settings struct {
	// IngressGateway installs istio-ingressgateway (Knative needs it).
	IngressGateway bool
	// Hub and Tag name the Istio images; empty means the pinned release.
	Hub, Tag string
	// HTTPNodePort and HTTPSNodePort are the gateway's node ports, which the kind config
	// maps to the host's ingress ports.
	HTTPNodePort, HTTPSNodePort int
}

// SettingsFor returns the settings of profile p's components.istio: its images (the
// pinned release unless the profile names others) and the gateway on node ports
// 31080/31443, which kfup's kind config maps to the host's ingress ports.
func SettingsFor(p *profiles.Profile) Settings {
	is := p.Components.Istio
	s := Settings{IngressGateway: is.IngressGateway, Hub: is.Hub, Tag: is.Tag, HTTPNodePort: 31080, HTTPSNodePort: 31443}
	if s.Hub == "" {
		s.Hub = manifests.IstioHub
	}
	if s.Tag == "" {
		s.Tag = manifests.IstioTag
	}
	return s
}

// DefaultSettings are the settings of the default profile (profiles.Defaults).
func DefaultSettings() Settings { return SettingsFor(profiles.Defaults()) }

// Component installs Istio.
type Component struct{}

// Name returns "istio".
func (Component) Name() string { return Name }

// DependsOn returns nothing.
func (Component) DependsOn() []string { return nil }

func settings(env *components.Env) Settings { return SettingsFor(env.Config()) }

// Objects returns the istio-system namespace, every rendered object and, with the
// ingress gateway, the Gateway of InferenceServices (ServingGateway).
func Objects(s Settings) ([]*unstructured.Unstructured, error) {
	rendered, err := Render(s)
	if err != nil {
		return nil, err
	}
	scheme, err := components.NewScheme()
	if err != nil {
		return nil, err
	}
	ns, err := components.ToUnstructured(scheme, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: Namespace}})
	if err != nil {
		return nil, err
	}
	out := append(ns, rendered...)
	if s.IngressGateway {
		out = append(out, ServingGateway())
	}
	return out, nil
}

// ServingGateway is the Gateway kfup-gateway: plain HTTP on port 80 of the ingress
// gateway (the host's HTTP ingress port) for any host, which the VirtualService of
// each Standard-mode InferenceService binds its hosts to (--serving-istio-gateway).
func ServingGateway() *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "networking.istio.io/v1", "kind": "Gateway",
		"metadata": map[string]any{"name": ServingGatewayName, "namespace": Namespace},
		"spec": map[string]any{
			"selector": map[string]any{"istio": "ingressgateway"},
			"servers": []any{map[string]any{
				"port":  map[string]any{"number": int64(80), "name": "http", "protocol": "HTTP"},
				"hosts": []any{"*"},
			}},
		},
	}}
}

// Images lists the images of the rendered Deployments and the sidecar proxy image.
func (Component) Images(env *components.Env) ([]string, error) {
	s := settings(env)
	objs, err := Render(s)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{s.Hub + "/proxyv2:" + s.Tag: true}
	for _, img := range components.ContainerImages(objs) {
		if img != "auto" { // the gateway's image is injected: the proxyv2 above
			seen[img] = true
		}
	}
	out := make([]string, 0, len(seen))
	for img := range seen {
		out = append(out, img)
	}
	sort.Strings(out)
	return out, nil
}

// Install applies the namespace, the base chart, istiod and the gateway.
func (Component) Install(ctx context.Context, env *components.Env) error {
	objs, err := Objects(settings(env))
	if err != nil {
		return err
	}
	return components.Apply(ctx, env.Client, Name, objs)
}

// Ready waits for istiod and the gateway to be available; a pod that cannot get its
// image ends the wait with the image name.
func (Component) Ready(ctx context.Context, env *components.Env) error {
	names := []string{"istiod"}
	if settings(env).IngressGateway {
		names = append(names, GatewayName)
	}
	return components.WaitDeployments(ctx, env.Client, Namespace, names...)
}

// Smoke checks that istiod and the gateway are available.
func (c Component) Smoke(ctx context.Context, env *components.Env) error { return c.Ready(ctx, env) }

// Uninstall deletes every rendered object (and with the CRDs, every Istio resource).
func (Component) Uninstall(ctx context.Context, env *components.Env) error {
	objs, err := Objects(settings(env))
	if err != nil {
		return err
	}
	return components.Delete(ctx, env.Client, objs)
}
