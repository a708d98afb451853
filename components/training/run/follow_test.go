package run

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	kubefake "k8s.io/client-go/kubernetes/fake"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	"github.com/kfup/kfup/internal/testio"
	"github.com/kfup/kfup/internal/workspace"
)

// TestMuxKeepsLinesWhole: replicas' streams, read in arbitrary pieces and written at
// once, come out as whole lines, each with its replica's prefix.
func TestMuxKeepsLinesWhole(t *testing.T) {
	var out testio.Buffer
	m := NewMux(&out)
	var wg sync.WaitGroup
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := m.Writer(fmt.Sprintf("worker-%d", r))
			defer w.Close()
			var text strings.Builder
			for i := range 200 {
				fmt.Fprintf(&text, "line %d of worker %d\n", i, r)
			}
			text.WriteString("no newline at the end")
			b := []byte(text.String())
			for len(b) > 0 { // pieces of 1 to 7 bytes, cutting lines anywhere
				n := min(len(b), 1+len(b)%7)
				w.Write(b[:n])
				b = b[n:]
			}
		}()
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 4*201 {
		t.Fatalf("%d lines, want %d", len(lines), 4*201)
	}
	next := map[string]int{}
	for _, l := range lines {
		var r, i, r2 int
		if _, err := fmt.Sscanf(l, "[worker-%d] line %d of worker %d", &r, &i, &r2); err == nil {
			if r != r2 || i != next[fmt.Sprint(r)] {
				t.Fatalf("line %q out of place (want line %d)", l, next[fmt.Sprint(r)])
			}
			next[fmt.Sprint(r)]++
			continue
		}
		if _, err := fmt.Sscanf(l, "[worker-%d] no newline at the end", &r); err != nil {
			t.Fatalf("mangled line %q", l)
		}
	}
	m.Line("kfup", "done %d", 1)
	if !strings.HasSuffix(out.String(), "[kfup] done 1\n") {
		t.Errorf("Line: %q", out.String()[len(out.String())-20:])
	}
}

func scheme(t *testing.T) *runtime.Scheme {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	if err := trainingv1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	return s
}

// jobPod is a pod of the job's replica rtype-index whose framework container has
// terminated with code, its outputs sidecar still running.
func jobPod(job client.Object, rtype string, index int, code int32, reason string) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: fmt.Sprintf("%s-%s-%d", job.GetName(), rtype, index), Namespace: job.GetNamespace(), UID: types.UID(fmt.Sprintf("uid-%s-%d", rtype, index)),
			Labels:          map[string]string{trainingv1.JobNameLabel: job.GetName(), trainingv1.ReplicaTypeLabel: rtype, trainingv1.ReplicaIndexLabel: fmt.Sprint(index)},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "kubeflow.org/v1", Kind: KindName(job), Name: job.GetName(), UID: job.GetUID(), Controller: ptr.To(true)}},
		},
		Status: corev1.PodStatus{
			InitContainerStatuses: []corev1.ContainerStatus{
				{Name: UnpackContainer, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{}}},
				{Name: OutputsContainer, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}},
			},
			ContainerStatuses: []corev1.ContainerStatus{{Name: "pytorch", Image: "img", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Reason: reason}}}},
		},
	}
	if rtype == "master" {
		p.Labels[trainingv1.JobRoleLabel] = trainingv1.JobRoleMaster
	}
	return p
}

