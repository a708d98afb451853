package gpu_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kfup/kfup/gpu"
)

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseQueryGPU(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		want       []gpu.Device
		driver     string
	}{
		{
			name: "two A100s, one with MIG", file: "query-a100-mig.csv", driver: "550.54.15",
			want: []gpu.Device{
				{Index: 0, Minor: 0, Name: "NVIDIA A100-SXM4-40GB", UUID: "GPU-5a3a0f5e-63f3-5d5b-8c84-2b6b1d9c0c11", PCIBusID: "00000000:07:00.0", MemoryMiB: 40960, ComputeCapability: "8.0", MIGEnabled: true},
				{Index: 1, Minor: 1, Name: "NVIDIA A100-SXM4-40GB", UUID: "GPU-b1f02c5d-0a7e-2c6f-3f6a-9d4e58b1e922", PCIBusID: "00000000:0F:00.0", MemoryMiB: 40960, ComputeCapability: "8.0"},
			},
		},
		{
			name: "laptop GPU without MIG support", file: "query-laptop.csv", driver: "535.104.05",
			want: []gpu.Device{{Index: 0, Minor: 0, Name: "NVIDIA GeForce RTX 3060 Laptop GPU", UUID: "GPU-8c2b7e1a-3d4f-4b6a-9e1c-7f2d3a4b5c6d", PCIBusID: "00000000:01:00.0", MemoryMiB: 6144, ComputeCapability: "8.6"}},
		},
		{
			name: "old driver: base fields only", file: "query-old-driver.csv", driver: "470.223.02",
			want: []gpu.Device{{Index: 0, Minor: 0, Name: "Tesla T4", UUID: "GPU-0c7e4b1e-2f8d-4a3b-9c6d-5e1f2a3b4c5d", PCIBusID: "00000000:00:1E.0", MemoryMiB: 15360}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inv, err := gpu.ParseQueryGPU(readTestdata(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if inv.DriverVersion != tc.driver || inv.Source != gpu.SourceNVIDIASMI {
				t.Errorf("driver %q source %q, want %q nvidia-smi", inv.DriverVersion, inv.Source, tc.driver)
			}
			if diff := cmp.Diff(tc.want, inv.GPUs); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseQueryGPUMalformed(t *testing.T) {
	for name, tc := range map[string]struct{ in, want string }{
		"too few fields":  {"0, GPU-1, Tesla T4\n", "line 1: 3 fields"},
		"bad index":       {"x, GPU-1, T4, 00000000:00:1E.0, 15360, 470.223.02\n", `index "x"`},
		"bad memory":      {"0, GPU-1, T4, 00000000:00:1E.0, 15 GB, 470.223.02\n", `memory.total "15 GB"`},
		"no uuid":         {"0, [N/A], T4, 00000000:00:1E.0, 15360, 470.223.02\n", "has no UUID"},
		"second line bad": {"0, GPU-1, T4, 00000000:00:1E.0, 15360, 470.223.02\n1, GPU-2\n", "line 2"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := gpu.ParseQueryGPU([]byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestParseListMIG(t *testing.T) {
	got, err := gpu.ParseListMIG(readTestdata(t, "list-a100-mig.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]gpu.MIGDevice{"GPU-5a3a0f5e-63f3-5d5b-8c84-2b6b1d9c0c11": {
		{Index: 0, UUID: "MIG-c6d4f1ef-42e4-5de3-91c7-45d71c87eb3f", Profile: "3g.20gb", MemoryMiB: 20480},
		{Index: 1, UUID: "MIG-0c4a9d3e-1b2f-5a6c-8d7e-9f0a1b2c3d4e", Profile: "2g.10gb", MemoryMiB: 10240},
		{Index: 2, UUID: "MIG-7e8f9a0b-1c2d-5e3f-4a5b-6c7d8e9f0a1b", Profile: "1c.2g.10gb", MemoryMiB: 10240},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, err := gpu.ParseListMIG([]byte("  MIG 1g.5gb     Device  0: (UUID: MIG-1)\n")); err == nil {
		t.Error("a MIG line before any GPU line was accepted")
	}
}

// fakeSMI answers nvidia-smi from testdata files, keyed by the first argument.
func fakeSMI(t *testing.T, answers map[string]func() ([]byte, error)) gpu.Runner {
	return func(_ context.Context, name string, args ...string) ([]byte, error) {
		if name != "nvidia-smi" {
			t.Errorf("ran %s, want nvidia-smi", name)
		}
		key := ""
		if len(args) > 0 {
			key = args[0]
		}
		if f, ok := answers[key]; ok {
			return f()
		}
		return nil, &gpu.CommandError{Cmd: name, Code: 2, Output: "unexpected call " + strings.Join(args, " ")}
	}
}

func file(t *testing.T, name string) func() ([]byte, error) {
	return func() ([]byte, error) { return readTestdata(t, name), nil }
}

func TestDiscoverSMI(t *testing.T) {
	proc := t.TempDir()
	// the kernel numbers the second GPU's node 4: the minor comes from /proc, not the index
	info := filepath.Join(proc, "proc/driver/nvidia/gpus/0000:0f:00.0")
	if err := os.MkdirAll(info, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(info, "information"), []byte("Model: \t\t NVIDIA A100-SXM4-40GB\nIRQ:   \t\t 95\nDevice Minor: \t 4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	full := "--query-gpu=index,uuid,name,pci.bus_id,memory.total,driver_version,compute_cap,mig.mode.current"
	run := fakeSMI(t, map[string]func() ([]byte, error){
		full: file(t, "query-a100-mig.csv"),
		"":   file(t, "banner.txt"),
		"-L": file(t, "list-a100-mig.txt"),
	})
	inv, err := gpu.Discover(t.Context(), gpu.WithoutNVML(), gpu.WithRunner(run), gpu.WithProcRoot(proc))
	if err != nil {
		t.Fatal(err)
	}
	if inv.CUDAVersion != "12.4" {
		t.Errorf("CUDA version %q, want 12.4", inv.CUDAVersion)
	}
	if inv.GPU(0).Minor != 0 || inv.GPU(1).Minor != 4 {
		t.Errorf("minors %d, %d; want 0, 4", inv.GPU(0).Minor, inv.GPU(1).Minor)
	}
	if n := len(inv.GPU(0).MIGDevices); n != 3 {
		t.Errorf("GPU 0 has %d MIG devices, want 3", n)
	}
	if inv.GPU(1).MIGDevices != nil {
		t.Errorf("GPU 1 has MIG devices: %+v", inv.GPU(1).MIGDevices)
	}

	t.Run("old driver rejects compute_cap: asked again with the base fields", func(t *testing.T) {
		run := fakeSMI(t, map[string]func() ([]byte, error){
			full: func() ([]byte, error) {
				return nil, &gpu.CommandError{Cmd: "nvidia-smi", Code: 2, Output: `Field "compute_cap" is not a valid field to query.` + "\n"}
			},
			"--query-gpu=index,uuid,name,pci.bus_id,memory.total,driver_version": file(t, "query-old-driver.csv"),
		})
		inv, err := gpu.Discover(t.Context(), gpu.WithoutNVML(), gpu.WithRunner(run), gpu.WithProcRoot(proc))
		if err != nil {
			t.Fatal(err)
		}
		if inv.GPU(0).Name != "Tesla T4" || inv.CUDAVersion != "" {
			t.Errorf("got %+v", inv)
		}
	})
}

func TestDiscoverSMIErrors(t *testing.T) {
	full := "--query-gpu=index,uuid,name,pci.bus_id,memory.total,driver_version,compute_cap,mig.mode.current"
	fails := func(code int, out string) func() ([]byte, error) {
		return func() ([]byte, error) { return nil, &gpu.CommandError{Cmd: "nvidia-smi", Code: code, Output: out} }
	}
	for name, tc := range map[string]struct {
		answer func() ([]byte, error)
		want   error
	}{
		"not installed":     {func() ([]byte, error) { return nil, &exec.Error{Name: "nvidia-smi", Err: exec.ErrNotFound} }, gpu.ErrNoDriver},
		"module not loaded": {fails(9, "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.\n\n"), gpu.ErrNoDriver},
		"library mismatch":  {fails(18, "Failed to initialize NVML: Driver/library version mismatch\n"), gpu.ErrNoDriver},
		"no devices":        {fails(6, "No devices were found\n"), gpu.ErrNoDevices},
		"empty output":      {func() ([]byte, error) { return nil, nil }, gpu.ErrNoDevices},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := gpu.Discover(t.Context(), gpu.WithoutNVML(), gpu.WithRunner(fakeSMI(t, map[string]func() ([]byte, error){full: tc.answer})))
			if !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
}
