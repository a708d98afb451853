package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kfup/kfup/bootstrap"
	"github.com/kfup/kfup/components/nvidia"
	"github.com/kfup/kfup/gpu"
	"github.com/kfup/kfup/internal/errs"
)

func TestTestGPUOptions(t *testing.T) {
	f, _, _ := testFactory(t)
	var got *TestOptions
	err := execute(f, NewCmdTest(f, func(_ context.Context, o *TestOptions) error { got = o; return nil }),
		"test", "--gpu", "--gpu-image", "cuda:1", "--gpu-image-pytorch", "torch:1", "--gpu-timeout", "3m")
	if err != nil {
		t.Fatal(err)
	}
	want := &TestOptions{Name: "kfup", Timeout: 2 * time.Minute, Output: OutputTable, GPU: true, GPUImage: "cuda:1", GPUImagePyTorch: "torch:1", GPUTimeout: 3 * time.Minute}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("options (-want +got):\n%s", d)
	}

	for _, args := range [][]string{
		{"--gpu-image-pytorch", "torch:1"},
		{"--gpu-image", "cuda:1"},
		{"--gpu-timeout", "1m"},
		{"--gpu", "--gpu-timeout", "0s"},
		{"--gpu", "--gpu-image", ""},
	} {
		f, _, _ := testFactory(t)
		called := false
		err := execute(f, NewCmdTest(f, func(context.Context, *TestOptions) error { called = true; return nil }), append([]string{"test"}, args...)...)
		if ExitCode(err) != ExitUsage || called {
			t.Errorf("test %s: err %v (called %v), want a usage error", strings.Join(args, " "), err, called)
		}
	}
}

func TestGPURows(t *testing.T) {
	got := gpuRows([]nvidia.GPUSmokeResult{{Name: "gpu resource", Healthy: true, Message: "node w advertises nvidia.com/gpu"}, {Name: "nvidia-smi pod", Message: "listed no GPU"}})
	want := []bootstrap.ComponentHealth{{Name: "gpu: gpu resource", Healthy: true, Message: "node w advertises nvidia.com/gpu"}, {Name: "gpu: nvidia-smi pod", Message: "listed no GPU"}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

// kfup test --gpu --gpu-image-pytorch stops before any smoke test when the image's CUDA
// major is newer than the driver's, with the fix; exit 3 (preflight).
func TestTestGPUStopsOnOldDriverCUDA(t *testing.T) {
	f, _, errOut := testFactory(t)
	store := bootstrap.Store{Dir: t.TempDir()}
	if err := store.Save(&bootstrap.Record{Name: "kfup", Provider: bootstrap.ProviderKind, Components: []string{"manager", nvidia.Name}}); err != nil {
		t.Fatal(err)
	}
	f.Env = func() (*bootstrap.Env, error) { return &bootstrap.Env{Store: store}, nil }
	f.GPUs = func(context.Context) (*gpu.Inventory, error) {
		return &gpu.Inventory{DriverVersion: "470.256.02", CUDAVersion: "11.4", GPUs: []gpu.Device{{Index: 0, UUID: "GPU-a"}}}, nil
	}
	f.ImageEnv = func(context.Context, string) []string { return nil }
	err := runTest(context.Background(), f, &TestOptions{Name: "kfup", Timeout: time.Minute, Output: OutputTable,
		GPU: true, GPUImage: nvidia.DefaultSMIImage, GPUImagePyTorch: nvidia.ExamplePyTorchImage, GPUTimeout: time.Minute})
	if ExitCode(err) != ExitPreflight {
		t.Fatalf("err %v (exit %d), want a preflight error", err, ExitCode(err))
	}
	for _, want := range []string{"--gpu-image-pytorch", nvidia.ExamplePyTorchImage, "needs CUDA 12.4", "supports CUDA 11.4"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if h := errs.HintOf(err); !strings.Contains(h, "at most 11.4") {
		t.Errorf("hint %q lacks the image to use", h)
	}
	if strings.Contains(errOut.String(), "Running smoke tests") {
		t.Errorf("smoke tests ran before the CUDA check:\n%s", errOut)
	}
}

func TestCheckPyTorchCUDA(t *testing.T) {
	store := bootstrap.Store{Dir: t.TempDir()}
	noGPU := func(context.Context) (*gpu.Inventory, error) { return nil, gpu.ErrNoDriver }
	driver := func(cuda string) func(context.Context) (*gpu.Inventory, error) {
		return func(context.Context) (*gpu.Inventory, error) { return &gpu.Inventory{CUDAVersion: cuda}, nil }
	}
	tests := []struct {
		name     string
		provider string // kind when empty
		gpus     func(context.Context) (*gpu.Inventory, error)
		recorded string // the inventory kfup create --gpu wrote, "" for none
		env      []string
		image    string
		fails    bool
		note     string
	}{
		{name: "same version", gpus: driver("12.4"), image: nvidia.ExamplePyTorchImage, note: "needs CUDA 12.4, the driver supports 12.4"},
		{name: "older minor", gpus: driver("12.2"), image: nvidia.ExamplePyTorchImage, note: "minor version compatibility"},
		{name: "older major", gpus: driver("11.8"), image: nvidia.ExamplePyTorchImage, fails: true},
		{name: "the image's environment wins over its tag", gpus: driver("11.8"), env: []string{"CUDA_VERSION=11.8.0"}, image: nvidia.ExamplePyTorchImage, note: "needs CUDA 11.8"},
		{name: "no driver now: the recorded inventory", gpus: noGPU, recorded: `{"cudaVersion":"11.4","gpus":[{"index":0}]}`, image: nvidia.ExamplePyTorchImage, fails: true},
		{name: "nothing known about the driver", gpus: noGPU, image: nvidia.ExamplePyTorchImage, note: "driver's CUDA version is unknown: not checked"},
		{name: "nothing known about the image", gpus: driver("11.4"), image: "example.com/torch:v1", note: "CUDA version unknown"},
		// this host's GPUs are not an existing cluster's
		{name: "existing cluster: host not asked", provider: bootstrap.ProviderExisting, gpus: driver("11.4"), image: nvidia.ExamplePyTorchImage, note: "driver's CUDA version is unknown: not checked"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, _, _ := testFactory(t)
			f.GPUs = tc.gpus
			f.ImageEnv = func(_ context.Context, image string) []string {
				if image != tc.image {
					t.Errorf("ImageEnv(%q), want %q", image, tc.image)
				}
				return tc.env
			}
			name := fmt.Sprintf("c%d", i)
			if tc.recorded != "" {
				dir := filepath.Join(store.ClusterDir(name), "gpu")
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, "inventory.json"), []byte(tc.recorded), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			rec := &bootstrap.Record{Name: name, Provider: bootstrap.ProviderKind}
			if tc.provider != "" {
				rec.Provider = tc.provider
			}
			row, err := checkPyTorchCUDA(context.Background(), f, store, rec, tc.image)
			if tc.fails {
				if errs.KindOf(err) != errs.KindPreflight {
					t.Fatalf("row %+v, err %v; want a preflight error", row, err)
				}
				return
			}
			if err != nil || !row.Healthy || row.Name != "gpu: cuda version" || !strings.Contains(row.Message, tc.note) {
				t.Fatalf("row %+v, err %v; want a healthy row noting %q", row, err, tc.note)
			}
		})
	}
}
