package policy_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	"github.com/kfup/kfup/components/training/controller/policy"
	"github.com/kfup/kfup/components/training/engine"
)

func TestFailedPods(t *testing.T) {
	fw := framework(t, "PyTorchJob")
	type got struct {
		Pod    string
		Code   int32
		Action string
	}
	evicted := func(p *corev1.Pod) { p.Status.Reason = "Evicted"; p.Status.ContainerStatuses = nil }
	tests := []struct {
		name   string
		policy trainingv1.RestartPolicy
		pods   []*corev1.Pod
		want   []got
	}{
		{"ExitCode: 137 is retried", trainingv1.RestartPolicyExitCode,
			[]*corev1.Pod{pod("Worker", 0, "pytorch", corev1.PodFailed, exit(137))},
			[]got{{"job-worker-0", 137, "RestartPod"}}},
		{"ExitCode: 1 fails the job", trainingv1.RestartPolicyExitCode,
			[]*corev1.Pod{pod("Worker", 0, "pytorch", corev1.PodFailed, exit(1))},
			[]got{{"job-worker-0", 1, "FailJob"}}},
		{"ExitCode: 127 is permanent, 128 retried", trainingv1.RestartPolicyExitCode,
			[]*corev1.Pod{pod("Worker", 1, "pytorch", corev1.PodFailed, exit(128)), pod("Worker", 0, "pytorch", corev1.PodFailed, exit(127))},
			[]got{{"job-worker-0", 127, "FailJob"}, {"job-worker-1", 128, "RestartPod"}}},
		{"ExitCode: evicted (no exit code) is retried", trainingv1.RestartPolicyExitCode,
			[]*corev1.Pod{pod("Worker", 0, "pytorch", corev1.PodFailed, evicted)},
			[]got{{"job-worker-0", engine.UnknownExitCode, "RestartPod"}}},
		{"Never keeps the pod", trainingv1.RestartPolicyNever,
			[]*corev1.Pod{pod("Worker", 0, "pytorch", corev1.PodFailed, exit(137))},
			[]got{{"job-worker-0", 137, "KeepFailedPod"}}},
		{"OnFailure: a pod failed as a whole is recreated", trainingv1.RestartPolicyOnFailure,
			[]*corev1.Pod{pod("Worker", 0, "pytorch", corev1.PodFailed, evicted)},
			[]got{{"job-worker-0", engine.UnknownExitCode, "RestartPod"}}},
		{"main container failed behind a sidecar", trainingv1.RestartPolicyExitCode,
			[]*corev1.Pod{pod("Worker", 0, "pytorch", corev1.PodRunning, exit(137), sidecar("istio-proxy"))},
			[]got{{"job-worker-0", 137, "RestartPod"}}},
		{"running, succeeded and foreign pods are not listed", trainingv1.RestartPolicyExitCode,
			[]*corev1.Pod{pod("Worker", 0, "pytorch", corev1.PodRunning), pod("Worker", 1, "pytorch", corev1.PodSucceeded),
				pod("PS", 0, "pytorch", corev1.PodFailed, exit(1))},
			nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			specs := ptJob(0, 2, tc.policy).Spec.PyTorchReplicaSpecs
			var out []got
			for _, f := range policy.FailedPods(fw, specs, tc.pods) {
				if f.Type != "Worker" {
					t.Errorf("type %q", f.Type)
				}
				out = append(out, got{f.Pod.Name, f.ExitCode, f.Action.String()})
			}
			if diff := cmp.Diff(tc.want, out); diff != "" {
				t.Errorf("FailedPods (-want +got):\n%s", diff)
			}
		})
	}
}
