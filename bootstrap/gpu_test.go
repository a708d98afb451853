package bootstrap

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kfup/kfup/gpu"
	"github.com/kfup/kfup/internal/errs"
	"github.com/kfup/kfup/internal/testio"
)

// smiHost is discovery on a host whose nvidia-smi fails with err: the real classification
// of gpu.Discover (no driver, no devices), without NVML.
func smiHost(err error) func(ctx context.Context) (*gpu.Inventory, error) {
	return func(ctx context.Context) (*gpu.Inventory, error) {
		return gpu.Discover(ctx, gpu.WithoutNVML(), gpu.WithRunner(func(context.Context, string, ...string) ([]byte, error) {
			return nil, err
		}))
	}
}

// fixedHost is discovery that finds inv.
func fixedHost(inv *gpu.Inventory) func(ctx context.Context) (*gpu.Inventory, error) {
	return func(context.Context) (*gpu.Inventory, error) { return inv, nil }
}

func migInventory() *gpu.Inventory {
	return &gpu.Inventory{Source: gpu.SourceNVIDIASMI, DriverVersion: "550.54.15", GPUs: []gpu.Device{
		{Index: 0, Name: "NVIDIA A100-SXM4-40GB", UUID: "GPU-aaa", MemoryMiB: 40960},
		{Index: 1, Minor: 1, Name: "NVIDIA A100-SXM4-40GB", UUID: "GPU-bbb", MemoryMiB: 40960, MIGEnabled: true,
			MIGDevices: []gpu.MIGDevice{{UUID: "MIG-bbb-0", Profile: "3g.20gb", GPUInstanceID: 1}}},
	}}
}

