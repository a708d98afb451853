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
	rounds := flag.Int("rounds", 2, "rounds; each creates with kind and with kfup, alternating which goes first")
	flag.Parse()
	img := bootstrap.ResolveNodeImage(*image)
	var kfupSum, kindSum time.Duration
	for r := 0; r < *rounds; r++ {
		kfupT, kindT, err := round(*kfupBin, img, r%2 == 1)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench-create:", err)
			os.Exit(1)
		}
		fmt.Printf("round %d: kfup create %5.1fs, kind create --wait %5.1fs\n", r+1, kfupT.Seconds(), kindT.Seconds())
		kfupSum += kfupT
		kindSum += kindT
	}
	n := float64(*rounds)
	kfupMean, kindMean := kfupSum.Seconds()/n, kindSum.Seconds()/n
	ratio := kfupMean / kindMean
	verdict := "meets"
	if ratio > 1.2 {
		verdict = "MISSES"
	}
	fmt.Printf("node image:             %s\n", img)
	fmt.Printf("kfup create (mean):     %6.1fs\n", kfupMean)
	fmt.Printf("kind create --wait:     %6.1fs\n", kindMean)
	fmt.Printf("ratio kfup/kind:        %6.2fx  (target <= 1.20x: %s)\n", ratio, verdict)
}

// round times one kfup create and one plain kind create; kindFirst picks the order (the
// first create of a run pays for cold page caches).
func round(kfupBin, image string, kindFirst bool) (kfupT, kindT time.Duration, err error) {
	if kindFirst {
		if kindT, err = timeKind(image); err != nil {
			return
		}
		kfupT, err = timeKfup(kfupBin, image)
		return
	}
	if kfupT, err = timeKfup(kfupBin, image); err != nil {
		return
	}
	kindT, err = timeKind(image)
	return
}

func timeKfup(kfupBin, image string) (time.Duration, error) {
	tmp, err := os.MkdirTemp("", "kfup-bench-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(tmp)
	env := append(os.Environ(), "KFUP_HOME="+filepath.Join(tmp, "state"), "KUBECONFIG="+filepath.Join(tmp, "kubeconfig"))

	t0 := time.Now()
	create := exec.Command(kfupBin, "create", "--name", "bench-kfup", "--node-image", image, "--profile", "none", "-q")
	create.Env, create.Stdout, create.Stderr = env, os.Stderr, os.Stderr
	err = create.Run()
	kfupTime := time.Since(t0)
	del := exec.Command(kfupBin, "delete", "--name", "bench-kfup", "-q")
	del.Env, del.Stdout, del.Stderr = env, os.Stderr, os.Stderr
	_ = del.Run()
	if err != nil {
		return 0, fmt.Errorf("kfup create: %w", err)
	}
	return kfupTime, nil
}

// timeKind creates a plain kind cluster through the kind library with the same node image
// and only what this host needs to boot kubelet, waiting for the node like --wait.
func timeKind(image string) (time.Duration, error) {
	tmp, err := os.MkdirTemp("", "kfup-bench-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(tmp)
	cfg := &v1alpha4.Cluster{}
	cfg.Kind, cfg.APIVersion = "Cluster", "kind.x-k8s.io/v1alpha4"
	if info, err := preflight.HostProbes(bootstrap.TCPPortFree).DockerInfo(context.Background()); err == nil && info.CgroupVersion == "1" {
		cfg.KubeadmConfigPatches = []string{"kind: KubeletConfiguration\nfailCgroupV1: false\n"}
	}
	p := kindcluster.NewProvider(kindcluster.ProviderWithDocker())
	t0 := time.Now()
	err = p.Create("bench-kind", kindcluster.CreateWithV1Alpha4Config(cfg), kindcluster.CreateWithNodeImage(image),
		kindcluster.CreateWithKubeconfigPath(filepath.Join(tmp, "kind-kubeconfig")),
		kindcluster.CreateWithWaitForReady(5*time.Minute), kindcluster.CreateWithDisplayUsage(false), kindcluster.CreateWithDisplaySalutation(false))
	kindTime := time.Since(t0)
	_ = p.Delete("bench-kind", filepath.Join(tmp, "kind-kubeconfig"))
	if err != nil {
		return 0, fmt.Errorf("kind create: %w", err)
	}
	return kindTime, nil
}
