//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	pluginapi "k8s.io/kubelet/pkg/apis/deviceplugin/v1beta1"
	"sigs.k8s.io/yaml"
	cdispec "tags.cncf.io/container-device-interface/specs-go"

	"github.com/kfup/kfup/components/nvidia"
	"github.com/kfup/kfup/components/training/builders"
	"github.com/kfup/kfup/gpu"
)

// nvmlmockImage is the test build of kfup's in-cluster image, whose device plugin knows
// the --mock-nvml switch (make nvmlmock-image builds it; make e2e sets the variable).
var nvmlmockImage = envOr("KFUP_E2E_NVMLMOCK_IMAGE", "kfup.local/kfup-nvmlmock:e2e")

// The mock server the plugin serves, and how many GPUs it has (go-nvml's DGX H100: 8).
const (
	mockServer = "dgxh100"
	mockGPUs   = 8
	gpuRes     = corev1.ResourceName("nvidia.com/gpu")
	// mockEnv is what the test's CDI spec injects for each device: the GPU's UUID.
	mockEnv = "KFUP_MOCK_GPU"
	// mockSpecPath is where the test writes that spec into the node.
	mockSpecPath = "/etc/cdi/kfup-e2e-mock.yaml"
)

// TestGPUMockDevicePluginOnKind runs kfup's device plugin, from a test build of kfup's
// image started with --mock-nvml=dgxh100, on the kind node (which has no GPU), as the
// nvidia component's own DaemonSet (nvidia.DaemonSet) with the inventory swapped for
// the mock. It shows, with the real kubelet and containerd:
//   - the plugin registers nvidia.com/gpu and the node advertises the mock's 8 GPUs;
//   - a pod requesting one is scheduled, the kubelet calls Allocate, and Allocate's
//     answer (read back from the kubelet's device checkpoint) is the CDI device
//     nvidia.com/gpu=<the allocated UUID>;
//   - containerd resolves that CDI name and applies the device's edits: the test writes a
//     CDI spec into the node whose device <uuid> sets KFUP_MOCK_GPU=<uuid> (the real spec
//     would add /dev/nvidia<N> and the driver libraries, which this host lacks), and the
//     pod prints the UUID it was given;
//   - a pod asking for more GPUs than there are stays Pending (Insufficient nvidia.com/gpu);
//   - time-slicing (--share=2) doubles the allocatable count, and a replica <uuid>::<n>
//     is allocated as its GPU's CDI device.
func TestGPUMockDevicePluginOnKind(t *testing.T) {
	ctx := context.Background()
	if _, err := docker("image", "inspect", nvmlmockImage); err != nil {
		t.Fatalf("image %s is not in Docker: build it with 'make nvmlmock-image' (make e2e does)", nvmlmockImage)
	}
	t0 := time.Now()
	if _, err := kindc.LoadImages(ctx, clusterName, nvmlmockImage); err != nil {
		t.Fatalf("load %s: %v", nvmlmockImage, err)
	}
	t.Logf("loaded %s in %s", nvmlmockImage, time.Since(t0).Round(time.Second))
	node := clusterName + "-control-plane"
	ns := testNamespace(t)

	// the nvidia component's node selector; no node keeps it after the test
	labelNode(t, node, nvidia.LabelGPUPresent, ptrTo("true"))
	t.Cleanup(func() { labelNode(t, node, nvidia.LabelGPUPresent, nil) })

	ds := mockDaemonSet(ns, 1)
	runDaemonSet(t, ds)
	t0 = time.Now()
	waitAllocatable(t, node, ns, mockGPUs)
	t.Logf("node %s advertises %d %s after %s", node, mockGPUs, gpuRes, time.Since(t0).Round(time.Second))
	logs := pluginLogs(t, ns)
	for _, want := range []string{"mock server " + mockServer, fmt.Sprintf("nvidia.com/gpu: registered %d devices", mockGPUs)} {
		if !strings.Contains(logs, want) {
			t.Errorf("device plugin log lacks %q:\n%s", want, logs)
		}
	}

	// the device IDs the kubelet got from ListAndWatch: the mock's UUIDs, one per GPU
	var ids []string
	if err := wait.PollUntilContextTimeout(ctx, time.Second, time.Minute, true, func(context.Context) (bool, error) {
		cp, err := readCheckpoint(node)
		if err != nil {
			return false, nil
		}
		ids = cp.Data.RegisteredDevices[string(gpuRes)]
		return len(ids) == mockGPUs, nil
	}); err != nil {
		t.Fatalf("kubelet checkpoint: registered devices %v, want %d", ids, mockGPUs)
	}
	for _, id := range ids {
		if !strings.HasPrefix(id, "GPU-"+mockServer+"-") {
			t.Errorf("registered device %q is not one of the %s mock's GPUs", id, mockServer)
		}
	}
	writeMockCDISpec(t, node, ids)

	// one GPU: scheduled, allocated through CDI, the device's edits applied
	pod := gpuPod(ns, "one-gpu", 1)
	got := runPod(t, pod, 3*time.Minute)
	checkAllocation(t, node, ns, pod.Name, ids, false, got)

	// more GPUs than the node has: not scheduled, for the reason the scheduler gives
	tooMany := gpuPod(ns, "nine-gpus", mockGPUs+1)
	if _, err := clientset.CoreV1().Pods(ns).Create(ctx, tooMany, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitUnschedulable(t, ns, tooMany.Name, "Insufficient "+string(gpuRes))

	// time-slicing: two replicas of each GPU, still named nvidia.com/gpu
	cur, err := clientset.AppsV1().DaemonSets(ns).Get(ctx, ds.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cur.Spec.Template.Spec.Containers[0].Args = mockDaemonSet(ns, 2).Spec.Template.Spec.Containers[0].Args
	if _, err := clientset.AppsV1().DaemonSets(ns).Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	t0 = time.Now()
	waitAllocatable(t, node, ns, 2*mockGPUs)
	t.Logf("--share=2: node %s advertises %d %s after %s", node, 2*mockGPUs, gpuRes, time.Since(t0).Round(time.Second))
	shared := gpuPod(ns, "shared-gpu", 1)
	got = runPod(t, shared, 3*time.Minute)
	checkAllocation(t, node, ns, shared.Name, ids, true, got)
}

// TestGPUInventoryDevicePluginOnKind runs the nvidia component's DaemonSet exactly as
// kfup installs it, from kfup's shipped (static, mock-free) manager image, on a node
// prepared as kfup create --gpu prepares one, or as docs/gpu.md tells the owner of an
// existing cluster to: labelled nvidia.com/gpu.present=true, with an inventory at
// /etc/kfup/gpu/inventory.json and a CDI spec whose devices are named by UUID. The
// plugin serves the inventory without NVML, the node advertises its two GPUs, and a pod
// requesting one is allocated its CDI device, which containerd applies.
func TestGPUInventoryDevicePluginOnKind(t *testing.T) {
	node := clusterName + "-control-plane"
	ns := testNamespace(t)
	inv := gpu.Inventory{Source: gpu.SourceNVIDIASMI, DriverVersion: "550.54.15", CUDAVersion: "12.4"}
	var ids []string
	for i := range 2 {
		d := gpu.Device{Index: i, Minor: i, Name: "Tesla T4", UUID: fmt.Sprintf("GPU-e2e-inventory-%012d", i), MemoryMiB: 15360}
		inv.GPUs = append(inv.GPUs, d)
		ids = append(ids, d.UUID)
	}
	b, err := json.Marshal(inv)
	if err != nil {
		t.Fatal(err)
	}
	nodeWrite(t, node, nvidia.InventoryFile, b)
	t.Cleanup(func() { _, _ = docker("exec", node, "rm", "-rf", nvidia.InventoryDir) })
	labelNode(t, node, nvidia.LabelGPUPresent, ptrTo("true"))
	t.Cleanup(func() { labelNode(t, node, nvidia.LabelGPUPresent, nil) })
	writeMockCDISpec(t, node, ids)

	image := kfupImage(t)
	ds := nvidia.DaemonSet(image, nvidia.Settings{DevicePlugin: true, MIGStrategy: "none", PullPolicy: corev1.PullNever})
	ds.Namespace = ns
	runDaemonSet(t, ds)
	t0 := time.Now()
	waitAllocatable(t, node, ns, int64(len(ids)))
	t.Logf("node %s advertises %d %s from the inventory after %s (image %s)", node, len(ids), gpuRes, time.Since(t0).Round(time.Second), image)
	logs := pluginLogs(t, ns)
	for _, want := range []string{"serving the GPUs kfup found on the host (" + nvidia.InventoryFile + ")", "no NVML in this build (static)", "nvidia.com/gpu: registered 2 devices"} {
		if !strings.Contains(logs, want) {
			t.Errorf("device plugin log lacks %q:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, "mock") {
		t.Errorf("the shipped image's plugin mentions a mock:\n%s", logs)
	}
	pod := gpuPod(ns, "inventory-gpu", 1)
	got := runPod(t, pod, 3*time.Minute)
	checkAllocation(t, node, ns, pod.Name, ids, false, got)
}

// runDaemonSet creates ds; when the test ends it deletes it and waits until its pods are
// gone, so that the next test's plugin is the only one on the node.
func runDaemonSet(t *testing.T, ds *appsv1.DaemonSet) {
	t.Helper()
	ctx := context.Background()
	if _, err := clientset.AppsV1().DaemonSets(ds.Namespace).Create(ctx, ds, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create the device plugin DaemonSet: %v", err)
	}
	t.Cleanup(func() {
		_ = clientset.AppsV1().DaemonSets(ds.Namespace).Delete(ctx, ds.Name, metav1.DeleteOptions{PropagationPolicy: ptrTo(metav1.DeletePropagationForeground)})
		sel := metav1.FormatLabelSelector(ds.Spec.Selector)
		if err := wait.PollUntilContextTimeout(ctx, time.Second, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
			pods, err := clientset.CoreV1().Pods(ds.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel})
			return err == nil && len(pods.Items) == 0, nil
		}); err != nil {
			t.Errorf("device plugin pods of %s/%s still there: %v", ds.Namespace, ds.Name, err)
		}
	})
}

// nodeWrite writes b to path in the node container (parents made).
func nodeWrite(t *testing.T, node, path string, b []byte) {
	t.Helper()
	cmd := exec.Command("docker", "exec", "-i", node, "sh", "-c", `mkdir -p "$(dirname "$0")" && cat > "$0"`, path)
	cmd.Stdin = bytes.NewReader(b)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("write %s into %s: %v: %s", path, node, err, out)
	}
}

// mockDaemonSet is the nvidia component's DaemonSet, in ns, running the test image with
// --mock-nvml instead of the inventory kfup create --gpu writes into a GPU node.
func mockDaemonSet(ns string, share int) *appsv1.DaemonSet {
	ds := nvidia.DaemonSet(nvmlmockImage, nvidia.Settings{DevicePlugin: true, Share: share, MIGStrategy: "none", PullPolicy: corev1.PullNever})
	ds.Namespace = ns
	spec := &ds.Spec.Template.Spec
	c := &spec.Containers[0]
	c.Args = slices.DeleteFunc(c.Args, func(a string) bool { return strings.HasPrefix(a, "--inventory=") })
	c.Args = append(c.Args, "--mock-nvml="+mockServer)
	c.VolumeMounts = slices.DeleteFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.Name == "inventory" })
	spec.Volumes = slices.DeleteFunc(spec.Volumes, func(v corev1.Volume) bool { return v.Name == "inventory" })
	return ds
}