// outputsOf is what `kfup agent outputs --pack` sends for files (path → contents).
func outputsOf(t *testing.T, files map[string]string) []byte {
	dir := t.TempDir()
	for p, c := range files {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755)
		os.WriteFile(filepath.Join(dir, p), []byte(c), 0o644)
	}
	var buf bytes.Buffer
	if _, err := workspace.Pack(&buf, dir, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestFollowFailedRun: a 1 + 2 PyTorchJob whose worker-1 fails: every replica's log
// comes prefixed, the warning event and the termination are printed, the outputs of the
// master and of worker-0 are fetched into their directories and the sidecars released,
// and the result names the failed replica.
func TestFollowFailedRun(t *testing.T) {
	created := metav1.NewTime(time.Now().Add(-time.Minute))
	job := &trainingv1.PyTorchJob{ObjectMeta: metav1.ObjectMeta{Name: "train", Namespace: "ml", UID: "job-uid", CreationTimestamp: created}}
	job.Status.Conditions = []trainingv1.JobCondition{{Type: trainingv1.JobRunning, Status: "True"}}
	pods := []client.Object{jobPod(job, "master", 0, 0, "Completed"), jobPod(job, "worker", 0, 0, "Completed"), jobPod(job, "worker", 1, 1, "Error")}
	foreign := jobPod(job, "worker", 2, 1, "Error")
	foreign.OwnerReferences = nil // a pod with the job's labels that the job does not control
	c := fake.NewClientBuilder().WithScheme(scheme(t)).WithObjects(append(pods, job, foreign)...).WithStatusSubresource(job).Build()
	cs := kubefake.NewClientset(&corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: "e1", Namespace: "ml", UID: "e1"},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "train-worker-1"}, Type: "Warning", Reason: "BackOff", Message: "Back-off restarting",
		LastTimestamp: metav1.Now(), Count: 1,
	}, &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: "e0", Namespace: "ml", UID: "e0"},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "train-worker-1"}, Type: "Warning", Reason: "Old", Message: "before the run",
		LastTimestamp: metav1.NewTime(created.Add(-time.Hour)), Count: 1,
	})
	var mu sync.Mutex
	var execs []string
	exec := func(_ context.Context, ns, pod, container string, command []string, stdout io.Writer) error {
		mu.Lock()
		execs = append(execs, pod+" "+container+" "+strings.Join(command[2:4], " "))
		mu.Unlock()
		if command[3] == "--pack" {
			switch pod {
			case "train-master-0":
				stdout.Write(outputsOf(t, map[string]string{"model.json": "{}", "plots/loss.txt": "0.1"}))
			case "train-worker-0":
				stdout.Write(outputsOf(t, map[string]string{"rank.txt": "1"}))
			}
		}
		return nil
	}
	var logs, status testio.Buffer
	dir := filepath.Join(t.TempDir(), "kfup-runs", "train")
	polls := 0
	f := &Follower{
		C: c, CS: cs, Logs: NewMux(&logs), Status: NewMux(&status), Exec: exec, OutputDir: dir, Poll: time.Millisecond,
		Sleep: func(ctx context.Context, _ time.Duration) error {
			polls++
			if polls == 2 { // the job fails
				j := &trainingv1.PyTorchJob{}
				c.Get(ctx, client.ObjectKeyFromObject(job), j)
				j.Status.Conditions = append(j.Status.Conditions, trainingv1.JobCondition{Type: trainingv1.JobFailed, Status: "True", Reason: "PyTorchJobFailed", Message: "worker 1 failed"})
				if err := c.Status().Update(ctx, j); err != nil {
					t.Fatal(err)
				}
			}
			return ctx.Err()
		},
	}
	res, err := f.Follow(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	if res.State != trainingv1.JobFailed || res.Message != "worker 1 failed" {
		t.Errorf("result %+v", res)
	}
	if len(res.Failures) != 1 || res.Failures[0].String() != "replica worker-1 exited with code 1" {
		t.Errorf("failures %+v", res.Failures)
	}
	for _, want := range []string{"[master-0] fake logs\n", "[worker-0] fake logs\n", "[worker-1] fake logs\n"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %q:\n%s", want, logs.String())
		}
	}
	if strings.Contains(logs.String(), "worker-2") || strings.Contains(status.String(), "worker-2") {
		t.Errorf("followed a pod the job does not control:\n%s%s", logs.String(), status.String())
	}
	for _, want := range []string{"[worker-1] Warning BackOff: Back-off restarting", "[worker-1] pytorch exited with code 1 (Error)", "[master-0] pytorch exited with code 0", "[master-0] 2 output file(s) in " + dir + "\n"} {
		if !strings.Contains(status.String(), want) {
			t.Errorf("status lacks %q:\n%s", want, status.String())
		}
	}
	if strings.Contains(status.String(), "before the run") || strings.Count(status.String(), "BackOff") != 1 {
		t.Errorf("old or repeated events:\n%s", status.String())
	}
	if b, err := os.ReadFile(filepath.Join(dir, "plots", "loss.txt")); err != nil || string(b) != "0.1" {
		t.Errorf("master's outputs: %q %v", b, err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "worker-0", "rank.txt")); err != nil || string(b) != "1" {
		t.Errorf("worker-0's outputs: %q %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "worker-1")); err == nil {
		t.Error("a directory for worker-1, which wrote nothing")
	}
	if len(res.Outputs) != 2 || res.Outputs[0].Replica != "master-0" || res.Outputs[0].Files != 2 {
		t.Errorf("outputs %+v", res.Outputs)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, p := range []string{"train-master-0", "train-worker-0", "train-worker-1"} {
		for _, step := range []string{"--pack", "--release"} {
			want := p + " " + OutputsContainer + " outputs " + step
			found := false
			for _, e := range execs {
				found = found || e == want
			}
			if !found {
				t.Errorf("no exec %q in %q", want, execs)
			}
		}
	}
}

// TestFollowImageWithoutCommand: a framework container whose image lacks the command
// stops the follow at once with a NoCommandError naming replica and image.
func TestFollowImageWithoutCommand(t *testing.T) {
	job := &trainingv1.PyTorchJob{ObjectMeta: metav1.ObjectMeta{Name: "train", Namespace: "ml", UID: "job-uid"}}
	pod := jobPod(job, "master", 0, 0, "")
	pod.Status.ContainerStatuses[0].Image = "kfup-offline/busybox:1"
	pod.Status.ContainerStatuses[0].State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{
		Reason: "RunContainerError", Message: `exec: "python3": executable file not found in $PATH`,
	}}
	c := fake.NewClientBuilder().WithScheme(scheme(t)).WithObjects(job, pod).Build()
	var logs, status testio.Buffer
	f := &Follower{C: c, CS: kubefake.NewClientset(), Logs: NewMux(&logs), Status: NewMux(&status), Poll: time.Millisecond}
	_, err := f.Follow(context.Background(), job)
	var nc *NoCommandError
	if !errors.As(err, &nc) || nc.Replica != "master-0" || nc.Image != "kfup-offline/busybox:1" || !strings.Contains(nc.Message, "python3") {
		t.Fatalf("error %v", err)
	}
}

