// Package platform is the bridge from a cluster to the ML platform on it: it resolves an
// install profile, installs the enabled components onto a cluster that package bootstrap
// made (or adopted), removes the disabled ones, and reports their health. bootstrap knows
// the cluster only; components know their objects only; platform joins them through the
// composition root (components/registry).
package platform

import (
	"context"
	"fmt"
	"slices"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfup/kfup/bootstrap"
	"github.com/kfup/kfup/components"
	"github.com/kfup/kfup/components/registry"
	"github.com/kfup/kfup/internal/errs"
	"github.com/kfup/kfup/profiles"
)

// InstallOptions select what to install onto a cluster.
type InstallOptions struct {
	// Enabled names the components to install; the other known components are removed.
	Enabled []string
	// Wait bounds each component's readiness wait.
	Wait time.Duration
	// Profile is the resolved profile (--set applied): each component reads its own
	// section of it, and Install records it so that status and test check components as
	// they were configured.
	Profile *profiles.Profile
	// ManagerBinary is the binary for the manager image (empty: manager.ResolveBinary).
	ManagerBinary string
}

// componentEnv connects to cluster rec and returns what components act with, configured
// by profile (nil: the defaults).
func componentEnv(env *bootstrap.Env, rec *bootstrap.Record, profile *profiles.Profile) (*components.Env, error) {
	cfg := env.REST
	if cfg == nil {
		var err error
		if cfg, err = bootstrap.RESTConfig(rec.Context, rec.Kubeconfig); err != nil {
			return nil, err
		}
	}
	scheme, err := registry.Scheme()
	if err != nil {
		return nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("client for cluster %q: %w", rec.Name, err)
	}
	ce := &components.Env{Client: c, REST: cfg, Out: env.Out, Profile: profile}
	if rec.HTTPPort > 0 {
		ce.IngressURL = fmt.Sprintf("http://127.0.0.1:%d", rec.HTTPPort)
	}
	ce.IngressHTTPSPort = rec.HTTPSPort
	if l, ok := env.Providers[rec.Provider].(bootstrap.ImageLoader); ok {
		ce.Images = kindImageLoader{loader: l, cluster: rec.Name}
	}
	return ce, nil
}

// Install installs the enabled components onto cluster rec (and removes disabled ones),
// as a DAG: independent components concurrently, each with its own status line.
func Install(ctx context.Context, env *bootstrap.Env, rec *bootstrap.Record, o InstallOptions) error {
	for _, n := range o.Enabled {
		if slices.Contains(registry.Planned, n) {
			return errs.Usage(fmt.Sprintf("use --profile minimal, or --set components.%s.enabled=false", n),
				"components.%s: not available in this kfup build yet", n)
		}
	}
	plan, err := components.NewPlan(registry.All(o.ManagerBinary, o.Enabled, o.Profile), o.Enabled)
	if err != nil {
		return err
	}
	ce, err := componentEnv(env, rec, o.Profile)
	if err != nil {
		return err
	}
	if err := plan.Run(ctx, ce, o.Wait); err != nil {
		return err
	}
	rec.Components = append([]string(nil), o.Enabled...)
	rec.Applied = o.Profile
	return env.Store.Save(rec)
}

// CheckComponents runs each installed component's readiness check (smoke: its smoke test
// too), each bounded by timeout.
func CheckComponents(ctx context.Context, env *bootstrap.Env, rec *bootstrap.Record, only []string, smoke bool, timeout time.Duration) ([]bootstrap.ComponentHealth, error) {
	ce, err := componentEnv(env, rec, rec.Applied)
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, n := range only {
		want[n] = true
	}
	installed := map[string]bool{}
	for _, n := range rec.Components {
		installed[n] = true
	}
	for n := range want {
		if !installed[n] {
			return nil, fmt.Errorf("component %q is not installed on cluster %q (installed: %v)", n, rec.Name, rec.Components)
		}
	}
	var out []bootstrap.ComponentHealth
	for _, c := range registry.All("", rec.Components, rec.Applied) {
		if !installed[c.Name()] || (len(want) > 0 && !want[c.Name()]) {
			continue
		}
		h := bootstrap.ComponentHealth{Name: c.Name(), Healthy: true}
		cctx, cancel := context.WithTimeout(ctx, timeout)
		err := c.Ready(cctx, ce)
		if err == nil && smoke {
			err = c.Smoke(cctx, ce)
		}
		cancel()
		if err != nil {
			h.Healthy, h.Message = false, err.Error()
		}
		out = append(out, h)
	}
	return out, nil
}

// kindImageLoader loads images into the nodes of one cluster, for components.
type kindImageLoader struct {
	loader  bootstrap.ImageLoader
	cluster string
}

// LoadImage makes image available as ref on every node of the cluster.
func (l kindImageLoader) LoadImage(ctx context.Context, ref string, image v1.Image) error {
	return l.loader.LoadImage(ctx, l.cluster, ref, image)
}

// LoadLocalImages copies images from the local Docker image store into the nodes.
func (l kindImageLoader) LoadLocalImages(ctx context.Context, images ...string) error {
	_, err := l.loader.LoadImages(ctx, l.cluster, images...)
	return err
}

// Health is CheckComponents as bootstrap.Status asks for it (readiness only), for
// bootstrap.Env.ComponentHealth.
func Health(ctx context.Context, env *bootstrap.Env, rec *bootstrap.Record, timeout time.Duration) ([]bootstrap.ComponentHealth, error) {
	return CheckComponents(ctx, env, rec, nil, false, timeout)
}
