package bootstrap

import (
	"context"
	"sync"
	"time"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"

	"github.com/kfup/kfup/bootstrap/preflight"
	"github.com/kfup/kfup/gpu"
	"github.com/kfup/kfup/internal/ui"
)

// Provider names accepted by --provider.
const (
	ProviderKind     = "kind"
	ProviderExisting = "existing"
)

// Providers lists the accepted --provider values.
var Providers = []string{ProviderKind, ProviderExisting}

// Env is what the lifecycle steps share: the tools they use (printer, store, cluster
// providers, host probes) and what earlier steps found out.
type Env struct {
	Out   *ui.Printer
	Store Store
	// Providers runs clusters, by --provider value (each one's Name).
	Providers map[string]Provider
	Probes    preflight.Probes
	PortFree  PortFreeFunc
	Now       func() time.Time
	// ComponentHealth checks the components installed on cluster rec, each within
	// timeout, for Status; nil reports none. bootstrap knows clusters, not components:
	// the CLI sets it to platform.Health.
	ComponentHealth func(ctx context.Context, env *Env, rec *Record, timeout time.Duration) ([]ComponentHealth, error)
	// DiscoverGPUs finds the host's GPUs for --gpu (nil: gpu.Discover); tests inject one.
	DiscoverGPUs func(ctx context.Context) (*gpu.Inventory, error)
	// GPURoot is where the driver's device nodes, libraries and /proc files are looked
	// for ("" means "/"; tests: a fake driver root).
	GPURoot string

	// Record is the cluster record being created or converged.
	Record *Record
	// KindConfig is the generated kind config of a cluster being created.
	KindConfig *v1alpha4.Cluster
	// REST reaches the cluster once its kubeconfig context exists.
	REST *rest.Config
	// cgroupV1 is set by the preflight step when the Docker host uses cgroup v1.
	cgroupV1 bool
	// gpu is set by the GPU step: the GPUs to wire into the node (nil: none).
	gpu *gpuWiring

	// locks counts the holds of each cluster lock this Env took (LockCluster).
	lockMu sync.Mutex
	locks  map[string]*heldLock
}

// NewEnv returns an Env that acts on this host: the default store, kind with Docker and
// existing clusters, real probes.
func NewEnv(out *ui.Printer) (*Env, error) {
	store, err := DefaultStore()
	if err != nil {
		return nil, err
	}
	return &Env{
		Out:       out,
		Store:     store,
		Providers: providerSet(NewKindClusters(out), Existing{}),
		Probes:    preflight.HostProbes(TCPPortFree),
		PortFree:  TCPPortFree,
		Now:       time.Now,
	}, nil
}

// Step is one named unit of a lifecycle plan.
type Step interface {
	// Name is the status line shown while the step runs.
	Name() string
	// Run does the work; it may record findings in env.
	Run(ctx context.Context, env *Env) error
}

// runSteps runs steps in order, one status line each, and stops at the first error.
func runSteps(ctx context.Context, env *Env, steps ...Step) error {
	for _, s := range steps {
		st := env.Out.Step(s.Name())
		if err := st.End(s.Run(ctx, env)); err != nil {
			return err
		}
	}
	return nil
}
