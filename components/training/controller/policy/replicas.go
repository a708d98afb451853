package policy

import (
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	"github.com/kfup/kfup/components/training/engine"
)

// EffectivePhase is a pod's phase as far as its job is concerned. It is the pod's phase,
// except for a pod whose framework container (main) has terminated for good while a sidecar
// keeps the pod running (engine.LingeringSidecars): that pod counts as Succeeded or Failed
// by the framework container's exit code, so that a lingering sidecar cannot hold a job in
// Running.
func EffectivePhase(pod *corev1.Pod, main string) corev1.PodPhase {
	switch pod.Status.Phase {
	case corev1.PodPending, corev1.PodRunning:
		if len(engine.LingeringSidecars(pod, main)) == 0 {
			return pod.Status.Phase
		}
		if engine.ContainerExitCode(pod, main) == 0 {
			return corev1.PodSucceeded
		}
		return corev1.PodFailed
	}
	return pod.Status.Phase
}

// ReplicaTypeOf returns the replica type among specs that pod belongs to, by its
// replica-type label (the lowercased type), or false.
func ReplicaTypeOf(specs map[trainingv1.ReplicaType]*trainingv1.ReplicaSpec, pod *corev1.Pod) (trainingv1.ReplicaType, bool) {
	l := pod.Labels[trainingv1.ReplicaTypeLabel]
	if l == "" {
		return "", false
	}
	for t := range specs {
		if strings.ToLower(string(t)) == l {
			return t, true
		}
	}
	return "", false
}

// ReplicaIndexOf returns pod's replica index (its replica-index label), or false when it
// has none (MPI's launcher) or an invalid one.
func ReplicaIndexOf(pod *corev1.Pod) (int, bool) {
	v, ok := pod.Labels[trainingv1.ReplicaIndexLabel]
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(v)
	return i, err == nil && i >= 0
}

// CountReplicas counts the pods of each replica type of the job as upstream does: Running
// pods are active, and pods in phase Succeeded or Failed (EffectivePhase) succeeded or
// failed; pending pods are not counted. Every replica type of specs gets an entry, with the
// selector of its pods (the scale subresource's selector). Pods of types the job does not
// have are not counted.
func CountReplicas(fw engine.Framework, jobName string, specs map[trainingv1.ReplicaType]*trainingv1.ReplicaSpec, pods []*corev1.Pod) map[trainingv1.ReplicaType]*trainingv1.ReplicaStatus {
	out := make(map[trainingv1.ReplicaType]*trainingv1.ReplicaStatus, len(specs))
	for t, spec := range specs {
		if spec == nil {
			continue
		}
		out[t] = &trainingv1.ReplicaStatus{
			Selector: metav1.FormatLabelSelector(engine.ReplicaTypeSelector(fw, jobName, t)),
		}
	}
	for _, p := range pods {
		t, ok := ReplicaTypeOf(specs, p)
		if !ok || out[t] == nil {
			continue
		}
		switch EffectivePhase(p, fw.DefaultContainerName()) {
		case corev1.PodRunning:
			out[t].Active++
		case corev1.PodSucceeded:
			out[t].Succeeded++
		case corev1.PodFailed:
			out[t].Failed++
		}
	}
	return out
}
