// Package agent is `kfup agent ingress`: the process of kfup's ingress Deployment. It
// watches the one ConfigMap the ingress controller publishes the route table in, and the
// one Secret of its certificates, and serves that table with components/ingress/proxy on
// four listeners: external (the node port the host's HTTP ingress port reaches), external
// TLS (the same routes over HTTPS, on the node port of the host's HTTPS port), internal
// (the cluster-local Service) and admin (health, and the hash of the table served, which
// the controller asks for).
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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/kfup/kfup/components/ingress/proxy"
	"github.com/kfup/kfup/components/ingress/route"
)

// Options are the agent's flags.
type Options struct {
	Namespace, ConfigMap, CertsSecret                      string
	ExternalAddr, ExternalTLSAddr, InternalAddr, AdminAddr string
	// HTTPSPort is the host's HTTPS ingress port, which redirects to HTTPS name.
	HTTPSPort int
}

// NewCmd returns `kfup agent ingress`.
func NewCmd() *cobra.Command {
	o := Options{Namespace: proxy.DefaultNamespace, ConfigMap: proxy.DefaultRoutesConfigMap, CertsSecret: proxy.DefaultCertsSecret,
		ExternalAddr: ":8080", ExternalTLSAddr: ":8443", InternalAddr: ":8081", AdminAddr: ":8082", HTTPSPort: 443}
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
	f.StringVar(&o.CertsSecret, "certs-secret", o.CertsSecret, "the Secret of the certificates the routes name (same namespace; empty: no TLS listener)")
	f.StringVar(&o.ExternalAddr, "external-addr", o.ExternalAddr, "listen address for routes visible outside the cluster")
	f.StringVar(&o.ExternalTLSAddr, "external-tls-addr", o.ExternalTLSAddr, "listen address for the same routes over TLS (HTTP/1.1 and HTTP/2), with the certificates their objects name")
	f.IntVar(&o.HTTPSPort, "https-port", o.HTTPSPort, "the host's HTTPS ingress port, which redirects to HTTPS (httpOption Redirected) name unless it is 443")
	f.StringVar(&o.InternalAddr, "internal-addr", o.InternalAddr, "listen address for every route (cluster-local included)")
	f.StringVar(&o.AdminAddr, "admin-addr", o.AdminAddr, "listen address of /healthz, /readyz and /routes-hash")
	return cmd
}

// Run serves until ctx ends: the table of the ConfigMap (none: no route) on the external
// and internal listeners; /readyz answers 200 once the ConfigMap was read.
func Run(ctx context.Context, cs kubernetes.Interface, o Options, log *slog.Logger) error {
	if o.HTTPSPort < 0 || o.HTTPSPort > 65535 {
		return fmt.Errorf("--https-port %d is not a port number (1-65535; 443 names none in redirects)", o.HTTPSPort)
	}
	if o.ExternalTLSAddr != "" && o.CertsSecret == "" {
		return fmt.Errorf("--external-tls-addr needs --certs-secret, the Secret its certificates are published in")
	}
	p := proxy.New(proxy.WithLogger(log), proxy.WithHTTPSPort(o.HTTPSPort))
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
		UpdateFunc: func(old, obj any) { changed(old, obj, load) },
		DeleteFunc: func(any) { log.Info("routes ConfigMap deleted: no route"); p.Load(route.NewTable()) },
	}); err != nil {
		return err
	}
	go inf.Run(ctx.Done())
	syncedFns := []cache.InformerSynced{inf.HasSynced}
	if o.ExternalTLSAddr != "" {
		certs, err := watchCerts(cs, o, p, log)
		if err != nil {
			return err
		}
		go certs.Run(ctx.Done())
		syncedFns = append(syncedFns, certs.HasSynced)
	}
	go func() {
		if cache.WaitForCacheSync(ctx.Done(), syncedFns...) {
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
	type server struct {
		addr string
		srv  *http.Server
		tls  bool
	}
	servers := []server{
		{o.ExternalAddr, proxy.Server(p.Handler(true)), false},
		{o.InternalAddr, proxy.Server(p.Handler(false)), false},
		{o.AdminAddr, proxy.Server(admin), false},
	}
	if o.ExternalTLSAddr != "" {
		servers = append(servers, server{o.ExternalTLSAddr, p.TLSServer(p.Handler(true)), true})
	}
	errc := make(chan error, len(servers))
	for _, s := range servers {
		ln, err := net.Listen("tcp", s.addr)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", s.addr, err)
		}
		if s.tls {
			go func() { errc <- s.srv.ServeTLS(ln, "", "") }()
			continue
		}
		go func() { errc <- s.srv.Serve(ln) }()
	}
	log.Info("serving", "external", o.ExternalAddr, "external-tls", o.ExternalTLSAddr, "internal", o.InternalAddr, "admin", o.AdminAddr)
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

// changed calls load on obj unless it is the version old was (an informer's resync).
func changed(old, obj any, load func(any)) {
	o, ok1 := old.(metav1.Object)
	n, ok2 := obj.(metav1.Object)
	if ok1 && ok2 && o.GetResourceVersion() == n.GetResourceVersion() {
		return
	}
	load(obj)
}

// watchCerts returns the informer of the one certificates Secret: each version is
// loaded into p (a Secret deleted: no certificate).
func watchCerts(cs kubernetes.Interface, o Options, p *proxy.Proxy, log *slog.Logger) (cache.SharedIndexInformer, error) {
	load := func(obj any) {
		sec, ok := obj.(*corev1.Secret)
		if !ok {
			return
		}
		if err := p.LoadCerts(sec.Data); err != nil {
			log.Error("some certificates not loaded", "secret", o.Namespace+"/"+o.CertsSecret, "err", err)
		}
		log.Info("certificates loaded", "secret", o.Namespace+"/"+o.CertsSecret, "keys", len(sec.Data))
	}
	lw := cache.NewListWatchFromClient(cs.CoreV1().RESTClient(), "secrets", o.Namespace, fields.OneTermEqualSelector("metadata.name", o.CertsSecret))
	inf := cache.NewSharedIndexInformer(lw, &corev1.Secret{}, 10*time.Minute, cache.Indexers{})
	_, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    load,
		UpdateFunc: func(old, obj any) { changed(old, obj, load) },
		DeleteFunc: func(any) { log.Info("certificates Secret deleted: no certificate"); _ = p.LoadCerts(nil) },
	})
	return inf, err
}
