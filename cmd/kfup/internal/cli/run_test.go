package cli

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stypes "k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	kubefake "k8s.io/client-go/kubernetes/fake"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/kfup/kfup/components/manager"
	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	"github.com/kfup/kfup/components/training/run"
	"github.com/kfup/kfup/internal/errs"
	"github.com/kfup/kfup/internal/incluster"
	"github.com/kfup/kfup/internal/workspace"
)

// writeTree writes files (path → contents) under a new directory.
func writeTree(t *testing.T, files map[string]string) string {
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

func TestRunOptions(t *testing.T) {
	tests := []struct {
		args []string
		want RunOptions
	}{
		{
			args: []string{"run", "train.py", "--epochs", "3"},
			want: RunOptions{Args: []string{"train.py", "--epochs", "3"}, Kind: "pytorch", Workers: 0},
		},
		{
			args: []string{"run", "--kind", "pytorch", "--workers", "2", "--", "torchrun", "train.py"},
			want: RunOptions{Args: []string{"torchrun", "train.py"}, Kind: "pytorch", Workers: 2},
		},
		{
			args: []string{"run", "--kind", "tfjob", "--ps", "1", "--workers", "2", "train.py"},
			want: RunOptions{Args: []string{"train.py"}, Kind: "tfjob", Workers: 2, PS: 1},
		},
		{
			args: []string{"run", "--kind", "mpi", "train.py"},
			want: RunOptions{Args: []string{"train.py"}, Kind: "mpi", Workers: 1},
		},
		{
			args: []string{"run", "--image", "my/image:tag", "--requirements", "requirements.txt", "-e", "LR=0.1", "--rm", "train.py"},
			want: RunOptions{Args: []string{"train.py"}, Kind: "pytorch", Image: "my/image:tag", Requirements: "requirements.txt", Env: []string{"LR=0.1"}, Rm: true},
		},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			f, _, _ := testFactory(t)
			var got *RunOptions
			err := execute(f, NewCmdRun(f, func(_ context.Context, o *RunOptions) error { got = o; return nil }), tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			want.Dir, want.Namespace, want.MaxSize, want.TTL, want.OutputDir, want.OutputWait = ".", "default", DefaultRunMaxSize, 24*time.Hour, "kfup-runs", run.DefaultOutputWait
			if diff := cmp.Diff(&want, got); diff != "" {
				t.Errorf("options (-want +got):\n%s", diff)
			}
		})
	}
	f, _, _ := testFactory(t)
	for _, args := range [][]string{{"run"}, {"run", "--run-name", "Bad_Name", "x.py"}, {"run", "--run-name", strings.Repeat("a", 50), "x.py"}} {
		err := execute(f, NewCmdRun(f, func(context.Context, *RunOptions) error { return nil }), args...)
		if errs.KindOf(err) != errs.KindUsage {
			t.Errorf("%v: error %v, want a usage error", args, err)
		}
	}
}

func TestRunCommand(t *testing.T) {
	for _, tt := range []struct {
		args         []string
		cmd          []string
		script, name string
	}{
		{[]string{"train.py", "--epochs", "3"}, []string{"python3", "train.py", "--epochs", "3"}, "train.py", "train-"},
		{[]string{"torchrun", "--nproc-per-node", "2", "src/train.py"}, []string{"torchrun", "--nproc-per-node", "2", "src/train.py"}, "src/train.py", "train-"},
		{[]string{"python3", "-m", "pkg.main"}, []string{"python3", "-m", "pkg.main"}, "", "python3-"},
		{[]string{"./9_Run Me.sh"}, []string{"./9_Run Me.sh"}, "", "run-9-run-me-"},
	} {
		cmd, script := runCommand(tt.args)
		if !cmp.Equal(cmd, tt.cmd) || script != tt.script {
			t.Errorf("%v: %v %q", tt.args, cmd, script)
		}
		if n := generatedRunName(script, cmd); !strings.HasPrefix(n, tt.name) || len(n) != len(tt.name)+5 || validateRunJobName(n) != nil {
			t.Errorf("%v: name %q", tt.args, n)
		}
	}
}

