package preflight

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/kfup/kfup/gpu"
	"github.com/kfup/kfup/gpu/cdi"
	"github.com/kfup/kfup/gpu/deviceplugin"
)

// GPUProbes reads what `kfup doctor --gpu` checks. Each may be replaced in tests;
// HostGPUProbes reads the real host.
type GPUProbes struct {
	// DriverVersionFile returns /proc/driver/nvidia/version.
	DriverVersionFile func() (string, error)
	// DeviceNodes returns the /dev/nvidia* character devices present, as full paths.
	DeviceNodes func() ([]string, error)
	// Discover is gpu.Discover.
	Discover func(ctx context.Context) (*gpu.Inventory, error)
	// DriverFiles checks that the driver files the CDI spec needs exist (cdi.Spec's own
	// lookup).
	DriverFiles func(inv *gpu.Inventory) error
	// LookPath finds a program in PATH (exec.LookPath).
	LookPath func(name string) (string, error)
	// DockerDeviceProbe runs a throwaway container that is handed the device nodes; nil
	// means the probe is not run (it needs `docker run` and the node image).
	DockerDeviceProbe func(ctx context.Context, image string, nodes []string) error
}

// GPUOptions says what `kfup doctor --gpu` checks against.
type GPUOptions struct {
	// MIGStrategy is the --gpu-mig-strategy kfup create will use: none ("" too), single
	// or mixed.
	MIGStrategy string
	// DockerProbe runs GPUProbes.DockerDeviceProbe (doctor --gpu-docker-probe).
	DockerProbe bool
	// ProbeImage is the image the probe's container runs: the node image, which kind
	// needs anyway.
	ProbeImage string
}

// Fixes named by the GPU checks.
const (
	fixLoadDriver = "sudo modprobe nvidia (if the module is not installed: install the NVIDIA driver, e.g. 'sudo ubuntu-drivers install' or your distribution's nvidia-driver package, then reboot)"
	fixUVM        = "sudo modprobe nvidia-uvm && sudo nvidia-modprobe -u -c=0"
	fixDriverLibs = "install the driver's user-space libraries matching the kernel module (e.g. 'sudo apt install libnvidia-compute-<major>'); 'nvidia-smi' must work"
)

var driverVersionRE = regexp.MustCompile(`Kernel Module(?:\s+for\s+\S+)?\s+([0-9]+(?:\.[0-9]+)+)`)

