//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/kfup/kfup/apis"
	"github.com/kfup/kfup/bootstrap"
	"github.com/kfup/kfup/internal/apihost"
	"github.com/kfup/kfup/internal/ui"
)

// Settings, from the environment (make e2e sets them).
var (
	kfupBin     = envOr("KFUP_BIN", "../bin/kfup")
	clusterName = envOr("KFUP_E2E_CLUSTER", "e2e")
	artifacts   = envOr("ARTIFACTS", "../_artifacts")
	images      = strings.Fields(envOr("KFUP_E2E_IMAGES", "kfup-offline/busybox:1 kfup-offline/python-ml:bookworm"))
	keep        = os.Getenv("KFUP_E2E_KEEP") == "1"
)

// The cluster under test.
var (
	restConfig *rest.Config
	clientset  *kubernetes.Clientset
	k8sClient  client.Client
	kindc      *bootstrap.KindClusters
)

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	abs, err := filepath.Abs(kfupBin)
	if err != nil || !isFile(abs) {
		fmt.Fprintf(os.Stderr, "FAIL: kfup binary %s not found: run 'make e2e' (it builds bin/kfup)\n", kfupBin)
		return 1
	}
	kfupBin = abs
	if artifacts, err = filepath.Abs(artifacts); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// Isolate kfup's state and the kubeconfig: the tests never touch the user's. make e2e
	// names the directory (KFUP_E2E_HOME) so that it can delete the clusters even when the
	// test binary dies (timeout panic).
	home := os.Getenv("KFUP_E2E_HOME")
	if home == "" {
		if home, err = os.MkdirTemp("", "kfup-e2e-"); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(home)
	}
	os.Setenv("KFUP_HOME", filepath.Join(home, "state"))
	os.Setenv("KUBECONFIG", filepath.Join(home, "kubeconfig"))
	kindc = bootstrap.NewKindClusters(ui.Discard())
	ctrllog.SetLogger(zap.New(zap.WriteTo(os.Stderr)))

	logf("creating cluster %q with %s (node image %s)", clusterName, kfupBin, bootstrap.ResolveNodeImage(""))
	res := kfup(context.Background(), "create", "--name", clusterName, "--wait", "5m")
	if res.code != 0 {
		fmt.Fprintf(os.Stderr, "FAIL: kfup create exited %d\n%s\n%s", res.code, res.stdout, res.stderr)
		collectKindLogs("create-failed")
		kfup(context.Background(), "delete", "--name", clusterName)
		return 1
	}
	code := func() int {
		t0 := time.Now()
		loaded, err := kindc.LoadImages(context.Background(), clusterName, images...)
		if err != nil {
			fmt.Fprintf(os.Stderr, "FAIL: load workload images: %v\n(build them with shared/tools/offline-kind/build-workload-images.sh)\n", err)
			return 1
		}
		logf("loaded %v into the node in %s", loaded, time.Since(t0).Round(time.Second))
		if restConfig, err = bootstrap.RESTConfig(bootstrap.ContextName(clusterName), ""); err != nil {
			fmt.Fprintln(os.Stderr, "FAIL:", err)
			return 1
		}
		clientset = kubernetes.NewForConfigOrDie(restConfig)
		scheme, err := apihost.NewScheme(apis.InCluster()...)
		if err != nil {
			fmt.Fprintln(os.Stderr, "FAIL:", err)
			return 1
		}
		if k8sClient, err = client.New(restConfig, client.Options{Scheme: scheme}); err != nil {
			fmt.Fprintln(os.Stderr, "FAIL:", err)
			return 1
		}
		return m.Run()
	}()
	if code != 0 {
		collectKindLogs("kind-logs")
	}
	if keep {
		logf("KFUP_E2E_KEEP=1: keeping cluster %q (KUBECONFIG=%s)", clusterName, os.Getenv("KUBECONFIG"))
		return code
	}
	if res := kfup(context.Background(), "delete", "--name", clusterName); res.code != 0 {
		fmt.Fprintf(os.Stderr, "FAIL: kfup delete exited %d\n%s", res.code, res.stderr)
		return 1
	}
	if leftovers := traces(clusterName); len(leftovers) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: kfup delete left traces: %v\n", leftovers)
		return 1
	}
	return code
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[e2e %s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// result is one run of the kfup binary.
type result struct {
	code           int
	stdout, stderr string
	elapsed        time.Duration
}

// kfup runs the kfup binary to completion (bounded by 10 minutes).
func kfup(ctx context.Context, args ...string) result {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, kfupBin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	t0 := time.Now()
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String(), elapsed: time.Since(t0)}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		r.code = -1
		r.stderr += "\n" + err.Error()
	}
	return r
}

// mustKfup runs kfup and fails the test unless it exits 0.
func mustKfup(t *testing.T, args ...string) result {
	t.Helper()
	r := kfup(context.Background(), args...)
	if r.code != 0 {
		t.Fatalf("kfup %s exited %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

// docker runs the docker CLI and returns its trimmed stdout.
func docker(args ...string) (string, error) {
	out, err := exec.Command("docker", args...).Output()
	return strings.TrimSpace(string(out)), err
}

// traces lists what a deleted cluster may have left behind: node containers, endpoints
// in Docker's kind network, the kubeconfig context, kfup's record.
func traces(name string) []string {
	var left []string
	if out, _ := docker("ps", "-a", "--filter", "label=io.x-k8s.kind.cluster="+name, "--format", "{{.Names}}"); out != "" {
		left = append(left, "containers: "+out)
	}
	if out, err := docker("network", "inspect", "kind", "--format", "{{range .Containers}}{{.Name}} {{end}}"); err == nil {
		for _, c := range strings.Fields(out) {
			if strings.HasPrefix(c, name+"-") {
				left = append(left, "network endpoint: "+c)
			}
		}
	}
	if has, err := bootstrap.HasContext(bootstrap.ContextName(name), ""); err != nil || has {
		left = append(left, fmt.Sprintf("kubeconfig context %s (err %v)", bootstrap.ContextName(name), err))
	}
	if _, err := os.Stat(filepath.Join(os.Getenv("KFUP_HOME"), "clusters", name)); err == nil {
		left = append(left, "kfup record of "+name)
	}
	return left
}
