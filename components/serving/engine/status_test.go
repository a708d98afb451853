package engine

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	servingv1beta1 "github.com/kfup/kfup/components/serving/api/v1beta1"
)

// A serving container that exited with an error (now or before its restart) makes the
// model FailedToLoad, with the container's message: the model server's own error.
func TestStatusModelLoadFailed(t *testing.T) {
	in := isvc(servingv1beta1.PredictorSpec{XGBoost: &servingv1beta1.PredictorExtensionSpec{StorageURI: ptr.To("pvc://models/x")}})
	children, err := Desired(in, builtin(t, KfupRuntime), StorageInit{})
	if err != nil {
		t.Fatal(err)
	}
	pod := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "iris-predictor-abc"}, Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{
		Name:                 ContainerName,
		State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
		LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Message: "load model /mnt/models: no .json or .ubj model file"}},
	}}}}
	st := Status(in, Observed{Children: children, PredictorPods: []corev1.Pod{pod}}, metav1.Now())
	f := st.ModelStatus.LastFailureInfo
	if st.ModelStatus.TransitionStatus != servingv1beta1.BlockedByFailedLoad || f == nil || f.Reason != servingv1beta1.ModelLoadFailed ||
		f.ExitCode != 1 || f.Location != "iris-predictor-abc" || !strings.Contains(f.Message, "no .json or .ubj") {
		t.Fatalf("model status %+v, failure %+v", st.ModelStatus, f)
	}
	for _, c := range st.Conditions {
		if (c.Type == servingv1beta1.Ready || c.Type == servingv1beta1.PredictorReady) &&
			(c.Status == corev1.ConditionTrue || c.Reason != string(servingv1beta1.ModelLoadFailed) || !strings.Contains(c.Message, "no .json or .ubj")) {
			t.Errorf("condition %+v", c)
		}
	}
	// a running pod that has never failed is just not ready yet
	pod.Status.ContainerStatuses[0].LastTerminationState = corev1.ContainerState{}
	st = Status(in, Observed{Children: children, PredictorPods: []corev1.Pod{pod}}, metav1.Now())
	if st.ModelStatus.TransitionStatus != servingv1beta1.InProgress || st.ModelStatus.LastFailureInfo != nil {
		t.Errorf("model status %+v", st.ModelStatus)
	}
}
