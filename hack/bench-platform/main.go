// Command bench-platform measures, from one run, the wall time of `kfup create` with a
// profile (minimal by default; --set settings on top) until every component is Ready
// (node image present locally; kfup's own images are built and loaded by create itself,
// nothing is pulled), and the summed resident memory (VmRSS) of the containers of kfup's
// pods (namespace kfup-system) — with Knative enabled by the profile or a --set, of the
// serverless stack too (knative-serving) — read from /proc inside the node. The cluster is deleted
// afterwards. Run it with `make bench-platform` (minimal) or `make
// bench-platform-serverless` (Knative Serving on kfup's ingress).
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/kfup/kfup/hack/internal/benchcluster"
	"github.com/kfup/kfup/profiles"
)

const cluster = "bench-platform"

// sets is the repeatable --set flag.
type sets []string

func (s *sets) String() string     { return strings.Join(*s, " ") }
func (s *sets) Set(v string) error { *s = append(*s, v); return nil }

func main() {
	kfupBin := flag.String("kfup", "bin/kfup", "kfup binary")
	image := flag.String("node-image", "", "node image (default: as kfup create)")
	profile := flag.String("profile", "minimal", "profile created")
	var set sets
	flag.Var(&set, "set", "a kfup create --set on top of the profile (repeatable)")
	flag.Parse()
	if err := run(*kfupBin, *image, *profile, set); err != nil {
		fmt.Fprintln(os.Stderr, "bench-platform:", err)
		os.Exit(1)
	}
}

func run(kfupBin, image, profile string, set []string) error {
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
	args := []string{"create", "--name", cluster, "--profile", profile, "-q", "--wait", "10m"}
	if image != "" {
		args = append(args, "--node-image", image)
	}
	// what the cluster gets, as kfup create resolves it: the profile, then each --set
	p, err := profiles.Load(profile)
	if err != nil {
		return err
	}
	for _, s := range set {
		if err := p.Set(s); err != nil {
			return err
		}
		args = append(args, "--set", s)
	}
	knative := p.IsEnabled(profiles.Knative)
	what := "kfup create --profile " + profile
	if len(set) > 0 {
		what += " --set " + strings.Join(set, " --set ")
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
	node := cluster + "-control-plane"
	rss, detail, err := benchcluster.PodsRSS(node, "kfup-system")
	if err != nil {
		return err
	}
	fmt.Printf("%s\n", what)
	fmt.Printf("  to every component Ready:     %6.1fs   (target <= 60s: %s)\n", elapsed.Seconds(), verdict(elapsed.Seconds() <= 60))
	fmt.Printf("  RSS of kfup's pods:           %6.1f MiB (target <= 150 MiB: %s)\n", float64(rss)/(1<<20), verdict(rss <= 150<<20))
	for _, d := range detail {
		fmt.Printf("    %s\n", d)
	}
	if knative {
		krss, kdetail, err := benchcluster.PodsRSS(node, "knative-serving")
		if err != nil {
			return err
		}
		fmt.Printf("  RSS of Knative Serving:       %6.1f MiB\n", float64(krss)/(1<<20))
		for _, d := range kdetail {
			fmt.Printf("    %s\n", d)
		}
		fmt.Printf("  serverless stack (kfup + Knative): %.1f MiB\n", float64(rss+krss)/(1<<20))
	}
	return nil
}

func verdict(ok bool) string {
	if ok {
		return "meets"
	}
	return "MISSES"
}
