package manager

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
)

func TestTrimPodKeepsWhatControllersRead(t *testing.T) {
	meta := metav1.ObjectMeta{
		Name: "job-worker-0", Namespace: "ns", UID: "u1", ResourceVersion: "7",
		Labels:          map[string]string{trainingv1.JobNameLabel: "job"},
		Annotations:     map[string]string{"sidecar.istio.io/inject": "false"},
		OwnerReferences: []metav1.OwnerReference{{Name: "job", UID: "j1"}},
		ManagedFields:   []metav1.ManagedFieldsEntry{{Manager: "kfup"}},
	}
	status := corev1.PodStatus{
		Phase: corev1.PodRunning,
		ContainerStatuses: []corev1.ContainerStatus{{Name: "pytorch", RestartCount: 2,
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 137}}}},
	}
	pod := &corev1.Pod{
		ObjectMeta: meta,
		Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyOnFailure, NodeName: "node-1",
			InitContainers: []corev1.Container{{Name: "init", Image: "busybox"}},
			Containers: []corev1.Container{{Name: "pytorch", Image: "python", Command: []string{"python3"},
				Env: []corev1.EnvVar{{Name: "MASTER_ADDR", Value: "job-master-0"}}}},
			EphemeralContainers: []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "kfup-stop-sidecar", Image: "kfup"}}},
			Volumes:             []corev1.Volume{{Name: "data"}},
		},
		Status: status,
	}
	got, err := trimPod(pod)
	if err != nil {
		t.Fatal(err)
	}
	wantMeta := *meta.DeepCopy()
	wantMeta.ManagedFields = nil
	want := &corev1.Pod{
		ObjectMeta: wantMeta,
		Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyOnFailure, NodeName: "node-1",
			Containers:          []corev1.Container{{Name: "pytorch"}},
			EphemeralContainers: []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "kfup-stop-sidecar"}}},
		},
		Status: status,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("trimmed pod (-want +got):\n%s", diff)
	}
	if len(pod.ManagedFields) != 1 || pod.Spec.Containers[0].Image != "python" {
		t.Fatalf("trimPod changed its input: %+v", pod)
	}
	tomb := cache.DeletedFinalStateUnknown{Key: "ns/x"}
	if got, _ := trimPod(tomb); got != tomb {
		t.Fatalf("tombstone not passed through: %v", got)
	}
}

func TestTrimServiceKeepsMetadata(t *testing.T) {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "job-master-0", Namespace: "ns", ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kfup"}}},
		Spec:       corev1.ServiceSpec{ClusterIP: "None", Ports: []corev1.ServicePort{{Port: 23456}}},
	}
	got, err := trimService(svc)
	if err != nil {
		t.Fatal(err)
	}
	want := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "job-master-0", Namespace: "ns"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("trimmed service (-want +got):\n%s", diff)
	}
}

func TestCacheOptionsSelectJobChildren(t *testing.T) {
	o := CacheOptions()
	for obj, by := range o.ByObject {
		if !by.Label.Matches(labels.Set{trainingv1.JobNameLabel: "job"}) || by.Label.Matches(labels.Set{"app": "istiod"}) {
			t.Errorf("%T: selector %q should match job children only", obj, by.Label)
		}
		if by.Transform == nil {
			t.Errorf("%T: no transform", obj)
		}
	}
	if len(o.ByObject) != 2 || o.DefaultTransform == nil {
		t.Fatalf("cache options: %+v", o)
	}
}

func TestCacheOptionsNamespaces(t *testing.T) {
	if o := CacheOptions(); o.DefaultNamespaces != nil {
		t.Errorf("no namespaces: want the whole cluster, got %v", o.DefaultNamespaces)
	}
	o := CacheOptions("team-a", "team-b")
	if _, a := o.DefaultNamespaces["team-a"]; !a || len(o.DefaultNamespaces) != 2 {
		t.Errorf("namespaces team-a, team-b: got %v", o.DefaultNamespaces)
	}
}
