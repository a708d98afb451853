// Package testenv is the integration tier's test support: it starts a real kube-apiserver
// and etcd once per test package (controller-runtime envtest), installs kfup's CRDs from
// the same embedded manifests the product ships, gives each test its own namespace, and
// can run kfup's controllers in-process against that API server.
//
// The binaries come from $KUBEBUILDER_ASSETS, else from the offline build cache
// ($KFUP_OFFLINE_WORKDIR or ~/.cache/kfup-offline/envtest/<version>). When they are
// missing the suite fails with the command that builds them; it never skips silently.
package testenv

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/kfup/kfup/internal/apihost"
	"github.com/kfup/kfup/internal/conformance"
	"github.com/kfup/kfup/manifests"
)

// KubernetesVersion is the version of the envtest binaries (the same as the offline node
// image's Kubernetes).
const KubernetesVersion = "v1.37.2"

// BuildHint tells how to get the envtest binaries.
const BuildHint = `envtest binaries (kube-apiserver, etcd) not found.
Build them offline from the Go module proxy:   make envtest
  (runs shared/tools/offline-kind/build-envtest.sh; then export KUBEBUILDER_ASSETS=$(make -s envtest-path))
With internet access, the usual way works too:
  go run sigs.k8s.io/controller-runtime/tools/setup-envtest@release-0.25 use 1.37.x -p path
  export KUBEBUILDER_ASSETS=<the printed path>`

// Env is a running API server with kfup's CRDs installed.
type Env struct {
	// Config reaches the API server as an admin.
	Config *rest.Config
	// Client is a controller-runtime client with kfup's types in its scheme.
	Client client.Client
	// Scheme has the Kubernetes and kfup types.
	Scheme *runtime.Scheme

	env *envtest.Environment
}

// AssetsDir finds the envtest binaries, or returns an error carrying BuildHint.
func AssetsDir() (string, error) {
	var candidates []string
	if d := os.Getenv("KUBEBUILDER_ASSETS"); d != "" {
		candidates = append(candidates, d)
	}
	work := os.Getenv("KFUP_OFFLINE_WORKDIR")
	if work == "" {
		cache, err := os.UserCacheDir()
		if err == nil {
			work = filepath.Join(cache, "kfup-offline")
		}
	}
	if work != "" {
		candidates = append(candidates, filepath.Join(work, "envtest", KubernetesVersion))
	}
	for _, d := range candidates {
		if hasBinaries(d) {
			return d, nil
		}
	}
	return "", fmt.Errorf("looked in %v\n%s", candidates, BuildHint)
}

func hasBinaries(dir string) bool {
	for _, b := range []string{"kube-apiserver", "etcd"} {
		if st, err := os.Stat(filepath.Join(dir, b)); err != nil || st.IsDir() {
			return false
		}
	}
	return true
}

// Options tune Start.
type Options struct {
	// WithoutCRDs starts a bare API server (for tests of the install engine itself).
	WithoutCRDs bool
	// APIs are the API slices whose types the client and managers know (their
	// controllers run only in StartManager).
	APIs []apihost.API
}

// Start starts the API server and installs kfup's CRDs (waiting until they are served).
func Start() (*Env, error) { return StartWith(Options{}) }

// StartWith starts the API server as o says.
func StartWith(o Options) (*Env, error) {
	assets, err := AssetsDir()
	if err != nil {
		return nil, err
	}
	crds, err := manifests.CRDs()
	if err != nil {
		return nil, err
	}
	scheme, err := apihost.NewScheme(o.APIs...)
	if err != nil {
		return nil, err
	}
	if o.WithoutCRDs {
		crds = nil
	}
	e := &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDs:                  crds,
		ErrorIfCRDPathMissing: true,
		Scheme:                scheme,
	}
	cfg, err := e.Start()
	if err != nil {
		// Start may fail after the control plane came up (a CRD the API server refuses):
		// stop it, or kube-apiserver and etcd outlive the test binary
		_ = e.Stop()
		return nil, fmt.Errorf("start envtest (binaries in %s): %w", assets, err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		_ = e.Stop()
		return nil, err
	}
	return &Env{Config: cfg, Client: c, Scheme: scheme, env: e}, nil
}

