// Package preflight checks whether a host can run a kfup cluster: Docker reachable, cgroup
// version, CPUs, memory, disk, inotify limits, host ports and the node image, and with
// RunGPU the NVIDIA driver, device nodes and MIG modes a GPU node needs. Every probe is
// a field of Probes, so the checks are tested with injected values; HostProbes reads the
// real host. `kfup doctor` prints all checks; `kfup create` refuses on any failed one.
package preflight

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// Status is the outcome of one check.
type Status string

const (
	// Pass means the host is fine for this check.
	Pass Status = "pass"
	// Warn means kfup will work, perhaps poorly; the fix is advised.
	Warn Status = "warn"
	// Fail means kfup cannot create a cluster until the fix is applied.
	Fail Status = "fail"
)

// Check is the result of one check.
type Check struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	Detail string `json:"detail"`
	// Fix is a one-line remedy; empty for passing checks.
	Fix string `json:"fix,omitempty"`
}

// DockerInfo is the part of `docker info` kfup looks at.
type DockerInfo struct {
	ServerVersion   string
	CgroupVersion   string
	NCPU            int
	MemTotal        int64
	DockerRootDir   string
	OperatingSystem string
	// Rootless is a rootless daemon (SecurityOptions has name=rootless).
	Rootless bool
}

// Probes reads the host. Each may be replaced in tests.
type Probes struct {
	DockerInfo   func(ctx context.Context) (DockerInfo, error)
	HostCPUs     func() int
	HostMemory   func() (uint64, error)
	DiskFree     func(path string) (uint64, error)
	Sysctl       func(name string) (string, error)
	PortFree     func(addr string, port int) bool
	ImagePresent func(ctx context.Context, image string) (bool, error)
	// GPU reads the NVIDIA driver, for `kfup doctor --gpu` (RunGPU).
	GPU GPUProbes
}

// Port is a host port the cluster wants; Explicit ports (named by a flag) must be free,
// automatic ones are only preferred.
type Port struct {
	Port     int
	Flag     string
	Explicit bool
}

// Options says what the planned cluster needs.
type Options struct {
	ListenAddress string
	Ports         []Port
	// NodeImage is checked for presence in the local image store, when set.
	NodeImage string
	// GPU, when set, adds the GPU checks (RunGPU) with Probes.GPU.
	GPU *GPUOptions
}

// Thresholds. Memory and disk are what one kind node plus kfup's minimal profile need.
const (
	GiB                    = 1 << 30
	MinMemory              = 2 * GiB
	RecommendedMemory      = 4 * GiB
	MinDisk                = 3 * GiB
	RecommendedDisk        = 10 * GiB
	RecommendedCPUs        = 2
	RecommendedWatches     = 524288
	RecommendedInstances   = 512
	inotifyWatchesSysctl   = "fs.inotify.max_user_watches"
	inotifyInstancesSysctl = "fs.inotify.max_user_instances"
)

// Run runs every check. Checks that need Docker are reported as failed dependencies when
// Docker is unreachable, not skipped silently.
func Run(ctx context.Context, p Probes, o Options) []Check {
	var out []Check
	info, dockerErr := p.DockerInfo(ctx)
	out = append(out, checkDocker(info, dockerErr))
	dockerOK := dockerErr == nil
	if dockerOK {
		out = append(out, checkCgroup(info))
	}
	out = append(out, checkCPUs(info, dockerOK, p.HostCPUs))
	out = append(out, checkMemory(info, dockerOK, p.HostMemory))
	out = append(out, checkDisk(info, dockerOK, p.DiskFree))
	out = append(out, checkSysctl(p.Sysctl, inotifyWatchesSysctl, RecommendedWatches))
	out = append(out, checkSysctl(p.Sysctl, inotifyInstancesSysctl, RecommendedInstances))
	for _, port := range o.Ports {
		out = append(out, checkPort(p.PortFree, o.ListenAddress, port))
	}
	if dockerOK && o.NodeImage != "" && p.ImagePresent != nil {
		out = append(out, checkNodeImage(ctx, p.ImagePresent, o.NodeImage))
	}
	if o.GPU != nil {
		out = append(out, RunGPU(ctx, p.GPU, *o.GPU, info, dockerErr)...)
	}
	return out
}

// Failed returns the checks with status Fail.
func Failed(checks []Check) []Check {
	var f []Check
	for _, c := range checks {
		if c.Status == Fail {
			f = append(f, c)
		}
	}
	return f
}

func checkDocker(info DockerInfo, err error) Check {
	c := Check{Name: "docker"}
	if err != nil {
		c.Status, c.Detail = Fail, err.Error()
		c.Fix = "install Docker and start it (e.g. 'sudo systemctl start docker'); check with 'docker info'"
		return c
	}
	c.Status, c.Detail = Pass, "reachable, server "+info.ServerVersion
	if info.OperatingSystem != "" {
		c.Detail += " on " + info.OperatingSystem
	}
	return c
}

func checkCgroup(info DockerInfo) Check {
	c := Check{Name: "cgroup version"}
	switch info.CgroupVersion {
	case "2":
		c.Status, c.Detail = Pass, "v2"
	case "1":
		c.Status, c.Detail = Warn, "v1: deprecated by Kubernetes; kfup sets kubelet failCgroupV1: false so the node still starts"
		c.Fix = "boot the host with cgroup v2 (kernel arg systemd.unified_cgroup_hierarchy=1)"
	default:
		c.Status, c.Detail = Warn, fmt.Sprintf("unknown (%q)", info.CgroupVersion)
		c.Fix = "check 'docker info' for the cgroup version"
	}
	return c
}

