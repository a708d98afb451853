//go:build e2e

package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	kfuprun "github.com/kfup/kfup/components/training/run"
	"github.com/kfup/kfup/internal/testio"
)

// runTree writes files (path → contents) into a new directory: the user's project.
func runTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, c := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// kfupRun runs `kfup run` in dir against the e2e cluster, in namespace ns, with the
// python-ml image.
func kfupRun(ctx context.Context, dir, ns string, args ...string) result {
	base := []string{"run", "--name", clusterName, "-n", ns, "--image", pythonML, "--dir", dir, "--output-dir", filepath.Join(dir, "kfup-runs")}
	return kfup(ctx, append(base, args...)...)
}

func archiveConfigMaps(t *testing.T, ns string) []corev1.ConfigMap {
	t.Helper()
	var cms corev1.ConfigMapList
	if err := k8sClient.List(context.Background(), &cms, client.InNamespace(ns), client.HasLabels{kfuprun.ArchiveLabel}); err != nil {
		t.Fatal(err)
	}
	return cms.Items
}

const runScript = `
import os, sys, helper
print("epochs", sys.argv[2], "answer", helper.answer(), flush=True)
with open(os.path.join(os.environ["KFUP_OUTPUT_DIR"], "result.txt"), "w") as f:
    f.write("trained %s epochs\n" % sys.argv[2])
`

