//go:build cgo

package gpu_test

import (
	"context"
	"errors"
	"os/exec"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/server"
	"github.com/google/go-cmp/cmp"

	"github.com/kfup/kfup/gpu"
	"github.com/kfup/kfup/gpu/nvmlmock"
	"github.com/kfup/kfup/internal/errs"
)

func mockServer(t *testing.T, name string) *server.Server {
	t.Helper()
	s, err := nvmlmock.New(name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// noSMI fails the test if discovery falls back to nvidia-smi.
func noSMI(t *testing.T) gpu.Runner {
	return func(context.Context, string, ...string) ([]byte, error) {
		t.Error("nvidia-smi was run although NVML answered")
		return nil, exec.ErrNotFound
	}
}

func TestDiscoverNVMLServers(t *testing.T) {
	for _, tc := range []struct {
		server string
		want   gpu.Device // GPU 3
	}{
		{"dgxa100", gpu.Device{Index: 3, Minor: 3, Name: "Mock NVIDIA A100-SXM4-40GB", UUID: "GPU-dgxa100-0000-0000-0000-000000000003", MemoryMiB: 40960, ComputeCapability: "8.0"}},
		{"dgxh100", gpu.Device{Index: 3, Minor: 3, Name: "NVIDIA H100 80GB HBM3", UUID: "GPU-dgxh100-0000-0000-0000-000000000003", MemoryMiB: 81920, ComputeCapability: "9.0"}},
	} {
		t.Run(tc.server, func(t *testing.T) {
			inv, err := gpu.Discover(t.Context(), gpu.WithNVML(mockServer(t, tc.server)), gpu.WithRunner(noSMI(t)))
			if err != nil {
				t.Fatal(err)
			}
			if inv.Source != gpu.SourceNVML || inv.DriverVersion != "550.54.15" || inv.CUDAVersion != "12.4" || len(inv.GPUs) != 8 {
				t.Fatalf("got source %q driver %q cuda %q, %d GPUs; want nvml, 550.54.15, 12.4, 8", inv.Source, inv.DriverVersion, inv.CUDAVersion, len(inv.GPUs))
			}
			if diff := cmp.Diff(tc.want, *inv.GPU(3)); diff != "" {
				t.Errorf("GPU 3 (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDiscoverNVMLMIG(t *testing.T) {
	for _, tc := range []struct {
		server   string
		profiles []int
		want     []string
	}{
		{"dgxa100", []int{nvml.GPU_INSTANCE_PROFILE_1_SLICE, nvml.GPU_INSTANCE_PROFILE_1_SLICE, nvml.GPU_INSTANCE_PROFILE_3_SLICE}, []string{"1g.5gb", "1g.5gb", "3g.20gb"}},
		{"dgxh100", []int{nvml.GPU_INSTANCE_PROFILE_1_SLICE, nvml.GPU_INSTANCE_PROFILE_3_SLICE}, []string{"1g.10gb", "3g.40gb"}},
		{"dgxh100", []int{nvml.GPU_INSTANCE_PROFILE_7_SLICE}, []string{"7g.80gb"}},
	} {
		t.Run(tc.server, func(t *testing.T) {
			s := mockServer(t, tc.server)
			if err := nvmlmock.EnableMIG(s.Devices[1].(*server.Device), tc.profiles...); err != nil {
				t.Fatal(err)
			}
			inv, err := gpu.Discover(t.Context(), gpu.WithNVML(s), gpu.WithRunner(noSMI(t)))
			if err != nil {
				t.Fatal(err)
			}
			if inv.GPU(0).MIGEnabled || inv.GPU(0).MIGDevices != nil {
				t.Errorf("GPU 0 has MIG: %+v", inv.GPU(0))
			}
			d := inv.GPU(1)
			if !d.MIGEnabled {
				t.Fatal("GPU 1: MIG not enabled")
			}
			var got []string
			for i, m := range d.MIGDevices {
				got = append(got, m.Profile)
				if m.Index != i || m.UUID != nvmlmock.MIGUUID(d.UUID, i) || m.GPUInstanceID != i || m.ComputeInstanceID != 0 || m.MemoryMiB == 0 {
					t.Errorf("MIG device %d: %+v", i, m)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("profiles (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDiscoverNVMLFallsBackToSMI(t *testing.T) {
	noLib := func(ret nvml.Return) *server.Server {
		s := mockServer(t, "dgxa100")
		s.InitFunc = func() nvml.Return { return ret }
		return s
	}
	smi := func(out string, err error) gpu.Runner {
		return func(_ context.Context, _ string, args ...string) ([]byte, error) {
			if len(args) == 0 { // the banner
				return []byte("| NVIDIA-SMI 535.104.05   Driver Version: 535.104.05   CUDA Version: 12.2 |"), nil
			}
			return []byte(out), err
		}
	}
	oneGPU := "0, GPU-1e7f2a2c-5a0b-4c5e-9f3d-2a4f1b6c7d8e, NVIDIA GeForce RTX 4090, 00000000:01:00.0, 24564, 535.104.05, 8.9, [N/A]\n"

	t.Run("library missing, nvidia-smi answers", func(t *testing.T) {
		inv, err := gpu.Discover(t.Context(), gpu.WithNVML(noLib(nvml.ERROR_LIBRARY_NOT_FOUND)), gpu.WithRunner(smi(oneGPU, nil)), gpu.WithProcRoot(t.TempDir()))
		if err != nil {
			t.Fatal(err)
		}
		if inv.Source != gpu.SourceNVIDIASMI || inv.CUDAVersion != "12.2" || len(inv.GPUs) != 1 {
			t.Errorf("got %+v", inv)
		}
	})
	t.Run("no driver at all", func(t *testing.T) {
		_, err := gpu.Discover(t.Context(), gpu.WithNVML(noLib(nvml.ERROR_LIBRARY_NOT_FOUND)), gpu.WithRunner(smi("", exec.ErrNotFound)))
		if !errors.Is(err, gpu.ErrNoDriver) || errs.KindOf(err) != errs.KindPreflight || errs.HintOf(err) == "" {
			t.Errorf("got %v (kind %v, hint %q), want ErrNoDriver as a preflight error with a hint", err, errs.KindOf(err), errs.HintOf(err))
		}
	})
	t.Run("driver without devices", func(t *testing.T) {
		s := mockServer(t, "dgxa100")
		s.Devices = nil
		_, err := gpu.Discover(t.Context(), gpu.WithNVML(s), gpu.WithRunner(noSMI(t)))
		if !errors.Is(err, gpu.ErrNoDevices) || errs.KindOf(err) != errs.KindPreflight {
			t.Errorf("got %v, want ErrNoDevices as a preflight error", err)
		}
	})
	t.Run("NVML loads but fails, nvidia-smi too: both are told, not no-driver", func(t *testing.T) {
		_, err := gpu.Discover(t.Context(), gpu.WithNVML(noLib(nvml.ERROR_NO_PERMISSION)), gpu.WithRunner(smi("", exec.ErrNotFound)))
		if err == nil || errors.Is(err, gpu.ErrNoDriver) || !contains(err.Error(), "nvml init") || !contains(err.Error(), "nvidia-smi") {
			t.Errorf("got %v, want NVML's init error with nvidia-smi's", err)
		}
	})
}
