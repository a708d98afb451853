package cli

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kfup/kfup/bootstrap"
	"github.com/kfup/kfup/bundle"
	"github.com/kfup/kfup/internal/errs"
	"github.com/kfup/kfup/manifests"
	"github.com/kfup/kfup/platform"
	"github.com/kfup/kfup/profiles"
)

// CreateOptions are the flags of `kfup create`.
type CreateOptions struct {
	Cluster bootstrap.CreateOptions
	// Profile is a built-in profile name, a profile file, or "none" (cluster only).
	Profile string
	// Sets are --set overrides of the profile.
	Sets []string
	// Images is an image bundle to load before creating (air-gapped installs).
	Images string
	// profile is the resolved, validated profile (nil for "none").
	profile *profiles.Profile
	// gpuSets are the profile settings the --gpu flags stand for, applied once the
	// cluster has GPUs (GPUSets).
	gpuSets []string
	// profileGiven: --profile or --set was passed. Without either, create on an existing
	// cluster keeps the profile recorded at its last install instead of the default.
	profileGiven bool
}

// NewCmdCreate returns `kfup create`; runF replaces the real run in tests.
func NewCmdCreate(f *Factory, runF func(context.Context, *CreateOptions) error) *cobra.Command {
	opts := &CreateOptions{}
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create the cluster (or converge an existing one)",
		Long: `Create a single-node Kubernetes cluster with kind and merge the context kfup-<name> into
your kubeconfig, then install the profile. Running it again on a healthy cluster changes
nothing: without --profile or --set it keeps the profile its last install applied (a
stopped cluster is started again); with them, the cluster converges to what they say. Interrupting it
(Ctrl-C) removes what it started, so a second 'kfup create' starts clean.

The host is checked first ('kfup doctor'); create refuses early when a check fails.`,
		Example: `  kfup create
  kfup create --name ml-dev --http-port 8080 --https-port 8443
  KFUP_NODE_IMAGE=kfup-offline/node:v1.37.2 kfup create       # offline node image
  kfup create --provider existing --context my-cluster        # use a cluster you have
  kfup create --gpu --gpus 0 --gpu-share 4                    # GPU 0, shared by 4 pods`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Cluster.Name = f.Global.Name
			opts.Cluster.Kubeconfig = f.Global.Kubeconfig
			impliesGPU(cmd, &opts.Cluster.GPU)
			if g := opts.Cluster.GPU.Share; g < 1 {
				return errs.Usage(fmt.Sprintf("pass --gpu-share between 1 (no sharing) and %d", bootstrap.MaxGPUShare), "--gpu-share %d: out of range", g)
			}
			if err := opts.Cluster.Validate(); err != nil {
				return err
			}
			p, err := platform.ResolveProfile(opts.Profile, opts.Sets)
			if err != nil {
				return err
			}
			opts.profile = p
			opts.profileGiven = cmd.Flags().Changed("profile") || len(opts.Sets) > 0
			// a profile with GPU support (gpu, full) on a new kind cluster wires the GPUs
			if p != nil && p.IsEnabled(profiles.NVIDIA) && !cmd.Flags().Changed("gpu") && opts.Cluster.Provider == bootstrap.ProviderKind {
				opts.Cluster.GPU.Mode = bootstrap.GPUOn
			}
			opts.gpuSets = GPUSets(cmd, opts.Cluster.GPU)
			if p != nil && len(opts.gpuSets) > 0 {
				// checked now, before anything is created; applied once the node has GPUs
				if _, err := platform.ResolveProfile(opts.Profile, append(slices.Clone(opts.gpuSets), opts.Sets...)); err != nil {
					return err
				}
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runCreate(cmd.Context(), f, opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Cluster.Provider, "provider", bootstrap.ProviderKind, "where the cluster comes from: kind or existing")
	fl.StringVar(&opts.Cluster.NodeImage, "node-image", "", fmt.Sprintf("kind node image (default: $%s, else %s)", manifests.NodeImageEnv, manifests.DefaultNodeImage))
	fl.StringVar(&opts.Cluster.ConfigFile, "config", "", "kind cluster config (kind.x-k8s.io/v1alpha4) to start from; kfup adds what it needs")
	fl.DurationVar(&opts.Cluster.Wait, "wait", 5*time.Minute, "how long to wait for the cluster to be ready")
	fl.BoolVar(&opts.Cluster.Retain, "retain", false, "keep the node containers when creation fails or is interrupted (for debugging)")
	fl.IntVar(&opts.Cluster.HTTPPort, "http-port", 0, "host port for the ingress's HTTP (default: 80, or a free one when busy)")
	fl.IntVar(&opts.Cluster.HTTPSPort, "https-port", 0, "host port for the ingress's HTTPS (default: 443, or a free one when busy)")
	fl.StringVar(&opts.Cluster.ListenAddress, "listen-address", "127.0.0.1", "host address the ingress ports bind to (0.0.0.0 to share on the network)")
	fl.StringVar(&opts.Profile, "profile", "minimal", "what to install: "+strings.Join(profiles.Builtins(), ", ")+", a profile file, or none (cluster only); on an existing cluster the default is the profile last applied")
	fl.StringVar(&opts.Images, "images", "", "image bundle from 'kfup images save' to preload (offline installs)")
	fl.StringArrayVar(&opts.Sets, "set", nil, "override a profile setting: components.<name>.enabled=false or components.<name>.<key>=<value> (repeatable)")
	fl.StringVar(&opts.Cluster.Context, "context", "", "with --provider existing: kubeconfig context of the cluster (default: current context)")
	fl.Var(&gpuModeValue{&opts.Cluster.GPU.Mode}, "gpu", "wire the host's NVIDIA GPUs into the node: --gpu (fail when there are none), --gpu=auto (go on without), --gpu=false")
	fl.Lookup("gpu").NoOptDefVal = string(bootstrap.GPUOn)
	fl.StringSliceVar(&opts.Cluster.GPU.Select, "gpus", nil, "with --gpu: only these GPUs, by index or UUID (default: all; see 'kfup gpu list')")
	fl.IntVar(&opts.Cluster.GPU.Share, "gpu-share", 1, fmt.Sprintf("with --gpu: pods that may share each GPU (time-slicing), 1 to %d", bootstrap.MaxGPUShare))
	fl.StringVar(&opts.Cluster.GPU.MIGStrategy, "gpu-mig-strategy", "none", "with --gpu: how MIG devices are offered: none (MIG must be off), single (as nvidia.com/gpu) or mixed (as nvidia.com/mig-<profile>)")
	return cmd
}

// GPUSets are the profile settings of the --gpu flags: the nvidia component on, and
// --gpu-share and --gpu-mig-strategy where given (a profile's own values stay otherwise).
func GPUSets(cmd *cobra.Command, g bootstrap.GPUOptions) []string {
	if !g.Enabled() {
		return nil
	}
	sets := []string{"components.nvidia.enabled=true"}
	fl := cmd.Flags()
	if fl.Changed("gpu-share") {
		share := g.Share
		if share == 1 {
			share = 0 // one pod per GPU: time slicing off
		}
		sets = append(sets, fmt.Sprintf("components.nvidia.timeSlicingReplicas=%d", share))
	}
	if fl.Changed("gpu-mig-strategy") {
		sets = append(sets, "components.nvidia.migStrategy="+g.MIGStrategy)
	}
	return sets
}

// withGPUSupport applies the --gpu settings to the profile about to be installed, once
// the cluster has GPUs: --gpu=auto on a host without any installs no device plugin.
func withGPUSupport(opts *CreateOptions, rec *bootstrap.Record) error {
	if opts.profile == nil || len(rec.GPUs) == 0 || len(opts.gpuSets) == 0 {
		return nil
	}
	for _, s := range opts.gpuSets {
		if err := opts.profile.Set(s); err != nil {
			return fmt.Errorf("--gpu: %w", err)
		}
	}
	return opts.profile.Validate()
}

// impliesGPU turns --gpu on when a GPU setting was given without it: --gpus 0 alone
// means the user wants GPU 0. An explicit --gpu=false with them stays a usage error.
func impliesGPU(cmd *cobra.Command, g *bootstrap.GPUOptions) {
	fl := cmd.Flags()
	if fl.Changed("gpu") {
		return
	}
	if fl.Changed("gpus") || fl.Changed("gpu-share") || fl.Changed("gpu-mig-strategy") {
		g.Mode = bootstrap.GPUOn
	}
}

// gpuModeValue is the flag value of --gpu: true, false or auto (and the other spellings
// of true and false that strconv.ParseBool knows).
type gpuModeValue struct{ mode *bootstrap.GPUMode }

func (v *gpuModeValue) String() string {
	if v.mode == nil || *v.mode == bootstrap.GPUOff {
		return "false"
	}
	return string(*v.mode)
}

func (v *gpuModeValue) Set(s string) error {
	if strings.EqualFold(s, string(bootstrap.GPUAuto)) {
		*v.mode = bootstrap.GPUAuto
		return nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("want true, false or auto")
	}
	*v.mode = bootstrap.GPUOff
	if b {
		*v.mode = bootstrap.GPUOn
	}
	return nil
}

func (v *gpuModeValue) Type() string { return "true|false|auto" }

// keepRecordedProfile makes a create without --profile or --set on an existing cluster
// (prev, its record) apply what the cluster's last install applied, every --set of it
// included, rather than the default profile: a plain create must not uninstall what
// --profile/--set once added.
func keepRecordedProfile(opts *CreateOptions, prev *bootstrap.Record) {
	if opts.profileGiven || prev == nil || prev.Phase != bootstrap.PhaseReady {
		return
	}
	switch {
	case prev.Applied != nil:
		opts.Profile, opts.profile = prev.Profile, prev.Applied
	case prev.Profile == platform.ProfileNone:
		opts.Profile, opts.profile = prev.Profile, nil
	}
}

func runCreate(ctx context.Context, f *Factory, opts *CreateOptions) error {
	env, err := f.Env()
	if err != nil {
		return err
	}
	start := time.Now()
	if opts.Images != "" {
		st := f.Printer().Step("Loading " + opts.Images + " into Docker")
		if err := st.End(bundle.LoadIntoDocker(ctx, opts.Images)); err != nil {
			return err
		}
	}
	// one kfup at a time changes a cluster: the lock covers the install too
	unlock, err := env.LockCluster(ctx, opts.Cluster.Name, "create")
	if err != nil {
		return err
	}
	defer unlock()
	if prev, err := env.Store.Load(opts.Cluster.Name); err == nil {
		keepRecordedProfile(opts, prev)
	}
	rec, err := bootstrap.Create(ctx, env, opts.Cluster)
	if err != nil {
		return err
	}
	if opts.profile == nil {
		rec.Profile = platform.ProfileNone
		if err := env.Store.Save(rec); err != nil {
			return err
		}
	}
	if err := withGPUSupport(opts, rec); err != nil {
		return err
	}
	if loader, ok := env.Providers[rec.Provider].(bootstrap.ImageLoader); opts.Images != "" && ok {
		st := f.Printer().Step("Preloading images into the node")
		if _, err := bundle.LoadIntoNodes(ctx, loader, rec.Name, opts.Images); st.End(err) != nil {
			return err
		}
	}
	if opts.profile != nil {
		io := platform.InstallOptionsFor(opts.profile)
		io.Wait = opts.Cluster.Wait
		rec.Profile = opts.Profile
		if err := platform.Install(ctx, env, rec, io); err != nil {
			return fmt.Errorf("install profile %s: %w", opts.Profile, err)
		}
	}
	out := f.IO.Out
	fmt.Fprintf(out, "Cluster %q is ready (%s).\n", rec.Name, time.Since(start).Round(100*time.Millisecond))
	fmt.Fprintf(out, "  kubectl context: %s\n", rec.Context)
	if rec.HTTPPort != 0 || rec.HTTPSPort != 0 {
		fmt.Fprintf(out, "  ingress ports:   http %d, https %d\n", rec.HTTPPort, rec.HTTPSPort)
	}
	if len(rec.Components) > 0 {
		fmt.Fprintf(out, "  components:      %s\n", strings.Join(rec.Components, ", "))
	}
	if len(rec.GPUs) > 0 {
		fmt.Fprintf(out, "  GPUs:            %s\n", strings.Join(rec.GPUs, ", "))
	}
	fmt.Fprintf(out, "Try: kubectl --context %s get nodes; kfup test --name %s\n", rec.Context, rec.Name)
	return nil
}
