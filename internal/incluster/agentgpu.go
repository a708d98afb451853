package incluster

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"syscall"

	"github.com/spf13/cobra"
	pluginapi "k8s.io/kubelet/pkg/apis/deviceplugin/v1beta1"

	"github.com/kfup/kfup/gpu"
	"github.com/kfup/kfup/gpu/deviceplugin"
	"github.com/kfup/kfup/internal/errs"
)

// gpuSource finds the node's GPUs and their health source for the device plugin.
type gpuSource func(ctx context.Context) (*gpu.Inventory, deviceplugin.HealthSource, error)

// hostGPUs is the real source: discovery on this node, NVML's XID events where built
// with cgo.
func hostGPUs(ctx context.Context) (*gpu.Inventory, deviceplugin.HealthSource, error) {
	inv, err := gpu.Discover(ctx)
	if err != nil {
		return nil, nil, err
	}
	return inv, deviceplugin.DefaultHealth(inv), nil
}

// inventoryGPUs reads the inventory kfup create --gpu found on the host and wrote into the
// node: the plugin then needs no device node, driver library or nvidia-smi, and runs
// unprivileged (docs/security.md).
func inventoryGPUs(path string) gpuSource {
	return func(context.Context) (*gpu.Inventory, deviceplugin.HealthSource, error) {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, nil, fmt.Errorf("read GPU inventory: %w", err)
		}
		var inv gpu.Inventory
		if err := json.Unmarshal(b, &inv); err != nil {
			return nil, nil, fmt.Errorf("read GPU inventory %s: %w", path, err)
		}
		if len(inv.GPUs) == 0 {
			return nil, nil, fmt.Errorf("GPU inventory %s: %w", path, gpu.ErrNoDevices)
		}
		return &inv, nil, nil
	}
}

// mockGPUs, set only in builds with the nvmlmock tag (agentgpu_mock.go), returns
// go-nvml's mock server of that name. nil in every shipped binary.
var mockGPUs func(name string) gpuSource

// newCmdAgentDevicePlugin returns `kfup agent device-plugin`, kfup's NVIDIA device
// plugin, run by the DaemonSet on GPU nodes.
func newCmdAgentDevicePlugin(out io.Writer) *cobra.Command {
	var cfg deviceplugin.Config
	var opts deviceplugin.Options
	var gpus []int
	var mock, inventory string
	cmd := &cobra.Command{
		Use:   "device-plugin",
		Short: "Advertise this node's NVIDIA GPUs to the kubelet (nvidia.com/gpu) and allocate them through CDI",
		Args:  NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.Share < 1 {
				return errs.Usage("pass --share 1 (no sharing) or more", "--share %d: must be 1 or more", cfg.Share)
			}
			if !slices.Contains([]string{deviceplugin.MIGNone, deviceplugin.MIGSingle, deviceplugin.MIGMixed}, cfg.MIGStrategy) {
				return errs.Usage("pass --mig-strategy none, single or mixed", "unknown --mig-strategy %q", cfg.MIGStrategy)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, os.Interrupt)
			defer stop()
			source := gpuSource(hostGPUs)
			if inventory != "" {
				fmt.Fprintf(out, "device-plugin: serving the GPUs kfup found on the host (%s); no device access, no XID health checks\n", inventory)
				source = inventoryGPUs(inventory)
			}
			if mock != "" {
				fmt.Fprintf(out, "device-plugin: using go-nvml's mock server %s instead of this node's GPUs (test build)\n", mock)
				source = mockGPUs(mock)
			}
			inv, health, err := source(ctx)
			if err != nil {
				return err
			}
			if inv, err = selectGPUs(inv, gpus); err != nil {
				return err
			}
			if health == nil {
				fmt.Fprintln(out, "device-plugin: no NVML in this build (static): XID health checks are off")
			}
			opts.Health, opts.Log = health, out
			return deviceplugin.Run(ctx, inv, cfg, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.MIGStrategy, "mig-strategy", deviceplugin.MIGNone, "how MIG devices are advertised: none (MIG must be off), single (as nvidia.com/gpu) or mixed (as nvidia.com/mig-<profile>)")
	f.IntVar(&cfg.Share, "share", 1, "time-slicing: schedulable replicas of each GPU or MIG device")
	f.BoolVar(&cfg.RenameByDefault, "rename-by-default", false, "with --share above 1, advertise <resource>.shared (nvidia.com/gpu.shared)")
	f.IntSliceVar(&gpus, "gpus", nil, "advertise only these GPU indices (default: all)")
	f.StringVar(&inventory, "inventory", "", "serve the GPUs of this inventory (JSON, as 'kfup gpu list -o json' prints it) instead of discovering them: kfup create --gpu writes it into the GPU node")
	f.StringVar(&opts.PluginDir, "plugin-dir", pluginapi.DevicePluginPath, "the kubelet's device-plugins directory (its kubelet.sock and the plugins' sockets)")
	if mockGPUs != nil {
		f.StringVar(&mock, "mock-nvml", "", "test builds only: serve the GPUs of go-nvml's mock server NAME (dgxa100, dgxh100, ...)")
		_ = f.MarkHidden("mock-nvml")
	}
	return cmd
}

// selectGPUs keeps the GPUs with the given indices; an index the node lacks or one given
// twice is a usage error.
func selectGPUs(inv *gpu.Inventory, only []int) (*gpu.Inventory, error) {
	if len(only) == 0 {
		return inv, nil
	}
	out := *inv
	out.GPUs = nil
	for i, idx := range only {
		if slices.Contains(only[:i], idx) {
			return nil, errs.Usage("name each GPU once", "--gpus: GPU %d given twice", idx)
		}
		d := inv.GPU(idx)
		if d == nil {
			return nil, errs.Usage("see 'kfup gpu list' for the indices", "--gpus: no GPU %d on this node (it has %d)", idx, len(inv.GPUs))
		}
		out.GPUs = append(out.GPUs, *d)
	}
	return &out, nil
}
