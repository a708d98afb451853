// Package apihost runs kfup's in-cluster controller manager: one process hosting the
// controllers of every Kubeflow API slice it is given (API: training now; tuning,
// pipelines and serving as they arrive), with leader election, /healthz and /readyz probes
// and Prometheus metrics. It names no slice: the composition root (package apis) lists
// them. `kfup manager` runs it in the cluster; the integration tier runs the same
// controllers in-process against envtest.
package apihost

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"syscall"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
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
	// Image is the manager's own image, handed to the slices' controllers (Process.Image).
	Image string
	// WebhookPort serves the slices' admission webhooks (Webhooker) over TLS; 0 serves
	// none.
	WebhookPort int
	// WebhookCertDir holds the webhook server's tls.crt and tls.key (reloaded when they
	// change).
	WebhookCertDir string
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

// SetupAPIs registers the controllers of every API in apis with mgr.
func SetupAPIs(mgr manager.Manager, p Process, apis ...API) error {
	for _, a := range apis {
		cs, err := a.Controllers(p)
		if err != nil {
			return fmt.Errorf("the %s API's controllers: %w", a.Name(), err)
		}
		if err := Setup(mgr, cs...); err != nil {
			return fmt.Errorf("the %s API: %w", a.Name(), err)
		}
	}
	return nil
}

// Run starts a manager hosting the controllers of apis and blocks until ctx ends.
func Run(ctx context.Context, cfg *rest.Config, o Options, apis ...API) error {
	scheme, err := NewScheme(apis...)
	if err != nil {
		return err
	}
	// -1 turns controller-runtime's webhook server off
	server := webhook.NewServer(webhook.Options{Port: -1})
	if o.WebhookPort > 0 {
		server = webhook.NewServer(webhook.Options{Port: o.WebhookPort, CertDir: o.WebhookCertDir})
	}
	mgr, err := newManager(ctx, cfg, ctrl.Options{
		WebhookServer:                 server,
		Scheme:                        scheme,
		Cache:                         CacheOptions(apis...),
		Metrics:                       metricsserver.Options{BindAddress: o.MetricsAddr},
		HealthProbeBindAddress:        o.ProbeAddr,
		PprofBindAddress:              o.PprofAddr,
		LeaderElection:                o.LeaderElect,
		LeaderElectionID:              LeaderElectionID,
		LeaderElectionNamespace:       o.LeaderElectionNamespace,
		LeaderElectionReleaseOnCancel: true,
	})
	if err != nil {
		return err
	}
	if err := SetupAPIs(mgr, Process{Image: o.Image}, apis...); err != nil {
		return err
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	if o.WebhookPort > 0 {
		hooks, err := WebhooksOf(mgr, apis...)
		if err != nil {
			return err
		}
		// through the manager: that is what adds the server to what it starts
		for _, h := range hooks {
			mgr.GetWebhookServer().Register(h.Path, h.Handler)
		}
		// Ready only once the webhooks answer: the API server calls them on every
		// create of the kinds they check, and the Service routes to ready pods only.
		if len(hooks) > 0 {
			if err := mgr.AddReadyzCheck("webhooks", server.StartedChecker()); err != nil {
				return err
			}
		}
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

// StartRetry is how long newManager keeps trying to reach the API server.
const StartRetry = time.Minute

// newManager creates the manager, which needs the API server's discovery (to map the
// cached kinds). Right after a node (re)starts, the API server may not answer yet, or
// answer with a serving certificate it has not finished setting up ("doesn't contain any
// IP SANs"): rather than exit into the kubelet's crash backoff, it first waits for
// discovery to answer — retrying such transient errors every 2 seconds, each attempt
// bounded, for up to StartRetry — and fails at once on anything else (a bad token, RBAC).
func newManager(ctx context.Context, cfg *rest.Config, opts ctrl.Options) (manager.Manager, error) {
	if err := waitForAPIServer(ctx, cfg); err != nil {
		return nil, fmt.Errorf("create manager: %w", err)
	}
	mgr, err := ctrl.NewManager(cfg, opts)
	if err != nil {
		return nil, fmt.Errorf("create manager: %w", err)
	}
	return mgr, nil
}

// waitForAPIServer waits until the API server serves discovery for core/v1 (see
// newManager).
func waitForAPIServer(ctx context.Context, cfg *rest.Config) error {
	short := rest.CopyConfig(cfg)
	short.Timeout = 5 * time.Second
	dc, err := discovery.NewDiscoveryClientForConfig(short)
	if err != nil {
		return err
	}
	log := ctrl.Log.WithName("setup")
	var last error
	err = wait.PollUntilContextTimeout(ctx, 2*time.Second, StartRetry, true, func(context.Context) (bool, error) {
		_, last = dc.ServerResourcesForGroupVersion("v1")
		switch {
		case last == nil:
			return true, nil
		case transient(last):
			log.Info("API server not ready yet; retrying", "error", last.Error())
			return false, nil
		default:
			return false, last
		}
	})
	if err != nil && last != nil && !errors.Is(err, last) {
		return fmt.Errorf("API server not ready after %s: %w", StartRetry, last)
	}
	return err
}

// transient says whether err is one an API server that is (re)starting gives: no
// connection, a timeout, a certificate it has not finished setting up, or a 5xx/429.
func transient(err error) bool {
	var netErr net.Error
	var hostErr x509.HostnameError
	var invalid x509.CertificateInvalidError
	var unknown x509.UnknownAuthorityError
	return errors.As(err, &netErr) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.As(err, &hostErr) || errors.As(err, &invalid) || errors.As(err, &unknown) ||
		apierrors.IsServiceUnavailable(err) || apierrors.IsTimeout(err) || apierrors.IsServerTimeout(err) ||
		apierrors.IsTooManyRequests(err) || apierrors.IsInternalError(err)
}