// TestRunBadInput: each is refused with a usage error that says what is wrong, before
// the cluster is reached (the test factory fails any use of the host).
func TestRunBadInput(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"train.py": "print(1)", "ignored.py": "x", ".kfupignore": "ignored.py\n", "requirements.txt": "numpy\n",
		"model.bin": strings.Repeat("m", 5000),
	})
	outside := writeTree(t, map[string]string{"requirements.txt": "x"})
	for _, tt := range []struct {
		name string
		opts RunOptions
		want string
	}{
		{"missing script", RunOptions{Args: []string{"trian.py"}}, "trian.py: no such file in " + dir},
		{"ignored script", RunOptions{Args: []string{"ignored.py"}}, "ignored.py is ignored by an ignore file"},
		{"--ps with pytorch", RunOptions{Args: []string{"train.py"}, PS: 1}, "--ps 1: a PyTorchJob has no parameter servers"},
		{"over the limit", RunOptions{Args: []string{"train.py"}, MaxSize: "4Ki"}, "over the limit of 4.0 KiB; the biggest: model.bin (4.9 KiB)"},
		{"bad size", RunOptions{Args: []string{"train.py"}, MaxSize: "lots"}, `--max-size "lots"`},
		{"bad env", RunOptions{Args: []string{"train.py"}, Env: []string{"NOVALUE"}}, `--env "NOVALUE": no NAME=VALUE`},
		{"requirements outside", RunOptions{Args: []string{"train.py"}, Requirements: filepath.Join(outside, "requirements.txt")}, "outside"},
		{"no such dir", RunOptions{Args: []string{"train.py"}, Dir: filepath.Join(dir, "nope")}, "not a directory"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.opts
			if o.Dir == "" {
				o.Dir = dir
			}
			if o.MaxSize == "" {
				o.MaxSize = DefaultRunMaxSize
			}
			o.Kind, o.Namespace, o.OutputDir, o.OutputWait = "pytorch", "default", filepath.Join(dir, "kfup-runs"), time.Minute
			_, err := prepareRun(&o, func(string) string { return "" })
			if errs.KindOf(err) != errs.KindUsage || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v (%v), want a usage error with %q", err, errs.KindOf(err), tt.want)
			}
			if errs.HintOf(err) == "" {
				t.Error("no hint")
			}
		})
	}
}

// runCluster is a fake cluster for kfup run: the training API, kfup's manager and a
// namespace; tick plays the training controller and the kubelet.
type runCluster struct {
	c    client.WithWatch
	cs   *kubefake.Clientset
	exec []string
}

func newRunCluster(t *testing.T, withTraining bool, objs ...client.Object) *runCluster {
	t.Helper()
	s := runtime.NewScheme()
	clientgoscheme.AddToScheme(s)
	if withTraining {
		trainingv1.AddToScheme(s)
	}
	mgr := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: manager.Namespace, Name: manager.AppName}}
	mgr.Spec.Template.Spec.Containers = []corev1.Container{{Name: "manager", Env: []corev1.EnvVar{{Name: incluster.ImageEnv, Value: "kfup.local/kfup:abc"}}}}
	objs = append(objs, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "default"}})
	if withTraining {
		objs = append(objs, mgr)
	}
	mapper := meta.NewDefaultRESTMapper(nil)
	for gvk := range s.AllKnownTypes() {
		mapper.Add(gvk, meta.RESTScopeNamespace)
	}
	b := fake.NewClientBuilder().WithScheme(s).WithRESTMapper(mapper).WithObjects(objs...)
	if withTraining {
		b = b.WithStatusSubresource(&trainingv1.PyTorchJob{})
	}
	return &runCluster{c: b.Build(), cs: kubefake.NewClientset()}
}

