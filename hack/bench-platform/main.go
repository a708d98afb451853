// Command bench-platform measures, from one run, the wall time of
// `kfup create --profile minimal` until every component is Ready (node image present
// locally; kfup's own images are built and loaded by create itself, nothing is pulled), and
// the summed resident memory (VmRSS) of the containers of kfup's pods (namespace
// kfup-system), read from /proc inside the node. The cluster is deleted afterwards. Run it
// with `make bench-platform`.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

const cluster = "bench-platform"

func main() {
	kfupBin := flag.String("kfup", "bin/kfup", "kfup binary")
	image := flag.String("node-image", "", "node image (default: as kfup create)")
	flag.Parse()
	if err := run(*kfupBin, *image); err != nil {
		fmt.Fprintln(os.Stderr, "bench-platform:", err)
		os.Exit(1)
	}
}

func run(kfupBin, image string) error {
	tmp, err := os.MkdirTemp("", "kfup-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	env := append(os.Environ(), "KFUP_HOME="+filepath.Join(tmp, "state"), "KUBECONFIG="+filepath.Join(tmp, "kubeconfig"))
	kfup := func(args ...string) error {
		c := exec.Command(kfupBin, args...)
		c.Env, c.Stdout, c.Stderr = env, os.Stderr, os.Stderr
		return c.Run()
	}
	args := []string{"create", "--name", cluster, "--profile", "minimal", "-q"}
	if image != "" {
		args = append(args, "--node-image", image)
	}
	t0 := time.Now()
	err = kfup(args...)
	elapsed := time.Since(t0)
	defer kfup("delete", "--name", cluster, "-q")
	if err != nil {
		return fmt.Errorf("kfup create: %w", err)
	}
	// let the manager settle (caches synced, lease acquired) before reading memory
	time.Sleep(10 * time.Second)
	rss, detail, err := podsRSS(cluster+"-control-plane", "kfup-system")
	if err != nil {
		return err
	}
	fmt.Printf("kfup create --profile minimal: %6.1fs   (target <= 60s: %s)\n", elapsed.Seconds(), verdict(elapsed.Seconds() <= 60))
	fmt.Printf("RSS of kfup's pods:            %6.1f MiB (target <= 150 MiB: %s)\n", float64(rss)/(1<<20), verdict(rss <= 150<<20))
	for _, d := range detail {
		fmt.Printf("  %s\n", d)
	}
	return nil
}

func verdict(ok bool) string {
	if ok {
		return "meets"
	}
	return "MISSES"
}

// podsRSS sums VmRSS of every container of the pods in namespace ns, via crictl and /proc
// inside the node container.
func podsRSS(node, ns string) (int64, []string, error) {
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