// A one-file script (with a helper module beside it) runs as a single-replica
// PyTorchJob; its output file comes back; a second run of the unchanged tree sends no
// archive; list, logs and rm act on the runs.
func TestRunScriptOutputsAndReuse(t *testing.T) {
	ns := testNamespace(t)
	dir := runTree(t, map[string]string{"train.py": runScript, "helper.py": "def answer():\n    return 42\n", ".gitignore": "data/\n", "data/big.bin": "x"})
	r := kfupRun(context.Background(), dir, ns, "--run-name", "first", "train.py", "--epochs", "3")
	if r.code != 0 {
		t.Fatalf("kfup run exited %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	t.Logf("first run: %s\n%s%s", r.elapsed.Round(100*time.Millisecond), r.stdout, r.stderr)
	if !strings.Contains(r.stdout, "[master-0] epochs 3 answer 42") {
		t.Errorf("stdout lacks the script's line:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, "sent: ") || !strings.Contains(r.stderr, "(3 files,") {
		t.Errorf("stderr does not report the archive sent (3 files: data/ is ignored):\n%s", r.stderr)
	}
	b, err := os.ReadFile(filepath.Join(dir, "kfup-runs", "first", "result.txt"))
	if err != nil || string(b) != "trained 3 epochs\n" {
		t.Errorf("output file: %q %v", b, err)
	}
	cms := archiveConfigMaps(t, ns)
	if len(cms) != 1 {
		t.Fatalf("%d archive ConfigMaps", len(cms))
	}
	// kfup-runs/ now exists in the tree: it is not sent, so the tree is unchanged
	r = kfupRun(context.Background(), dir, ns, "--run-name", "second", "train.py", "--epochs", "4")
	if r.code != 0 {
		t.Fatalf("second kfup run exited %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	t.Logf("second run: %s\n%s", r.elapsed.Round(100*time.Millisecond), r.stderr)
	if !strings.Contains(r.stderr, "already in the cluster, not sent") {
		t.Errorf("the unchanged tree was sent again:\n%s", r.stderr)
	}
	again := archiveConfigMaps(t, ns)
	if len(again) != 1 || again[0].UID != cms[0].UID || len(again[0].OwnerReferences) != 2 {
		t.Errorf("archive ConfigMaps after the second run: %+v", again)
	}
	job := &trainingv1.PyTorchJob{}
	if err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "first"}, job); err != nil {
		t.Fatalf("the finished job is not kept: %v", err)
	}
	if job.Spec.RunPolicy.TTLSecondsAfterFinished == nil || *job.Spec.RunPolicy.TTLSecondsAfterFinished != 86400 {
		t.Errorf("ttl %v", job.Spec.RunPolicy.TTLSecondsAfterFinished)
	}
	list := mustKfup(t, "run", "list", "--name", clusterName, "-n", ns)
	if !strings.Contains(list.stdout, "first") || !strings.Contains(list.stdout, "second") || !strings.Contains(list.stdout, "Succeeded") {
		t.Errorf("run list:\n%s", list.stdout)
	}
	logs := mustKfup(t, "run", "logs", "--name", clusterName, "-n", ns, "second")
	if !strings.Contains(logs.stdout, "[master-0] epochs 4 answer 42") {
		t.Errorf("run logs:\n%s", logs.stdout)
	}
	mustKfup(t, "run", "rm", "--name", clusterName, "-n", ns, "first", "second")
	// the garbage collector removes the archive with its last job
	err = wait.PollUntilContextTimeout(context.Background(), time.Second, time.Minute, true, func(context.Context) (bool, error) {
		return len(archiveConfigMaps(t, ns)) == 0, nil
	})
	if err != nil {
		t.Errorf("the archive outlived its jobs: %+v", archiveConfigMaps(t, ns))
	}
}

const runAllReduce = `
import os, torch, torch.distributed as dist
from mylib import ops
rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
dist.init_process_group("gloo")
t = torch.tensor([float(rank + 1)])
dist.all_reduce(t)
assert t.item() == ops.triangle(world), (t.item(), world)
print("ALLREDUCE-OK", t.item(), "rank", rank, "of", world, flush=True)
if rank == 0:
    open(os.path.join(os.environ["KFUP_OUTPUT_DIR"], "sum.txt"), "w").write(str(t.item()))
dist.destroy_process_group()
`

// A 1 + 2 PyTorchJob runs a gloo all-reduce whose check lives in a local package the
// script imports; every replica's log comes back prefixed.
func TestRunPyTorchJobWithLocalModule(t *testing.T) {
	ns := testNamespace(t)
	dir := runTree(t, map[string]string{"train.py": runAllReduce, "mylib/__init__.py": "", "mylib/ops.py": "def triangle(n):\n    return n * (n + 1) / 2\n"})
	r := kfupRun(context.Background(), dir, ns, "--kind", "pytorch", "--workers", "2", "--run-name", "ddp", "--", "python3", "train.py")
	if r.code != 0 {
		t.Fatalf("kfup run exited %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	t.Logf("1 + 2 PyTorchJob run: %s", r.elapsed.Round(100*time.Millisecond))
	for _, want := range []string{"[master-0] ALLREDUCE-OK 6.0 rank 0 of 3", "[worker-0] ALLREDUCE-OK 6.0 rank 1 of 3", "[worker-1] ALLREDUCE-OK 6.0 rank 2 of 3"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "kfup-runs", "ddp", "sum.txt")); err != nil || string(b) != "6.0" {
		t.Errorf("master's output: %q %v", b, err)
	}
}

// A script that fails on one replica makes kfup run exit 1 naming that replica; --rm
// deletes the job.
func TestRunFailingScriptNamesTheReplica(t *testing.T) {
	ns := testNamespace(t)
	// worker 0 (rank 1) fails at once; the master would run a minute longer
	dir := runTree(t, map[string]string{"fail.py": "import os, sys, time\nprint('rank', os.environ['RANK'], flush=True)\nif os.environ['RANK'] == '1':\n    sys.exit(3)\ntime.sleep(60)\n"})
	r := kfupRun(context.Background(), dir, ns, "--workers", "1", "--run-name", "fails", "--rm", "fail.py")
	if r.code != 1 {
		t.Fatalf("kfup run exited %d, want 1\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	t.Logf("failing run: %s\n%s", r.elapsed.Round(100*time.Millisecond), r.stderr)
	if r.elapsed > 50*time.Second {
		t.Errorf("the run waited for the master instead of failing with the worker")
	}
	if !strings.Contains(r.stderr, "ERROR: run fails failed") || !strings.Contains(r.stderr, "replica worker-0 exited with code 3") {
		t.Errorf("stderr does not name the failing replica:\n%s", r.stderr)
	}
	err := wait.PollUntilContextTimeout(context.Background(), time.Second, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "fails"}, &trainingv1.PyTorchJob{})
		return apierrors.IsNotFound(err), nil
	})
	if err != nil {
		t.Error("--rm left the job")
	}
}

// Ctrl-C deletes the job and exits 130.
func TestRunInterruptDeletesTheJob(t *testing.T) {
	ns := testNamespace(t)
	dir := runTree(t, map[string]string{"long.py": "import time\nprint('STARTED', flush=True)\ntime.sleep(600)\n"})
	args := []string{"run", "--name", clusterName, "-n", ns, "--image", pythonML, "--dir", dir, "--run-name", "long", "long.py"}
	cmd := exec.Command(kfupBin, args...)
	var out, errb testio.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, 3*time.Minute, true, func(context.Context) (bool, error) {
		return strings.Contains(out.String(), "[master-0] STARTED"), nil
	})
	if err != nil {
		cmd.Process.Kill()
		t.Fatalf("the script did not start:\n%s\n%s", out.String(), errb.String())
	}
	t0 := time.Now()
	cmd.Process.Signal(syscall.SIGINT)
	err = cmd.Wait()
	code := cmd.ProcessState.ExitCode()
	t.Logf("Ctrl-C to exit: %s", time.Since(t0).Round(100*time.Millisecond))
	if code != 130 {
		t.Fatalf("exit %d (%v), want 130\n%s", code, err, errb.String())
	}
	if !strings.Contains(errb.String(), "deleted") {
		t.Errorf("stderr:\n%s", errb.String())
	}
	if err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "long"}, &trainingv1.PyTorchJob{}); !apierrors.IsNotFound(err) {
		t.Errorf("the job is still there (%v)", err)
	}
}

// Bad input creates nothing: replica flags that do not fit the kind, a missing script,
// and an image without Python (that one is found when its container starts: the job is
// deleted).
func TestRunBadInput(t *testing.T) {
	ns := testNamespace(t)
	dir := runTree(t, map[string]string{"train.py": "print('hi')\n"})
	for _, args := range [][]string{{"--kind", "pytorch", "--ps", "1", "train.py"}, {"trian.py"}} {
		r := kfupRun(context.Background(), dir, ns, args...)
		if r.code != 2 {
			t.Errorf("%v: exit %d, want 2\n%s", args, r.code, r.stderr)
		}
	}
	if cms := archiveConfigMaps(t, ns); len(cms) != 0 {
		t.Errorf("bad input left ConfigMaps: %d", len(cms))
	}
	// busybox is in the local Docker: refused before anything is created
	r := kfup(context.Background(), "run", "--name", clusterName, "-n", ns, "--image", "kfup-offline/busybox:1", "--dir", dir, "--run-name", "nopy", "train.py")
	if r.code != 2 || !strings.Contains(r.stderr, `image kfup-offline/busybox:1 cannot run python3: exec: "python3": executable file not found`) {
		t.Errorf("busybox: exit %d, want 2\n%s", r.code, r.stderr)
	}
	t.Logf("image without python3: %s\n%s", r.elapsed.Round(100*time.Millisecond), r.stderr)
	if err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "nopy"}, &trainingv1.PyTorchJob{}); !apierrors.IsNotFound(err) {
		t.Errorf("a job was created for the image without python (%v)", err)
	}
	// a program no image has is found when the container starts: the job is deleted
	r = kfupRun(context.Background(), dir, ns, "--run-name", "noprog", "--", "no-such-program", "train.py")
	if r.code != 2 || !strings.Contains(r.stderr, "cannot start the command") {
		t.Errorf("no-such-program: exit %d, want 2\n%s", r.code, r.stderr)
	}
	t.Logf("a program the image lacks, found at start: %s\n%s", r.elapsed.Round(100*time.Millisecond), r.stderr)
	err := wait.PollUntilContextTimeout(context.Background(), time.Second, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		return apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "noprog"}, &trainingv1.PyTorchJob{})), nil
	})
	if err != nil {
		t.Error("the job of the missing program is still there")
	}
}