// TestCreateGPUPreflight: `kfup create --gpu` on a host that cannot give the node GPUs
// stops at "Finding GPUs", before kind runs: no node, no record or cluster directory, no
// change to the user's kubeconfig.
func TestCreateGPUPreflight(t *testing.T) {
	tests := []struct {
		name     string
		discover func(ctx context.Context) (*gpu.Inventory, error)
		gpu      GPUOptions
		wantErr  string
		wantKind errs.Kind
		wantHint string
	}{{
		name:     "no driver",
		discover: smiHost(exec.ErrNotFound),
		gpu:      GPUOptions{Mode: GPUOn},
		wantErr:  "--gpu: no NVIDIA driver found: nvidia-smi is not on PATH", wantKind: errs.KindPreflight,
		wantHint: "install the NVIDIA driver",
	}, {
		name:     "driver without devices",
		discover: smiHost(&gpu.CommandError{Cmd: "nvidia-smi", Code: 6, Output: "No devices were found\n"}),
		gpu:      GPUOptions{Mode: GPUOn},
		wantErr:  "the NVIDIA driver reports no GPUs", wantKind: errs.KindPreflight,
		wantHint: "nvidia-smi -L",
	}, {
		name:     "--gpus out of range names the valid ones",
		discover: fixedHost(migInventory()),
		gpu:      GPUOptions{Mode: GPUOn, Select: []string{"4"}},
		wantErr:  `--gpus: no GPU "4"`, wantKind: errs.KindUsage, wantHint: "0 (GPU-aaa), 1 (GPU-bbb)",
	}, {
		name:     "MIG on with strategy none: the fix is named",
		discover: fixedHost(migInventory()),
		gpu:      GPUOptions{Mode: GPUOn, MIGStrategy: "none"},
		wantErr:  "GPU 1 has MIG on: use MIG strategy single or mixed, or turn MIG off with 'sudo nvidia-smi -i 1 -mig 0'",
		wantKind: errs.KindPreflight, wantHint: "--gpu-mig-strategy",
	}, {
		name:     "driver files missing (no libcuda under the driver root)",
		discover: fixedHost(migInventory()),
		gpu:      GPUOptions{Mode: GPUOn, Select: []string{"0"}},
		wantErr:  "cdi: /dev/nvidiactl not found", wantKind: errs.KindPreflight, wantHint: "nvidia-smi",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLifecycle(t)
			before, err := os.ReadFile(l.kubeconfig)
			if err != nil {
				t.Fatal(err)
			}
			o := l.opts("x")
			o.GPU = tt.gpu
			var out testio.Buffer
			env := l.env(&out)
			env.DiscoverGPUs, env.GPURoot = tt.discover, t.TempDir() // an empty driver root
			_, err = Create(context.Background(), env, o)
			checkErr(t, err, tt.wantErr, tt.wantKind, tt.wantHint)
			if calls := l.kind.Calls(); len(calls) != 0 {
				t.Errorf("provider calls %v, want none", calls)
			}
			if _, ok := l.kind.state("x"); ok {
				t.Error("a node container was created")
			}
			if _, err := os.Stat(l.store.ClusterDir("x")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("cluster directory %s: %v, want none", l.store.ClusterDir("x"), err)
			}
			if after, _ := os.ReadFile(l.kubeconfig); !bytes.Equal(before, after) {
				t.Errorf("kubeconfig changed:\n%s", after)
			}
			want := []string{` ✓ Checking the host`, ` ✗ Finding GPUs`}
			if diff := cmp.Diff(want, steps(out.String())); diff != "" {
				t.Errorf("status lines (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCreateGPUAuto: --gpu=auto on a host without GPUs says so and creates the cluster
// without them.
func TestCreateGPUAuto(t *testing.T) {
	l := newLifecycle(t)
	o := l.opts("x")
	o.GPU = GPUOptions{Mode: GPUAuto}
	var out testio.Buffer
	env := l.env(&out)
	env.DiscoverGPUs = smiHost(exec.ErrNotFound)
	rec, err := Create(context.Background(), env, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.GPUs) != 0 {
		t.Errorf("record GPUs %v, want none", rec.GPUs)
	}
	want := append([]string{newSteps[0],
		"WARNING: --gpu=auto: no NVIDIA driver found: nvidia-smi is not on PATH; creating the cluster without GPUs",
		` ✓ Finding GPUs`}, newSteps[1:]...)
	if diff := cmp.Diff(want, steps(out.String())); diff != "" {
		t.Errorf("status lines (-want +got):\n%s", diff)
	}
	for _, n := range env.KindConfig.Nodes {
		if len(n.ExtraMounts) != 0 || n.Labels[gpu.LabelPresent] != "" {
			t.Errorf("node %+v has GPU wiring", n)
		}
	}
}

// TestCreateGPUConvergeWithoutGPUs: --gpu on a cluster created without GPUs cannot add
// them (mounts are fixed at creation) and says how.
func TestCreateGPUConvergeWithoutGPUs(t *testing.T) {
	l := newLifecycle(t)
	saveRecord(t, l, ProviderKind, PhaseReady)
	l.kind.setNodes(t, "x", "running")
	o := l.opts("x")
	o.GPU = GPUOptions{Mode: GPUOn}
	var out testio.Buffer
	_, err := Create(context.Background(), l.env(&out), o)
	checkErr(t, err, `cluster "x" was created without GPUs`, errs.KindConflict, "kfup delete --name x")
}

func TestGPUOptionsValidate(t *testing.T) {
	for _, tt := range []struct {
		o       GPUOptions
		wantErr string
	}{
		{o: GPUOptions{}},
		{o: GPUOptions{Mode: GPUOn, Select: []string{"0"}, Share: 64, MIGStrategy: "mixed"}},
		{o: GPUOptions{Mode: GPUAuto, Share: 1, MIGStrategy: "none"}},
		{o: GPUOptions{Mode: "maybe"}, wantErr: "--gpu=maybe: unknown value"},
		{o: GPUOptions{Mode: GPUOn, Share: 65}, wantErr: "--gpu-share 65: out of range"},
		{o: GPUOptions{Mode: GPUOn, Share: -1}, wantErr: "--gpu-share -1: out of range"},
		{o: GPUOptions{Mode: GPUOn, MIGStrategy: "all"}, wantErr: `unknown --gpu-mig-strategy "all"`},
		{o: GPUOptions{Select: []string{"0"}}, wantErr: "need --gpu"},
	} {
		err := tt.o.Validate()
		if tt.wantErr == "" {
			if err != nil {
				t.Errorf("%+v: %v", tt.o, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) || errs.KindOf(err) != errs.KindUsage || errs.HintOf(err) == "" {
			t.Errorf("%+v: err %v, want usage error with %q and a hint", tt.o, err, tt.wantErr)
		}
	}
	o := CreateOptions{Name: "x", Provider: ProviderExisting, Wait: 1, GPU: GPUOptions{Mode: GPUOn}}
	if err := o.Validate(); err == nil || !strings.Contains(err.Error(), "--gpu needs --provider kind") {
		t.Errorf("existing + --gpu: %v", err)
	}
}

// fakeDriverRoot is a host's driver files under a temp dir: regular files where a host
// has device nodes, libraries and nvidia-smi (the CDI spec only checks that they exist).
func fakeDriverRoot(t *testing.T, version string, minors ...int) string {
	t.Helper()
	dir := t.TempDir()
	files := []string{"/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools", "/usr/bin/nvidia-smi",
		"/usr/lib/x86_64-linux-gnu/libcuda.so." + version, "/usr/lib/x86_64-linux-gnu/libnvidia-ml.so." + version}
	for _, m := range minors {
		files = append(files, fmt.Sprintf("/dev/nvidia%d", m))
	}
	for _, f := range files {
		writeFile(t, filepath.Join(dir, f), "")
	}
	return dir
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestCreateGPU: create --gpus 1 on a host with two GPUs wires GPU 1 alone: the spec and
// inventory files in the cluster's directory, the node's mounts and labels, CDI on in
// containerd, the GPU in the record.
func TestCreateGPU(t *testing.T) {
	l := newLifecycle(t)
	o := l.opts("x")
	o.GPU = GPUOptions{Mode: GPUOn, Select: []string{"GPU-bbb"}}
	var out testio.Buffer
	env := l.env(&out)
	inv := migInventory()
	inv.GPUs[1].MIGEnabled, inv.GPUs[1].MIGDevices = false, nil
	env.DiscoverGPUs, env.GPURoot = fixedHost(inv), fakeDriverRoot(t, "550.54.15", 1)
	rec, err := Create(context.Background(), env, o)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if diff := cmp.Diff([]string{"GPU-bbb"}, rec.GPUs); diff != "" {
		t.Errorf("record GPUs (-want +got):\n%s", diff)
	}
	dir := filepath.Join(l.store.ClusterDir("x"), "gpu")
	spec, err := os.ReadFile(filepath.Join(dir, "nvidia.yaml"))
	if err != nil || !strings.Contains(string(spec), "name: GPU-bbb") || strings.Contains(string(spec), "GPU-aaa") {
		t.Errorf("spec file: %v\n%s", err, spec)
	}
	var got gpu.Inventory
	if b, err := os.ReadFile(filepath.Join(dir, "inventory.json")); err != nil || json.Unmarshal(b, &got) != nil || len(got.GPUs) != 1 || got.GPUs[0].UUID != "GPU-bbb" {
		t.Errorf("inventory file: %v %+v", err, got)
	}
	n := env.KindConfig.Nodes[0]
	var paths []string
	for _, m := range n.ExtraMounts {
		paths = append(paths, m.ContainerPath)
	}
	want := []string{"/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools", "/dev/nvidia1",
		"/usr/lib/x86_64-linux-gnu/libcuda.so.550.54.15", "/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.550.54.15",
		"/usr/bin/nvidia-smi", NodeCDISpec, NodeGPUInventory}
	if diff := cmp.Diff(want, paths); diff != "" {
		t.Errorf("node mounts (-want +got):\n%s", diff)
	}
	if n.Labels[gpu.LabelCount] != "1" || n.Labels[gpu.LabelPresent] != "true" {
		t.Errorf("labels %v", n.Labels)
	}
	if len(env.KindConfig.ContainerdConfigPatches) != 1 {
		t.Errorf("containerd patches %v, want the CDI one", env.KindConfig.ContainerdConfigPatches)
	}
}
