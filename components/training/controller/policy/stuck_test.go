package policy_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	"github.com/kfup/kfup/components/training/controller/policy"
)

func TestStuckPods(t *testing.T) {
	initWaiting := func(p *corev1.Pod) {
		p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "init-pytorch", State: corev1.ContainerState{
			Waiting: &corev1.ContainerStateWaiting{Reason: "ErrImagePull", Message: "pull access denied"}}}}
	}
	noStart := func(p *corev1.Pod) { p.Status.StartTime = nil }
	pods := []*corev1.Pod{
		pod("Worker", 2, "pytorch", corev1.PodPending, waiting("ContainerCreating", time.Hour)),
		pod("Worker", 1, "pytorch", corev1.PodPending, waiting("CreateContainerConfigError", 5*time.Second)),
		pod("Worker", 0, "pytorch", corev1.PodPending, waiting("ImagePullBackOff", time.Minute)),
		pod("Master", 0, "pytorch", corev1.PodPending, initWaiting),
		pod("Worker", 3, "pytorch", corev1.PodFailed, waiting("InvalidImageName", time.Minute)),
		pod("Worker", 4, "pytorch", corev1.PodPending, waiting("ErrImageNeverPull", time.Minute), noStart),
	}
	type got struct {
		Pod, Container, Reason string
		Since                  time.Duration
	}
	var out []got
	for _, s := range policy.StuckPods(pods) {
		out = append(out, got{s.Pod.Name, s.Container, s.Reason, now.Sub(s.Since)})
	}
	want := []got{
		{"job-master-0", "init-pytorch", "ErrImagePull", time.Hour}, // creation time: not started
		{"job-worker-0", "pytorch", "ImagePullBackOff", time.Minute},
		{"job-worker-1", "pytorch", "CreateContainerConfigError", 5 * time.Second},
		{"job-worker-4", "pytorch", "ErrImageNeverPull", time.Hour},
	}
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("StuckPods (-want +got):\n%s", diff)
	}
	msg := policy.StuckMessage(framework(t, "PyTorchJob"), ptJob(1, 1, ""), policy.StuckPods(pods[2:3])[0])
	if want := "PyTorchJob job is failed because pod job-worker-0 cannot start: container pytorch: ImagePullBackOff: image x not found"; msg != want {
		t.Errorf("StuckMessage = %q, want %q", msg, want)
	}
}
