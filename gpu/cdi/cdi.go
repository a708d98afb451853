// Package cdi writes the Container Device Interface spec that hands a host's NVIDIA GPUs
// to containers: one device per GPU (by index and by UUID), one per MIG device
// ("<gpu>:<mig>" and its UUID), and "all". containerd in the kind node reads it from
// /etc/cdi and injects the device nodes and driver files when kfup's device plugin
// allocates nvidia.com/gpu=<name>.
//
// The spec needs no hook and no binary inside the node: driver libraries are bind-mounted
// under /usr/local/nvidia/lib64 (on CUDA images' LD_LIBRARY_PATH) by their file name and
// their sonames, so there is no ld cache to update. That is why kfup writes its own spec
// instead of using nvidia-container-toolkit's nvcdi, whose specs call nvidia-ctk hooks
// (see docs/gpu.md).
package cdi

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
	specs "tags.cncf.io/container-device-interface/specs-go"

	"github.com/kfup/kfup/gpu"
)

// Kind is the CDI kind of NVIDIA GPUs; devices are requested as Kind + "=" + name.
const Kind = "nvidia.com/gpu"

// LibDir is where the spec mounts the driver's libraries in the container.
const LibDir = "/usr/local/nvidia/lib64"

// QualifiedName is the fully qualified CDI name of device name: nvidia.com/gpu=<name>.
func QualifiedName(name string) string { return Kind + "=" + name }

// Option changes how Spec looks for the driver.
type Option interface{ apply(*options) }

