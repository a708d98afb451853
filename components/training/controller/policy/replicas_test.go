package policy_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	"github.com/kfup/kfup/components/training/controller/policy"
)

func TestEffectivePhase(t *testing.T) {
	const main = "pytorch"
	tests := []struct {
		name string
		pod  *corev1.Pod
		want corev1.PodPhase
	}{
		{"pending", pod("Worker", 0, main, corev1.PodPending), corev1.PodPending},
		{"running", pod("Worker", 0, main, corev1.PodRunning), corev1.PodRunning},
		{"succeeded", pod("Worker", 0, main, corev1.PodSucceeded), corev1.PodSucceeded},
		{"failed", pod("Worker", 0, main, corev1.PodFailed, exit(1)), corev1.PodFailed},
		{"main done, sidecar runs: succeeded by exit 0",
			pod("Worker", 0, main, corev1.PodRunning, exit(0), sidecar("istio-proxy")), corev1.PodSucceeded},
		{"main done, sidecar runs: failed by exit 137",
			pod("Worker", 0, main, corev1.PodRunning, exit(137), sidecar("istio-proxy")), corev1.PodFailed},
		{"main failed under OnFailure is restarted by the kubelet: running",
			pod("Worker", 0, main, corev1.PodRunning, exit(1), sidecar("istio-proxy"), podRestartPolicy(corev1.RestartPolicyOnFailure)), corev1.PodRunning},
		{"main done under Always is restarted: running",
			pod("Worker", 0, main, corev1.PodRunning, exit(0), sidecar("istio-proxy"), podRestartPolicy(corev1.RestartPolicyAlways)), corev1.PodRunning},
		{"main runs with a sidecar", pod("Worker", 0, main, corev1.PodRunning, sidecar("istio-proxy")), corev1.PodRunning},
	}
	for _, tc := range tests {
		if got := policy.EffectivePhase(tc.pod, main); got != tc.want {
			t.Errorf("%s: EffectivePhase = %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestCountReplicas(t *testing.T) {
	fw := framework(t, "PyTorchJob")
	job := ptJob(1, 3, trainingv1.RestartPolicyOnFailure)
	pods := []*corev1.Pod{
		pod("Master", 0, "pytorch", corev1.PodRunning),
		pod("Worker", 0, "pytorch", corev1.PodSucceeded),
		pod("Worker", 1, "pytorch", corev1.PodFailed, exit(2)),
		pod("Worker", 2, "pytorch", corev1.PodPending),
		pod("Worker", 3, "pytorch", corev1.PodRunning, exit(0), sidecar("istio-proxy")),
		pod("Launcher", -1, "pytorch", corev1.PodRunning), // not a PyTorch replica type
	}
	got := policy.CountReplicas(fw, "job", job.Spec.PyTorchReplicaSpecs, pods)
	want := map[trainingv1.ReplicaType]*trainingv1.ReplicaStatus{
		"Master": {Active: 1, Selector: "training.kubeflow.org/job-name=job,training.kubeflow.org/operator-name=pytorchjob-controller,training.kubeflow.org/replica-type=master"},
		"Worker": {Succeeded: 2, Failed: 1, Selector: "training.kubeflow.org/job-name=job,training.kubeflow.org/operator-name=pytorchjob-controller,training.kubeflow.org/replica-type=worker"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("CountReplicas (-want +got):\n%s", diff)
	}
}

func TestReplicaTypeAndIndexOf(t *testing.T) {
	specs := ptJob(1, 1, "").Spec.PyTorchReplicaSpecs
	if typ, ok := policy.ReplicaTypeOf(specs, pod("Worker", 3, "pytorch", "")); !ok || typ != "Worker" {
		t.Errorf("ReplicaTypeOf(worker) = %q, %v", typ, ok)
	}
	if _, ok := policy.ReplicaTypeOf(specs, pod("PS", 0, "pytorch", "")); ok {
		t.Errorf("ReplicaTypeOf(ps) found a type")
	}
	if i, ok := policy.ReplicaIndexOf(pod("Worker", 3, "pytorch", "")); !ok || i != 3 {
		t.Errorf("ReplicaIndexOf = %d, %v", i, ok)
	}
	if _, ok := policy.ReplicaIndexOf(pod("Launcher", -1, "mpi", "")); ok {
		t.Errorf("ReplicaIndexOf(launcher) found an index")
	}
}
