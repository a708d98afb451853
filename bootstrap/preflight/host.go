package preflight

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/kfup/kfup/gpu"
)

// HostProbes returns probes that read this host and its Docker daemon. portFree decides
// port availability (bootstrap.TCPPortFree).
func HostProbes(portFree func(addr string, port int) bool) Probes {
	return Probes{
		DockerInfo:   dockerInfo,
		HostCPUs:     runtime.NumCPU,
		HostMemory:   hostMemory,
		DiskFree:     diskFree,
		Sysctl:       sysctl,
		PortFree:     portFree,
		ImagePresent: imagePresent,
		GPU:          HostGPUProbes("/"),
	}
}

// HostGPUProbes returns probes that read this host's NVIDIA driver, with the driver's
// files looked up under root ("/" on a real host).
func HostGPUProbes(root string) GPUProbes {
	return GPUProbes{
		DriverVersionFile: func() (string, error) {
			b, err := os.ReadFile(filepath.Join(root, "proc/driver/nvidia/version"))
			return string(b), err
		},
		DeviceNodes: func() ([]string, error) { return charDevices(filepath.Join(root, "dev"), "nvidia*") },
		Discover: func(ctx context.Context) (*gpu.Inventory, error) {
			return gpu.Discover(ctx, gpu.WithProcRoot(root))
		},
		DriverFiles:       cdiDriverFiles(root),
		LookPath:          exec.LookPath,
		DockerDeviceProbe: dockerDeviceProbe,
	}
}

// charDevices lists the character devices in dir matching pattern, as /dev/<name>.
func charDevices(dir, pattern string) ([]string, error) {
	matches, err := filepath.Glob(filepath.Join(dir, pattern))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range matches {
		st, err := os.Stat(m)
		if err != nil || st.Mode()&os.ModeCharDevice == 0 {
			continue
		}
		out = append(out, "/dev/"+filepath.Base(m))
	}
	return out, nil
}

// dockerDeviceProbe runs a privileged container from image (the node image, as kind runs
// it) with nodes bind-mounted, and checks it sees each as a character device.
func dockerDeviceProbe(ctx context.Context, image string, nodes []string) error {
	args := []string{"run", "--rm", "--privileged", "--network", "none", "--entrypoint", "sh"}
	for _, n := range nodes {
		args = append(args, "-v", n+":"+n)
	}
	args = append(args, image, "-c", `for d in "$@"; do test -c "$d" || { echo "$d is not a character device in the container"; exit 1; }; done`, "probe")
	args = append(args, nodes...)
	out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput()
	if err != nil {
		msg := strings.TrimSpace(string(out))
		if msg == "" {
			msg = err.Error()
		}
		return fmt.Errorf("docker run: %s", firstLine(msg))
	}
	return nil
}

func dockerInfo(ctx context.Context) (DockerInfo, error) {
	if _, err := exec.LookPath("docker"); err != nil {
		return DockerInfo{}, errors.New("docker CLI not found in PATH")
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "docker", "info", "--format", "{{json .}}")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return DockerInfo{}, fmt.Errorf("docker daemon not reachable: %s", firstLine(msg))
	}
	var raw struct {
		ServerVersion   string
		CgroupVersion   string
		NCPU            int
		MemTotal        int64
		DockerRootDir   string
		OperatingSystem string
		ServerErrors    []string
		SecurityOptions []string
	}
	if err := json.Unmarshal(stdout.Bytes(), &raw); err != nil {
		return DockerInfo{}, fmt.Errorf("parse docker info: %w", err)
	}
	if len(raw.ServerErrors) > 0 {
		return DockerInfo{}, fmt.Errorf("docker daemon not reachable: %s", firstLine(raw.ServerErrors[0]))
	}
	return DockerInfo{
		ServerVersion: raw.ServerVersion, CgroupVersion: raw.CgroupVersion, NCPU: raw.NCPU,
		MemTotal: raw.MemTotal, DockerRootDir: raw.DockerRootDir, OperatingSystem: raw.OperatingSystem,
		Rootless: slices.Contains(raw.SecurityOptions, "name=rootless"),
	}, nil
}

func imagePresent(ctx context.Context, image string) (bool, error) {
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "docker", "image", "inspect", "--format", "{{.Id}}", image)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		if strings.Contains(strings.ToLower(stderr.String()), "no such image") {
			return false, nil
		}
		return false, fmt.Errorf("%s", firstLine(strings.TrimSpace(stderr.String())))
	}
	return true, nil
}

func hostMemory() (uint64, error) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, err := strconv.ParseUint(fields[1], 10, 64)
			if err != nil {
				return 0, err
			}
			return kb * 1024, nil
		}
	}
	return 0, errors.New("MemTotal not in /proc/meminfo")
}

func diskFree(path string) (uint64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return 0, err
	}
	return st.Bavail * uint64(st.Bsize), nil
}

func sysctl(name string) (string, error) {
	b, err := os.ReadFile("/proc/sys/" + strings.ReplaceAll(name, ".", "/"))
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
