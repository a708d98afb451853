package nvidia

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
)

// The GPU smoke test (kfup test --gpu) runs real GPU work where Smoke only checks that a
// resource is advertised: a pod listing its GPU with nvidia-smi, and optionally a PyTorch
// pod multiplying matrices on CUDA and checking the product.

// DefaultSMIImage is the image of the nvidia-smi pod: a CUDA base image, which has
// /usr/local/nvidia/lib64 on LD_LIBRARY_PATH where kfup's CDI spec mounts the driver.
const DefaultSMIImage = "nvcr.io/nvidia/cuda:12.4.1-base-ubuntu22.04"

// ExamplePyTorchImage is the image docs/gpu.md suggests for --gpu-image-pytorch.
const ExamplePyTorchImage = "pytorch/pytorch:2.4.1-cuda12.4-cudnn9-runtime"

// Names of the smoke pods, in SmokeNamespace.
const (
	SMIPodName     = "kfup-gpu-smoke-nvidia-smi"
	PyTorchPodName = "kfup-gpu-smoke-pytorch"
	SmokeNamespace = "default"
)

// matmulOK is the line the PyTorch script prints when the product is right.
const matmulOK = "KFUP_MATMUL_OK"

// pytorchScript multiplies two matrices on the GPU and compares the product with the
// CPU's; it prints what it found, then matmulOK or exits non-zero.
const pytorchScript = `import sys, torch
ok = torch.cuda.is_available()
print("cuda_available=%s" % ok)
if not ok:
    sys.exit(1)
print("device=%s" % torch.cuda.get_device_name(0))
torch.manual_seed(0)
a = torch.randn(512, 512)
b = torch.randn(512, 512)
gpu = (a.cuda() @ b.cuda()).cpu()
err = (gpu - a @ b).abs().max().item()
print("max_abs_err=%g" % err)
if err > 1e-2:
    sys.exit(2)
print("` + matmulOK + `")
`

// GPUSmokeOptions configure RunGPUSmoke.
type GPUSmokeOptions struct {
	// SMIImage is the nvidia-smi pod's image (DefaultSMIImage when empty).
	SMIImage string
	// PyTorchImage, when set, also runs the PyTorch matmul pod from it.
	PyTorchImage string
	// Namespace of the pods (SmokeNamespace when empty).
	Namespace string
	// Poll is how often pods are looked at (2s when zero).
	Poll time.Duration
	// Logs returns a finished pod's log; nil reads it from the API server. Tests replace
	// it, as the fake clientset serves no real logs.
	Logs func(ctx context.Context, namespace, name string) (string, error)
}

// GPUSmokeResult is one step of the GPU smoke test.
type GPUSmokeResult struct {
	Name    string `json:"name"`
	Healthy bool   `json:"healthy"`
	Message string `json:"message,omitempty"`
}

// RunGPUSmoke runs the GPU smoke test against a cluster: a node advertises an NVIDIA
// resource, a pod requesting one unit of it lists a GPU with nvidia-smi, and (with
// PyTorchImage) a PyTorch pod multiplies matrices on it correctly. It stops at the first
// failed step; later steps are not reported. Each pod is deleted when done.
func RunGPUSmoke(ctx context.Context, cs kubernetes.Interface, o GPUSmokeOptions) ([]GPUSmokeResult, error) {
	if o.SMIImage == "" {
		o.SMIImage = DefaultSMIImage
	}
	if o.Namespace == "" {
		o.Namespace = SmokeNamespace
	}
	if o.Poll == 0 {
		o.Poll = 2 * time.Second
	}
	if o.Logs == nil {
		o.Logs = func(ctx context.Context, ns, name string) (string, error) {
			b, err := cs.CoreV1().Pods(ns).GetLogs(name, &corev1.PodLogOptions{}).DoRaw(ctx)
			return string(b), err
		}
	}
	var results []GPUSmokeResult
	fail := func(name string, err error) ([]GPUSmokeResult, error) {
		results = append(results, GPUSmokeResult{Name: name, Message: err.Error()})
		return results, fmt.Errorf("gpu smoke test: %s: %w", name, err)
	}

	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return fail("gpu resource", fmt.Errorf("list nodes: %w", err))
	}
	res, node, err := PickResource(nodes.Items)
	if err != nil {
		return fail("gpu resource", err)
	}
	results = append(results, GPUSmokeResult{Name: "gpu resource", Healthy: true, Message: fmt.Sprintf("node %s advertises %s", node, res)})

	log, err := runPod(ctx, cs, o, SMIPod(o.Namespace, o.SMIImage, res))
	if err == nil {
		var gpus []string
		if gpus, err = CheckSMILog(log); err == nil {
			results = append(results, GPUSmokeResult{Name: "nvidia-smi pod", Healthy: true, Message: strings.Join(gpus, "; ")})
		}
	}
	if err != nil {
		return fail("nvidia-smi pod", err)
	}

	if o.PyTorchImage != "" {
		log, err := runPod(ctx, cs, o, PyTorchPod(o.Namespace, o.PyTorchImage, res))
		if err == nil {
			var msg string
			if msg, err = CheckPyTorchLog(log); err == nil {
				results = append(results, GPUSmokeResult{Name: "pytorch matmul pod", Healthy: true, Message: msg})
			}
		}
		if err != nil {
			return fail("pytorch matmul pod", err)
		}
	}
	return results, nil
}

