package preflight

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kfup/kfup/gpu"
)

const procVersion = "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15  Tue Mar  5 22:23:56 UTC 2024\nGCC version:  gcc version 12.3.0\n"

func twoGPUs() *gpu.Inventory {
	return &gpu.Inventory{Source: gpu.SourceNVIDIASMI, DriverVersion: "550.54.15", CUDAVersion: "12.4", GPUs: []gpu.Device{
		{Index: 0, Minor: 0, Name: "NVIDIA A100-SXM4-40GB", UUID: "GPU-a"},
		{Index: 1, Minor: 1, Name: "NVIDIA A100-SXM4-40GB", UUID: "GPU-b"},
	}}
}

// goodGPUProbes describes a healthy two-GPU host; tests change one thing at a time.
func goodGPUProbes() GPUProbes {
	return GPUProbes{
		DriverVersionFile: func() (string, error) { return procVersion, nil },
		DeviceNodes: func() ([]string, error) {
			return []string{"/dev/nvidia0", "/dev/nvidia1", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools", "/dev/nvidiactl"}, nil
		},
		Discover:    func(context.Context) (*gpu.Inventory, error) { return twoGPUs(), nil },
		DriverFiles: func(*gpu.Inventory) error { return nil },
		LookPath:    func(string) (string, error) { return "", errors.New("not found") },
	}
}

var dockerV2 = DockerInfo{ServerVersion: "27.1.0", CgroupVersion: "2"}

func noDriver(p *GPUProbes) {
	p.DriverVersionFile = func() (string, error) {
		return "", &os.PathError{Op: "open", Path: "/proc/driver/nvidia/version", Err: os.ErrNotExist}
	}
	p.DeviceNodes = func() ([]string, error) { return nil, nil }
	p.Discover = func(context.Context) (*gpu.Inventory, error) {
		return nil, fmt.Errorf("nvidia-smi: not found: %w", gpu.ErrNoDriver)
	}
}

func TestRunGPU(t *testing.T) {
	type want struct {
		status Status
		fix    string
	}
	tests := []struct {
		name     string
		change   func(*GPUProbes)
		strategy string
		// want maps check names to their expected status and a part of the fix; checks
		// not named must pass.
		want map[string]want
	}{
		{name: "all good"},
		{
			name:   "driver missing",
			change: noDriver,
			want: map[string]want{
				"nvidia driver":        {Fail, "sudo modprobe nvidia"},
				"/dev/nvidiactl":       {Fail, "sudo modprobe nvidia"},
				"/dev/nvidia<N>":       {Fail, "sudo modprobe nvidia"},
				"/dev/nvidia-uvm":      {Fail, "sudo modprobe nvidia-uvm"},
				"gpu discovery":        {Fail, "install the NVIDIA driver"},
				"gpu driver libraries": {Fail, "GPU discovery"},
				"gpu mig":              {Fail, "GPU discovery"},
			},
		},
		{
			name: "driver present, no devices",
			change: func(p *GPUProbes) {
				p.DeviceNodes = func() ([]string, error) { return []string{"/dev/nvidiactl"}, nil }
				p.Discover = func(context.Context) (*gpu.Inventory, error) {
					return nil, fmt.Errorf("No devices were found: %w", gpu.ErrNoDevices)
				}
			},
			want: map[string]want{
				"/dev/nvidia<N>":       {Fail, "sudo nvidia-modprobe -c=0"},
				"/dev/nvidia-uvm":      {Fail, "sudo modprobe nvidia-uvm"},
				"gpu discovery":        {Fail, "nvidia-smi -L"},
				"gpu driver libraries": {Fail, "GPU discovery"},
				"gpu mig":              {Fail, "GPU discovery"},
			},
		},
		{
			name: "one device node missing",
			change: func(p *GPUProbes) {
				p.DeviceNodes = func() ([]string, error) { return []string{"/dev/nvidiactl", "/dev/nvidia0", "/dev/nvidia-uvm"}, nil }
			},
			want: map[string]want{"/dev/nvidia<N>": {Fail, "sudo nvidia-modprobe -c=1"}},
		},
		{
			name: "MIG on, strategy none",
			change: func(p *GPUProbes) {
				p.Discover = func(context.Context) (*gpu.Inventory, error) {
					inv := twoGPUs()
					inv.GPUs[1].MIGEnabled = true
					inv.GPUs[1].MIGDevices = []gpu.MIGDevice{{UUID: "MIG-1", Profile: "1g.5gb", GPUInstanceID: 7}}
					return inv, nil
				}
			},
			want: map[string]want{
				"gpu 1 mig":             {Fail, "sudo nvidia-smi -i 1 -mig 0"},
				"gpu mig strategy none": {Fail, "--gpu-mig-strategy"},
			},
		},
		{name: "MIG off everywhere, strategy single", strategy: "single"},
		{
			name:     "MIG on one GPU, strategy single",
			strategy: "single",
			change: func(p *GPUProbes) {
				p.Discover = func(context.Context) (*gpu.Inventory, error) {
					inv := twoGPUs()
					inv.GPUs[1].MIGEnabled = true
					inv.GPUs[1].MIGDevices = []gpu.MIGDevice{{UUID: "MIG-1", Profile: "1g.5gb", GPUInstanceID: 7}}
					return inv, nil
				}
			},
			want: map[string]want{
				"gpu 0 mig":               {Fail, "sudo nvidia-smi -i 0 -mig 1"},
				"gpu mig strategy single": {Fail, "--gpu-mig-strategy"},
			},
		},
		{
			name:     "MIG on one GPU, strategy mixed",
			strategy: "mixed",
			change: func(p *GPUProbes) {
				p.Discover = func(context.Context) (*gpu.Inventory, error) {
					inv := twoGPUs()
					inv.GPUs[1].MIGEnabled = true
					inv.GPUs[1].MIGDevices = []gpu.MIGDevice{{UUID: "MIG-1", Profile: "1g.5gb", GPUInstanceID: 7}}
					return inv, nil
				}
			},
		},
		{
			name: "driver libraries missing",
			change: func(p *GPUProbes) {
				p.DriverFiles = func(*gpu.Inventory) error { return errors.New("cdi: libcuda.so.550.54.15 not found") }
			},
			want: map[string]want{"gpu driver libraries": {Fail, "libnvidia-compute"}},
		},
		{
			name:   "unreadable driver version",
			change: func(p *GPUProbes) { p.DriverVersionFile = func() (string, error) { return "garbage", nil } },
			want:   map[string]want{"nvidia driver": {Warn, "/proc/driver/nvidia/version"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := goodGPUProbes()
			if tt.change != nil {
				tt.change(&p)
			}
			checks := RunGPU(context.Background(), p, GPUOptions{MIGStrategy: tt.strategy}, dockerV2, nil)
			got := map[string]want{}
			for _, c := range checks {
				if c.Status != Pass {
					got[c.Name] = want{c.Status, c.Fix}
				}
			}
			wantFixes := map[string]want{}
			for name, w := range tt.want {
				g, ok := got[name]
				if ok && strings.Contains(g.fix, w.fix) {
					g.fix = w.fix // compare the named part only
				}
				got[name] = g
				wantFixes[name] = w
			}
			if d := cmp.Diff(wantFixes, got, cmp.AllowUnexported(want{})); d != "" {
				t.Errorf("non-passing checks (-want +got):\n%s\nall: %+v", d, checks)
			}
		})
	}
}

func TestRunGPUAllGoodDetails(t *testing.T) {
	checks := RunGPU(context.Background(), goodGPUProbes(), GPUOptions{}, dockerV2, nil)
	byName := map[string]Check{}
	for _, c := range checks {
		byName[c.Name] = c
	}
	for name, part := range map[string]string{
		"nvidia driver":            "550.54.15",
		"/dev/nvidia<N>":           "/dev/nvidia0, /dev/nvidia1",
		"gpu discovery":            "2 GPU(s) via nvidia-smi, driver 550.54.15, CUDA 12.4",
		"nvidia-container-toolkit": "not needed on the CDI path",
		"docker device access":     "cgroup v2",
		"gpu 0 mig":                "off",
	} {
		if !strings.Contains(byName[name].Detail, part) {
			t.Errorf("%s: detail %q lacks %q", name, byName[name].Detail, part)
		}
	}
}

func TestDockerDeviceAccess(t *testing.T) {
	var probed []string
	p := goodGPUProbes()
	p.DockerDeviceProbe = func(_ context.Context, image string, nodes []string) error {
		if image != "kindest/node:test" {
			t.Errorf("probe image = %q", image)
		}
		probed = nodes
		return nil
	}
	tests := []struct {
		name   string
		info   DockerInfo
		err    error
		opts   GPUOptions
		probe  func(context.Context, string, []string) error
		status Status
		detail string
		probed bool
	}{
		{name: "cgroup v2, no probe", info: dockerV2, status: Pass, detail: "not tried"},
		{name: "docker down", err: errors.New("down"), status: Fail, detail: "needs Docker"},
		{name: "rootless", info: DockerInfo{CgroupVersion: "2", Rootless: true}, status: Warn, detail: "rootless"},
		{name: "probe passes", info: dockerV2, opts: GPUOptions{DockerProbe: true, ProbeImage: "kindest/node:test"}, status: Pass, detail: "opened 4 device node(s)", probed: true},
		{name: "probe fails", info: dockerV2, opts: GPUOptions{DockerProbe: true, ProbeImage: "kindest/node:test"},
			probe: func(context.Context, string, []string) error { return errors.New("permission denied") }, status: Fail, detail: "permission denied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			probed = nil
			q := p
			if tt.probe != nil {
				q.DockerDeviceProbe = tt.probe
			}
			nodes, _ := q.DeviceNodes()
			c := checkDockerDevices(context.Background(), q, tt.opts, tt.info, tt.err, nodes)
			if c.Status != tt.status || !strings.Contains(c.Detail, tt.detail) {
				t.Errorf("got %s %q, want %s containing %q", c.Status, c.Detail, tt.status, tt.detail)
			}
			if tt.probed {
				if d := cmp.Diff([]string{"/dev/nvidia0", "/dev/nvidia1", "/dev/nvidia-uvm", "/dev/nvidiactl"}, probed); d != "" {
					t.Errorf("probed nodes (-want +got):\n%s", d)
				}
			}
		})
	}
}

func TestParseDriverVersion(t *testing.T) {
	for in, want := range map[string]string{
		procVersion: "550.54.15",
		"NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  560.35.03  Release Build":        "560.35.03",
		"NVRM version: NVIDIA UNIX x86_64 Kernel Module  470.256.02  Thu May  2 14:37:44 UTC 2024": "470.256.02",
		"nothing": "",
	} {
		if got, _ := ParseDriverVersion(in); got != want {
			t.Errorf("ParseDriverVersion(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCharDevices(t *testing.T) {
	dir := t.TempDir()
	// regular files are not device nodes, and are skipped
	if err := os.WriteFile(filepath.Join(dir, "nvidia0"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := charDevices(dir, "nvidia*")
	if err != nil || len(got) != 0 {
		t.Errorf("charDevices = %v, %v; want none", got, err)
	}
}
