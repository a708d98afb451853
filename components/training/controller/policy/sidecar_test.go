package policy_test

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/kfup/kfup/components/training/controller/policy"
)

func TestNeedsSidecarStop(t *testing.T) {
	stopped := func(p *corev1.Pod) {
		p.Spec.EphemeralContainers = []corev1.EphemeralContainer{policy.StopSidecarContainer("busybox", nil)}
	}
	tests := []struct {
		name string
		pod  *corev1.Pod
		want bool
	}{
		{"main done, istio-proxy runs", pod("Worker", 0, "pytorch", corev1.PodRunning, exit(0), sidecar("istio-proxy")), true},
		{"main failed, istio-proxy runs", pod("Worker", 0, "pytorch", corev1.PodRunning, exit(1), sidecar("istio-proxy")), true},
		{"already stopping", pod("Worker", 0, "pytorch", corev1.PodRunning, exit(0), sidecar("istio-proxy"), stopped), false},
		{"being deleted", pod("Worker", 0, "pytorch", corev1.PodRunning, exit(0), sidecar("istio-proxy"), deleting()), false},
		{"main still runs", pod("Worker", 0, "pytorch", corev1.PodRunning, sidecar("istio-proxy")), false},
		{"another sidecar", pod("Worker", 0, "pytorch", corev1.PodRunning, exit(0), sidecar("log-shipper")), false},
		{"OnFailure restarts a failed main", pod("Worker", 0, "pytorch", corev1.PodRunning, exit(1), sidecar("istio-proxy"),
			podRestartPolicy(corev1.RestartPolicyOnFailure)), false},
	}
	for _, tc := range tests {
		if got := policy.NeedsSidecarStop(tc.pod, "pytorch"); got != tc.want {
			t.Errorf("%s: NeedsSidecarStop = %v, want %v", tc.name, got, tc.want)
		}
	}
	c := policy.StopSidecarContainer("kfup-offline/busybox:1", nil)
	if c.Name != policy.StopSidecarContainerName || c.Image != "kfup-offline/busybox:1" || c.ImagePullPolicy != corev1.PullIfNotPresent ||
		!strings.Contains(strings.Join(c.Command, " "), "http://127.0.0.1:15020/quitquitquit") {
		t.Errorf("StopSidecarContainer = %+v", c)
	}
}

func TestStopSidecarContainerWithKfupAgent(t *testing.T) {
	c := policy.StopSidecarContainer("kfup.local/kfup-manager:abc", []string{"/kfup", "agent", "quit-sidecar"})
	if c.Image != "kfup.local/kfup-manager:abc" || len(c.Command) != 3 || c.Command[2] != "quit-sidecar" {
		t.Fatalf("got %+v", c.EphemeralContainerCommon)
	}
}