// PickResource returns the NVIDIA resource a smoke pod should request and the node that
// advertises it: nvidia.com/gpu first, then nvidia.com/gpu.shared, then the first
// nvidia.com/mig-* by name.
func PickResource(nodes []corev1.Node) (resourceName, node string, err error) {
	best, bestRank := "", 99
	for i := range nodes {
		for name := range Advertised(&nodes[i]) {
			rank := 3
			switch {
			case name == "nvidia.com/gpu":
				rank = 0
			case name == "nvidia.com/gpu.shared":
				rank = 1
			case strings.HasPrefix(name, "nvidia.com/mig-"):
				rank = 2
			}
			if rank < bestRank || (rank == bestRank && name < best) {
				best, bestRank, node = name, rank, nodes[i].Name
			}
		}
	}
	if bestRank > 2 {
		return "", "", errors.New("no node advertises nvidia.com/gpu, nvidia.com/gpu.shared or nvidia.com/mig-*: create the cluster with 'kfup create --gpu', and check 'kfup status' for the nvidia component")
	}
	return best, node, nil
}

// smokePod is a one-shot pod that requests one unit of res on a GPU node.
func smokePod(ns, name, image, res string, command []string) *corev1.Pod {
	one := resource.MustParse("1")
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: ns,
			Labels: map[string]string{"app.kubernetes.io/managed-by": "kfup", "kfup.dev/smoke": "gpu"},
		},
		Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			NodeSelector:  map[string]string{LabelGPUPresent: "true"},
			Tolerations: []corev1.Toleration{
				{Key: "nvidia.com/gpu", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
			},
			Containers: []corev1.Container{{
				Name:            "smoke",
				Image:           image,
				ImagePullPolicy: corev1.PullIfNotPresent,
				Command:         command,
				Resources: corev1.ResourceRequirements{
					Limits: corev1.ResourceList{corev1.ResourceName(res): one},
				},
			}},
		},
	}
}

// withDriverLibs runs a shell line with the directory kfup's CDI spec mounts the driver
// libraries into first on LD_LIBRARY_PATH, for images that lack it.
func withDriverLibs(line string) []string {
	return []string{"sh", "-c", `export LD_LIBRARY_PATH="/usr/local/nvidia/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"; ` + line}
}

// SMIPod is the pod that lists its GPU with nvidia-smi -L.
func SMIPod(ns, image, res string) *corev1.Pod {
	return smokePod(ns, SMIPodName, image, res, withDriverLibs("nvidia-smi -L"))
}

// PyTorchPod is the pod that checks torch.cuda.is_available() and a CUDA matmul.
func PyTorchPod(ns, image, res string) *corev1.Pod {
	return smokePod(ns, PyTorchPodName, image, res, withDriverLibs("exec python -c "+shellQuote(pytorchScript)))
}

// shellQuote quotes s for sh as one word.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

var smiLineRE = regexp.MustCompile(`^GPU [0-9]+: .+ \(UUID: GPU-[0-9a-fA-F-]+\)$|^\s*MIG .+ Device\s+[0-9]+: \(UUID: MIG-[0-9a-fA-F-]+\)$`)