// runAPIOver is a runAPI over rc whose polls run the job to end: its master pod exits
// with code, the job's state follows.
func runAPIOver(t *testing.T, f *Factory, rc *runCluster, code int32) *runAPI {
	return &runAPI{
		f: f,
		connect: func(context.Context) (client.Client, kubernetes.Interface, run.Exec, error) {
			return rc.c, rc.cs, func(_ context.Context, _, pod, container string, command []string, _ io.Writer) error {
				rc.exec = append(rc.exec, pod+" "+container+" "+command[3])
				return nil
			}, nil
		},
		now:  time.Now,
		poll: time.Millisecond,
		sleep: func(ctx context.Context, _ time.Duration) error {
			var jobs trainingv1.PyTorchJobList
			if err := rc.c.List(ctx, &jobs); err != nil {
				t.Fatal(err)
			}
			var j *trainingv1.PyTorchJob
			for i := range jobs.Items {
				if st, _, _ := run.State(&jobs.Items[i].Status); !run.Finished(st) {
					j = &jobs.Items[i]
				}
			}
			if j == nil {
				t.Fatal("no running job")
			}
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: j.Name + "-master-0", Namespace: j.Namespace,
				Labels:          map[string]string{trainingv1.JobNameLabel: j.Name, trainingv1.ReplicaTypeLabel: "master", trainingv1.ReplicaIndexLabel: "0", trainingv1.JobRoleLabel: "master"},
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "kubeflow.org/v1", Kind: "PyTorchJob", Name: j.Name, UID: j.UID, Controller: ptr.To(true)}}}}
			pod.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: run.OutputsContainer, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
			pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "pytorch", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Reason: map[bool]string{true: "Completed", false: "Error"}[code == 0]}}}}
			if err := rc.c.Create(ctx, pod); err != nil && !strings.Contains(err.Error(), "exists") {
				t.Fatal(err)
			}
			cond := trainingv1.JobCondition{Type: trainingv1.JobSucceeded, Status: "True"}
			if code != 0 {
				cond = trainingv1.JobCondition{Type: trainingv1.JobFailed, Status: "True", Message: "PyTorchJob failed"}
			}
			j.Status.Conditions = append(j.Status.Conditions, cond)
			if err := rc.c.Status().Update(ctx, j); err != nil {
				t.Fatal(err)
			}
			return nil
		},
	}
}

// TestRunEndToEndOnAFakeCluster: a run sends its archive, creates a single-replica
// PyTorchJob owning the archive's ConfigMaps, prints the master's log prefixed and exits
// 0; a second run of the unchanged tree sends nothing.
func TestRunEndToEndOnAFakeCluster(t *testing.T) {
	t.Setenv("NO_COLOR", "1")
	dir := writeTree(t, map[string]string{"train.py": "import helper\n", "helper.py": "X = 1\n"})
	rc := newRunCluster(t, true)
	runOnce := func(name string) string {
		f, out, errOut := testFactory(t)
		api := runAPIOver(t, f, rc, 0)
		opts := &RunOptions{Args: []string{"train.py", "--epochs", "3"}, Dir: dir, Kind: "pytorch", Namespace: "default", RunName: name,
			MaxSize: DefaultRunMaxSize, TTL: time.Hour, OutputDir: filepath.Join(t.TempDir(), "kfup-runs"), OutputWait: time.Minute}
		if err := runRun(context.Background(), api, opts); err != nil {
			t.Fatalf("%v\n%s", err, errOut.String())
		}
		if !strings.Contains(out.String(), "[master-0] fake logs") {
			t.Errorf("stdout %q", out.String())
		}
		return errOut.String()
	}
	first := runOnce("train-1")
	if !strings.Contains(first, "sent: ") || !strings.Contains(first, "in 1 ConfigMap(s)") || !strings.Contains(first, "run train-1 succeeded") {
		t.Errorf("first run:\n%s", first)
	}
	job := &trainingv1.PyTorchJob{}
	if err := rc.c.Get(context.Background(), client.ObjectKey{Namespace: "default", Name: "train-1"}, job); err != nil {
		t.Fatal(err)
	}
	master := job.Spec.PyTorchReplicaSpecs["Master"]
	if master == nil || job.Spec.PyTorchReplicaSpecs["Worker"] != nil || master.Template.Spec.InitContainers[0].Image != "kfup.local/kfup:abc" ||
		!cmp.Equal(master.Template.Spec.Containers[0].Command, []string{"python3", "train.py", "--epochs", "3"}) || *job.Spec.RunPolicy.TTLSecondsAfterFinished != 3600 {
		t.Errorf("job %+v", job.Spec)
	}
	second := runOnce("train-2")
	if !strings.Contains(second, "already in the cluster, not sent") {
		t.Errorf("second run:\n%s", second)
	}
	var cms corev1.ConfigMapList
	rc.c.List(context.Background(), &cms, client.HasLabels{run.ArchiveLabel})
	if len(cms.Items) != 1 || len(cms.Items[0].OwnerReferences) != 2 {
		t.Errorf("archive ConfigMaps %+v", cms.Items)
	}
	if !cmp.Equal(rc.exec, []string{"train-1-master-0 kfup-outputs --pack", "train-1-master-0 kfup-outputs --release", "train-2-master-0 kfup-outputs --pack", "train-2-master-0 kfup-outputs --release"}) {
		t.Errorf("execs %q", rc.exec)
	}
}

