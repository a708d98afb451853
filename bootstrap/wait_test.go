package bootstrap

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
)

// After a restart the cluster still reports on its previous run until the kubelet has
// posted the node's status and synced every pod; staleness names what still does, node by
// node against that node's own start, and leaves nodes it was not asked about alone.
func TestStaleness(t *testing.T) {
	restart := time.Date(2026, 11, 29, 7, 0, 0, 400_000_000, time.UTC)
	old, fresh := metav1.NewTime(restart.Add(-time.Hour)), metav1.NewTime(restart.Truncate(time.Second)) // whole seconds, as in the API
	node := func(name string, heartbeat metav1.Time) *corev1.Node {
		return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{
			{Type: corev1.NodeReady, Status: corev1.ConditionTrue, LastHeartbeatTime: heartbeat},
		}}}
	}
	pod := func(nodeName, name string, phase corev1.PodPhase, state corev1.ContainerState) *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "kfup-system"},
			Spec:       corev1.PodSpec{NodeName: nodeName},
			Status:     corev1.PodStatus{Phase: phase, ContainerStatuses: []corev1.ContainerStatus{{Name: "c", State: state}}},
		}
	}
	running := func(at metav1.Time) corev1.ContainerState {
		return corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: at}}
	}
	waiting := corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}
	starts := map[string]time.Time{"n": restart}
	for _, tc := range []struct {
		name string
		objs []runtime.Object
		want string // a part of the message; "" for none
	}{
		{"node not reported", []runtime.Object{node("n", old), pod("n", "m", corev1.PodRunning, running(fresh))}, "kubelet of node n has not reported"},
		{"pod not synced", []runtime.Object{node("n", fresh), pod("n", "m", corev1.PodRunning, running(old))}, "pod kfup-system/m not synced"},
		{"all of the new run", []runtime.Object{node("n", fresh), pod("n", "m", corev1.PodRunning, running(fresh)), pod("n", "w", corev1.PodRunning, waiting)}, ""},
		{"finished pods do not count", []runtime.Object{node("n", fresh), pod("n", "done", corev1.PodSucceeded, running(old))}, ""},
		{"other nodes are not judged", []runtime.Object{node("n", fresh), node("kept", old), pod("kept", "etcd", corev1.PodRunning, running(old)), pod("gone", "orphan", corev1.PodRunning, running(old))}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := staleness(context.Background(), fake.NewClientset(tc.objs...), starts)
			if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
				t.Fatalf("staleness = %q, want %q", got, tc.want)
			}
		})
	}
}