type options struct {
	driverRoot string
	devRoot    string
	procRoot   string
	only       []int
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

// WithDriverRoot looks for the driver's libraries and binaries under root (default "/").
// Paths in the spec are written relative to root, as the node sees them once kfup mounts
// the host's driver files there at the same paths.
func WithDriverRoot(root string) Option { return optionFunc(func(o *options) { o.driverRoot = root }) }

// WithDevRoot looks for device nodes under root (default: the driver root).
func WithDevRoot(root string) Option { return optionFunc(func(o *options) { o.devRoot = root }) }

// WithProcRoot reads /proc/driver/nvidia under root (default "/"): the MIG capability
// device minors.
func WithProcRoot(root string) Option { return optionFunc(func(o *options) { o.procRoot = root }) }

// WithGPUs limits the spec to the GPUs with these indices (kfup create --gpus 0,1).
func WithGPUs(indices ...int) Option { return optionFunc(func(o *options) { o.only = indices }) }

// Spec builds the CDI spec for inv. A missing libcuda or libnvidia-ml, a missing
// /dev/nvidiactl or /dev/nvidia<minor>, or an index that inv does not have is an error
// that says where kfup looked.
func Spec(inv *gpu.Inventory, opts ...Option) (*specs.Spec, error) {
	o := &options{driverRoot: "/", procRoot: "/"}
	for _, opt := range opts {
		opt.apply(o)
	}
	if o.devRoot == "" {
		o.devRoot = o.driverRoot
	}
	gpus, err := selectGPUs(inv, o.only)
	if err != nil {
		return nil, err
	}
	common, err := commonEdits(inv.DriverVersion, o)
	if err != nil {
		return nil, err
	}
	s := &specs.Spec{Kind: Kind, ContainerEdits: common}
	var all []*specs.DeviceNode
	for _, d := range gpus {
		node := "/dev/nvidia" + strconv.Itoa(d.Minor)
		if !exists(o.devRoot, node) {
			return nil, fmt.Errorf("cdi: GPU %d: device node %s not found under %s", d.Index, node, o.devRoot)
		}
		if !d.MIGEnabled {
			s.Devices = append(s.Devices, devicePair(strconv.Itoa(d.Index), d.UUID, []string{node})...)
			all = appendNodes(all, node)
			continue
		}
		for _, m := range d.MIGDevices {
			caps, err := migCapNodes(o.procRoot, d.Minor, m)
			if err != nil {
				return nil, fmt.Errorf("cdi: MIG device %d:%d: %w", d.Index, m.Index, err)
			}
			nodes := append([]string{node}, caps...)
			s.Devices = append(s.Devices, devicePair(fmt.Sprintf("%d:%d", d.Index, m.Index), m.UUID, nodes)...)
			all = appendNodes(all, nodes...)
		}
	}
	if len(s.Devices) == 0 {
		return nil, errors.New("cdi: no GPU or MIG device to put in the spec")
	}
	s.Devices = append(s.Devices, specs.Device{Name: "all", ContainerEdits: specs.ContainerEdits{DeviceNodes: all}})
	if s.Version, err = specs.MinimumRequiredVersion(s); err != nil {
		return nil, fmt.Errorf("cdi: %w", err)
	}
	return s, nil
}

// Write writes s as YAML, the form containerd reads from /etc/cdi/nvidia.yaml.
func Write(w io.Writer, s *specs.Spec) error {
	b, err := yaml.Marshal(s)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

func selectGPUs(inv *gpu.Inventory, only []int) ([]gpu.Device, error) {
	if len(only) == 0 {
		return inv.GPUs, nil
	}
	var out []gpu.Device
	for _, i := range only {
		d := inv.GPU(i)
		if d == nil {
			return nil, fmt.Errorf("cdi: no GPU %d on this host (it has %d)", i, len(inv.GPUs))
		}
		out = append(out, *d)
	}
	return out, nil
}

// devicePair is one device reachable by two names: its index (or <gpu>:<mig>) and UUID.
func devicePair(name, uuid string, nodes []string) []specs.Device {
	edits := func() specs.ContainerEdits {
		e := specs.ContainerEdits{}
		for _, n := range nodes {
			e.DeviceNodes = append(e.DeviceNodes, &specs.DeviceNode{Path: n})
		}
		return e
	}
	return []specs.Device{{Name: name, ContainerEdits: edits()}, {Name: uuid, ContainerEdits: edits()}}
}

func appendNodes(all []*specs.DeviceNode, paths ...string) []*specs.DeviceNode {
	for _, p := range paths {
		if !slices.ContainsFunc(all, func(n *specs.DeviceNode) bool { return n.Path == p }) {
			all = append(all, &specs.DeviceNode{Path: p})
		}
	}
	return all
}

// controlNodes are the driver's device nodes every GPU container needs; required ones
// must exist, the others are added when present (nvidia-uvm appears once CUDA loaded the
// module; nvidia-modeset only with a display driver).
var controlNodes = []struct {
	path     string
	required bool
}{
	{"/dev/nvidiactl", true},
	{"/dev/nvidia-uvm", false},
	{"/dev/nvidia-uvm-tools", false},
	{"/dev/nvidia-modeset", false},
}

// driverLib is a user-space driver library: its file is <name>.so.<driver version>; the
// spec mounts it under that name and each soname (read from the driver's own links on a
// real host, fixed here so a spec does not depend on links a node may lack).
type driverLib struct {
	name     string
	sonames  []string
	required bool
}

// driverLibs are the compute and utility libraries (what NVIDIA_DRIVER_CAPABILITIES
// "compute,utility" selects in nvidia-container-toolkit).
var driverLibs = []driverLib{
	{"libcuda", []string{"libcuda.so.1", "libcuda.so"}, true},
	{"libnvidia-ml", []string{"libnvidia-ml.so.1"}, true},
	{"libcudadebugger", []string{"libcudadebugger.so.1"}, false},
	{"libnvidia-ptxjitcompiler", []string{"libnvidia-ptxjitcompiler.so.1"}, false},
	{"libnvidia-nvvm", []string{"libnvidia-nvvm.so.4"}, false},
	{"libnvidia-gpucomp", nil, false},
	{"libnvidia-cfg", []string{"libnvidia-cfg.so.1"}, false},
	{"libnvidia-opencl", []string{"libnvidia-opencl.so.1"}, false},
	{"libnvidia-allocator", []string{"libnvidia-allocator.so.1"}, false},
}

// driverBins are the driver's tools a GPU container gets in /usr/bin.
var driverBins = []string{"nvidia-smi", "nvidia-debugdump", "nvidia-cuda-mps-control", "nvidia-cuda-mps-server"}

// libDirs are where distributions put the driver's libraries, searched in order.
var libDirs = []string{
	"/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib/aarch64-linux-gnu", "/lib/x86_64-linux-gnu", "/lib64", "/usr/lib",
}

var binDirs = []string{"/usr/bin", "/usr/local/bin", "/bin"}

var mountOptions = []string{"ro", "nosuid", "nodev", "bind"}

func commonEdits(driverVersion string, o *options) (specs.ContainerEdits, error) {
	var e specs.ContainerEdits
	for _, n := range controlNodes {
		if exists(o.devRoot, n.path) {
			e.DeviceNodes = append(e.DeviceNodes, &specs.DeviceNode{Path: n.path})
		} else if n.required {
			return e, fmt.Errorf("cdi: %s not found under %s: is the NVIDIA kernel module loaded?", n.path, o.devRoot)
		}
	}
	if driverVersion == "" {
		return e, errors.New("cdi: the driver version is unknown, so its libraries cannot be found")
	}
	for _, l := range driverLibs {
		file := l.name + ".so." + driverVersion
		host, ok := find(o.driverRoot, libDirs, file)
		if !ok {
			if l.required {
				return e, fmt.Errorf("cdi: %s not found under %s in %s", file, o.driverRoot, strings.Join(libDirs, ", "))
			}
			continue
		}
		for _, name := range append([]string{file}, l.sonames...) {
			e.Mounts = append(e.Mounts, &specs.Mount{HostPath: host, ContainerPath: LibDir + "/" + name, Options: mountOptions})
		}
	}
	for _, b := range driverBins {
		if host, ok := find(o.driverRoot, binDirs, b); ok {
			e.Mounts = append(e.Mounts, &specs.Mount{HostPath: host, ContainerPath: "/usr/bin/" + b, Options: mountOptions})
		}
	}
	return e, nil
}

// find returns the first dir/name that exists under root, as a path from root.
func find(root string, dirs []string, name string) (string, bool) {
	for _, d := range dirs {
		p := d + "/" + name
		if exists(root, p) {
			return p, true
		}
	}
	return "", false
}

func exists(root, p string) bool {
	_, err := os.Stat(filepath.Join(root, p))
	return err == nil
}

// migCapNodes are the /dev/nvidia-caps nodes that grant access to a MIG device's GPU and
// compute instance; the driver publishes their minors in
// /proc/driver/nvidia/capabilities/gpu<minor>/mig/gi<g>/access and .../ci<c>/access.
func migCapNodes(procRoot string, gpuMinor int, m gpu.MIGDevice) ([]string, error) {
	dir := filepath.Join(procRoot, "proc/driver/nvidia/capabilities", "gpu"+strconv.Itoa(gpuMinor), "mig", "gi"+strconv.Itoa(m.GPUInstanceID))
	var nodes []string
	for _, f := range []string{filepath.Join(dir, "access"), filepath.Join(dir, "ci"+strconv.Itoa(m.ComputeInstanceID), "access")} {
		minor, err := capMinor(f)
		if err != nil {
			return nil, err
		}
		nodes = append(nodes, "/dev/nvidia-caps/nvidia-cap"+strconv.Itoa(minor))
	}
	return nodes, nil
}

// capMinor reads "DeviceFileMinor: N" from a capability access file.
func capMinor(path string) (int, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("%s not found: MIG capabilities need the driver's nvidia-caps (modprobe nvidia-caps)", path)
	}
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "DeviceFileMinor:"); ok {
			return strconv.Atoi(strings.TrimSpace(v))
		}
	}
	return 0, fmt.Errorf("%s has no DeviceFileMinor", path)
}
