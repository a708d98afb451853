package policy_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	"github.com/kfup/kfup/components/training/controller/policy"
)

func TestCleanPodPolicy(t *testing.T) {
	pods := []*corev1.Pod{
		pod("Master", 0, "pytorch", corev1.PodSucceeded),
		pod("Worker", 0, "pytorch", corev1.PodRunning),
		pod("Worker", 1, "pytorch", corev1.PodPending),
		pod("Worker", 2, "pytorch", corev1.PodFailed, exit(1)),
	}
	services := []*corev1.Service{service("job-master-0"), service("job-worker-0"), service("job-worker-1"), service("job-worker-2"), service("other")}
	tests := []struct {
		policy   trainingv1.CleanPodPolicy
		pods     []string
		services []string
	}{
		{trainingv1.CleanPodPolicyAll,
			[]string{"job-master-0", "job-worker-0", "job-worker-1", "job-worker-2"},
			[]string{"job-master-0", "job-worker-0", "job-worker-1", "job-worker-2", "other"}},
		{trainingv1.CleanPodPolicyRunning, []string{"job-worker-0", "job-worker-1"}, []string{"job-worker-0", "job-worker-1"}},
		{trainingv1.CleanPodPolicyNone, nil, nil},
	}
	for _, tc := range tests {
		cleaned := policy.PodsToClean(tc.policy, pods)
		if diff := cmp.Diff(tc.pods, names(cleaned)); diff != "" {
			t.Errorf("%s: pods (-want +got):\n%s", tc.policy, diff)
		}
		if diff := cmp.Diff(tc.services, names(policy.ServicesToClean(tc.policy, cleaned, services))); diff != "" {
			t.Errorf("%s: services (-want +got):\n%s", tc.policy, diff)
		}
	}
	if diff := cmp.Diff([]string{"job-worker-0", "job-worker-1"}, names(policy.ActivePods(pods))); diff != "" {
		t.Errorf("ActivePods (-want +got):\n%s", diff)
	}
}
