package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"

	"github.com/kfup/kfup/bootstrap/preflight"
	"github.com/kfup/kfup/internal/errs"
	"github.com/kfup/kfup/manifests"
)

// CreateOptions are the inputs of `kfup create` that concern the cluster itself.
type CreateOptions struct {
	Name     string
	Provider string
	// NodeImage is the kind node image; empty means $KFUP_NODE_IMAGE, else the default.
	NodeImage string
	// ConfigFile is a kind v1alpha4 config to start from.
	ConfigFile string
	// Wait bounds how long to wait for the cluster to become ready.
	Wait time.Duration
	// Retain keeps a failed or interrupted first creation for debugging.
	Retain bool
	// HTTPPort/HTTPSPort are the host ports of the ingress; 0 picks free ones (80/443 first).
	HTTPPort, HTTPSPort int
	// ListenAddress is the host address the ingress ports bind to.
	ListenAddress string
	// Kubeconfig is the user's kubeconfig file; empty means $KUBECONFIG or ~/.kube/config.
	Kubeconfig string
	// Context is the context of an existing cluster (--provider existing); empty means the
	// kubeconfig's current context.
	Context string
	// GPU are the --gpu flags.
	GPU GPUOptions
}

// ResolveNodeImage returns the node image to use: flag, then $KFUP_NODE_IMAGE, then default.
func ResolveNodeImage(flag string) string {
	if flag != "" {
		return flag
	}
	if env := os.Getenv(manifests.NodeImageEnv); env != "" {
		return env
	}
	return manifests.DefaultNodeImage
}

// Validate checks the options without touching the host.
func (o *CreateOptions) Validate() error {
	if err := ValidateName(o.Name); err != nil {
		return err
	}
	if !slices.Contains(Providers, o.Provider) {
		return errs.Usage("use --provider "+strings.Join(Providers, " or "), "unknown provider %q", o.Provider)
	}
	if o.Wait <= 0 {
		return errs.Usage("pass a positive duration such as --wait 5m", "--wait must be positive, got %s", o.Wait)
	}
	if o.Provider == ProviderExisting {
		if o.ConfigFile != "" || o.NodeImage != "" || o.HTTPPort != 0 || o.HTTPSPort != 0 {
			return errs.Usage("drop --config, --node-image and the port flags, which only apply to --provider kind",
				"--provider existing does not create a cluster")
		}
	} else if o.Context != "" {
		return errs.Usage("use --context with --provider existing", "--context selects an existing cluster; kfup names the context of a kind cluster kfup-<name>")
	}
	if err := o.GPU.Validate(); err != nil {
		return err
	}
	if o.Provider == ProviderExisting && o.GPU.Enabled() {
		return errs.Usage("drop --gpu: kfup wires GPUs into the kind nodes it creates; for a cluster you have, see docs/gpu.md",
			"--gpu needs --provider kind")
	}
	return nil
}

// Create creates cluster o.Name, or converges it if kfup already made it: it runs the
// preflight checks, creates the cluster with o.Provider, merges the kfup-<name> context
// into the user's kubeconfig and waits for a Ready node. Interrupting it (ctx) removes a
// cluster it had started, so a second Create starts clean; a record left by a killed
// process makes the next Create start afresh too.
func Create(ctx context.Context, env *Env, o CreateOptions) (*Record, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	p, err := env.provider(o.Provider)
	if err != nil {
		return nil, err
	}
	unlock, err := env.LockCluster(ctx, o.Name, "create")
	if err != nil {
		return nil, err
	}
	defer unlock()
	var base *v1alpha4.Cluster
	if o.ConfigFile != "" {
		c, err := LoadKindConfig(o.ConfigFile)
		if err != nil {
			return nil, err
		}
		base = c
	}
	rec, err := env.Store.Load(o.Name)
	if err != nil {
		return nil, err
	}
	if rec != nil && rec.Provider != o.Provider {
		return nil, errs.New(errs.KindConflict, fmt.Sprintf("run 'kfup delete --name %s' first, or pick another --name", o.Name),
			"cluster %q was set up with --provider %s, not %s", o.Name, rec.Provider, o.Provider)
	}
	if p.Adopts() {
		return adopt(ctx, env, o)
	}
	return createCluster(ctx, env, p, o, base, rec)
}

