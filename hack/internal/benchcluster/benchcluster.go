// Package benchcluster is the kind cluster a benchmark runs its workload on: created by
// the kfup binary under test with the minimal profile, in a private kfup state directory
// and kubeconfig, so that a benchmark never touches the user's.
package benchcluster

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// Cluster is a kfup cluster in a private state directory.
type Cluster struct {
	// Dir is the private directory: KFUP_HOME is Dir/state, KUBECONFIG Dir/kubeconfig;
	// the benchmark may keep its own files there too.
	Dir  string
	kfup string
	name string
	keep bool
}

// Create makes the private directory, points KFUP_HOME and KUBECONFIG into it and runs
// `kfup create --name name --profile minimal` (with --node-image when nodeImage is set),
// its output on stderr. Close undoes it.
func Create(kfupBin, name, nodeImage string, keep bool) (*Cluster, error) {
	bin, err := filepath.Abs(kfupBin)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "kfup-bench-")
	if err != nil {
		return nil, err
	}
	os.Setenv("KFUP_HOME", filepath.Join(dir, "state"))
	os.Setenv("KUBECONFIG", filepath.Join(dir, "kubeconfig"))
	c := &Cluster{Dir: dir, kfup: bin, name: name, keep: keep}
	args := []string{"create", "--name", name, "--profile", "minimal", "-q"}
	if nodeImage != "" {
		args = append(args, "--node-image", nodeImage)
	}
	if err := c.Kfup(args...); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("kfup create: %w", err)
	}
	return c, nil
}

// Kfup runs the kfup binary with args, its output on stderr.
func (c *Cluster) Kfup(args ...string) error {
	cmd := exec.Command(c.kfup, args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return cmd.Run()
}

// Bin is the kfup binary's absolute path.
func (c *Cluster) Bin() string { return c.kfup }

// Close deletes the cluster (unless created to be kept) and the private directory.
func (c *Cluster) Close() {
	if !c.keep {
		_ = c.Kfup("delete", "--name", c.name, "-q")
	}
	os.RemoveAll(c.Dir)
}

// PodsRSS sums VmRSS of every container of the pods in namespace ns, via crictl and
// /proc inside the node container, and lists each container's.
func PodsRSS(node, ns string) (int64, []string, error) {
	out, err := exec.Command("docker", "exec", node, "crictl", "ps", "-q", "--label", "io.kubernetes.pod.namespace="+ns).Output()
	if err != nil {
		return 0, nil, fmt.Errorf("crictl ps: %w", err)
	}
	var total int64
	var detail []string
	for _, id := range strings.Fields(string(out)) {
		js, err := exec.Command("docker", "exec", node, "crictl", "inspect", id).Output()
		if err != nil {
			return 0, nil, fmt.Errorf("crictl inspect %s: %w", id, err)
		}
		var info struct {
			Status struct {
				Metadata struct{ Name string }
				Labels   map[string]string
			}
			Info struct{ Pid int }
		}
		if err := json.Unmarshal(js, &info); err != nil {
			return 0, nil, err
		}
		st, err := exec.Command("docker", "exec", node, "cat", fmt.Sprintf("/proc/%d/status", info.Info.Pid)).Output()
		if err != nil {
			return 0, nil, fmt.Errorf("read /proc/%d/status: %w", info.Info.Pid, err)
		}
		for _, line := range strings.Split(string(st), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				total += kb << 10
				detail = append(detail, fmt.Sprintf("%s/%s: %.1f MiB", info.Status.Labels["io.kubernetes.pod.name"], info.Status.Metadata.Name, float64(kb)/1024))
			}
		}
	}
	if len(detail) == 0 {
		return 0, nil, fmt.Errorf("no running containers in namespace %s", ns)
	}
	return total, detail, nil
}
