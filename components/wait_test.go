package components

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	fakeclient "sigs.k8s.io/controller-runtime/pkg/client/fake"
)

// A container crashing once or twice during the wait (an API server still starting after
// a node restart) is not stuck, whatever its count from earlier runs; one that crashes
// CrashLoopRestarts times during the wait is, and so is a pod that cannot get its image.
func TestStuckPods(t *testing.T) {
	waiting := func(reason string, restarts int32) *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "u1"},
			Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{
				Name: "c", Image: "img", RestartCount: restarts,
				State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: "back-off"}},
			}}},
		}
	}
	for _, tc := range []struct {
		name       string
		first, now *corev1.Pod
		want       string // part of the error; "" for none
	}{
		{"crashed once", waiting("CrashLoopBackOff", 0), waiting("CrashLoopBackOff", 1), ""},
		{"crash loop", waiting("CrashLoopBackOff", 0), waiting("CrashLoopBackOff", CrashLoopRestarts), "CrashLoopBackOff, 3 restarts"},
		{"old restarts do not count", waiting("CrashLoopBackOff", 7), waiting("CrashLoopBackOff", 8), ""},
		{"no image", waiting("ErrImageNeverPull", 0), waiting("ErrImageNeverPull", 0), "cannot get image img"},
		{"starting", waiting("ContainerCreating", 0), waiting("ContainerCreating", 0), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			restarts := Restarts{}
			var err error
			for _, p := range []*corev1.Pod{tc.first, tc.now} {
				c := fakeclient.NewClientBuilder().WithObjects(p).Build()
				err, _ = StuckPods(context.Background(), c, "ns", restarts)
			}
			if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("StuckPods = %v, want %q", err, tc.want)
			}
		})
	}
}