func checkCPUs(info DockerInfo, dockerOK bool, host func() int) Check {
	n, src := info.NCPU, "available to Docker"
	if !dockerOK || n == 0 {
		n, src = host(), "on the host"
	}
	c := Check{Name: "cpus", Detail: fmt.Sprintf("%d %s", n, src)}
	if n < RecommendedCPUs {
		c.Status, c.Fix = Warn, fmt.Sprintf("give Docker at least %d CPUs (Docker Desktop: Settings → Resources)", RecommendedCPUs)
	} else {
		c.Status = Pass
	}
	return c
}

func checkMemory(info DockerInfo, dockerOK bool, host func() (uint64, error)) Check {
	c := Check{Name: "memory"}
	mem, src := uint64(info.MemTotal), "available to Docker"
	if !dockerOK || mem == 0 {
		m, err := host()
		if err != nil {
			c.Status, c.Detail, c.Fix = Warn, "cannot read: "+err.Error(), "check free memory by hand ('free -h')"
			return c
		}
		mem, src = m, "on the host"
	}
	c.Detail = fmt.Sprintf("%s %s", formatBytes(mem), src)
	switch {
	case mem < MinMemory:
		c.Status, c.Fix = Fail, fmt.Sprintf("kfup needs at least %s of memory for Docker; free some or raise Docker's limit", formatBytes(MinMemory))
	case mem < RecommendedMemory:
		c.Status, c.Fix = Warn, fmt.Sprintf("%s or more is recommended; raise Docker's memory limit", formatBytes(RecommendedMemory))
	default:
		c.Status = Pass
	}
	return c
}

func checkDisk(info DockerInfo, dockerOK bool, free func(string) (uint64, error)) Check {
	c := Check{Name: "disk"}
	path := "/"
	if dockerOK && info.DockerRootDir != "" {
		path = info.DockerRootDir
	}
	n, err := free(path)
	if err != nil && path != "/" {
		// a remote or VM-hosted daemon: its root dir is not on this filesystem
		path = "/"
		n, err = free(path)
	}
	if err != nil {
		c.Status, c.Detail, c.Fix = Warn, "cannot read free space: "+err.Error(), "check free disk space by hand ('df -h')"
		return c
	}
	c.Detail = fmt.Sprintf("%s free in %s", formatBytes(n), path)
	switch {
	case n < MinDisk:
		c.Status, c.Fix = Fail, fmt.Sprintf("free at least %s there (e.g. 'docker system prune')", formatBytes(MinDisk))
	case n < RecommendedDisk:
		c.Status, c.Fix = Warn, fmt.Sprintf("%s free is recommended for node and workload images ('docker system prune')", formatBytes(RecommendedDisk))
	default:
		c.Status = Pass
	}
	return c
}

func checkSysctl(read func(string) (string, error), name string, want int) Check {
	c := Check{Name: name}
	v, err := read(name)
	if err != nil {
		c.Status, c.Detail = Warn, "cannot read: "+err.Error()
		c.Fix = fmt.Sprintf("check with 'sysctl %s'", name)
		return c
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		c.Status, c.Detail = Warn, fmt.Sprintf("unexpected value %q", v)
		return c
	}
	c.Detail = strconv.Itoa(n)
	if n < want {
		c.Status = Warn
		c.Detail += fmt.Sprintf(" (below %d: pods may fail with \"too many open files\")", want)
		c.Fix = fmt.Sprintf("sudo sysctl -w %s=%d, and persist it: echo %s=%d | sudo tee /etc/sysctl.d/99-kfup.conf", name, want, name, want)
		return c
	}
	c.Status = Pass
	return c
}

func checkPort(free func(string, int) bool, addr string, p Port) Check {
	if addr == "" {
		addr = "127.0.0.1"
	}
	c := Check{Name: fmt.Sprintf("host port %d", p.Port)}
	if free(addr, p.Port) {
		c.Status, c.Detail = Pass, "free on "+addr
		return c
	}
	if p.Explicit {
		c.Status, c.Detail = Fail, fmt.Sprintf("in use on %s (--%s)", addr, p.Flag)
		c.Fix = fmt.Sprintf("free the port or pass another with --%s (0 picks a free one)", p.Flag)
		return c
	}
	c.Status, c.Detail = Warn, fmt.Sprintf("in use on %s; kfup will pick another port", addr)
	c.Fix = fmt.Sprintf("free the port if you want the ingress on %d", p.Port)
	return c
}

func checkNodeImage(ctx context.Context, present func(context.Context, string) (bool, error), image string) Check {
	c := Check{Name: "node image"}
	ok, err := present(ctx, image)
	switch {
	case err != nil:
		c.Status, c.Detail, c.Fix = Warn, "cannot inspect "+image+": "+err.Error(), "check with 'docker image inspect "+image+"'"
	case ok:
		c.Status, c.Detail = Pass, image+" is present locally"
	default:
		c.Status, c.Detail = Warn, image+" is not present locally; creating the cluster will pull it (needs network access)"
		c.Fix = "offline: 'docker load' the image first, or point --node-image / KFUP_NODE_IMAGE at a local one"
	}
	return c
}

func formatBytes(n uint64) string {
	switch {
	case n >= GiB:
		return fmt.Sprintf("%.1f GiB", float64(n)/GiB)
	case n >= 1<<20:
		return fmt.Sprintf("%d MiB", n>>20)
	default:
		return fmt.Sprintf("%d B", n)
	}
}
