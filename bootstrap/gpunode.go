package bootstrap

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	specs "tags.cncf.io/container-device-interface/specs-go"

	"github.com/kfup/kfup/gpu"
	"github.com/kfup/kfup/gpu/cdi"
)

// Paths of kfup's GPU files inside the GPU node.
const (
	// NodeCDISpec is where containerd reads the CDI spec kfup wrote for the node.
	NodeCDISpec = "/etc/cdi/nvidia.yaml"
	// NodeCDIDir is the directory containerd scans for CDI specs.
	NodeCDIDir = "/etc/cdi"
	// NodeGPUInventory is the inventory of the node's GPUs, as kfup found them on the
	// host; kfup's device plugin serves it (see docs/gpu.md).
	NodeGPUInventory = "/etc/kfup/gpu/inventory.json"
)

// cdiContainerdPatch turns on containerd's CDI support and points it at /etc/cdi. kind's
// node config is version 2 (sigs.k8s.io/kind v0.33 images/base/files/etc/containerd/
// config.toml), where the CRI plugin is "io.containerd.grpc.v1.cri": containerd 1.7 reads
// it there, and containerd 2.x migrates it into "io.containerd.cri.v1.runtime" (its
// configMigration, plugins/cri/runtime/plugin.go). The 2.x section is written too, for
// node images whose config is version 3; each containerd ignores the section it does
// not know.
const cdiContainerdPatch = `[plugins."io.containerd.grpc.v1.cri"]
  enable_cdi = true
  cdi_spec_dirs = ["` + NodeCDIDir + `"]
[plugins."io.containerd.cri.v1.runtime"]
  enable_cdi = true
  cdi_spec_dirs = ["` + NodeCDIDir + `"]
`

// GPUNode is what the GPU node of a kind cluster gets: bind mounts and labels.
type GPUNode struct {
	// Mounts are the device nodes (read-write) and driver files (read-only) the CDI spec
	// names, at the same paths as on the host, plus the spec and the inventory.
	Mounts []v1alpha4.Mount
	// Labels are GPU Feature Discovery's labels (gpu.NodeLabels).
	Labels map[string]string
}

// GPUNodeConfig returns the mounts and labels of the node that gets inv's GPUs. spec is
// their CDI spec, whose paths are relative to root (the host's "/", or a test's fake
// driver root); specFile and inventoryFile are the host files kfup wrote them to.
func GPUNodeConfig(inv *gpu.Inventory, spec *specs.Spec, root, specFile, inventoryFile string) GPUNode {
	var n GPUNode
	seen := map[string]bool{}
	add := func(p string, ro bool) {
		if seen[p] {
			return
		}
		seen[p] = true
		n.Mounts = append(n.Mounts, v1alpha4.Mount{HostPath: filepath.Join(root, p), ContainerPath: p, Readonly: ro})
	}
	nodes := func(e specs.ContainerEdits) {
		for _, d := range e.DeviceNodes {
			add(d.Path, false)
		}
	}
	nodes(spec.ContainerEdits)
	for _, d := range spec.Devices {
		nodes(d.ContainerEdits)
	}
	for _, m := range spec.ContainerEdits.Mounts {
		add(m.HostPath, true)
	}
	n.Mounts = append(n.Mounts,
		v1alpha4.Mount{HostPath: specFile, ContainerPath: NodeCDISpec, Readonly: true},
		v1alpha4.Mount{HostPath: inventoryFile, ContainerPath: NodeGPUInventory, Readonly: true})
	n.Labels = gpu.NodeLabels(inv)
	return n
}

// writeGPUFiles writes the CDI spec and the inventory of w into the cluster's directory
// in the store and returns the node config that mounts them; root is the driver root
// (Env.gpuRoot).
func writeGPUFiles(s Store, name, root string, w *gpuWiring) (GPUNode, error) {
	dir, err := filepath.Abs(filepath.Join(s.ClusterDir(name), "gpu"))
	if err != nil {
		return GPUNode{}, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return GPUNode{}, fmt.Errorf("write GPU files: %w", err)
	}
	var spec bytes.Buffer
	if err := cdi.Write(&spec, w.spec); err != nil {
		return GPUNode{}, err
	}
	inv, err := json.MarshalIndent(w.inv, "", "  ")
	if err != nil {
		return GPUNode{}, err
	}
	specFile, invFile := filepath.Join(dir, "nvidia.yaml"), filepath.Join(dir, "inventory.json")
	for f, b := range map[string][]byte{specFile: spec.Bytes(), invFile: append(inv, '\n')} {
		// read by containerd and by the device plugin (uid 65532) inside the node
		if err := os.WriteFile(f, b, 0o644); err != nil {
			return GPUNode{}, fmt.Errorf("write GPU files: %w", err)
		}
	}
	return GPUNodeConfig(w.inv, w.spec, root, specFile, invFile), nil
}

// gpuUUIDs lists the UUIDs of inv's GPUs, for the record.
func gpuUUIDs(inv *gpu.Inventory) []string {
	out := make([]string, len(inv.GPUs))
	for i, d := range inv.GPUs {
		out[i] = d.UUID
	}
	return out
}

// gpuNodeIndex is the node that gets the GPUs: the first worker, else the control plane
// (ingress). One node only: two nodes would advertise the same GPUs twice.
func gpuNodeIndex(c *v1alpha4.Cluster, controlPlane int) int {
	for i, n := range c.Nodes {
		if n.Role == v1alpha4.WorkerRole {
			return i
		}
	}
	return controlPlane
}
