// Package agent is `kfup agent ingress`: the process of kfup's ingress Deployment. It
// watches the one ConfigMap the ingress controller publishes the route table in and
// serves that table with components/ingress/proxy on three listeners: external (the
// node port the host's ingress ports reach), internal (the cluster-local Service) and
// admin (health, and the hash of the table served, which the controller asks for).
package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/kfup/kfup/components/ingress/proxy"
	"github.com/kfup/kfup/components/ingress/route"
)

// Options are the agent's flags.
type Options struct {
	Namespace, ConfigMap                  string
	ExternalAddr, InternalAddr, AdminAddr string
}

// NewCmd returns `kfup agent ingress`.
func NewCmd() *cobra.Command {
	o := Options{Namespace: proxy.DefaultNamespace, ConfigMap: proxy.DefaultRoutesConfigMap,
		ExternalAddr: ":8080", InternalAddr: ":8081", AdminAddr: ":8082"}
	cmd := &cobra.Command{
		Use:   "ingress",
		Short: "Serve kfup's ingress routes (the kfup-ingress Deployment)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := rest.InClusterConfig()
			if err != nil {
				return fmt.Errorf("kfup agent ingress runs in a pod: %w", err)
			}
			cs, err := kubernetes.NewForConfig(cfg)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, os.Interrupt)
			defer stop()
			return Run(ctx, cs, o, slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil)))
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Namespace, "namespace", o.Namespace, "namespace of the routes ConfigMap")
	f.StringVar(&o.ConfigMap, "configmap", o.ConfigMap, "the routes ConfigMap")
	f.StringVar(&o.ExternalAddr, "external-addr", o.ExternalAddr, "listen address for routes visible outside the cluster")
	f.StringVar(&o.InternalAddr, "internal-addr", o.InternalAddr, "listen address for every route (cluster-local included)")
	f.StringVar(&o.AdminAddr, "admin-addr", o.AdminAddr, "listen address of /healthz, /readyz and /routes-hash")
	return cmd
}

// Run serves until ctx ends: the table of the ConfigMap (none: no route) on the external
// and internal listeners; /readyz answers 200 once the ConfigMap was read.
func Run(ctx context.Context, cs kubernetes.Interface, o Options, log *slog.Logger) error {
	p := proxy.New(proxy.WithLogger(log))
	var synced atomic.Bool
	load := func(obj any) {
		cm, ok := obj.(*corev1.ConfigMap)
		if !ok {
			return
		}
		h, err := p.LoadJSON([]byte(cm.Data[proxy.RoutesKey]))
		if err != nil {
			log.Error("routes not loaded; serving the previous table", "configmap", o.Namespace+"/"+o.ConfigMap, "err", err)
			return
		}
		log.Info("routes loaded", "hash", h)
	}
	lw := cache.NewListWatchFromClient(cs.CoreV1().RESTClient(), "configmaps", o.Namespace, fields.OneTermEqualSelector("metadata.name", o.ConfigMap))
	inf := cache.NewSharedIndexInformer(lw, &corev1.ConfigMap{}, 10*time.Minute, cache.Indexers{})
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    load,
		UpdateFunc: func(_, obj any) { load(obj) },
		DeleteFunc: func(any) { log.Info("routes ConfigMap deleted: no route"); p.Load(route.NewTable()) },
	}); err != nil {
		return err
	}
	go inf.Run(ctx.Done())
	go func() {
		if cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
			synced.Store(true)
		}
	}()

	admin := http.NewServeMux()
	admin.Handle("/", p.Admin())
	admin.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !synced.Load() {
			http.Error(w, "routes not read yet", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	servers := []struct {
		addr string
		srv  *http.Server
	}{
		{o.ExternalAddr, proxy.Server(p.Handler(true))},
		{o.InternalAddr, proxy.Server(p.Handler(false))},
		{o.AdminAddr, proxy.Server(admin)},
	}
	errc := make(chan error, len(servers))
	for _, s := range servers {
		ln, err := net.Listen("tcp", s.addr)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", s.addr, err)
		}
		go func() { errc <- s.srv.Serve(ln) }()
	}
	log.Info("serving", "external", o.ExternalAddr, "internal", o.InternalAddr, "admin", o.AdminAddr)
	select {
	case <-ctx.Done():
	case err := <-errc:
		return err
	}
	// Finish what is in flight (Kubernetes removes the pod from the Services first).
	shut, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var errsOut []error
	for _, s := range servers {
		if err := s.srv.Shutdown(shut); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errsOut = append(errsOut, err)
		}
	}
	return errors.Join(errsOut...)
}