// CheckSMILog returns the GPU (and MIG) lines of an nvidia-smi -L log, or an error naming
// what the log says instead.
func CheckSMILog(log string) ([]string, error) {
	var gpus []string
	for line := range strings.SplitSeq(log, "\n") {
		line = strings.TrimRight(line, "\r")
		if smiLineRE.MatchString(line) {
			gpus = append(gpus, strings.TrimSpace(line))
		}
	}
	if len(gpus) == 0 {
		return nil, fmt.Errorf("nvidia-smi -L listed no GPU: %s", logTail(log))
	}
	return gpus, nil
}

// CheckPyTorchLog checks the PyTorch pod's log: CUDA available and the product right.
func CheckPyTorchLog(log string) (string, error) {
	fields := map[string]string{}
	ok := false
	for line := range strings.SplitSeq(log, "\n") {
		line = strings.TrimSpace(line)
		if line == matmulOK {
			ok = true
		}
		if k, v, found := strings.Cut(line, "="); found {
			fields[k] = v
		}
	}
	switch {
	case fields["cuda_available"] == "False":
		return "", fmt.Errorf("torch.cuda.is_available() is False: %s", logTail(log))
	case fields["cuda_available"] != "True":
		return "", fmt.Errorf("the script did not run: %s", logTail(log))
	case !ok:
		if e, err := strconv.ParseFloat(fields["max_abs_err"], 64); err == nil {
			return "", fmt.Errorf("matmul on the GPU differs from the CPU's by %g", e)
		}
		return "", fmt.Errorf("the matmul did not finish: %s", logTail(log))
	}
	return fmt.Sprintf("cuda on %s, matmul max abs error %s", fields["device"], fields["max_abs_err"]), nil
}

// logTail is the last lines of a log, for an error message.
func logTail(log string) string {
	lines := strings.Split(strings.TrimSpace(log), "\n")
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	s := strings.Join(lines, " | ")
	if s == "" {
		return "(empty log)"
	}
	return s
}

// runPod creates pod (replacing a leftover of an earlier run), waits until it has
// finished and returns its log; the pod is deleted afterwards. A pod that fails returns
// its log in the error; one stuck pending says why.
func runPod(ctx context.Context, cs kubernetes.Interface, o GPUSmokeOptions, pod *corev1.Pod) (string, error) {
	pods := cs.CoreV1().Pods(pod.Namespace)
	if err := deletePod(ctx, cs, pod.Namespace, pod.Name, o.Poll); err != nil {
		return "", err
	}
	if _, err := pods.Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		return "", fmt.Errorf("create pod %s: %w", pod.Name, err)
	}
	defer func() {
		// a cancelled ctx must not leave the pod behind
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_ = pods.Delete(dctx, pod.Name, metav1.DeleteOptions{})
	}()
	var last *corev1.Pod
	err := wait.PollUntilContextCancel(ctx, o.Poll, true, func(ctx context.Context) (bool, error) {
		p, err := pods.Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		last = p
		return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed, nil
	})
	if err != nil {
		return "", fmt.Errorf("pod %s did not finish: %s: %w", pod.Name, PodWaitReason(last), err)
	}
	log, lerr := o.Logs(ctx, pod.Namespace, pod.Name)
	if last.Status.Phase == corev1.PodFailed {
		return "", fmt.Errorf("pod %s failed: %s", pod.Name, logTail(log))
	}
	if lerr != nil {
		return "", fmt.Errorf("logs of pod %s: %w", pod.Name, lerr)
	}
	return log, nil
}

// PodWaitReason says why a pod has not finished: unschedulable, an image that cannot be
// pulled (offline clusters must load it first), or its phase.
func PodWaitReason(p *corev1.Pod) string {
	if p == nil {
		return "not created"
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Message != "" {
			return "unschedulable: " + c.Message
		}
	}
	for _, cs := range p.Status.ContainerStatuses {
		if w := cs.State.Waiting; w != nil && w.Reason != "" {
			msg := w.Reason
			if slices.Contains([]string{"ErrImagePull", "ImagePullBackOff"}, w.Reason) {
				msg += " (offline: load the image into the node first, see docs/gpu.md)"
			}
			return msg
		}
	}
	return "phase " + string(p.Status.Phase)
}

// deletePod deletes a leftover pod and waits until it is gone.
func deletePod(ctx context.Context, cs kubernetes.Interface, ns, name string, poll time.Duration) error {
	pods := cs.CoreV1().Pods(ns)
	if err := pods.Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("delete old pod %s: %w", name, err)
	}
	return wait.PollUntilContextCancel(ctx, poll, true, func(ctx context.Context) (bool, error) {
		_, err := pods.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	})
}