// ParseDriverVersion returns the version in /proc/driver/nvidia/version's NVRM line, e.g.
// "550.54.15" from "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15  Tue Mar ...".
func ParseDriverVersion(s string) (string, bool) {
	m := driverVersionRE.FindStringSubmatch(s)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// RunGPU runs the GPU checks of `kfup doctor --gpu`. Checks that need an earlier one are
// reported as failed dependencies, never skipped silently. info and dockerErr are the
// Docker daemon as Run saw it.
func RunGPU(ctx context.Context, p GPUProbes, o GPUOptions, info DockerInfo, dockerErr error) []Check {
	var out []Check
	driver := checkGPUDriver(p.DriverVersionFile)
	out = append(out, driver)
	driverOK := driver.Status == Pass

	inv, discoverErr := p.Discover(ctx)
	nodes, nodesErr := p.DeviceNodes()
	out = append(out, checkDeviceNodes(nodes, nodesErr, inv, driverOK)...)
	out = append(out, checkDiscovery(inv, discoverErr))
	discovered := discoverErr == nil && inv != nil

	libs := Check{Name: "gpu driver libraries"}
	switch {
	case !discovered:
		libs.Status, libs.Detail, libs.Fix = Fail, "needs GPU discovery (above)", "fix the GPU discovery check first"
	default:
		if err := p.DriverFiles(inv); err != nil {
			libs.Status, libs.Detail, libs.Fix = Fail, err.Error(), fixDriverLibs
		} else {
			libs.Status, libs.Detail = Pass, "libcuda, libnvidia-ml and the device nodes the CDI spec needs are present (driver "+inv.DriverVersion+")"
		}
	}
	out = append(out, libs)

	out = append(out, checkDockerDevices(ctx, p, o, info, dockerErr, nodes))
	out = append(out, checkToolkit(p.LookPath))
	if discovered {
		out = append(out, checkMIG(inv, o.MIGStrategy)...)
	} else {
		out = append(out, Check{Name: "gpu mig", Status: Fail, Detail: "needs GPU discovery (above)", Fix: "fix the GPU discovery check first"})
	}
	return out
}

func checkGPUDriver(read func() (string, error)) Check {
	c := Check{Name: "nvidia driver"}
	s, err := read()
	if err != nil {
		c.Status, c.Detail, c.Fix = Fail, "kernel module not loaded (/proc/driver/nvidia/version: "+err.Error()+")", fixLoadDriver
		return c
	}
	v, ok := ParseDriverVersion(s)
	if !ok {
		c.Status, c.Detail, c.Fix = Warn, fmt.Sprintf("loaded, but its version is unreadable (%q)", firstLine(strings.TrimSpace(s))), "check 'cat /proc/driver/nvidia/version'"
		return c
	}
	c.Status, c.Detail = Pass, "kernel module "+v+" loaded"
	return c
}

var gpuNodeRE = regexp.MustCompile(`^/dev/nvidia([0-9]+)$`)

func checkDeviceNodes(nodes []string, err error, inv *gpu.Inventory, driverOK bool) []Check {
	if err != nil {
		return []Check{{Name: "gpu device nodes", Status: Fail, Detail: "cannot list /dev/nvidia*: " + err.Error(), Fix: "check with 'ls -l /dev/nvidia*'"}}
	}
	have := map[string]bool{}
	var minors []int
	for _, n := range nodes {
		have[n] = true
		if m := gpuNodeRE.FindStringSubmatch(n); m != nil {
			i, _ := strconv.Atoi(m[1])
			minors = append(minors, i)
		}
	}
	slices.Sort(minors)
	var out []Check
	ctl := Check{Name: "/dev/nvidiactl"}
	if have["/dev/nvidiactl"] {
		ctl.Status, ctl.Detail = Pass, "present"
	} else {
		ctl.Status, ctl.Detail = Fail, "missing"
		ctl.Fix = "sudo nvidia-modprobe -c=0 (or run 'sudo nvidia-smi' once, which creates the nodes)"
		if !driverOK {
			ctl.Fix = fixLoadDriver
		}
	}
	out = append(out, ctl)

	gpus := Check{Name: "/dev/nvidia<N>"}
	var want []int
	if inv != nil {
		for _, d := range inv.GPUs {
			want = append(want, d.Minor)
		}
	}
	var missing []string
	for _, m := range want {
		if !slices.Contains(minors, m) {
			missing = append(missing, strconv.Itoa(m))
		}
	}
	switch {
	case len(missing) > 0:
		gpus.Status, gpus.Detail = Fail, "missing /dev/nvidia"+strings.Join(missing, ", /dev/nvidia")
		gpus.Fix = "sudo nvidia-modprobe -c=" + missing[0] + " (one per missing minor), or run 'sudo nvidia-smi' once"
	case len(minors) == 0:
		gpus.Status, gpus.Detail = Fail, "no /dev/nvidia<N> node"
		gpus.Fix = "sudo nvidia-modprobe -c=0, or run 'sudo nvidia-smi' once; if the driver sees no GPU: 'dmesg | grep -i nvidia'"
		if !driverOK {
			gpus.Fix = fixLoadDriver
		}
	default:
		var names []string
		for _, m := range minors {
			names = append(names, "/dev/nvidia"+strconv.Itoa(m))
		}
		gpus.Status, gpus.Detail = Pass, strings.Join(names, ", ")
	}
	out = append(out, gpus)

	uvm := Check{Name: "/dev/nvidia-uvm"}
	if have["/dev/nvidia-uvm"] {
		uvm.Status, uvm.Detail = Pass, "present"
	} else {
		// CUDA needs it; nvidia-smi does not
		uvm.Status, uvm.Detail, uvm.Fix = Fail, "missing: CUDA programs cannot run", fixUVM
	}
	out = append(out, uvm)
	return out
}

func checkDiscovery(inv *gpu.Inventory, err error) Check {
	c := Check{Name: "gpu discovery"}
	switch {
	case errors.Is(err, gpu.ErrNoDriver):
		c.Status, c.Detail, c.Fix = Fail, err.Error(), fixLoadDriver
	case errors.Is(err, gpu.ErrNoDevices):
		c.Status, c.Detail, c.Fix = Fail, err.Error(), "check 'nvidia-smi -L' and 'dmesg | grep -i nvidia'; a GPU passed to a VM must be bound to the nvidia driver"
	case err != nil:
		c.Status, c.Detail, c.Fix = Fail, err.Error(), "check that 'nvidia-smi' works on the host"
	case inv == nil || len(inv.GPUs) == 0:
		c.Status, c.Detail, c.Fix = Fail, "no GPU found", "check 'nvidia-smi -L'"
	default:
		var names []string
		for _, d := range inv.GPUs {
			names = append(names, fmt.Sprintf("%d: %s", d.Index, d.Name))
		}
		c.Status = Pass
		c.Detail = fmt.Sprintf("%d GPU(s) via %s, driver %s", len(inv.GPUs), inv.Source, inv.DriverVersion)
		if inv.CUDAVersion != "" {
			c.Detail += ", CUDA " + inv.CUDAVersion
		}
		c.Detail += " (" + strings.Join(names, "; ") + ")"
	}
	return c
}

// checkDockerDevices is what can be known about Docker handing /dev/nvidia* to the kind
// node without running a container: kind nodes are privileged containers, and kfup
// bind-mounts the device nodes into them, so what matters is a daemon that runs
// privileged containers with real device access (rootful; cgroup v2 or v1 both allow
// devices in a privileged container). The real probe runs one only when asked.
func checkDockerDevices(ctx context.Context, p GPUProbes, o GPUOptions, info DockerInfo, dockerErr error, nodes []string) Check {
	c := Check{Name: "docker device access"}
	if dockerErr != nil {
		c.Status, c.Detail, c.Fix = Fail, "needs Docker (above)", "fix the docker check first"
		return c
	}
	var notes []string
	c.Status = Pass
	if info.Rootless {
		c.Status = Warn
		notes = append(notes, "rootless daemon: the node can open /dev/nvidia* only if your user can")
		c.Fix = "check 'ls -l /dev/nvidia*' shows crw-rw-rw-, or use a rootful Docker daemon"
	}
	switch info.CgroupVersion {
	case "2":
		notes = append(notes, "cgroup v2, privileged nodes get the bind-mounted device nodes")
	case "1":
		notes = append(notes, "cgroup v1 device controller, privileged nodes get the bind-mounted device nodes")
	default:
		if c.Status == Pass {
			c.Status, c.Fix = Warn, "check 'docker info' for the cgroup version; run 'kfup doctor --gpu --gpu-docker-probe' to try it"
		}
		notes = append(notes, fmt.Sprintf("unknown cgroup version %q", info.CgroupVersion))
	}
	if o.DockerProbe && p.DockerDeviceProbe != nil {
		var probe []string
		for _, n := range nodes {
			if n == "/dev/nvidiactl" || gpuNodeRE.MatchString(n) || n == "/dev/nvidia-uvm" {
				probe = append(probe, n)
			}
		}
		if len(probe) == 0 {
			c.Status, c.Fix = Fail, "fix the device node checks first"
			notes = append(notes, "probe: no device node to pass")
		} else if err := p.DockerDeviceProbe(ctx, o.ProbeImage, probe); err != nil {
			c.Status = Fail
			c.Fix = "check that 'docker run --rm --privileged -v /dev/nvidiactl:/dev/nvidiactl <node image> test -c /dev/nvidiactl' works (SELinux/AppArmor, rootless Docker)"
			notes = append(notes, "probe: "+err.Error())
		} else {
			notes = append(notes, fmt.Sprintf("probe: a container opened %d device node(s)", len(probe)))
		}
	} else if !o.DockerProbe {
		notes = append(notes, "not tried (--gpu-docker-probe runs a container)")
	}
	c.Detail = strings.Join(notes, "; ")
	return c
}

func checkToolkit(lookPath func(string) (string, error)) Check {
	c := Check{Name: "nvidia-container-toolkit", Status: Pass}
	for _, b := range []string{"nvidia-ctk", "nvidia-container-runtime"} {
		if p, err := lookPath(b); err == nil {
			c.Detail = "found (" + p + "); not needed on the CDI path kfup uses"
			return c
		}
	}
	c.Detail = "not installed; not needed on the CDI path kfup uses"
	return c
}

// checkMIG reports each GPU's MIG mode and whether strategy can use them all
// (deviceplugin.Resources, which create --gpu and the plugin apply).
func checkMIG(inv *gpu.Inventory, strategy string) []Check {
	if strategy == "" {
		strategy = deviceplugin.MIGNone
	}
	anyMIG := slices.ContainsFunc(inv.GPUs, func(d gpu.Device) bool { return d.MIGEnabled })
	var out []Check
	for _, d := range inv.GPUs {
		c := Check{Name: fmt.Sprintf("gpu %d mig", d.Index), Status: Pass}
		if !d.MIGEnabled {
			c.Detail = "off"
			// single without any MIG GPU serves whole GPUs; with some, every GPU needs it
			if strategy == deviceplugin.MIGSingle && anyMIG {
				c.Status = Fail
				c.Detail += fmt.Sprintf(" (strategy %s needs MIG on every GPU)", strategy)
				c.Fix = fmt.Sprintf("sudo nvidia-smi -i %d -mig 1 and create MIG devices, or pass --gpu-mig-strategy mixed", d.Index)
			}
			out = append(out, c)
			continue
		}
		var profiles []string
		for _, m := range d.MIGDevices {
			profiles = append(profiles, m.Profile)
		}
		c.Detail = fmt.Sprintf("on, %d MIG device(s)", len(d.MIGDevices))
		if len(profiles) > 0 {
			c.Detail += " (" + strings.Join(profiles, ", ") + ")"
		}
		if strategy == deviceplugin.MIGNone {
			c.Status = Fail
			c.Detail += "; strategy none cannot use it"
			c.Fix = fmt.Sprintf("sudo nvidia-smi -i %d -mig 0 (then reset the GPU or reboot), or pass --gpu-mig-strategy mixed", d.Index)
		}
		out = append(out, c)
	}
	s := Check{Name: "gpu mig strategy " + strategy}
	if _, err := deviceplugin.Resources(inv, deviceplugin.Config{MIGStrategy: strategy}); err != nil {
		s.Status, s.Detail = Fail, err.Error()
		s.Fix = "pass --gpu-mig-strategy to match the GPUs' MIG mode (see the gpu N mig checks above)"
	} else {
		s.Status, s.Detail = Pass, "the GPUs' MIG modes work with it"
	}
	out = append(out, s)
	return out
}

// cdiDriverFiles checks the driver files with the CDI spec generator's own lookup.
func cdiDriverFiles(root string) func(*gpu.Inventory) error {
	return func(inv *gpu.Inventory) error {
		_, err := cdi.Spec(inv, cdi.WithDriverRoot(root), cdi.WithProcRoot(root))
		return err
	}
}
