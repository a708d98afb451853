package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kfup/kfup/gpu"
	"github.com/kfup/kfup/internal/errs"
)

func testInventory() *gpu.Inventory {
	return &gpu.Inventory{
		Source: gpu.SourceNVIDIASMI, DriverVersion: "550.54.15", CUDAVersion: "12.4",
		GPUs: []gpu.Device{
			{Index: 0, Name: "NVIDIA A100-SXM4-40GB", UUID: "GPU-a", MemoryMiB: 40960, ComputeCapability: "8.0", MIGEnabled: true,
				MIGDevices: []gpu.MIGDevice{{Index: 0, UUID: "MIG-a0", Profile: "3g.20gb", MemoryMiB: 20480}}},
			{Index: 1, Minor: 1, Name: "NVIDIA A100-SXM4-40GB", UUID: "GPU-b", MemoryMiB: 40960, ComputeCapability: "8.0"},
		},
	}
}

func TestGPUList(t *testing.T) {
	t.Run("table", func(t *testing.T) {
		f, out, _ := testFactory(t)
		f.GPUs = func(context.Context) (*gpu.Inventory, error) { return testInventory(), nil }
		if err := execute(f, NewCmdGPU(f, nil), "gpu", "list"); err != nil {
			t.Fatal(err)
		}
		want := `Driver 550.54.15, CUDA 12.4 (found with nvidia-smi)

INDEX  NAME                   UUID    MEMORY     COMPUTE  MIG
0      NVIDIA A100-SXM4-40GB  GPU-a   40960 MiB  8.0      on (1 devices)
0:0      MIG 3g.20gb          MIG-a0  20480 MiB
1      NVIDIA A100-SXM4-40GB  GPU-b   40960 MiB  8.0      off
`
		if diff := cmp.Diff(want, trimLines(out.String())); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("json is the inventory", func(t *testing.T) {
		f, out, _ := testFactory(t)
		f.GPUs = func(context.Context) (*gpu.Inventory, error) { return testInventory(), nil }
		if err := execute(f, NewCmdGPU(f, nil), "gpu", "list", "-o", "json"); err != nil {
			t.Fatal(err)
		}
		var got gpu.Inventory
		if err := json.Unmarshal(out.Bytes(), &got); err != nil {
			t.Fatalf("%v in %s", err, out)
		}
		if diff := cmp.Diff(*testInventory(), got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("no GPU is a preflight error", func(t *testing.T) {
		f, out, _ := testFactory(t)
		f.GPUs = func(context.Context) (*gpu.Inventory, error) {
			return nil, errs.Wrap(errs.KindPreflight, "install the driver", fmt.Errorf("nvidia-smi: %w", gpu.ErrNoDriver))
		}
		err := execute(f, NewCmdGPU(f, nil), "gpu", "list")
		if ExitCode(err) != 3 || out.Len() != 0 {
			t.Errorf("exit %d (%v), stdout %q; want 3 and nothing on stdout", ExitCode(err), err, out)
		}
	})
	t.Run("bad -o is usage, before discovery", func(t *testing.T) {
		f, _, _ := testFactory(t)
		f.GPUs = func(context.Context) (*gpu.Inventory, error) { t.Error("discovery ran"); return nil, nil }
		err := execute(f, NewCmdGPU(f, nil), "gpu", "list", "-o", "xml")
		if ExitCode(err) != 2 || !strings.Contains(err.Error(), "xml") {
			t.Errorf("got exit %d: %v", ExitCode(err), err)
		}
	})
	t.Run("options", func(t *testing.T) {
		f, _, _ := testFactory(t)
		var got *GPUOptions
		if err := execute(f, NewCmdGPU(f, func(_ context.Context, o *GPUOptions) error { got = o; return nil }), "gpu", "list", "-o", "yaml"); err != nil {
			t.Fatal(err)
		}
		if got == nil || got.Output != OutputYAML {
			t.Errorf("options %+v, want yaml", got)
		}
	})
}

// trimLines drops the padding tabwriter leaves after a row's last cell.
func trimLines(s string) string {
	lines := strings.Split(s, "\n")
	for i := range lines {
		lines[i] = strings.TrimRight(lines[i], " ")
	}
	return strings.Join(lines, "\n")
}