// createCluster creates cluster o.Name with p, or converges it (rec: kfup's record of it).
func createCluster(ctx context.Context, env *Env, p Provider, o CreateOptions, base *v1alpha4.Cluster, rec *Record) (*Record, error) {
	exists, err := p.Exists(o.Name)
	if err != nil {
		return nil, errs.Wrap(errs.KindPreflight, "run 'kfup doctor'", err)
	}
	switch {
	case exists && rec == nil:
		// kind and k3d both name a cluster's own context <provider>-<name>
		return nil, errs.New(errs.KindConflict,
			fmt.Sprintf("pick another --name, or use that cluster with: kfup create --provider existing --context %s-%s --name %s", p.Name(), o.Name, o.Name),
			"a %s cluster named %q exists that kfup did not create", p.Name(), o.Name)
	case exists && rec.Phase == PhaseReady:
		if o.GPU.Mode == GPUOn && len(rec.GPUs) == 0 {
			return nil, errs.New(errs.KindConflict, fmt.Sprintf("GPUs are wired into the node when it is created: kfup delete --name %s, then kfup create --name %s --gpu", o.Name, o.Name),
				"cluster %q was created without GPUs", o.Name)
		}
		env.Record = rec
		return converge(ctx, env, p, o)
	case exists:
		st := env.Out.Step(fmt.Sprintf("Removing cluster %q left by an interrupted create", o.Name))
		if err := st.End(p.Delete(o.Name, providerKubeconfigPath(env.Store, o.Name))); err != nil {
			return nil, err
		}
	}
	image := ResolveNodeImage(o.NodeImage)
	env.Record = &Record{
		Name: o.Name, Provider: p.Name(), Phase: PhaseCreating, NodeImage: image,
		Context: ContextName(o.Name), Kubeconfig: o.Kubeconfig, CreatedAt: env.Now().UTC(),
	}
	steps := []Step{preflightStep{opts: o, image: image, prefer: rec}}
	if o.GPU.Enabled() {
		steps = append(steps, gpuStep{opts: o.GPU})
	}
	steps = append(steps,
		kindConfigStep{opts: o, base: base},
		clusterCreateStep{provider: p, opts: o},
		kubeconfigStep{provider: p},
		waitStep{timeout: o.Wait},
	)
	if err := runSteps(ctx, env, steps...); err != nil {
		return nil, cleanupFailedCreate(env, p, o, err)
	}
	env.Record.Phase = PhaseReady
	if err := env.Store.Save(env.Record); err != nil {
		return nil, err
	}
	return env.Record, nil
}

// converge makes an existing kfup cluster whole again: running nodes (stopped ones are
// started: after a reboot, a cluster comes back with the same command that made it), the
// context in the user's kubeconfig, a Ready node.
func converge(ctx context.Context, env *Env, p Provider, o CreateOptions) (*Record, error) {
	st := env.Out.Step(fmt.Sprintf("Checking existing cluster %q", o.Name))
	running, why, err := p.NodesRunning(ctx, o.Name)
	if err := st.End(err); err != nil {
		return nil, err
	}
	if !running {
		st := env.Out.Step(fmt.Sprintf("Starting cluster %q (%s)", o.Name, why))
		if err := p.StartNodes(ctx, o.Name); err != nil {
			return nil, st.End(errs.Wrap(errs.KindConflict,
				fmt.Sprintf("if docker's message names a host port that is taken, free it; otherwise look at 'docker logs %s-control-plane', or recreate the cluster: kfup delete --name %s && kfup create --name %s", o.Name, o.Name, o.Name), err))
		}
		st.Done()
	}
	// also when Docker brought the nodes back by itself (kind's restart policy) after a
	// reboot: the statuses may still describe the run before it
	starts, err := p.NodeStarts(ctx, o.Name)
	if err != nil {
		return nil, err
	}
	if o.Kubeconfig != "" {
		env.Record.Kubeconfig = o.Kubeconfig
	}
	deadline := env.Now().Add(o.Wait) // one --wait for both waits
	if err := runSteps(ctx, env, kubeconfigStep{provider: p}, currentStep{starts: starts, timeout: o.Wait}); err != nil {
		return nil, err
	}
	if err := runSteps(ctx, env, waitStep{timeout: max(deadline.Sub(env.Now()), time.Second)}); err != nil {
		return nil, err
	}
	return env.Record, env.Store.Save(env.Record)
}

