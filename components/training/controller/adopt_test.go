package controller_test

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
)

// A pod and a service left behind by a job deleted with --cascade=orphan (the job's
// labels, no controller) are adopted by a new job of the same name, which then runs with
// them instead of failing to create pods whose names are taken; a pod of the job's labels
// controlled by something else is left alone.
func TestOrphansAreAdopted(t *testing.T) {
	start(t, testConfig())
	ns := env.Namespace(t)
	ctx := context.Background()
	labels := func(rtype string) map[string]string {
		return map[string]string{
			trainingv1.OperatorNameLabel: "pytorchjob-controller", trainingv1.JobNameLabel: "adopt",
			trainingv1.ReplicaTypeLabel: rtype, trainingv1.ReplicaIndexLabel: "0",
		}
	}
	orphan := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "adopt-worker-0", Namespace: ns, Labels: labels("worker")},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "pytorch", Image: "kfup-offline/busybox:1"}}},
	}
	orphanSvc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "adopt-worker-0", Namespace: ns, Labels: labels("worker")},
		Spec:       corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, Selector: labels("worker"), Ports: []corev1.ServicePort{{Name: "pytorchjob-port", Port: 23456}}},
	}
	other := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "not-mine", Namespace: ns, Labels: labels("worker"),
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "rs", UID: "0000-rs", Controller: ptr.To(true)}}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "kfup-offline/busybox:1"}}},
	}
	create(t, orphan)
	create(t, orphanSvc)

	create(t, masterWorker("adopt", ns, trainingv1.RestartPolicyOnFailure).Obj())
	job := getJob(t, ns, "adopt")
	waitPods(t, ns, "adopt", "adopt-master-0", "adopt-worker-0")
	waitServices(t, ns, "adopt", "adopt-master-0", "adopt-worker-0")
	eventually(t, "the orphans controlled by the job", func(ctx context.Context) (bool, string) {
		var p corev1.Pod
		var s corev1.Service
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "adopt-worker-0"}, &p); err != nil {
			return false, err.Error()
		}
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "adopt-worker-0"}, &s); err != nil {
			return false, err.Error()
		}
		pc, sc := metav1.GetControllerOf(&p), metav1.GetControllerOf(&s)
		return pc != nil && pc.UID == job.UID && sc != nil && sc.UID == job.UID, fmt.Sprintf("pod controller %v, service controller %v", pc, sc)
	})
	// the adopted worker counts: the job runs once both pods do (reconciles that also see
	// a pod with the job's labels and another controller, which they must leave alone)
	create(t, other)
	run(t, ns, "adopt-worker-0", "pytorch")
	run(t, ns, "adopt-master-0", "pytorch")
	waitCondition(t, ns, "adopt", trainingv1.JobRunning, "PyTorchJobRunning")
	var p corev1.Pod
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "not-mine"}, &p); err != nil {
		t.Fatal(err)
	}
	if c := metav1.GetControllerOf(&p); c == nil || c.UID != "0000-rs" || len(p.OwnerReferences) != 1 {
		t.Fatalf("a pod with another controller was touched: %+v", p.OwnerReferences)
	}
}
