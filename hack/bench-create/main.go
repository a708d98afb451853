// Command bench-create measures, from one run each, the wall time of `kfup create` (no
// components) and of a plain kind create through the kind library with the same node image
// (waiting for the node to be Ready, as `kind create cluster --wait` does), and prints both
// and their ratio. Each cluster is deleted afterwards. Run it with `make bench-create`.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	kindcluster "sigs.k8s.io/kind/pkg/cluster"

	"github.com/kfup/kfup/bootstrap"
	"github.com/kfup/kfup/bootstrap/preflight"
)

func main() {
	kfupBin := flag.String("kfup", "bin/kfup", "kfup binary")
	image := flag.String("node-image", "", "node image (default: as kfup create)")
	flag.Parse()
	if err := run(*kfupBin, bootstrap.ResolveNodeImage(*image)); err != nil {
		fmt.Fprintln(os.Stderr, "bench-create:", err)
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

	// kfup create
	t0 := time.Now()
	create := exec.Command(kfupBin, "create", "--name", "bench-kfup", "--node-image", image, "--profile", "none", "-q")
	create.Env, create.Stdout, create.Stderr = env, os.Stderr, os.Stderr
	err = create.Run()
	kfupTime := time.Since(t0)
	del := exec.Command(kfupBin, "delete", "--name", "bench-kfup", "-q")
	del.Env, del.Stdout, del.Stderr = env, os.Stderr, os.Stderr
	_ = del.Run()
	if err != nil {
		return fmt.Errorf("kfup create: %w", err)
	}

	// plain kind create, same node image, only what this host needs to boot kubelet
	cfg := &v1alpha4.Cluster{}
	cfg.Kind, cfg.APIVersion = "Cluster", "kind.x-k8s.io/v1alpha4"
	if info, err := preflight.HostProbes(bootstrap.TCPPortFree).DockerInfo(context.Background()); err == nil && info.CgroupVersion == "1" {
		cfg.KubeadmConfigPatches = []string{"kind: KubeletConfiguration\nfailCgroupV1: false\n"}
	}
	p := kindcluster.NewProvider(kindcluster.ProviderWithDocker())
	t0 = time.Now()
	err = p.Create("bench-kind", kindcluster.CreateWithV1Alpha4Config(cfg), kindcluster.CreateWithNodeImage(image),
		kindcluster.CreateWithKubeconfigPath(filepath.Join(tmp, "kind-kubeconfig")),
		kindcluster.CreateWithWaitForReady(5*time.Minute), kindcluster.CreateWithDisplayUsage(false), kindcluster.CreateWithDisplaySalutation(false))
	kindTime := time.Since(t0)
	_ = p.Delete("bench-kind", filepath.Join(tmp, "kind-kubeconfig"))
	if err != nil {
		return fmt.Errorf("kind create: %w", err)
	}

	ratio := kfupTime.Seconds() / kindTime.Seconds()
	fmt.Printf("node image:           %s\n", image)
	fmt.Printf("kfup create:          %6.1fs\n", kfupTime.Seconds())
	fmt.Printf("kind create --wait:   %6.1fs\n", kindTime.Seconds())
	verdict := "meets"
	if ratio > 1.2 {
		verdict = "MISSES"
	}
	fmt.Printf("ratio kfup/kind:      %6.2fx  (target <= 1.20x: %s)\n", ratio, verdict)
	return nil
}
