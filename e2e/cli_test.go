//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kfup/kfup/bootstrap"
)

func statusOf(t *testing.T, name string) bootstrap.ClusterStatus {
	t.Helper()
	r := mustKfup(t, "status", "--name", name, "-o", "json")
	var st bootstrap.ClusterStatus
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatalf("status -o json is not JSON: %v\n%s", err, r.stdout)
	}
	return st
}

// status reports the running cluster, and create on it again is a no-op.
func TestStatusAndCreateAgain(t *testing.T) {
	st := statusOf(t, clusterName)
	if st.State != bootstrap.StateRunning || len(st.Nodes) != 1 || !st.Nodes[0].Ready {
		t.Fatalf("want one Ready node in a Running cluster, got %+v", st)
	}
	if !strings.HasPrefix(st.KubernetesVersion, "v1.") || st.Context != "kfup-"+clusterName {
		t.Fatalf("unexpected version/context: %+v", st)
	}
	table := mustKfup(t, "status", "--name", clusterName)
	for _, want := range []string{"Running", st.Nodes[0].Name, st.KubernetesVersion} {
		if !strings.Contains(table.stdout, want) {
			t.Errorf("status table lacks %q:\n%s", want, table.stdout)
		}
	}

	container := clusterName + "-control-plane"
	before, err := docker("inspect", "--format", "{{.Id}} {{.State.StartedAt}}", container)
	if err != nil {
		t.Fatal(err)
	}
	again := mustKfup(t, "create", "--name", clusterName)
	after, _ := docker("inspect", "--format", "{{.Id}} {{.State.StartedAt}}", container)
	if before != after {
		t.Fatalf("create on a healthy cluster replaced its node: %s -> %s", before, after)
	}
	if !strings.Contains(again.stderr, "Checking existing cluster") || strings.Contains(again.stderr, "Creating cluster") {
		t.Fatalf("second create did not converge in place:\n%s", again.stderr)
	}
	t.Logf("second create took %s", again.elapsed.Round(100*time.Millisecond))
}

// A stopped cluster (its node container stopped, as after a reboot of the host or of
// Docker) reads Stopped with the way back in its message; create starts it again, and the
// platform installed before is healthy on it.
func TestStoppedClusterStartsAgain(t *testing.T) {
	container := clusterName + "-control-plane"
	if _, err := docker("stop", container); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// whatever happened, leave the node running for the other tests
		if state, _ := docker("inspect", "--format", "{{.State.Status}}", container); strings.TrimSpace(state) != "running" {
			_, _ = docker("start", container)
		}
	})
	st := statusOf(t, clusterName)
	if st.State != bootstrap.StateStopped || !strings.Contains(st.Message, "kfup create --name "+clusterName) {
		t.Fatalf("status of a stopped cluster: %s %q", st.State, st.Message)
	}
	r := mustKfup(t, "create", "--name", clusterName, "--wait", "5m")
	if !strings.Contains(r.stderr, "Starting cluster") {
		t.Errorf("create did not say it started the cluster:\n%s", r.stderr)
	}
	t.Logf("create on the stopped cluster took %s", r.elapsed.Round(100*time.Millisecond))
	st = statusOf(t, clusterName)
	if st.State != bootstrap.StateRunning || len(st.Nodes) != 1 || !st.Nodes[0].Ready {
		t.Fatalf("after create: %+v", st)
	}
	if r := mustKfup(t, "test", "--name", clusterName); !strings.Contains(r.stdout, "✓ pass  training") || !strings.Contains(r.stdout, "✓ pass  manager") {
		t.Fatalf("kfup test after the restart:\n%s", r.stdout)
	}
}

