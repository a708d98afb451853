// Package benchcluster is the kind cluster a benchmark runs its workload on: created by
// the kfup binary under test with the minimal profile, in a private kfup state directory
// and kubeconfig, so that a benchmark never touches the user's.
package benchcluster

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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
