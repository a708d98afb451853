package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kfup/kfup/bootstrap"
	"github.com/kfup/kfup/components/nvidia"
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