// A create interrupted (SIGINT) once its node container exists leaves a state that a
// second create completes; delete then leaves no trace.
func TestInterruptedCreateThenCreateAndDelete(t *testing.T) {
	name := clusterName + "-int"
	t.Cleanup(func() { kfup(context.Background(), "delete", "--name", name) })

	cmd := exec.Command(kfupBin, "create", "--name", name, "--profile", "none")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		if out, _ := docker("ps", "-a", "--filter", "name=^"+name+"-control-plane$", "--format", "{{.Names}}"); out != "" {
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("node container never appeared; kfup said:\n%s", stderr.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	t.Logf("interrupted create exited %d:\n%s", code, stderr.String())
	if code != 130 {
		t.Fatalf("interrupted create: want exit code 130, got %d", code)
	}
	if !strings.Contains(stderr.String(), "ERROR:") {
		t.Errorf("interrupted create printed no ERROR line")
	}

	mustKfup(t, "create", "--name", name, "--profile", "none")
	if st := statusOf(t, name); st.State != bootstrap.StateRunning {
		t.Fatalf("cluster after second create: %+v", st)
	}
	// both clusters run side by side: their ingress host ports differ
	a, b := statusOf(t, clusterName), statusOf(t, name)
	if a.IngressHTTPPort == b.IngressHTTPPort || a.IngressHTTPSPort == b.IngressHTTPSPort {
		t.Errorf("two clusters share ingress host ports: %+v vs %+v", a, b)
	}

	mustKfup(t, "delete", "--name", name)
	if left := traces(name); len(left) > 0 {
		t.Fatalf("delete left traces: %v", left)
	}
	// delete is idempotent
	r := mustKfup(t, "delete", "--name", name)
	if !strings.Contains(r.stdout, "not found") {
		t.Errorf("second delete: %q", r.stdout)
	}
	if r := kfup(context.Background(), "status", "--name", name); r.code != 4 {
		t.Errorf("status of a deleted cluster: want exit 4, got %d (%s)", r.code, r.stderr)
	}
}

// On this host without GPUs, `kfup create --gpu` stops before anything is created: exit
// 3 (a preflight error, docs/cli.md) at the `Finding GPUs` step with the reason and its
// fix, and no node container, network endpoint, kubeconfig context or record left
// behind. The binary is the static release build, so discovery goes through nvidia-smi,
// which this host lacks: that is gpu.ErrNoDriver.
func TestCreateGPUWithoutGPUFailsCleanly(t *testing.T) {
	name := clusterName + "-gpu"
	t.Cleanup(func() { kfup(context.Background(), "delete", "--name", name) })
	r := kfup(context.Background(), "create", "--name", name, "--profile", "none", "--gpu")
	t.Logf("create --gpu exited %d in %s:\n%s", r.code, r.elapsed.Round(100*time.Millisecond), r.stderr)
	if r.code != 3 {
		t.Fatalf("create --gpu on a host without GPUs: exit %d, want 3 (preflight)\nstdout:\n%s", r.code, r.stdout)
	}
	for _, want := range []string{"Finding GPUs", "ERROR: ", "no NVIDIA driver found", "install the NVIDIA driver"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("create --gpu stderr lacks %q", want)
		}
	}
	if strings.Contains(r.stderr, "Creating cluster") {
		t.Errorf("create --gpu went past the GPU step")
	}
	if left := traces(name); len(left) > 0 {
		t.Errorf("create --gpu left %v behind", left)
	}
	if _, err := os.Stat(filepath.Join(os.Getenv("KFUP_HOME"), "clusters", name)); err == nil {
		t.Errorf("create --gpu left the cluster's directory")
	}
}

// `kfup create --gpu=auto` on this host warns and creates the cluster without GPUs: no
// GPU wiring in the node (no CDI spec, no GPU label), no nvidia component in the record.
func TestCreateGPUAutoWithoutGPU(t *testing.T) {
	name := clusterName + "-gpuauto"
	t.Cleanup(func() { kfup(context.Background(), "delete", "--name", name) })
	r := mustKfup(t, "create", "--name", name, "--profile", "none", "--gpu=auto")
	t.Logf("create --gpu=auto took %s:\n%s", r.elapsed.Round(100*time.Millisecond), r.stderr)
	if !strings.Contains(r.stderr, "WARNING: --gpu=auto: no NVIDIA driver found") || !strings.Contains(r.stderr, "creating the cluster without GPUs") {
		t.Errorf("create --gpu=auto did not warn:\n%s", r.stderr)
	}
	node := name + "-control-plane"
	if out, err := docker("exec", node, "sh", "-c", "ls /etc/cdi /etc/kfup/gpu 2>/dev/null; true"); err != nil || out != "" {
		t.Errorf("node %s has GPU files: %q (%v)", node, out, err)
	}
	cfg, err := bootstrap.RESTConfig(bootstrap.ContextName(name), "")
	if err != nil {
		t.Fatal(err)
	}
	n, err := kubernetes.NewForConfigOrDie(cfg).CoreV1().Nodes().Get(context.Background(), node, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for k := range n.Labels {
		if strings.HasPrefix(k, "nvidia.com/") {
			t.Errorf("node %s has the GPU label %s", node, k)
		}
	}
	rec := filepath.Join(os.Getenv("KFUP_HOME"), "clusters", name, "cluster.json")
	if b, err := os.ReadFile(rec); err != nil || strings.Contains(string(b), "nvidia") || strings.Contains(string(b), `"gpus"`) {
		t.Errorf("record %s: %v\n%s\nwant no nvidia component and no GPUs", rec, err, b)
	}
	mustKfup(t, "delete", "--name", name)
	if left := traces(name); len(left) > 0 {
		t.Errorf("delete left %v behind", left)
	}
}
