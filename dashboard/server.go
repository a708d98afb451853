package dashboard

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfup/kfup/bootstrap"
	"github.com/kfup/kfup/components"
	"github.com/kfup/kfup/dashboard/assets"
)

// Server is the dashboard's HTTP server. Build it with New, run it with Serve.
type Server struct {
	client    client.Client
	clientset kubernetes.Interface
	apis      []components.API
	status    func(context.Context) (*bootstrap.ClusterStatus, error)
	broker    *Broker
	inferRT   http.RoundTripper
	artifacts ArtifactReader
	namespace string
	cluster   string
	now       func() time.Time
	auth      *auth
	token     string
	pages     *pages

	statusMu  sync.Mutex
	statusVal *bootstrap.ClusterStatus
	statusAt  time.Time

	catMu  sync.Mutex
	cat    Catalog
	catAt  time.Time
	handle http.Handler
}

// Option configures a Server.
type Option interface{ apply(*Server) }

type optionFunc func(*Server)

func (f optionFunc) apply(s *Server) { f(s) }

// WithClientset sets the clientset pod logs are read with.
func WithClientset(cs kubernetes.Interface) Option {
	return optionFunc(func(s *Server) { s.clientset = cs })
}

// WithAPIs sets the API slices whose CRDs the dashboard looks for (components/registry's
// APIs in kfup).
func WithAPIs(apis []components.API) Option {
	return optionFunc(func(s *Server) { s.apis = apis })
}

// WithStatus sets what the home view reports as the cluster's and its components'
// health: kfup status's report.
func WithStatus(f func(context.Context) (*bootstrap.ClusterStatus, error)) Option {
	return optionFunc(func(s *Server) { s.status = f })
}

// WithBroker sets the source of live updates (see Watch).
func WithBroker(b *Broker) Option { return optionFunc(func(s *Server) { s.broker = b }) }

// WithInferTransport sets how "Try it" reaches a model: the transport its OIP v2 request
// to the InferenceService's URL goes through (IngressTransport: the cluster's ingress
// port on this host).
func WithInferTransport(rt http.RoundTripper) Option {
	return optionFunc(func(s *Server) { s.inferRT = rt })
}

// WithNamespace sets the namespace the dashboard opens in (default "default").
func WithNamespace(ns string) Option { return optionFunc(func(s *Server) { s.namespace = ns }) }

// WithClusterName sets the kfup cluster's name, shown in the header and in fixes.
func WithClusterName(name string) Option { return optionFunc(func(s *Server) { s.cluster = name }) }

// WithToken sets the one-time login token (default: 32 random bytes).
func WithToken(token string) Option { return optionFunc(func(s *Server) { s.token = token }) }

// WithClock sets the dashboard's clock (ages and durations).
func WithClock(now func() time.Time) Option { return optionFunc(func(s *Server) { s.now = now }) }

// New returns a dashboard reading and writing through c, the user's credentials.
func New(c client.Client, opts ...Option) (*Server, error) {
	s := &Server{client: c, namespace: "default", now: time.Now, inferRT: http.DefaultTransport}
	for _, o := range opts {
		o.apply(s)
	}
	if s.token == "" {
		s.token = randomToken()
	}
	s.auth = newAuth(s.token)
	p, err := parsePages()
	if err != nil {
		return nil, err
	}
	s.pages = p
	s.handle = s.secure(s.routes())
	return s, nil
}

// ServeHTTP serves the dashboard, behind its security checks.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handle.ServeHTTP(w, r) }

// LoginPath is the path and query that admits one browser (the one-time token).
func (s *Server) LoginPath() string { return "/login?token=" + url.QueryEscape(s.token) }

// Listen binds the dashboard's port on 127.0.0.1 (never another interface); port 0
// picks a free one.
func Listen(port int) (net.Listener, error) {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return nil, fmt.Errorf("dashboard: listen on 127.0.0.1:%d: %w", port, err)
	}
	return l, nil
}

// Serve serves the dashboard on l until ctx ends, then shuts down.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	// requests live in ctx: server-sent event streams end with it
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, BaseContext: func(net.Listener) context.Context { return ctx }}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = hs.Shutdown(sctx)
		if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}
}

// catalog returns what the cluster serves, looked up at most every 30 s (a CRD
// installed meanwhile shows up by itself).
func (s *Server) catalog(ctx context.Context) Catalog {
	s.catMu.Lock()
	defer s.catMu.Unlock()
	if s.catAt.IsZero() || s.now().Sub(s.catAt) > 30*time.Second || len(s.cat.Problems) > 0 {
		s.cat = Discover(ctx, s.client, s.apis)
		s.catAt = s.now()
	}
	return s.cat
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(assets.FS, ".")
	mux.Handle("GET /assets/", http.StripPrefix("/assets/", http.FileServerFS(static)))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/ns/"+url.PathEscape(s.namespace)+"/", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /events", s.events)
	mux.HandleFunc("GET /ns/{ns}/{$}", s.home)
	s.trainingRoutes(mux)
	s.tuningRoutes(mux)
	s.servingRoutes(mux)
	s.pipelinesRoutes(mux)
	return mux
}
