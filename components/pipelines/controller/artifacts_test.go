package controller

import (
	"context"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/kfup/kfup/internal/apihost"
)

func taskPodAt(name, ns, ip string, phase corev1.PodPhase, labels map[string]string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels, Annotations: map[string]string{AnnotationTaskKey: ns + "/run-1-abcdef12/" + name}},
		Status:     corev1.PodStatus{Phase: phase, PodIP: ip},
	}
}

// A task pod, known by its IP, reads its namespace's artifacts and writes only under its
// own task's key; a port-forward to the manager (its loopback) only reads; any other
// caller is refused.
func TestArtifactServerAuthorize(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	ours := map[string]string{apihost.LabelAPI: APIName, LabelRun: "run-1"}
	c := fake.NewClientBuilder().WithScheme(scheme).
		WithIndex(&corev1.Pod{}, "status.podIP", func(o client.Object) []string { return []string{o.(*corev1.Pod).Status.PodIP} }).
		WithObjects(
			taskPodAt("train", "team-a", "10.0.0.5", corev1.PodRunning, ours),
			taskPodAt("prep", "team-a", "10.0.0.6", corev1.PodPending, ours),
			taskPodAt("old", "team-a", "10.0.0.7", corev1.PodSucceeded, ours),
			taskPodAt("job", "team-a", "10.0.0.8", corev1.PodRunning, map[string]string{apihost.LabelAPI: "training"}),
		).Build()
	s := &ArtifactServer{reader: c}
	for _, tc := range []struct {
		name, ip, key string
		write         bool
		want          string // "" allowed, else a part of the refusal
	}{
		{"own output", "10.0.0.5", "team-a/run-1-abcdef12/train/model", true, ""},
		{"own prefix", "10.0.0.5", "team-a/run-1-abcdef12/train", true, ""},
		{"another task's output", "10.0.0.5", "team-a/run-1-abcdef12/prep/data", true, "may write only under team-a/run-1-abcdef12/train"},
		{"a prefix sharing its start", "10.0.0.5", "team-a/run-1-abcdef12/trainer/x", true, "may write only under"},
		{"read in its namespace", "10.0.0.5", "team-a/run-0-00000000/prep/data", false, ""},
		{"read another namespace", "10.0.0.5", "team-b/run-9-99999999/x/y", false, "may read only artifacts of namespace team-a"},
		{"a pending pod", "10.0.0.6", "team-a/run-1-abcdef12/prep/data", true, ""},
		{"a finished pod's IP", "10.0.0.7", "team-a/run-1-abcdef12/old/x", false, "not a running pipeline task pod"},
		{"another API's pod", "10.0.0.8", "team-a/x", false, "not a running pipeline task pod"},
		{"an unknown caller", "10.0.0.9", "team-a/x", false, "not a running pipeline task pod"},
		{"a port-forward (the dashboard) reads any namespace", "127.0.0.1", "team-b/run-9-99999999/x/y", false, ""},
		{"a port-forward over IPv6", "::1", "team-a/x", false, ""},
		{"a port-forward may not write", "127.0.0.1", "team-a/run-1-abcdef12/train/model", true, "may only read"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			defer cancel()
			r := httptest.NewRequest("GET", "/", nil).WithContext(ctx)
			r.RemoteAddr = net.JoinHostPort(tc.ip, "41000")
			err := s.authorize(r, tc.key, tc.write)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("got %v, want refused with %q", err, tc.want)
			}
		})
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "not-an-address"
	if err := s.authorize(r, "team-a/x", false); err == nil {
		t.Error("a request without a client address was allowed")
	}
}