// TestRunFailureNamesTheReplica: a failing script exits 1 (an error of no other kind)
// naming the replica and its exit code, with the logs command as hint.
func TestRunFailureNamesTheReplica(t *testing.T) {
	t.Setenv("NO_COLOR", "1")
	dir := writeTree(t, map[string]string{"fail.py": "raise SystemExit(3)\n"})
	rc := newRunCluster(t, true)
	f, _, _ := testFactory(t)
	opts := &RunOptions{Args: []string{"fail.py"}, Dir: dir, Kind: "pytorch", Namespace: "default", RunName: "fail-1",
		MaxSize: DefaultRunMaxSize, OutputDir: t.TempDir(), OutputWait: time.Minute}
	err := runRun(context.Background(), runAPIOver(t, f, rc, 3), opts)
	if err == nil || ExitCode(err) != ExitError || !strings.Contains(err.Error(), "run fail-1 failed after") || !strings.Contains(err.Error(), "replica master-0 exited with code 3") {
		t.Fatalf("error %v (exit %d)", err, ExitCode(err))
	}
	if errs.HintOf(err) != "its logs: kfup run logs fail-1" {
		t.Errorf("hint %q", errs.HintOf(err))
	}
}

// TestRunRefusesClustersItCannotRunOn: without the training API, or without kfup's
// manager, the run stops with exit 4 before anything is created.
func TestRunRefusesClustersItCannotRunOn(t *testing.T) {
	dir := writeTree(t, map[string]string{"train.py": "print(1)\n"})
	for name, rc := range map[string]*runCluster{
		"no training API": newRunCluster(t, false),
		"no manager": func() *runCluster {
			rc := newRunCluster(t, true)
			rc.c.Delete(context.Background(), &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: manager.Namespace, Name: manager.AppName}})
			return rc
		}(),
	} {
		t.Run(name, func(t *testing.T) {
			f, _, _ := testFactory(t)
			opts := &RunOptions{Args: []string{"train.py"}, Dir: dir, Kind: "pytorch", Namespace: "default", MaxSize: DefaultRunMaxSize, OutputDir: t.TempDir(), OutputWait: time.Minute}
			err := runRun(context.Background(), runAPIOver(t, f, rc, 0), opts)
			if ExitCode(err) != ExitNotFound {
				t.Fatalf("error %v (exit %d), want exit 4", err, ExitCode(err))
			}
			var cms corev1.ConfigMapList
			if err := rc.c.List(context.Background(), &cms); err != nil || len(cms.Items) != 0 {
				t.Errorf("ConfigMaps left: %d (%v)", len(cms.Items), err)
			}
		})
	}
}

