package bootstrap

import (
	"context"
	"fmt"
	"slices"

	specs "tags.cncf.io/container-device-interface/specs-go"

	"github.com/kfup/kfup/gpu"
	"github.com/kfup/kfup/gpu/cdi"
	"github.com/kfup/kfup/gpu/deviceplugin"
	"github.com/kfup/kfup/internal/errs"
)

// GPUMode is the value of kfup create --gpu.
type GPUMode string

const (
	// GPUOff creates a cluster without GPUs (no --gpu, or --gpu=false).
	GPUOff GPUMode = ""
	// GPUOn wires the host's GPUs into the node and fails before anything is created when
	// there are none (--gpu).
	GPUOn GPUMode = "true"
	// GPUAuto wires the GPUs when there are some, and otherwise goes on without, with a
	// notice (--gpu=auto).
	GPUAuto GPUMode = "auto"
)

// MaxGPUShare is the most time-slicing replicas --gpu-share allows per GPU.
const MaxGPUShare = 64

// GPUOptions are the --gpu flags of kfup create that concern the cluster.
type GPUOptions struct {
	Mode GPUMode
	// Select are the --gpus refs (indices or UUIDs); empty means every GPU.
	Select []string
	// Share is --gpu-share: pods per GPU (0 or 1: no sharing). The device plugin applies
	// it; it is validated here with the other GPU flags.
	Share int
	// MIGStrategy is --gpu-mig-strategy: none ("" too), single or mixed.
	MIGStrategy string
}

// Enabled reports whether --gpu asks for GPUs at all.
func (o GPUOptions) Enabled() bool { return o.Mode != GPUOff }

// Validate checks the GPU flags without touching the host.
func (o GPUOptions) Validate() error {
	if !slices.Contains([]GPUMode{GPUOff, GPUOn, GPUAuto}, o.Mode) {
		return errs.Usage("pass --gpu, --gpu=auto or --gpu=false", "--gpu=%s: unknown value", o.Mode)
	}
	if o.MIGStrategy != "" && !deviceplugin.ValidMIGStrategy(o.MIGStrategy) {
		return errs.Usage("pass --gpu-mig-strategy none, single or mixed", "unknown --gpu-mig-strategy %q", o.MIGStrategy)
	}
	if o.Share < 0 || o.Share > MaxGPUShare {
		return errs.Usage(fmt.Sprintf("pass --gpu-share between 1 (no sharing) and %d", MaxGPUShare), "--gpu-share %d: out of range", o.Share)
	}
	if o.Mode == GPUOff && (len(o.Select) > 0 || o.Share > 1 || (o.MIGStrategy != "" && o.MIGStrategy != deviceplugin.MIGNone)) {
		return errs.Usage("drop --gpu=false, or the --gpus/--gpu-share/--gpu-mig-strategy flags", "--gpus, --gpu-share and --gpu-mig-strategy need --gpu")
	}
	return nil
}

// gpuRoot is GPURoot, "/" when unset.
func (e *Env) gpuRoot() string {
	if e.GPURoot == "" {
		return "/"
	}
	return e.GPURoot
}

// gpuWiring is what the GPU step found: the selected GPUs and their CDI spec.
type gpuWiring struct {
	inv  *gpu.Inventory
	spec *specs.Spec
}

// gpuStep finds the host's GPUs for --gpu before anything is created, and checks that
// the selection, the MIG strategy and the driver files make a working node: on a host
// that cannot, create stops here with nothing made.
type gpuStep struct{ opts GPUOptions }

func (gpuStep) Name() string { return "Finding GPUs" }

func (s gpuStep) Run(ctx context.Context, env *Env) error {
	discover := env.DiscoverGPUs
	if discover == nil {
		discover = func(ctx context.Context) (*gpu.Inventory, error) { return gpu.Discover(ctx) }
	}
	inv, err := discover(ctx)
	if err != nil {
		if s.opts.Mode == GPUAuto {
			env.Out.Warnf("--gpu=auto: %v; creating the cluster without GPUs", err)
			return nil
		}
		return fmt.Errorf("--gpu: %w", err)
	}
	sel, err := gpu.Select(inv, s.opts.Select)
	if err != nil {
		return err
	}
	if _, err := deviceplugin.Resources(sel, deviceplugin.Config{MIGStrategy: s.opts.MIGStrategy}); err != nil {
		return errs.Wrap(errs.KindPreflight, "pass --gpu-mig-strategy to match the GPUs' MIG mode, or select other GPUs with --gpus (see 'kfup gpu list')",
			fmt.Errorf("--gpu: %w", err))
	}
	root := env.gpuRoot()
	spec, err := cdi.Spec(sel, cdi.WithDriverRoot(root), cdi.WithProcRoot(root))
	if err != nil {
		return errs.Wrap(errs.KindPreflight, "check the NVIDIA driver installation ('nvidia-smi' must work; see docs/gpu.md)", fmt.Errorf("--gpu: %w", err))
	}
	env.gpu = &gpuWiring{inv: sel, spec: spec}
	env.Out.Debugf(1, "  GPUs %v (%s, driver %s)", sel.Indices(), sel.Source, sel.DriverVersion)
	return nil
}
