package knative

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	knservingv1 "github.com/kfup/kfup/components/knative/api/v1"
)

// The smoke test's Knative Service runs kfup's model server from the given image on the
// ConfigMap's model, one pod at most, as Knative accepts it: one container, one port.
func TestSmokeService(t *testing.T) {
	ks := SmokeService("kfup-smoke-knative-x", "kfup.local/kfup-manager:abc", corev1.PullNever)
	if ks.Namespace != SmokeNamespace || ks.GenerateName == "" || ks.Labels["kfup.dev/smoke"] != "true" {
		t.Errorf("metadata: %+v", ks.ObjectMeta)
	}
	if ks.Spec.Template.Annotations[knservingv1.MaxScaleAnnotation] != "1" {
		t.Errorf("annotations: %v", ks.Spec.Template.Annotations)
	}
	cs := ks.Spec.Template.Spec.Containers
	if len(cs) != 1 || len(cs[0].Ports) != 1 || cs[0].Ports[0].ContainerPort != 8080 {
		t.Fatalf("containers: %+v", cs)
	}
	c := cs[0]
	if c.Image != "kfup.local/kfup-manager:abc" || c.ImagePullPolicy != corev1.PullNever || c.Command[0] != "/kfup" || c.Command[1] != "modelserver" {
		t.Errorf("container: %s %s %v", c.Image, c.ImagePullPolicy, c.Command)
	}
	want := map[string]bool{"--model-name=" + smokeModelName: true, "--model-dir=/mnt/models": true, "--http-port=8080": true, "--grpc-port=0": true}
	for _, a := range c.Args {
		delete(want, a)
	}
	if len(want) > 0 {
		t.Errorf("args %v lack %v", c.Args, want)
	}
	vols := ks.Spec.Template.Spec.Volumes
	if len(vols) != 1 || vols[0].ConfigMap == nil || vols[0].ConfigMap.Name != "kfup-smoke-knative-x" || len(c.VolumeMounts) != 1 || c.VolumeMounts[0].Name != vols[0].Name {
		t.Errorf("model volume: %+v, mounts %+v", vols, c.VolumeMounts)
	}
}

func TestServiceReady(t *testing.T) {
	ks := func(gen, observed int64, conds ...knservingv1.Condition) *knservingv1.Service {
		s := &knservingv1.Service{ObjectMeta: metav1.ObjectMeta{Generation: gen}}
		s.Status.ObservedGeneration = observed
		s.Status.Conditions = conds
		return s
	}
	ready := knservingv1.Condition{Type: knservingv1.ConditionReady, Status: corev1.ConditionTrue}
	failed := knservingv1.Condition{Type: knservingv1.ConditionReady, Status: corev1.ConditionFalse, Reason: "RevisionFailed", Message: "image not found"}
	for _, c := range []struct {
		name string
		ks   *knservingv1.Service
		ok   bool
		why  string
	}{
		{"ready", ks(1, 1, ready), true, ""},
		{"an older generation ready", ks(2, 1, ready), false, "not observed"},
		{"failed", ks(1, 1, failed), false, "RevisionFailed: image not found"},
		{"no condition", ks(1, 1), false, "no Ready condition"},
	} {
		ok, why := serviceReady(c.ks)
		if ok != c.ok || (c.why != "" && !strings.Contains(why, c.why)) {
			t.Errorf("%s: %v %q, want %v and %q", c.name, ok, why, c.ok, c.why)
		}
	}
}