// TestRunListLogsRm: runs are the jobs labelled with kfup.dev/run; list shows them, logs
// prints every replica prefixed, rm deletes them and reports the missing ones.
func TestRunListLogsRm(t *testing.T) {
	t.Setenv("NO_COLOR", "1")
	now := time.Now()
	mk := func(name string, age time.Duration, state trainingv1.JobConditionType) *trainingv1.PyTorchJob {
		j := &trainingv1.PyTorchJob{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: k8stypes.UID("uid-" + name),
			CreationTimestamp: metav1.NewTime(now.Add(-age)), Labels: map[string]string{run.RunLabel: name},
			Annotations: map[string]string{run.CommandAnnotation: `["python3","train.py"]`}}}
		j.Status.Conditions = []trainingv1.JobCondition{{Type: state, Status: "True"}}
		return j
	}
	notRun := &trainingv1.PyTorchJob{ObjectMeta: metav1.ObjectMeta{Name: "theirs", Namespace: "default"}}
	a, b := mk("train-a", time.Hour, trainingv1.JobSucceeded), mk("train-b", time.Minute, trainingv1.JobFailed)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "train-a-master-0", Namespace: "default",
		Labels:          map[string]string{trainingv1.JobNameLabel: "train-a", trainingv1.ReplicaTypeLabel: "master", trainingv1.ReplicaIndexLabel: "0"},
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "kubeflow.org/v1", Kind: "PyTorchJob", Name: "train-a", UID: a.UID, Controller: ptr.To(true)}}}}
	rc := newRunCluster(t, true, a, b, notRun, pod)
	f, out, _ := testFactory(t)
	api := runAPIOver(t, f, rc, 0)
	if err := runRunList(context.Background(), api, &RunListOptions{Namespace: "default", Output: OutputTable}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[1], "train-b") || !strings.Contains(lines[1], "Failed") || !strings.Contains(lines[2], "python3 train.py") {
		t.Errorf("list:\n%s", out.String())
	}
	out.Reset()
	if err := runRunLogs(context.Background(), api, &RunLogsOptions{Run: "train-a", Namespace: "default"}); err != nil {
		t.Fatal(err)
	}
	if out.String() != "[master-0] fake logs\n" {
		t.Errorf("logs %q", out.String())
	}
	out.Reset()
	err := runRunRm(context.Background(), api, &RunRmOptions{Runs: []string{"train-a", "nope", "theirs"}, Namespace: "default"})
	if ExitCode(err) != ExitNotFound || !strings.Contains(err.Error(), "no run nope, theirs") {
		t.Errorf("rm: %v", err)
	}
	if err := rc.c.Get(context.Background(), client.ObjectKeyFromObject(a), &trainingv1.PyTorchJob{}); err == nil {
		t.Error("train-a is still there")
	}
	for _, o := range []client.Object{b, notRun} {
		if err := rc.c.Get(context.Background(), client.ObjectKeyFromObject(o), &trainingv1.PyTorchJob{}); err != nil {
			t.Errorf("%s: %v", o.GetName(), err)
		}
	}
}

func TestDockerReason(t *testing.T) {
	out := "docker: Error response from daemon: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: \"python3\": executable file not found in $PATH: unknown\n\nRun 'docker run --help' for more information"
	if got, want := dockerReason(out), `exec: "python3": executable file not found in $PATH`; got != want {
		t.Errorf("%q, want %q", got, want)
	}
}