// --bake appends the tree onto the image and loads it into the node: the run needs no
// unpacking, and a second bake of the same tree loads nothing.
func TestRunBake(t *testing.T) {
	ns := testNamespace(t)
	dir := runTree(t, map[string]string{"train.py": runScript, "helper.py": "def answer():\n    return 7\n"})
	for i, name := range []string{"baked-1", "baked-2"} {
		r := kfupRun(context.Background(), dir, ns, "--bake", "--run-name", name, "train.py", "--epochs", "1")
		if r.code != 0 {
			t.Fatalf("kfup run --bake exited %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
		t.Logf("bake run %d: %s\n%s", i+1, r.elapsed.Round(100*time.Millisecond), r.stderr)
		if !strings.Contains(r.stdout, "[master-0] epochs 1 answer 7") || !strings.Contains(r.stderr, "baked sha256:") {
			t.Errorf("run %d:\n%s\n%s", i+1, r.stdout, r.stderr)
		}
		if b, err := os.ReadFile(filepath.Join(dir, "kfup-runs", name, "result.txt")); err != nil || string(b) != "trained 1 epochs\n" {
			t.Errorf("output file: %q %v", b, err)
		}
	}
	if cms := archiveConfigMaps(t, ns); len(cms) != 0 {
		t.Errorf("--bake sent ConfigMaps: %d", len(cms))
	}
}

// --requirements on a cluster without a package index (this CI machine is offline):
// the replica says why it cannot install them, and the run fails naming it.
func TestRunRequirementsOffline(t *testing.T) {
	ns := testNamespace(t)
	dir := runTree(t, map[string]string{"train.py": "print('never')\n", "requirements.txt": "kfup-no-such-package==1.0\n"})
	r := kfupRun(context.Background(), dir, ns, "--run-name", "reqs", "--requirements", "requirements.txt", "train.py")
	t.Logf("requirements offline: %s, exit %d\n%s%s", r.elapsed.Round(100*time.Millisecond), r.code, r.stdout, r.stderr)
	if r.code != 1 || !strings.Contains(r.stderr, "replica master-0 exited with code 3") {
		t.Errorf("exit %d, want 1 naming master-0 with code 3", r.code)
	}
	if !strings.Contains(r.stdout, "[master-0] kfup: pip could not install requirements.txt") && !strings.Contains(r.stdout, "[master-0] kfup: the image has no pip") {
		t.Errorf("no clear message in the replica's log:\n%s", r.stdout)
	}
	if strings.Contains(r.stdout, "never") {
		t.Error("the command ran without its requirements")
	}
}
