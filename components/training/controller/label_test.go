package controller

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestMarkChild(t *testing.T) {
	shared := map[string]string{"training.kubeflow.org/job-name": "j"}
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Labels: shared}}
	markChild(p)
	if diff := cmp.Diff(map[string]string{"training.kubeflow.org/job-name": "j", "kfup.dev/api": "training"}, p.Labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	if len(shared) != 1 {
		t.Errorf("markChild wrote into a map shared with its caller (a selector): %v", shared)
	}
	s := &corev1.Service{}
	markChild(s)
	if s.Labels["kfup.dev/api"] != "training" {
		t.Errorf("unlabelled object: %v", s.Labels)
	}
}
