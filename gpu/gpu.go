// Package gpu finds the host's NVIDIA GPUs. Discovery goes through NVML (go-nvml) when
// kfup is built with cgo and the driver's libnvidia-ml loads, else through nvidia-smi's
// CSV output; either way the result is one Inventory, plain data that the CDI spec
// generator (gpu/cdi) and kfup's device plugin (gpu/deviceplugin) work from.
//
// The shipped kfup binaries are static (CGO_ENABLED=0), so they take the nvidia-smi path;
// the NVML path and go-nvml's mock servers need cgo (see docs/gpu.md).
package gpu

import (
	"context"
	"errors"
	"fmt"

	"github.com/kfup/kfup/internal/errs"
)

// Sources of an Inventory.
const (
	SourceNVML      = "nvml"
	SourceNVIDIASMI = "nvidia-smi"
)

var (
	// ErrNoDriver means no NVIDIA driver answers on this host: libnvidia-ml does not load
	// and nvidia-smi is missing or cannot talk to the kernel module.
	ErrNoDriver = errors.New("no NVIDIA driver found")
	// ErrNoDevices means the driver is loaded but reports no GPU.
	ErrNoDevices = errors.New("the NVIDIA driver reports no GPUs")
)

// Inventory is what discovery found on one host.
type Inventory struct {
	// Source is how it was found: SourceNVML or SourceNVIDIASMI.
	Source string `json:"source"`
	// DriverVersion is the kernel driver's version, e.g. "550.54.15".
	DriverVersion string `json:"driverVersion"`
	// CUDAVersion is the newest CUDA version the driver supports, e.g. "12.4"; empty when
	// nvidia-smi does not print it.
	CUDAVersion string `json:"cudaVersion,omitempty"`
	// GPUs are the physical devices, ordered by index.
	GPUs []Device `json:"gpus"`
}

// Device is one physical GPU.
type Device struct {
	// Index is NVML's (and nvidia-smi's) index, the n of CUDA_VISIBLE_DEVICES.
	Index int `json:"index"`
	// Minor is the device node's minor number: /dev/nvidia<Minor>. It usually, but not
	// always, equals Index.
	Minor int    `json:"minor"`
	Name  string `json:"name"`
	UUID  string `json:"uuid"`
	// PCIBusID is the device's PCI address ("00000000:07:00.0"); empty when unknown.
	PCIBusID  string `json:"pciBusID,omitempty"`
	MemoryMiB uint64 `json:"memoryMiB"`
	// ComputeCapability is CUDA's major.minor, e.g. "8.0"; empty when unknown.
	ComputeCapability string `json:"computeCapability,omitempty"`
	// MIGEnabled says the GPU is partitioned: only its MIGDevices can be handed out.
	MIGEnabled bool        `json:"migEnabled"`
	MIGDevices []MIGDevice `json:"migDevices,omitempty"`
}

// MIGDevice is one MIG partition (a compute instance in a GPU instance) of a Device.
type MIGDevice struct {
	// Index is the partition's index among its parent's MIG devices (nvidia-smi -L's
	// "Device N").
	Index int    `json:"index"`
	UUID  string `json:"uuid"`
	// Profile is the partition's name as nvidia-smi prints it: "1g.5gb", "1c.2g.10gb".
	Profile           string `json:"profile"`
	GPUInstanceID     int    `json:"gpuInstanceID"`
	ComputeInstanceID int    `json:"computeInstanceID"`
	MemoryMiB         uint64 `json:"memoryMiB,omitempty"`
}

// Runner runs a command and returns its standard output; tests replace it. An error from
// a command that ran should be an *exec.ExitError carrying its stderr, as exec's Output
// returns it.
type Runner func(ctx context.Context, name string, args ...string) ([]byte, error)

// Option changes how Discover looks.
type Option interface{ apply(*options) }

type options struct {
	run      Runner
	procRoot string
	noNVML   bool
	nvml     any // an nvml.Interface in cgo builds (see nvml.go)
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

// WithRunner makes Discover run nvidia-smi through run.
func WithRunner(run Runner) Option { return optionFunc(func(o *options) { o.run = run }) }

// WithProcRoot makes Discover read /proc/driver/nvidia under root (tests: a temp dir).
func WithProcRoot(root string) Option { return optionFunc(func(o *options) { o.procRoot = root }) }

// WithoutNVML makes Discover skip NVML and use nvidia-smi only.
func WithoutNVML() Option { return optionFunc(func(o *options) { o.noNVML = true }) }

// nvmlDiscover is set by nvml.go in cgo builds; nil means this binary has no NVML.
var nvmlDiscover func(ctx context.Context, o *options) (*Inventory, error)

// HasNVML reports whether this binary was built with NVML support (cgo).
func HasNVML() bool { return nvmlDiscover != nil }

// Discover returns the host's GPUs. It tries NVML first (cgo builds) and falls back to
// nvidia-smi when NVML cannot load. A host without a driver yields an error matching
// ErrNoDriver, a driver without devices one matching ErrNoDevices; both are preflight
// errors with a hint.
func Discover(ctx context.Context, opts ...Option) (*Inventory, error) {
	o := &options{run: execRunner, procRoot: "/"}
	for _, opt := range opts {
		opt.apply(o)
	}
	var nvmlErr error
	if nvmlDiscover != nil && !o.noNVML {
		inv, err := nvmlDiscover(ctx, o)
		if err == nil || errors.Is(err, ErrNoDevices) {
			return inv, classify(err)
		}
		nvmlErr = err
	}
	inv, err := discoverSMI(ctx, o)
	if err != nil && nvmlErr != nil && !errors.Is(nvmlErr, ErrNoDriver) {
		// NVML loaded but failed: that says more than nvidia-smi's failure
		err = fmt.Errorf("%w (nvidia-smi: %v)", nvmlErr, err)
	}
	return inv, classify(err)
}

// classify gives the two "no GPU here" errors their kind and a hint that says what to do.
func classify(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrNoDriver):
		return errs.Wrap(errs.KindPreflight, "install the NVIDIA driver (nvidia-smi must work on the host), or create the cluster without --gpu", err)
	case errors.Is(err, ErrNoDevices):
		return errs.Wrap(errs.KindPreflight, "check 'nvidia-smi -L' and 'dmesg | grep -i nvidia'; a GPU passed to a VM must be bound to the nvidia driver", err)
	}
	return err
}

// GPU returns the device with index i, or nil.
func (inv *Inventory) GPU(i int) *Device {
	for k := range inv.GPUs {
		if inv.GPUs[k].Index == i {
			return &inv.GPUs[k]
		}
	}
	return nil
}
