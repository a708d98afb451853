package nvidia

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

const smiLog = "GPU 0: NVIDIA A100-SXM4-40GB (UUID: GPU-5e3c1e2a-1b2c-3d4e-5f60-718293a4b5c6)\n"

const migLog = `GPU 0: NVIDIA A100-SXM4-40GB (UUID: GPU-5e3c1e2a-1b2c-3d4e-5f60-718293a4b5c6)
  MIG 1g.5gb      Device  0: (UUID: MIG-1a2b3c4d-5e6f-7081-92a3-b4c5d6e7f809)
`

const torchLog = "cuda_available=True\ndevice=NVIDIA A100-SXM4-40GB\nmax_abs_err=3.05176e-05\nKFUP_MATMUL_OK\n"

func gpuNode(name string, res map[string]string) corev1.Node {
	n := corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{LabelGPUPresent: "true"}}}
	n.Status.Allocatable = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("8")}
	for k, v := range res {
		n.Status.Allocatable[corev1.ResourceName(k)] = resource.MustParse(v)
	}
	return n
}

func TestPickResource(t *testing.T) {
	tests := []struct {
		name     string
		nodes    []corev1.Node
		want     string
		wantNode string
		wantErr  bool
	}{
		{name: "whole GPUs", nodes: []corev1.Node{gpuNode("cp", nil), gpuNode("w", map[string]string{"nvidia.com/gpu": "2"})}, want: "nvidia.com/gpu", wantNode: "w"},
		{name: "shared", nodes: []corev1.Node{gpuNode("w", map[string]string{"nvidia.com/gpu.shared": "4"})}, want: "nvidia.com/gpu.shared", wantNode: "w"},
		{name: "gpu beats mig", nodes: []corev1.Node{gpuNode("w", map[string]string{"nvidia.com/mig-1g.5gb": "7", "nvidia.com/gpu": "1"})}, want: "nvidia.com/gpu", wantNode: "w"},
		{name: "mig by name", nodes: []corev1.Node{gpuNode("w", map[string]string{"nvidia.com/mig-3g.20gb": "2", "nvidia.com/mig-1g.5gb": "7"})}, want: "nvidia.com/mig-1g.5gb", wantNode: "w"},
		{name: "zero is not advertised", nodes: []corev1.Node{gpuNode("w", map[string]string{"nvidia.com/gpu": "0"})}, wantErr: true},
		{name: "no nodes", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, node, err := PickResource(tt.nodes)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if got != tt.want || node != tt.wantNode {
				t.Errorf("got %q on %q, want %q on %q", got, node, tt.want, tt.wantNode)
			}
		})
	}
}

func TestSmokePods(t *testing.T) {
	for _, p := range []*corev1.Pod{SMIPod("ns", "img:1", "nvidia.com/gpu.shared"), PyTorchPod("ns", "img:1", "nvidia.com/gpu.shared")} {
		t.Run(p.Name, func(t *testing.T) {
			if p.Namespace != "ns" || p.Spec.RestartPolicy != corev1.RestartPolicyNever {
				t.Errorf("namespace %q restart %q", p.Namespace, p.Spec.RestartPolicy)
			}
			if d := cmp.Diff(map[string]string{LabelGPUPresent: "true"}, p.Spec.NodeSelector); d != "" {
				t.Errorf("node selector (-want +got):\n%s", d)
			}
			c := p.Spec.Containers[0]
			if c.Image != "img:1" || c.ImagePullPolicy != corev1.PullIfNotPresent {
				t.Errorf("image %q pull %q", c.Image, c.ImagePullPolicy)
			}
			q := c.Resources.Limits["nvidia.com/gpu.shared"]
			if q.Value() != 1 || len(c.Resources.Limits) != 1 {
				t.Errorf("limits = %v, want one nvidia.com/gpu.shared", c.Resources.Limits)
			}
			if len(p.Spec.Tolerations) != 1 || p.Spec.Tolerations[0].Key != "nvidia.com/gpu" {
				t.Errorf("tolerations = %v", p.Spec.Tolerations)
			}
			if c.Command[0] != "sh" || !strings.Contains(c.Command[2], "/usr/local/nvidia/lib64") {
				t.Errorf("command = %q", c.Command)
			}
		})
	}
	if got := SMIPod("ns", "i", "nvidia.com/gpu").Spec.Containers[0].Command[2]; !strings.HasSuffix(got, "nvidia-smi -L") {
		t.Errorf("nvidia-smi pod runs %q", got)
	}
}

