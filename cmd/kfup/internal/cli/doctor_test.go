package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/kfup/kfup/bootstrap/preflight"
	"github.com/kfup/kfup/gpu"
	"github.com/kfup/kfup/internal/errs"
)

func passingProbes() preflight.Probes {
	return preflight.Probes{
		DockerInfo: func(context.Context) (preflight.DockerInfo, error) {
			return preflight.DockerInfo{ServerVersion: "27.1.0", CgroupVersion: "2", NCPU: 8, MemTotal: 16 * preflight.GiB, DockerRootDir: "/var/lib/docker"}, nil
		},
		HostCPUs:   func() int { return 8 },
		HostMemory: func() (uint64, error) { return 16 * preflight.GiB, nil },
		DiskFree:   func(string) (uint64, error) { return 100 * preflight.GiB, nil },
		Sysctl: func(name string) (string, error) {
			if strings.HasSuffix(name, "watches") {
				return "524288", nil
			}
			return "8192", nil
		},
		PortFree:     func(string, int) bool { return true },
		ImagePresent: func(context.Context, string) (bool, error) { return true, nil },
	}
}

func doctorOpts(output string) *DoctorOptions {
	return &DoctorOptions{Output: output, HTTPPort: 80, HTTPSPort: 443, ListenAddress: "127.0.0.1", NodeImage: "kindest/node:v1.37.2"}
}

func TestRunDoctorAllPass(t *testing.T) {
	var out bytes.Buffer
	if err := runDoctor(context.Background(), &out, passingProbes(), doctorOpts(OutputTable)); err != nil {
		t.Fatalf("runDoctor: %v", err)
	}
	s := out.String()
	for _, want := range []string{"pass", "docker", "memory", "host port 80", "host port 443", "node image"} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	for _, bad := range []string{"fail", "warn", "fix:"} {
		if strings.Contains(s, bad) {
			t.Errorf("output of a healthy host contains %q:\n%s", bad, s)
		}
	}
}

func TestRunDoctorFailing(t *testing.T) {
	p := passingProbes()
	p.DockerInfo = func(context.Context) (preflight.DockerInfo, error) {
		return preflight.DockerInfo{}, errors.New("cannot connect to the Docker daemon")
	}
	var out bytes.Buffer
	err := runDoctor(context.Background(), &out, p, doctorOpts(OutputTable))
	if err == nil {
		t.Fatal("runDoctor: want error")
	}
	if k := errs.KindOf(err); k != errs.KindPreflight {
		t.Errorf("kind = %v, want preflight", k)
	}
	if code := ExitCode(err); code != ExitPreflight {
		t.Errorf("ExitCode = %d, want %d", code, ExitPreflight)
	}
	if !strings.Contains(err.Error(), "docker") {
		t.Errorf("error %q does not name the failed check", err)
	}
	if h := errs.HintOf(err); !strings.Contains(h, "docker") {
		t.Errorf("hint %q is not the docker fix", h)
	}
	s := out.String()
	if !strings.Contains(s, "fail") || !strings.Contains(s, "fix:") {
		t.Errorf("output lacks the failure and its fix:\n%s", s)
	}
}

func TestRunDoctorWarningIsNotAnError(t *testing.T) {
	p := passingProbes()
	p.PortFree = func(_ string, port int) bool { return port != 80 }
	var out bytes.Buffer
	if err := runDoctor(context.Background(), &out, p, doctorOpts(OutputTable)); err != nil {
		t.Fatalf("runDoctor: %v (a busy default port only warns)", err)
	}
	if !strings.Contains(out.String(), "warn") {
		t.Errorf("output lacks the warning:\n%s", out.String())
	}
}

func TestRunDoctorJSON(t *testing.T) {
	p := passingProbes()
	p.DiskFree = func(string) (uint64, error) { return 1 << 30, nil }
	var out bytes.Buffer
	err := runDoctor(context.Background(), &out, p, doctorOpts(OutputJSON))
	if errs.KindOf(err) != errs.KindPreflight {
		t.Fatalf("err = %v, want a preflight error", err)
	}
	var checks []preflight.Check
	if err := json.Unmarshal(out.Bytes(), &checks); err != nil {
		t.Fatalf("output is not JSON checks: %v\n%s", err, out.String())
	}
	failed := preflight.Failed(checks)
	if len(failed) != 1 || failed[0].Name != "disk" || failed[0].Fix == "" {
		t.Errorf("failed checks = %+v, want disk with a fix", failed)
	}
}

func gpuProbes(mig bool) preflight.GPUProbes {
	return preflight.GPUProbes{
		DriverVersionFile: func() (string, error) {
			return "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15  Tue Mar  5 22:23:56 UTC 2024\n", nil
		},
		DeviceNodes: func() ([]string, error) { return []string{"/dev/nvidia0", "/dev/nvidia-uvm", "/dev/nvidiactl"}, nil },
		Discover: func(context.Context) (*gpu.Inventory, error) {
			return &gpu.Inventory{Source: gpu.SourceNVIDIASMI, DriverVersion: "550.54.15", GPUs: []gpu.Device{
				{Index: 0, Name: "NVIDIA A100-SXM4-40GB", UUID: "GPU-a", MIGEnabled: mig},
			}}, nil
		},
		DriverFiles: func(*gpu.Inventory) error { return nil },
		LookPath:    func(string) (string, error) { return "", errors.New("not found") },
	}
}

func TestRunDoctorGPU(t *testing.T) {
	t.Run("without --gpu no GPU check runs", func(t *testing.T) {
		p := passingProbes()
		p.GPU = gpuProbes(true) // would fail, were it checked
		var out bytes.Buffer
		if err := runDoctor(context.Background(), &out, p, doctorOpts(OutputTable)); err != nil {
			t.Fatalf("runDoctor: %v", err)
		}
		if strings.Contains(out.String(), "nvidia") {
			t.Errorf("doctor without --gpu printed GPU checks:\n%s", out.String())
		}
	})
	t.Run("all good", func(t *testing.T) {
		p := passingProbes()
		p.GPU = gpuProbes(false)
		o := doctorOpts(OutputTable)
		o.GPU, o.GPUMIGStrategy = true, "none"
		var out bytes.Buffer
		if err := runDoctor(context.Background(), &out, p, o); err != nil {
			t.Fatalf("runDoctor: %v\n%s", err, out.String())
		}
		for _, want := range []string{"nvidia driver", "kernel module 550.54.15", "gpu discovery", "not needed on the CDI path", "gpu 0 mig"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("output lacks %q:\n%s", want, out.String())
			}
		}
	})
	t.Run("MIG mismatch fails with the fix", func(t *testing.T) {
		p := passingProbes()
		p.GPU = gpuProbes(true)
		o := doctorOpts(OutputTable)
		o.GPU, o.GPUMIGStrategy = true, "none"
		var out bytes.Buffer
		err := runDoctor(context.Background(), &out, p, o)
		if ExitCode(err) != ExitPreflight {
			t.Fatalf("runDoctor: %v, want a preflight error", err)
		}
		if !strings.Contains(err.Error(), "gpu 0 mig") || !strings.Contains(errs.HintOf(err), "sudo nvidia-smi -i 0 -mig 0") {
			t.Errorf("error %q, hint %q: want the MIG check and its fix", err, errs.HintOf(err))
		}
		if !strings.Contains(out.String(), "→ fix: sudo nvidia-smi -i 0 -mig 0") {
			t.Errorf("output lacks the fix:\n%s", out.String())
		}
	})
}
