// Package manager runs kfup's in-cluster controller manager: one process serving every
// kfup API (training now; tuning, pipelines and serving as they arrive), with leader
// election, /healthz and /readyz probes and Prometheus metrics. `kfup manager` runs it in
// the cluster; the integration tier runs the same Setup in-process against envtest.
package manager

import (
	"context"
	"fmt"
	"net/http"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// Options configure the manager process.
type Options struct {
	// MetricsAddr serves Prometheus metrics ("0" turns them off).
	MetricsAddr string
	// ProbeAddr serves /healthz and /readyz ("0" turns them off).
	ProbeAddr string
	// PprofAddr serves net/http/pprof profiles ("" or "0" turns them off).
	PprofAddr string
	// LeaderElect makes only one replica reconcile at a time.
	LeaderElect bool
	// LeaderElectionNamespace holds the lease; empty means the pod's namespace.
	LeaderElectionNamespace string
	// Namespaces restricts the controllers to jobs in these namespaces; empty: all.
	Namespaces []string
}

// LeaderElectionID names the lease replicas compete for.
const LeaderElectionID = "kfup-manager.kfup.dev"

// Controller is one controller the manager runs.
type Controller interface {
	// Name identifies the controller in logs and errors.
	Name() string
	// SetupWithManager registers the controller (and its watches) with mgr.
	SetupWithManager(mgr manager.Manager) error
}

// Setup registers every controller in controllers with mgr.
func Setup(mgr manager.Manager, controllers ...Controller) error {
	for _, c := range controllers {
		if err := c.SetupWithManager(mgr); err != nil {
			return fmt.Errorf("set up %s controller: %w", c.Name(), err)
		}
	}
	return nil
}

// Run starts a manager with the given scheme and controllers and blocks until ctx ends.
func Run(ctx context.Context, cfg *rest.Config, scheme *runtime.Scheme, o Options, controllers ...Controller) error {
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                        scheme,
		Cache:                         CacheOptions(o.Namespaces...),
		Metrics:                       metricsserver.Options{BindAddress: o.MetricsAddr},
		HealthProbeBindAddress:        o.ProbeAddr,
		PprofBindAddress:              o.PprofAddr,
		LeaderElection:                o.LeaderElect,
		LeaderElectionID:              LeaderElectionID,
		LeaderElectionNamespace:       o.LeaderElectionNamespace,
		LeaderElectionReleaseOnCancel: true,
	})
	if err != nil {
		return fmt.Errorf("create manager: %w", err)
	}
	if err := Setup(mgr, controllers...); err != nil {
		return err
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	// Ready once the informer caches have synced: before that, reconciles would act on
	// an empty view of the cluster.
	if err := mgr.AddReadyzCheck("caches", func(req *http.Request) error {
		if !mgr.GetCache().WaitForCacheSync(req.Context()) {
			return fmt.Errorf("caches not synced")
		}
		return nil
	}); err != nil {
		return err
	}
	return mgr.Start(ctx)
}
