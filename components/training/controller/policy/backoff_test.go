package policy_test

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	"github.com/kfup/kfup/components/training/controller/policy"
)

func TestRecordedRestarts(t *testing.T) {
	for v, want := range map[string]int32{"": 0, "3": 3, "x": 0, "-1": 0, "99999999999": 0} {
		a := map[string]string{}
		if v != "" {
			a[policy.RestartsAnnotation] = v
		}
		if got := policy.RecordedRestarts(a); got != want {
			t.Errorf("RecordedRestarts(%q) = %d, want %d", v, got, want)
		}
	}
}

func TestKubeletRestarts(t *testing.T) {
	job := ptJob(1, 1, trainingv1.RestartPolicyOnFailure)
	job.Spec.PyTorchReplicaSpecs["Master"].RestartPolicy = trainingv1.RestartPolicyNever
	initRestart := func(p *corev1.Pod) {
		p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "init", RestartCount: 2}}
	}
	pods := []*corev1.Pod{
		pod("Master", 0, "pytorch", corev1.PodRunning, restarts(5)), // Never: not counted
		pod("Worker", 0, "pytorch", corev1.PodRunning, restarts(3), initRestart),
	}
	if got := policy.KubeletRestarts(job.Spec.PyTorchReplicaSpecs, pods); got != 5 {
		t.Errorf("KubeletRestarts = %d, want 5", got)
	}
}

func TestExceedsBackoffLimit(t *testing.T) {
	tests := []struct {
		limit    *int32
		restarts int32
		want     bool
	}{
		{nil, 100, false},
		{ptr.To[int32](0), 0, false},
		{ptr.To[int32](0), 1, true},
		{ptr.To[int32](2), 2, false},
		{ptr.To[int32](2), 3, true},
	}
	for _, tc := range tests {
		rp := &trainingv1.RunPolicy{BackoffLimit: tc.limit}
		if got := policy.ExceedsBackoffLimit(rp, tc.restarts); got != tc.want {
			t.Errorf("ExceedsBackoffLimit(%v, %d) = %v, want %v", ptr.Deref(tc.limit, -1), tc.restarts, got, tc.want)
		}
	}
}