// gpuPod prints the UUID the CDI device's edits gave it.
func gpuPod(ns, name string, gpus int64) *corev1.Pod {
	pod := builders.MakePod(name, ns).Image(busyboxImage).Command("sh", "-c", "echo "+mockEnv+"=$"+mockEnv).Obj()
	c := &pod.Spec.Containers[0]
	c.ImagePullPolicy = corev1.PullIfNotPresent
	c.Resources.Limits = corev1.ResourceList{gpuRes: *resource.NewQuantity(gpus, resource.DecimalSI)}
	pod.Spec.NodeSelector = map[string]string{nvidia.LabelGPUPresent: "true"}
	pod.Spec.Tolerations = append(pod.Spec.Tolerations, corev1.Toleration{Key: "node-role.kubernetes.io/control-plane", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule})
	return pod
}

// checkAllocation checks what the kubelet recorded for pod's GPU: one device of ids (a
// replica <uuid>::<n> of one when shared), Allocate's answer the CDI device
// nvidia.com/gpu=<uuid>, and the pod's log the UUID the spec injected.
func checkAllocation(t *testing.T, node, ns, name string, ids []string, shared bool, logs string) {
	t.Helper()
	p, err := clientset.CoreV1().Pods(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Spec.NodeName != node {
		t.Errorf("pod %s ran on %q, want %s", name, p.Spec.NodeName, node)
	}
	cp, err := readCheckpoint(node)
	if err != nil {
		t.Fatal(err)
	}
	e := cp.entry(p.UID, gpuRes)
	if e == nil {
		t.Fatalf("kubelet checkpoint has no %s entry for pod %s (%s)", gpuRes, name, p.UID)
	}
	var devs []string
	for _, d := range e.DeviceIDs {
		devs = append(devs, d...)
	}
	if len(devs) != 1 {
		t.Fatalf("pod %s was allocated %v, want one device", name, devs)
	}
	uuid, replica, isReplica := strings.Cut(devs[0], "::")
	if isReplica != shared || (shared && replica != "0" && replica != "1") || !slices.Contains(ids, uuid) {
		t.Fatalf("pod %s was allocated %q: want one of the mock's GPUs%s", name, devs[0], map[bool]string{true: " as a replica <uuid>::0 or ::1"}[shared])
	}
	var resp pluginapi.ContainerAllocateResponse
	if err := proto.Unmarshal(e.AllocResp, &resp); err != nil {
		t.Fatalf("decode the recorded Allocate answer: %v", err)
	}
	var cdi []string
	for _, d := range resp.CdiDevices {
		cdi = append(cdi, d.Name)
	}
	if want := []string{"nvidia.com/gpu=" + uuid}; !slices.Equal(cdi, want) || len(resp.Envs) != 0 || len(resp.Mounts) != 0 || len(resp.Devices) != 0 {
		t.Fatalf("Allocate answered CDI devices %v, env %v, mounts %v, devices %v; want CDI %v and nothing else", cdi, resp.Envs, resp.Mounts, resp.Devices, want)
	}
	if want := mockEnv + "=" + uuid; strings.TrimSpace(logs) != want {
		t.Fatalf("pod %s printed %q, want %q: containerd did not apply the CDI device's edits", name, strings.TrimSpace(logs), want)
	}
	t.Logf("pod %s: device %s, Allocate: CDI %v, container env %s", name, devs[0], cdi, strings.TrimSpace(logs))
}

// kubeletCheckpoint is the part of the kubelet's device manager checkpoint
// (/var/lib/kubelet/device-plugins/kubelet_internal_checkpoint) the test reads: what each
// plugin advertised, and each container's devices with Allocate's answer (protobuf).
type kubeletCheckpoint struct {
	Data struct {
		PodDeviceEntries  []checkpointEntry
		RegisteredDevices map[string][]string
	}
}

// checkpointEntry is one container's devices of one resource.
type checkpointEntry struct {
	PodUID        string
	ContainerName string
	ResourceName  string
	DeviceIDs     map[string][]string // by NUMA node
	AllocResp     []byte              // Allocate's ContainerAllocateResponse, protobuf
}

// entry returns pod's entry for res, or nil.
func (c *kubeletCheckpoint) entry(pod types.UID, res corev1.ResourceName) *checkpointEntry {
	for i, e := range c.Data.PodDeviceEntries {
		if e.PodUID == string(pod) && e.ResourceName == string(res) {
			return &c.Data.PodDeviceEntries[i]
		}
	}
	return nil
}

func readCheckpoint(node string) (*kubeletCheckpoint, error) {
	out, err := docker("exec", node, "cat", "/var/lib/kubelet/device-plugins/kubelet_internal_checkpoint")
	if err != nil {
		return nil, fmt.Errorf("read the kubelet's device checkpoint: %w", err)
	}
	var cp kubeletCheckpoint
	if err := json.Unmarshal([]byte(out), &cp); err != nil {
		return nil, fmt.Errorf("kubelet checkpoint: %w\n%s", err, out)
	}
	return &cp, nil
}

// writeMockCDISpec writes a CDI spec of kind nvidia.com/gpu into the node, one device per
// UUID whose only edit is KFUP_MOCK_GPU=<uuid>, and removes it when the test ends.
func writeMockCDISpec(t *testing.T, node string, uuids []string) {
	t.Helper()
	spec := cdispec.Spec{Version: "0.5.0", Kind: "nvidia.com/gpu"}
	for _, u := range uuids {
		spec.Devices = append(spec.Devices, cdispec.Device{Name: u, ContainerEdits: cdispec.ContainerEdits{Env: []string{mockEnv + "=" + u}}})
	}
	b, err := yaml.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	nodeWrite(t, node, mockSpecPath, b)
	t.Cleanup(func() { _, _ = docker("exec", node, "rm", "-f", mockSpecPath) })
}

// labelNode sets (value non-nil) or removes a node label.
func labelNode(t *testing.T, node, key string, value *string) {
	t.Helper()
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"labels": map[string]any{key: value}}})
	if _, err := clientset.CoreV1().Nodes().Patch(context.Background(), node, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Errorf("label node %s %s: %v", node, key, err)
	}
}