// cleanupFailedCreate removes a first creation that failed or was interrupted, unless
// --retain; it returns the original error, annotated.
func cleanupFailedCreate(env *Env, p Provider, o CreateOptions, cause error) error {
	if o.Retain {
		if env.Record != nil {
			_ = env.Store.Save(env.Record) // stays PhaseCreating: the next create starts afresh
		}
		return errs.Wrap(errs.KindOf(cause), fmt.Sprintf("the cluster was kept (--retain); inspect it, then 'kfup delete --name %s'", o.Name), cause)
	}
	// The caller's context may be cancelled already; the kind library's Delete takes none.
	var problems []error
	gone := false
	switch exists, err := p.Exists(o.Name); {
	case err != nil:
		problems = append(problems, err)
	case exists:
		st := env.Out.Step(fmt.Sprintf("Removing the unfinished cluster %q", o.Name))
		err := st.End(p.Delete(o.Name, providerKubeconfigPath(env.Store, o.Name)))
		problems = append(problems, err)
		gone = err == nil
	default:
		gone = true
	}
	problems = append(problems, RemoveContext(ContextName(o.Name), env.Record.Kubeconfig))
	if gone {
		// a cluster that may still be there keeps its record (phase Creating): without it,
		// kfup would refuse to delete the cluster, and the next create would call it foreign
		problems = append(problems, env.Store.Remove(o.Name))
	}
	if err := errors.Join(problems...); err != nil {
		return fmt.Errorf("%w (cleanup also failed: %v; run 'kfup delete --name %s')", cause, err, o.Name)
	}
	return cause
}

// providerKubeconfigPath is the provider's private kubeconfig of cluster name (named
// after kind, the first provider, so that clusters made before keep theirs).
func providerKubeconfigPath(s Store, name string) string {
	return filepath.Join(s.ClusterDir(name), "kind-kubeconfig")
}

// preflightStep runs the doctor checks and refuses to go on when one fails.
type preflightStep struct {
	opts   CreateOptions
	image  string
	prefer *Record
}

func (preflightStep) Name() string { return "Checking the host" }

func (s preflightStep) Run(ctx context.Context, env *Env) error {
	var ports []preflight.Port
	if s.opts.HTTPPort != 0 {
		ports = append(ports, preflight.Port{Port: s.opts.HTTPPort, Flag: "http-port", Explicit: true})
	}
	if s.opts.HTTPSPort != 0 {
		ports = append(ports, preflight.Port{Port: s.opts.HTTPSPort, Flag: "https-port", Explicit: true})
	}
	checks := preflight.Run(ctx, env.Probes, preflight.Options{ListenAddress: s.opts.ListenAddress, Ports: ports, NodeImage: s.image})
	for _, c := range checks {
		if c.Status == preflight.Warn {
			env.Out.Debugf(1, "  preflight warning: %s: %s", c.Name, c.Detail)
		}
		if c.Name == "cgroup version" && strings.HasPrefix(c.Detail, "v1") {
			env.cgroupV1 = true
		}
	}
	failed := preflight.Failed(checks)
	if len(failed) == 0 {
		return nil
	}
	msgs := make([]string, len(failed))
	for i, c := range failed {
		msgs[i] = fmt.Sprintf("%s: %s", c.Name, c.Detail)
	}
	return errs.New(errs.KindPreflight, failed[0].Fix+" (see 'kfup doctor')", "the host cannot run a cluster: %s", strings.Join(msgs, "; "))
}

// kindConfigStep picks host ports and generates the kind config.
type kindConfigStep struct {
	opts CreateOptions
	base *v1alpha4.Cluster
}

func (kindConfigStep) Name() string { return "Preparing the cluster config" }

func (s kindConfigStep) Run(_ context.Context, env *Env) error {
	addr := s.opts.ListenAddress
	if addr == "" {
		addr = "127.0.0.1"
	}
	// the ingress host ports to pick: those the user did not map in --config (theirs,
	// then: kfup adds none), each written where BuildKindConfig reads it
	var mappedHTTP, mappedHTTPS int
	if s.base != nil {
		mappedHTTP, mappedHTTPS = IngressHostPorts(s.base)
	}
	var http, https int
	var reqs []PortRequest
	var dsts []*int
	if mappedHTTP == 0 {
		reqs = append(reqs, PortRequest{Flag: "http-port", Explicit: s.opts.HTTPPort, Preferred: []int{80, 8080, 18080}})
		dsts = append(dsts, &http)
	}
	if mappedHTTPS == 0 {
		reqs = append(reqs, PortRequest{Flag: "https-port", Explicit: s.opts.HTTPSPort, Preferred: []int{443, 8443, 18443}})
		dsts = append(dsts, &https)
	}
	ports, err := ResolvePorts(addr, env.PortFree, reqs...)
	if err != nil {
		return err
	}
	for i, p := range ports {
		*dsts[i] = p
	}
	var gpuNode *GPUNode
	if env.gpu != nil {
		n, err := writeGPUFiles(env.Store, s.opts.Name, env.gpuRoot(), env.gpu)
		if err != nil {
			return err
		}
		gpuNode = &n
		env.Record.GPUs = gpuUUIDs(env.gpu.inv)
	}
	cfg, err := BuildKindConfig(KindConfigOptions{
		Name: s.opts.Name, Base: s.base, HTTPPort: http, HTTPSPort: https,
		ListenAddress: addr, CgroupV1: env.cgroupV1, GPU: gpuNode,
	})
	if err != nil {
		return err
	}
	env.KindConfig = cfg
	env.Record.HTTPPort, env.Record.HTTPSPort = IngressHostPorts(cfg)
	return nil
}

