// Package components is kfup's install engine. Each installable part of the platform is a
// Component: it declares the components it depends on and the images it needs, and can
// install itself (server-side apply of embedded manifests), wait until ready, run a smoke
// test and uninstall. A Plan orders the enabled components as a DAG and installs
// independent ones concurrently, CRDs established before anything that uses them.
package components

import (
	"context"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfup/kfup/internal/ui"
	"github.com/kfup/kfup/profiles"
)

// Component is one installable part of the platform.
type Component interface {
	// Name is the component's name in profiles, --set and status ("training", "manager").
	Name() string
	// DependsOn names the components that must be ready before this one installs.
	DependsOn() []string
	// Images lists the container images the component runs (for preloading and bundles).
	Images(env *Env) ([]string, error)
	// Install applies the component's objects; it is idempotent.
	Install(ctx context.Context, env *Env) error
	// Ready waits until the component works (bounded by ctx).
	Ready(ctx context.Context, env *Env) error
	// Smoke checks the component's API end to end on the live cluster.
	Smoke(ctx context.Context, env *Env) error
	// Uninstall removes what Install applied; removing what is absent is not an error.
	Uninstall(ctx context.Context, env *Env) error
}

// ImageLoader puts locally built images into the cluster's nodes (there is no registry).
type ImageLoader interface {
	// LoadImage makes image available as ref on every node.
	LoadImage(ctx context.Context, ref string, image v1.Image) error
	// LoadLocalImages copies images from the local Docker image store into every node
	// that lacks them (an error names an image Docker does not have).
	LoadLocalImages(ctx context.Context, images ...string) error
}

// Env is what components act with.
type Env struct {
	// Client is a server-side-apply capable client with every kfup type registered.
	Client client.Client
	// REST reaches the cluster.
	REST *rest.Config
	// Out prints progress.
	Out *ui.Printer
	// Images loads images built by kfup into the nodes; nil when the provider cannot.
	Images ImageLoader
	// Profile is the resolved install profile: each component reads its own typed
	// section. Nil means the defaults (profiles.Defaults); read it through Config.
	Profile *profiles.Profile
	// IngressURL is where the host reaches the cluster's ingress port, such as
	// http://127.0.0.1:80 (kind maps it); empty where the host has no mapping (an
	// existing cluster): smoke tests that go through the ingress from the host skip it.
	IngressURL string
	// IngressHTTPSPort is the host's HTTPS ingress port (kind maps it to the ingress's
	// TLS node port); 0 where the host has no mapping.
	IngressHTTPSPort int
}

// Config returns the install profile components read their settings from: env.Profile,
// or the defaults when there is none.
func (e *Env) Config() *profiles.Profile {
	if e == nil || e.Profile == nil {
		return profiles.Defaults()
	}
	return e.Profile
}

// FieldOwner is the server-side apply field manager of everything kfup applies.
const FieldOwner = "kfup"

// LabelComponent is the label kfup puts on every object it applies, naming the component.
// kfup's own key: third-party manifests use the app.kubernetes.io/* labels for their own
// selectors (Knative's webhooks select on app.kubernetes.io/component), so kfup never
// rewrites those.
const LabelComponent = "kfup.dev/component"