func ptrTo[T any](v T) *T { return &v }

// waitAllocatable waits until node's allocatable nvidia.com/gpu is n.
func waitAllocatable(t *testing.T, node, ns string, n int64) {
	t.Helper()
	var have int64
	err := wait.PollUntilContextTimeout(context.Background(), time.Second, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		nd, err := clientset.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		have = nvidia.Advertised(nd)[string(gpuRes)]
		return have == n, nil
	})
	if err != nil {
		t.Fatalf("node %s: allocatable %s is %d, want %d: %v\ndevice plugin log:\n%s", node, gpuRes, have, n, err, pluginLogs(t, ns))
	}
}

// waitUnschedulable waits until the scheduler says pod cannot be placed, for reason.
func waitUnschedulable(t *testing.T, ns, name, reason string) {
	t.Helper()
	var msg string
	err := wait.PollUntilContextTimeout(context.Background(), time.Second, time.Minute, true, func(ctx context.Context) (bool, error) {
		p, err := clientset.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if p.Spec.NodeName != "" {
			return false, fmt.Errorf("pod %s was bound to %s", name, p.Spec.NodeName)
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
				msg = c.Message
				return strings.Contains(msg, reason), nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("pod %s: want unschedulable for %q, got %q: %v", name, reason, msg, err)
	}
	t.Logf("pod %s stays Pending: %s", name, msg)
}

// pluginLogs returns the logs of the device plugin's pods in ns.
func pluginLogs(t *testing.T, ns string) string {
	pods, err := clientset.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=" + nvidia.AppName})
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	for _, p := range pods.Items {
		fmt.Fprintf(&b, "--- %s (%s)\n%s", p.Name, p.Status.Phase, podLogs(t, ns, p.Name))
	}
	return b.String()
}