// TestStopDeletesTheJobAndItsPods: Ctrl-C's cleanup deletes the job and the pods it
// controls, and no other pod.
func TestStopDeletesTheJobAndItsPods(t *testing.T) {
	job := &trainingv1.PyTorchJob{ObjectMeta: metav1.ObjectMeta{Name: "train", Namespace: "ml", UID: "job-uid"}}
	mine := jobPod(job, "master", 0, 0, "")
	other := jobPod(job, "worker", 0, 0, "")
	other.OwnerReferences = nil
	c := fake.NewClientBuilder().WithScheme(scheme(t)).WithObjects(job, mine, other).Build()
	if err := Stop(context.Background(), c, job, time.Second); err != nil {
		t.Fatal(err)
	}
	if err := c.Get(context.Background(), client.ObjectKeyFromObject(mine), &corev1.Pod{}); err == nil {
		t.Error("the job's pod is still there")
	}
	if err := c.Get(context.Background(), client.ObjectKeyFromObject(other), &corev1.Pod{}); err != nil {
		t.Errorf("a pod the job does not control was deleted: %v", err)
	}
}

// TestSettled: the follow goes on after the job's state is decided while a pod's
// framework container still runs, unless that pod is finished or being deleted.
func TestSettled(t *testing.T) {
	job := &trainingv1.PyTorchJob{ObjectMeta: metav1.ObjectMeta{Name: "train", Namespace: "ml", UID: "job-uid"}}
	done := jobPod(job, "master", 0, 0, "Completed")
	running := jobPod(job, "worker", 0, 0, "")
	running.Status.ContainerStatuses[0].State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
	deleting := running.DeepCopy()
	deleting.DeletionTimestamp = ptr.To(metav1.Now())
	foreign := running.DeepCopy()
	foreign.OwnerReferences = nil
	for _, tt := range []struct {
		pods []corev1.Pod
		want bool
	}{
		{[]corev1.Pod{*done}, true},
		{[]corev1.Pod{*done, *running}, false},
		{[]corev1.Pod{*done, *deleting}, true},
		{[]corev1.Pod{*done, *foreign}, true},
	} {
		if got := settled(tt.pods, job, "pytorch"); got != tt.want {
			t.Errorf("%d pods: settled %v, want %v", len(tt.pods), got, tt.want)
		}
	}
}

// TestFollowNamesAFailedUnpack: a replica whose kfup-unpack failed is named with it.
func TestFollowNamesAFailedUnpack(t *testing.T) {
	job := &trainingv1.PyTorchJob{ObjectMeta: metav1.ObjectMeta{Name: "train", Namespace: "ml", UID: "job-uid"}}
	job.Status.Conditions = []trainingv1.JobCondition{{Type: trainingv1.JobFailed, Status: "True", Message: "1 Master replica(s) failed"}}
	pod := jobPod(job, "master", 0, 0, "")
	pod.Status.InitContainerStatuses[0].State.Terminated = &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error", Message: "archive digest sha256:1, want sha256:2"}
	pod.Status.ContainerStatuses = nil
	pod.Status.Phase = corev1.PodFailed // restart policy Never: a failed init container fails the pod
	c := fake.NewClientBuilder().WithScheme(scheme(t)).WithObjects(job, pod).Build()
	var logs, status testio.Buffer
	f := &Follower{C: c, CS: kubefake.NewClientset(), Logs: NewMux(&logs), Status: NewMux(&status), Poll: time.Millisecond}
	res, err := f.Follow(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Failures) != 1 || res.Failures[0].String() != "replica master-0: kfup-unpack exited with code 1" {
		t.Errorf("failures %+v", res.Failures)
	}
	if !strings.Contains(status.String(), "[master-0] kfup-unpack failed (exit code 1): archive digest") {
		t.Errorf("status %q", status.String())
	}
}