// TestPyTorchPodPassesTheScript runs the pod's shell line with a fake python that
// records its -c argument: the script must arrive intact through sh's quoting.
func TestPyTorchPodPassesTheScript(t *testing.T) {
	dir := t.TempDir()
	got := filepath.Join(dir, "got")
	fake := "#!/bin/sh\nprintf '%s' \"$2\" > " + got + "\n"
	if err := os.WriteFile(filepath.Join(dir, "python"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := PyTorchPod("ns", "i", "nvidia.com/gpu").Spec.Containers[0].Command
	run := exec.Command(cmd[0], cmd[1:]...)
	run.Env = []string{"PATH=" + dir + ":/usr/bin:/bin"}
	if out, err := run.CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	b, err := os.ReadFile(got)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(pytorchScript, string(b)); d != "" {
		t.Errorf("script (-want +got):\n%s", d)
	}
}

func TestCheckSMILog(t *testing.T) {
	tests := []struct {
		name, log string
		want      []string
		wantErr   string
	}{
		{name: "one GPU", log: smiLog, want: []string{strings.TrimSpace(smiLog)}},
		{name: "MIG", log: migLog, want: []string{
			"GPU 0: NVIDIA A100-SXM4-40GB (UUID: GPU-5e3c1e2a-1b2c-3d4e-5f60-718293a4b5c6)",
			"MIG 1g.5gb      Device  0: (UUID: MIG-1a2b3c4d-5e6f-7081-92a3-b4c5d6e7f809)",
		}},
		{name: "CRLF", log: strings.ReplaceAll(smiLog, "\n", "\r\n"), want: []string{strings.TrimSpace(smiLog)}},
		{name: "no devices", log: "No devices found.\n", wantErr: "No devices found."},
		{name: "no driver", log: "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\n", wantErr: "couldn't communicate"},
		{name: "not found", log: "sh: 1: nvidia-smi: not found\n", wantErr: "nvidia-smi: not found"},
		{name: "empty", wantErr: "(empty log)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CheckSMILog(tt.log)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestCheckPyTorchLog(t *testing.T) {
	tests := []struct {
		name, log, want, wantErr string
	}{
		{name: "good", log: torchLog, want: "cuda on NVIDIA A100-SXM4-40GB, matmul max abs error 3.05176e-05"},
		{name: "no cuda", log: "cuda_available=False\n", wantErr: "is_available() is False"},
		{name: "wrong product", log: "cuda_available=True\ndevice=X\nmax_abs_err=12.5\n", wantErr: "differs from the CPU's by 12.5"},
		{name: "crashed", log: "cuda_available=True\ndevice=X\nRuntimeError: CUDA error: no kernel image is available\n", wantErr: "did not finish"},
		{name: "no torch", log: "ModuleNotFoundError: No module named 'torch'\n", wantErr: "No module named 'torch'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CheckPyTorchLog(tt.log)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// fakeCluster is a fake clientset whose pods finish with phase at creation.
func fakeCluster(phase corev1.PodPhase, nodes ...corev1.Node) (*fake.Clientset, *[]*corev1.Pod) {
	var objs []runtime.Object
	for i := range nodes {
		objs = append(objs, &nodes[i])
	}
	cs := fake.NewClientset(objs...)
	var created []*corev1.Pod
	cs.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		p := a.(k8stesting.CreateAction).GetObject().(*corev1.Pod)
		created = append(created, p.DeepCopy())
		p.Status.Phase = phase
		return false, nil, nil
	})
	return cs, &created
}

func TestRunGPUSmoke(t *testing.T) {
	logs := map[string]string{SMIPodName: smiLog, PyTorchPodName: torchLog}
	fakeLogs := func(_ context.Context, _, name string) (string, error) { return logs[name], nil }
	node := gpuNode("kfup-worker", map[string]string{"nvidia.com/gpu.shared": "2"})

	t.Run("nvidia-smi and pytorch pass; pods are deleted", func(t *testing.T) {
		cs, created := fakeCluster(corev1.PodSucceeded, node)
		got, err := RunGPUSmoke(context.Background(), cs, GPUSmokeOptions{PyTorchImage: "torch:1", Poll: time.Millisecond, Logs: fakeLogs})
		if err != nil {
			t.Fatal(err)
		}
		want := []GPUSmokeResult{
			{Name: "gpu resource", Healthy: true, Message: "node kfup-worker advertises nvidia.com/gpu.shared"},
			{Name: "nvidia-smi pod", Healthy: true, Message: strings.TrimSpace(smiLog)},
			{Name: "pytorch matmul pod", Healthy: true, Message: "cuda on NVIDIA A100-SXM4-40GB, matmul max abs error 3.05176e-05"},
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("results (-want +got):\n%s", d)
		}
		var images []string
		for _, p := range *created {
			images = append(images, p.Spec.Containers[0].Image)
			if q := p.Spec.Containers[0].Resources.Limits["nvidia.com/gpu.shared"]; q.Value() != 1 {
				t.Errorf("pod %s limits %v", p.Name, p.Spec.Containers[0].Resources.Limits)
			}
		}
		if d := cmp.Diff([]string{DefaultSMIImage, "torch:1"}, images); d != "" {
			t.Errorf("images (-want +got):\n%s", d)
		}
		left, _ := cs.CoreV1().Pods(SmokeNamespace).List(context.Background(), metav1.ListOptions{})
		if len(left.Items) != 0 {
			t.Errorf("%d smoke pod(s) left behind", len(left.Items))
		}
	})

	t.Run("no GPU resource stops before any pod", func(t *testing.T) {
		cs, created := fakeCluster(corev1.PodSucceeded, gpuNode("kfup-control-plane", nil))
		got, err := RunGPUSmoke(context.Background(), cs, GPUSmokeOptions{Poll: time.Millisecond, Logs: fakeLogs})
		if err == nil || !strings.Contains(err.Error(), "kfup create --gpu") {
			t.Fatalf("err = %v", err)
		}
		if len(*created) != 0 || len(got) != 1 || got[0].Healthy {
			t.Errorf("created %d pods, results %+v", len(*created), got)
		}
	})

	t.Run("failed pod reports its log", func(t *testing.T) {
		cs, _ := fakeCluster(corev1.PodFailed, node)
		failing := func(context.Context, string, string) (string, error) {
			return "Failed to initialize NVML: Unknown Error\n", nil
		}
		got, err := RunGPUSmoke(context.Background(), cs, GPUSmokeOptions{Poll: time.Millisecond, Logs: failing})
		if err == nil || !strings.Contains(err.Error(), "Failed to initialize NVML") {
			t.Fatalf("err = %v", err)
		}
		if len(got) != 2 || got[1].Name != "nvidia-smi pod" || got[1].Healthy {
			t.Errorf("results %+v", got)
		}
	})

	t.Run("a pod that never finishes says why", func(t *testing.T) {
		cs, _ := fakeCluster(corev1.PodPending, node)
		cs.PrependReactor("get", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
			p := SMIPod(SmokeNamespace, DefaultSMIImage, "nvidia.com/gpu.shared")
			p.Status.Phase = corev1.PodPending
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff"}}}}
			return true, p, nil
		})
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, err := RunGPUSmoke(ctx, cs, GPUSmokeOptions{Poll: time.Millisecond, Logs: fakeLogs})
		if err == nil || !strings.Contains(err.Error(), "ImagePullBackOff (offline: load the image") {
			t.Fatalf("err = %v", err)
		}
	})
}
