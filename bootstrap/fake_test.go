package bootstrap

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kfup/kfup/bootstrap/preflight"
	"github.com/kfup/kfup/internal/ui"

	"github.com/kfup/kfup/internal/testio"
)

// fakeProvider is a Provider without Docker: each cluster is a file in dir holding its
// nodes' state ("running", "exited"), so that processes share it (the SIGKILL test), and
// its API server is a fakeAPI.
type fakeProvider struct {
	dir string
	api *fakeAPI

	// onCreate runs inside Create once the node exists; its error fails Create.
	onCreate func(ctx context.Context, s ClusterSpec) error
	// existsErr, when set, is what Exists fails with.
	existsErr atomic.Pointer[error]
	// deleteErr, when set, is what Delete fails with (the cluster stays).
	deleteErr error

	mu    sync.Mutex
	calls []string
}

func newFakeProvider(t *testing.T, api *fakeAPI) *fakeProvider {
	return &fakeProvider{dir: t.TempDir(), api: api}
}

func (f *fakeProvider) called(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
}

// Calls returns the calls so far, Exists left out.
func (f *fakeProvider) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fakeProvider) path(name string) string { return filepath.Join(f.dir, name) }

// setNodes makes cluster name exist with its node in state.
func (f *fakeProvider) setNodes(t *testing.T, name, state string) {
	t.Helper()
	if err := os.WriteFile(f.path(name), []byte(state), 0o600); err != nil {
		t.Fatal(err)
	}
}

func (f *fakeProvider) state(name string) (string, bool) {
	b, err := os.ReadFile(f.path(name))
	return string(b), err == nil
}

func (f *fakeProvider) failExists(err error) { f.existsErr.Store(&err) }

func (f *fakeProvider) Name() string { return ProviderKind }
func (f *fakeProvider) Adopts() bool { return false }

func (f *fakeProvider) Exists(name string) (bool, error) {
	if err := f.existsErr.Load(); err != nil && *err != nil {
		return false, *err
	}
	_, ok := f.state(name)
	return ok, nil
}

