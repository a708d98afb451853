package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"

	"github.com/kfup/kfup/internal/errs"
)

// Provider is what the cluster lifecycle (Create, Delete, Status) needs from one way of
// running clusters: kind's node containers (KindClusters), or a cluster kfup only adopted
// (Existing). Another way (k3s, say) is one more Provider in Env.Providers and one more
// name in Providers; the lifecycle names none of them.
type Provider interface {
	// Name is the --provider value, recorded with each cluster.
	Name() string
	// Adopts reports whether the provider's clusters exist without kfup: Create then only
	// connects to and records one, Delete only forgets it, and Exists, Create, Delete and
	// Kubeconfig are not called.
	Adopts() bool
	// Exists reports whether a cluster of that name exists (any node of it).
	Exists(name string) (bool, error)
	// Create creates the cluster s describes. When ctx ends first or creation fails, it
	// removes what it made, unless s.Retain.
	Create(ctx context.Context, s ClusterSpec) error
	// Delete removes cluster name; kubeconfigPath is the private kubeconfig Create wrote.
	// Deleting a cluster that does not exist is not an error.
	Delete(name, kubeconfigPath string) error
	// Kubeconfig returns a kubeconfig that reaches cluster name from this host.
	Kubeconfig(name string) ([]byte, error)
	// NodesRunning reports whether every node of cluster name runs, and if not, why.
	NodesRunning(ctx context.Context, name string) (bool, string, error)
	// StartNodes starts the nodes of cluster name that do not run.
	StartNodes(ctx context.Context, name string) error
	// NodeStarts returns when each node of cluster name last started, by node name.
	NodeStarts(ctx context.Context, name string) (map[string]time.Time, error)
	// CollectLogs writes the logs of cluster name's nodes into dir.
	CollectLogs(name, dir string) error
}

// ImageLoader is the optional Provider capability of putting images straight into the
// nodes of a cluster, without a registry (kind's node containers run a containerd kfup
// reaches; an adopted cluster's nodes pull from a registry instead).
type ImageLoader interface {
	// LoadImage makes image available as ref on every node of cluster.
	LoadImage(ctx context.Context, cluster, ref string, image v1.Image) error
	// LoadImages copies local Docker images into every node of cluster that lacks them
	// and returns those it loaded.
	LoadImages(ctx context.Context, cluster string, images ...string) ([]string, error)
	// ImportArchive imports the docker-archive at path into every node of cluster.
	ImportArchive(ctx context.Context, cluster, path string) error
	// ImportOCIArchive imports the tar of an OCI image layout at path into every node of
	// cluster, keeping the digests of its manifests (images pinned by digest).
	ImportOCIArchive(ctx context.Context, cluster, path string) error
}

// ClusterSpec is what Provider.Create needs.
type ClusterSpec struct {
	Name      string
	NodeImage string
	// Config describes the nodes (port mappings, labels, mounts, kubelet patches) in kind's
	// v1alpha4 form, kfup's one description of a cluster; a provider other than kind
	// translates what it supports.
	Config *v1alpha4.Cluster
	// KubeconfigPath is where the provider writes its own kubeconfig (kfup keeps it private
	// and merges a kfup-<name> context into the user's kubeconfig instead).
	KubeconfigPath string
	// Retain keeps the nodes of a failed or interrupted creation for debugging.
	Retain bool
}

// provider returns the Provider of --provider value name.
func (env *Env) provider(name string) (Provider, error) {
	if p, ok := env.Providers[name]; ok {
		return p, nil
	}
	return nil, errs.Usage("use --provider "+strings.Join(Providers, " or "), "provider %q is not available in this kfup", name)
}

// creators returns the providers that create clusters, by name.
func (env *Env) creators() []Provider {
	var out []Provider
	for _, p := range env.Providers {
		if !p.Adopts() {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b Provider) int { return strings.Compare(a.Name(), b.Name()) })
	return out
}

// providerSet indexes providers by name, as Env.Providers holds them.
func providerSet(ps ...Provider) map[string]Provider {
	m := make(map[string]Provider, len(ps))
	for _, p := range ps {
		m[p.Name()] = p
	}
	return m
}

// errAdopted is returned by the operations an adopted cluster does not have.
var errAdopted = errors.New("kfup did not create this cluster")

// Existing is the Provider of clusters adopted with --provider existing: kfup reaches them
// through a context of the user's kubeconfig, and never creates, starts or deletes them.
type Existing struct{}

// Name returns "existing".
func (Existing) Name() string { return ProviderExisting }

// Adopts returns true: an existing cluster is only recorded and forgotten.
func (Existing) Adopts() bool { return true }

// Exists returns false: no cluster of kfup's own is there to find.
func (Existing) Exists(string) (bool, error) { return false, nil }

// Create fails: an existing cluster is adopted, not created.
func (Existing) Create(_ context.Context, s ClusterSpec) error {
	return fmt.Errorf("create cluster %q: %w: adopt it with --provider existing", s.Name, errAdopted)
}

// Delete does nothing: an adopted cluster keeps running.
func (Existing) Delete(string, string) error { return nil }

// Kubeconfig fails: an adopted cluster's context lives in the user's kubeconfig already.
func (Existing) Kubeconfig(name string) ([]byte, error) {
	return nil, fmt.Errorf("kubeconfig of cluster %q: %w: use the context it was adopted with", name, errAdopted)
}

// NodesRunning reports the nodes as running: kfup cannot see them, the API server can.
func (Existing) NodesRunning(context.Context, string) (bool, string, error) { return true, "", nil }

// StartNodes does nothing: kfup does not run an adopted cluster's nodes.
func (Existing) StartNodes(context.Context, string) error { return nil }

// NodeStarts returns no starts: kfup does not see an adopted cluster's nodes.
func (Existing) NodeStarts(context.Context, string) (map[string]time.Time, error) { return nil, nil }

// CollectLogs fails: kfup does not reach an adopted cluster's nodes.
func (Existing) CollectLogs(name, _ string) error {
	return fmt.Errorf("collect logs of cluster %q: %w: use the cluster's own tools", name, errAdopted)
}

var (
	_ Provider    = (*KindClusters)(nil)
	_ ImageLoader = (*KindClusters)(nil)
	_ Provider    = Existing{}
)
