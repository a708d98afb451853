package cli

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfup/kfup/bootstrap"
	"github.com/kfup/kfup/components/manager"
	"github.com/kfup/kfup/components/registry"
	"github.com/kfup/kfup/dashboard"
	"github.com/kfup/kfup/internal/errs"
)

// DashboardOptions are the flags of `kfup dashboard`.
type DashboardOptions struct {
	Name      string
	Port      int
	NoBrowser bool
	Namespace string
}

// NewCmdDashboard returns `kfup dashboard`; runF replaces the real run in tests.
func NewCmdDashboard(f *Factory, runF func(context.Context, *DashboardOptions) error) *cobra.Command {
	opts := &DashboardOptions{}
	cmd := &cobra.Command{
		Use:   "dashboard",
		Short: "Serve the web dashboard on 127.0.0.1 and open it",
		Long: `Serve kfup's web dashboard for the cluster on 127.0.0.1 and open it in the browser:
training jobs, Katib experiments, model endpoints and pipeline runs, live, acting with
your kubeconfig's credentials for the cluster's kfup-<name> context. The URL printed
carries a one-time token; the browser that opens it first gets a session cookie. Ctrl-C
stops the server. docs/dashboard.md describes the views and the security model.`,
		Example: `  kfup dashboard
  kfup dashboard --port 8765 --no-browser
  kfup dashboard --name ml-dev -n team-a`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Name = f.Global.Name
			if err := bootstrap.ValidateName(opts.Name); err != nil {
				return err
			}
			if opts.Port < 0 || opts.Port > 65535 {
				return errs.Usage("pick a port from 1 to 65535, or 0 for a free one", "--port %d is not a TCP port", opts.Port)
			}
			if msgs := validation.IsDNS1123Label(opts.Namespace); len(msgs) > 0 {
				return errs.Usage("name an existing namespace", "--namespace %q: %v", opts.Namespace, msgs)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runDashboard(cmd.Context(), f, opts)
		},
	}
	cmd.Flags().IntVar(&opts.Port, "port", 0, "port on 127.0.0.1 to serve on (0: a free one)")
	cmd.Flags().BoolVar(&opts.NoBrowser, "no-browser", false, "print the URL, do not open a browser")
	namespaceFlag(cmd, &opts.Namespace, "the dashboard's first view")
	return cmd
}

func runDashboard(ctx context.Context, f *Factory, opts *DashboardOptions) error {
	env, rec, err := f.Cluster(opts.Name)
	if err != nil {
		return err
	}
	cfg := env.REST
	if cfg == nil {
		if cfg, err = bootstrap.RESTConfig(rec.Context, rec.Kubeconfig); err != nil {
			return err
		}
	}
	// reads answer within 10 s or the page says the cluster is unreachable; watches
	// (cfg itself) have no deadline
	reads := rest.CopyConfig(cfg)
	reads.Timeout = 10 * time.Second
	reads.WarningHandlerWithContext = rest.NoWarnings{} // the pages say what failed; warnings would go to an unset logger
	scheme, err := registry.Scheme()
	if err != nil {
		return err
	}
	c, err := client.New(reads, client.Options{Scheme: scheme})
	if err != nil {
		return fmt.Errorf("dashboard: client for cluster %q: %w", opts.Name, err)
	}
	cs, err := kubernetes.NewForConfig(reads)
	if err != nil {
		return fmt.Errorf("dashboard: client for cluster %q: %w", opts.Name, err)
	}
	broker := dashboard.NewBroker()
	// pods, events, nodes, and every kind of the registry's slices the cluster serves now
	// or later
	watched := func(ctx context.Context) []schema.GroupVersionResource {
		out := []schema.GroupVersionResource{corev1.SchemeGroupVersion.WithResource("pods"),
			corev1.SchemeGroupVersion.WithResource("events"), corev1.SchemeGroupVersion.WithResource("nodes")}
		for _, k := range dashboard.Discover(ctx, c, registry.APIs).Kinds {
			out = append(out, k.GVR())
		}
		return out
	}
	if err := dashboard.Watch(ctx, cfg, watched, broker); err != nil {
		return err
	}
	dopts := []dashboard.Option{
		dashboard.WithClientset(cs), dashboard.WithAPIs(registry.APIs), dashboard.WithBroker(broker),
		dashboard.WithNamespace(opts.Namespace), dashboard.WithClusterName(opts.Name),
		dashboard.WithArtifacts(dashboard.ManagerArtifacts(cfg, cs, manager.Namespace, manager.AppName)),
		dashboard.WithStatus(func(ctx context.Context) (*bootstrap.ClusterStatus, error) {
			return bootstrap.Status(ctx, env, opts.Name)
		}),
	}
	if rec.HTTPPort != 0 {
		dopts = append(dopts, dashboard.WithInferTransport(dashboard.IngressTransport("127.0.0.1:"+strconv.Itoa(rec.HTTPPort))))
	}
	srv, err := dashboard.New(c, dopts...)
	if err != nil {
		return err
	}
	l, err := dashboard.Listen(opts.Port)
	if err != nil {
		return errs.Wrap(errs.KindConflict, "free the port, pass another with --port, or drop --port to let kfup pick one", err)
	}
	url := "http://" + l.Addr().String() + srv.LoginPath()
	fmt.Fprintln(f.IO.Out, url)
	p := f.Printer()
	p.Infof("kfup dashboard for cluster %q on %s (Ctrl-C stops it); the link works once, for one browser", opts.Name, l.Addr())
	if !opts.NoBrowser {
		if err := f.OpenBrowser(url); err != nil {
			p.Warnf("could not open a browser (%v): open the link above", err)
		}
	}
	return srv.Serve(ctx, l)
}

// openBrowser opens url with $BROWSER, else xdg-open, without waiting for it.
func openBrowser(url string) error {
	name := os.Getenv("BROWSER")
	if name == "" {
		name = "xdg-open"
	}
	path, err := exec.LookPath(name)
	if err != nil {
		return fmt.Errorf("%s not found", name)
	}
	cmd := exec.Command(path, url)
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() { _ = cmd.Wait() }()
	return nil
}