// TestWorkspaceLayer: --bake's layer holds the archive's files under workspace/, with
// every directory (0777) before its files, the same bytes for the same tree.
func TestWorkspaceLayer(t *testing.T) {
	dir := writeTree(t, map[string]string{"train.py": "print(1)\n", "pkg/sub/m.py": "X = 1\n"})
	a, err := workspace.Build(dir, workspace.Options{})
	if err != nil {
		t.Fatal(err)
	}
	layer, err := workspaceLayer(a.Data)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := workspaceLayer(a.Data)
	if !bytes.Equal(layer, again) {
		t.Error("the same archive gave two layers")
	}
	tr := tar.NewReader(bytes.NewReader(layer))
	var got []string
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		entry := h.Name
		if h.Typeflag == tar.TypeDir {
			entry += fmt.Sprintf(" %o", h.Mode)
		}
		got = append(got, entry)
	}
	want := []string{"workspace/ 777", "workspace/pkg/ 777", "workspace/pkg/sub/ 777", "workspace/pkg/sub/m.py", "workspace/train.py"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("layer (-want +got):\n%s", diff)
	}
	for in, want := range map[string]string{"kfup-offline/python-ml:bookworm": "python-ml", "localhost:5000/My_Image@sha256:ab": "my-image", "busybox": "busybox"} {
		if got := bakeRepo(in); got != want {
			t.Errorf("bakeRepo(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestWriteBakedArchive: the baked docker-archive is the base image with the workspace
// layer on top, as go-containerregistry reads it back: the base's layers unchanged, the
// new one last, its diff ID and history in the config, the tag given.
func TestWriteBakedArchive(t *testing.T) {
	base, err := random.Image(512, 2)
	if err != nil {
		t.Fatal(err)
	}
	baseTag, _ := name.NewTag("kfup-offline/python-ml:bookworm")
	basePath := filepath.Join(t.TempDir(), "base.tar")
	if err := tarball.WriteToFile(basePath, baseTag, base); err != nil {
		t.Fatal(err)
	}
	dir := writeTree(t, map[string]string{"train.py": "print(1)\n"})
	a, err := workspace.Build(dir, workspace.Options{})
	if err != nil {
		t.Fatal(err)
	}
	layer, err := workspaceLayer(a.Data)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "baked.tar")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeBakedArchive(f, basePath, layer, historyOf(a), "kfup.local/run-python-ml:0123456789abcdef"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	tag, _ := name.NewTag("kfup.local/run-python-ml:0123456789abcdef")
	img, err := tarball.ImageFromPath(out, &tag)
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 3 {
		t.Fatalf("%d layers (%v)", len(layers), err)
	}
	baseLayers, _ := base.Layers()
	for i := range baseLayers {
		want, _ := baseLayers[i].DiffID()
		got, _ := layers[i].DiffID()
		if want != got {
			t.Errorf("layer %d: diff ID %s, want the base's %s", i, got, want)
		}
	}
	rc, err := layers[2].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	if !bytes.Equal(got, layer) {
		t.Error("the top layer is not the workspace layer")
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	top, _ := layers[2].DiffID()
	if len(cfg.RootFS.DiffIDs) != 3 || cfg.RootFS.DiffIDs[2] != top || !strings.Contains(cfg.History[len(cfg.History)-1].CreatedBy, a.Digest) {
		t.Errorf("config %+v", cfg)
	}
}

// TestRunRequirementsRelativeToDir: a relative --requirements names a file of --dir.
func TestRunRequirementsRelativeToDir(t *testing.T) {
	dir := writeTree(t, map[string]string{"train.py": "print(1)\n", "requirements.txt": "numpy\n"})
	o := RunOptions{Args: []string{"train.py"}, Dir: dir, Kind: "pytorch", Namespace: "default", MaxSize: DefaultRunMaxSize,
		Requirements: "requirements.txt", OutputDir: t.TempDir(), OutputWait: time.Minute}
	p, err := prepareRun(&o, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if p.spec.Requirements != "requirements.txt" || !strings.HasPrefix(p.spec.RequirementsHash, "sha256:") {
		t.Errorf("requirements %q %q", p.spec.Requirements, p.spec.RequirementsHash)
	}
	o.Requirements = "../requirements.txt"
	if _, err := prepareRun(&o, func(string) string { return "" }); errs.KindOf(err) != errs.KindUsage {
		t.Errorf("../requirements.txt: %v", err)
	}
}