// Kubeconfig returns a kubeconfig of a cluster admin for processes started against the
// API server (a controller run as a binary, as `make bench-training` does).
func (e *Env) Kubeconfig() ([]byte, error) {
	u, err := e.env.AddUser(envtest.User{Name: "kfup-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return nil, fmt.Errorf("add an envtest user: %w", err)
	}
	return u.KubeConfig()
}

// Stop stops the API server and etcd.
func (e *Env) Stop() error { return e.env.Stop() }

// Main is a TestMain body for an integration package: it starts one Env for the package
// (knowing the types of apis), stores it in *env, runs the tests and stops it. Under -short it runs nothing (the unit
// tier); with binaries missing it fails with BuildHint.
func Main(m *testing.M, env **Env, apis ...apihost.API) int {
	return MainWith(m, env, Options{APIs: apis})
}

// MainWith is Main with Options.
func MainWith(m *testing.M, env **Env, o Options) int {
	if !flag.Parsed() {
		flag.Parse()
	}
	if testing.Short() {
		fmt.Println("integration tests need a real API server: skipped under -short (the unit tier)")
		return 0
	}
	e, err := StartWith(o)
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: %v\n", err)
		return 1
	}
	*env = e
	code := m.Run()
	if err := e.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "stop envtest: %v\n", err)
	}
	return code
}

// Namespace creates a namespace with a unique name for t and deletes it when t ends
// (envtest runs no namespace controller, so objects in it stay until deleted by hand).
func (e *Env) Namespace(t testing.TB) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "kfup-test-"}}
	if err := e.Client.Create(context.Background(), ns); err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	t.Cleanup(func() { _ = e.Client.Delete(context.Background(), ns) })
	return ns.Name
}

// StartManager runs a controller manager in-process hosting the controllers of apis
// (configured as each says, its namespaces included) with kfup manager's caches, and stops
// it when t ends. Metrics, probes and leader election are off.
func (e *Env) StartManager(t testing.TB, apis ...apihost.API) manager.Manager {
	t.Helper()
	return e.StartManagerAs(t, e.Config, apis...)
}

// StartManagerAs is StartManager with the manager talking to the API server through cfg
// (e.g. impersonating kfup's service account, to run it with only its own RBAC).
func (e *Env) StartManagerAs(t testing.TB, cfg *rest.Config, apis ...apihost.API) manager.Manager {
	t.Helper()
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 e.Scheme,
		Cache:                  apihost.CacheOptions(apis...), // as kfup manager's
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		LeaderElection:         false,
	})
	if err != nil {
		t.Fatalf("new manager: %v", err)
	}
	if err := apihost.SetupAPIs(mgr, apihost.Process{}, apis...); err != nil {
		t.Fatalf("set up controllers: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("manager stopped with error: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("manager did not stop within 30s")
		}
	})
	if !mgr.GetCache().WaitForCacheSync(ctx) {
		t.Fatalf("manager cache did not sync")
	}
	return mgr
}

// CreateAsUser creates obj as `kubectl create` does — strict field validation, so an
// unknown or duplicated field is refused rather than dropped — then reads the stored
// object back and fails t when any field obj sets was pruned or changed on the way
// (conformance.Pruned). It returns the stored object. obj is not modified.
func (e *Env) CreateAsUser(t testing.TB, obj *unstructured.Unstructured) *unstructured.Unstructured {
	t.Helper()
	sent := obj.DeepCopy()
	created := obj.DeepCopy()
	ctx := context.Background()
	if err := e.Client.Create(ctx, created, client.FieldValidation(metav1.FieldValidationStrict)); err != nil {
		t.Fatalf("create %s %s as a user would (strict field validation): %v", obj.GetKind(), obj.GetName(), err)
	}
	stored := &unstructured.Unstructured{}
	stored.SetGroupVersionKind(obj.GroupVersionKind())
	if err := e.Client.Get(ctx, client.ObjectKeyFromObject(created), stored); err != nil {
		t.Fatalf("read back %s %s: %v", obj.GetKind(), created.GetName(), err)
	}
	if lost := conformance.Pruned(sent.Object, stored.Object); len(lost) > 0 {
		t.Errorf("%s %s was not stored as sent:\n  %s", obj.GetKind(), created.GetName(), strings.Join(lost, "\n  "))
	}
	return stored
}