func (f *fakeProvider) Create(ctx context.Context, s ClusterSpec) error {
	f.called("create %s", s.Name)
	// like kind: the node container is created with O_EXCL semantics
	file, err := os.OpenFile(f.path(s.Name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create kind cluster %q: node(s) already exist for a cluster with the name %q", s.Name, s.Name)
	}
	if err != nil {
		return err
	}
	file.WriteString("running")
	file.Close()
	if f.onCreate != nil {
		return f.onCreate(ctx, s)
	}
	return nil
}

func (f *fakeProvider) Delete(name, _ string) error {
	f.called("delete %s", name)
	if f.deleteErr != nil {
		return f.deleteErr
	}
	if err := os.Remove(f.path(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

func (f *fakeProvider) Kubeconfig(name string) ([]byte, error) {
	if _, ok := f.state(name); !ok {
		return nil, fmt.Errorf("no cluster %q", name)
	}
	return []byte(fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: kind-%[1]s, cluster: {server: %[2]q}}]
users: [{name: kind-%[1]s, user: {token: fake}}]
contexts: [{name: kind-%[1]s, context: {cluster: kind-%[1]s, user: kind-%[1]s}}]
current-context: kind-%[1]s
`, name, f.api.URL())), nil
}

func (f *fakeProvider) NodesRunning(_ context.Context, name string) (bool, string, error) {
	st, ok := f.state(name)
	switch {
	case !ok:
		return false, "no node containers", nil
	case st != "running":
		return false, fmt.Sprintf("node container %s-control-plane is %s", name, st), nil
	}
	return true, "", nil
}

func (f *fakeProvider) StartNodes(_ context.Context, name string) error {
	f.called("start %s", name)
	return os.WriteFile(f.path(name), []byte("running"), 0o600)
}

func (f *fakeProvider) NodeStarts(_ context.Context, name string) (map[string]time.Time, error) {
	return map[string]time.Time{name + "-control-plane": time.Now().Add(-time.Minute)}, nil
}

func (f *fakeProvider) CollectLogs(string, string) error { return nil }

// fakeAPI is the API server of every fake cluster: one node, Ready unless notReady, the
// default ServiceAccount, no pods.
type fakeAPI struct {
	srv      *httptest.Server
	notReady atomic.Bool
}

func newFakeAPI(t *testing.T) *fakeAPI {
	a := &fakeAPI{}
	reply := func(w http.ResponseWriter, v any) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(v)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/nodes", func(w http.ResponseWriter, r *http.Request) {
		cond := corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", LastHeartbeatTime: metav1.Now()}
		if a.notReady.Load() {
			cond.Status, cond.Reason = corev1.ConditionFalse, "KubeletNotReady"
		}
		reply(w, corev1.NodeList{
			TypeMeta: metav1.TypeMeta{Kind: "NodeList", APIVersion: "v1"},
			Items:    []corev1.Node{{ObjectMeta: metav1.ObjectMeta{Name: "node"}, Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{cond}}}},
		})
	})
	mux.HandleFunc("GET /api/v1/namespaces/default/serviceaccounts/default", func(w http.ResponseWriter, r *http.Request) {
		reply(w, corev1.ServiceAccount{TypeMeta: metav1.TypeMeta{Kind: "ServiceAccount", APIVersion: "v1"},
			ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: "default"}})
	})
	mux.HandleFunc("GET /api/v1/pods", func(w http.ResponseWriter, r *http.Request) {
		reply(w, corev1.PodList{TypeMeta: metav1.TypeMeta{Kind: "PodList", APIVersion: "v1"}})
	})
	a.srv = httptest.NewServer(mux)
	t.Cleanup(a.srv.Close)
	return a
}

func (a *fakeAPI) URL() string { return a.srv.URL }

// okProbes describe a host that passes every preflight check.
func okProbes() preflight.Probes {
	return preflight.Probes{
		DockerInfo: func(context.Context) (preflight.DockerInfo, error) {
			return preflight.DockerInfo{ServerVersion: "27.1.0", CgroupVersion: "2", NCPU: 8, MemTotal: 16 * preflight.GiB,
				DockerRootDir: "/var/lib/docker", OperatingSystem: "Ubuntu 24.04"}, nil
		},
		HostCPUs:     func() int { return 8 },
		HostMemory:   func() (uint64, error) { return 16 * preflight.GiB, nil },
		DiskFree:     func(string) (uint64, error) { return 100 * preflight.GiB, nil },
		Sysctl:       func(string) (string, error) { return "1048576", nil },
		PortFree:     func(string, int) bool { return true },
		ImagePresent: func(context.Context, string) (bool, error) { return true, nil },
	}
}

// lifecycle is one test's world: a store, a user kubeconfig holding a context of the
// user's own ("mine"), a fake kind provider and its API server.
type lifecycle struct {
	store      Store
	kubeconfig string
	kind       *fakeProvider
	api        *fakeAPI
}

func newLifecycle(t *testing.T) *lifecycle {
	t.Helper()
	dir := t.TempDir()
	kc := filepath.Join(dir, "kubeconfig")
	isolate(t, kc)
	api := newFakeAPI(t)
	writeKubeconfig(t, kc, kubeconfig("mine", entry{name: "mine", server: api.URL(), token: "mine"}))
	return &lifecycle{store: Store{Dir: filepath.Join(dir, "state")}, kubeconfig: kc, kind: newFakeProvider(t, api), api: api}
}

// env returns an Env over the world's store and providers, printing into out.
func (l *lifecycle) env(out *testio.Buffer) *Env {
	return &Env{
		Out: ui.New(out, ui.Options{}), Store: l.store, Providers: providerSet(l.kind, Existing{}),
		Probes: okProbes(), PortFree: func(string, int) bool { return true }, Now: time.Now,
	}
}

// opts are the options of a plain `kfup create --name name`.
func (l *lifecycle) opts(name string) CreateOptions {
	return CreateOptions{Name: name, Provider: ProviderKind, NodeImage: "kfup-offline/node:v1", Wait: 10 * time.Second,
		ListenAddress: "127.0.0.1", Kubeconfig: l.kubeconfig}
}

// contexts lists the contexts in the user's kubeconfig.
func (l *lifecycle) contexts(t *testing.T) []string {
	t.Helper()
	var out []string
	for n := range readKubeconfig(t, l.kubeconfig).Contexts {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// phase returns the phase of the record of name, "" when there is none.
func (l *lifecycle) phase(t *testing.T, name string) Phase {
	t.Helper()
	rec, err := l.store.Load(name)
	if err != nil {
		t.Fatal(err)
	}
	if rec == nil {
		return ""
	}
	return rec.Phase
}

var (
	elapsed = regexp.MustCompile(` \([^()]+\)$`)
	// the second wait of a converge gets what is left of --wait
	leftOfWait = regexp.MustCompile(`≤ [0-9]+\.[0-9]+s for the node to be Ready`)
)

// steps returns the ended step lines and warnings of a printer's output, without times.
func steps(out string) []string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(l, " ✓ ") || strings.HasPrefix(l, " ✗ "):
			lines = append(lines, leftOfWait.ReplaceAllString(elapsed.ReplaceAllString(l, ""), "≤ LEFT for the node to be Ready"))
		case strings.HasPrefix(l, "WARNING: "):
			lines = append(lines, l)
		}
	}
	return lines
}