// clusterCreateStep records the cluster as being created, then creates it with its provider.
type clusterCreateStep struct {
	provider Provider
	opts     CreateOptions
}

func (s clusterCreateStep) Name() string {
	return fmt.Sprintf("Creating cluster %q (%s, %s)", s.opts.Name, s.provider.Name(), shortImage(ResolveNodeImage(s.opts.NodeImage)))
}

func (s clusterCreateStep) Run(ctx context.Context, env *Env) error {
	if err := env.Store.Save(env.Record); err != nil {
		return err
	}
	return s.provider.Create(ctx, ClusterSpec{
		Name: s.opts.Name, NodeImage: env.Record.NodeImage, Config: env.KindConfig,
		KubeconfigPath: providerKubeconfigPath(env.Store, s.opts.Name), Retain: s.opts.Retain,
	})
}

func shortImage(image string) string {
	if i := strings.Index(image, "@"); i >= 0 {
		return image[:i]
	}
	return image
}

// kubeconfigStep merges the kfup-<name> context into the user's kubeconfig.
type kubeconfigStep struct{ provider Provider }

func (kubeconfigStep) Name() string { return "Writing kubeconfig context" }

func (s kubeconfigStep) Run(ctx context.Context, env *Env) error {
	kc, err := s.provider.Kubeconfig(env.Record.Name)
	if err != nil {
		return err
	}
	file, err := MergeContext(kc, env.Record.Context, env.Record.Kubeconfig, true)
	if err != nil {
		return err
	}
	env.Out.Debugf(1, "  context %s in %s", env.Record.Context, file)
	cfg, err := RESTConfig(env.Record.Context, env.Record.Kubeconfig)
	if err != nil {
		return err
	}
	env.REST = cfg
	return nil
}

// waitStep waits for a Ready node and the default ServiceAccount.
type waitStep struct{ timeout time.Duration }

func (s waitStep) Name() string {
	return fmt.Sprintf("Waiting ≤ %s for the node to be Ready", s.timeout)
}

func (s waitStep) Run(ctx context.Context, env *Env) error {
	return WaitReady(ctx, env.REST, s.timeout)
}

// currentStep waits until the cluster reports on its nodes' current run (WaitCurrent).
type currentStep struct {
	starts  map[string]time.Time
	timeout time.Duration
}

func (s currentStep) Name() string {
	return fmt.Sprintf("Waiting ≤ %s for the node status to be current", s.timeout)
}

func (s currentStep) Run(ctx context.Context, env *Env) error {
	return WaitCurrent(ctx, env.REST, s.starts, s.timeout)
}

// adopt adopts a cluster kfup did not create (--provider existing): it checks that the
// context reaches a Ready cluster and records it.
func adopt(ctx context.Context, env *Env, o CreateOptions) (*Record, error) {
	ctxName := o.Context
	if ctxName == "" {
		cur, err := CurrentContext(o.Kubeconfig)
		if err != nil {
			return nil, err
		}
		ctxName = cur
	}
	env.Record = &Record{Name: o.Name, Provider: o.Provider, Phase: PhaseCreating, Context: ctxName, Kubeconfig: o.Kubeconfig, CreatedAt: env.Now().UTC()}
	st := env.Out.Step(fmt.Sprintf("Connecting to context %q", ctxName))
	cfg, err := RESTConfig(ctxName, o.Kubeconfig)
	if err != nil {
		return nil, st.End(errs.Wrap(errs.KindUsage, "pass --context with a context from 'kubectl config get-contexts' (and --kubeconfig if it is not the default file)", err))
	}
	st.Done()
	env.REST = cfg
	if err := runSteps(ctx, env, waitStep{timeout: o.Wait}); err != nil {
		return nil, err
	}
	env.Record.Phase = PhaseReady
	return env.Record, env.Store.Save(env.Record)
}
