package policy

import (
	"cmp"
	"slices"

	corev1 "k8s.io/api/core/v1"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	"github.com/kfup/kfup/components/training/engine"
)

// Restart policies. The pod's own restartPolicy is the replica's (ExitCode becomes Never),
// so the kubelet restarts containers in place under OnFailure and Always; the reconciler
// acts on pods that failed as a whole (EffectivePhase Failed):
//
//   - ExitCode: a retryable exit code of the framework container (128-255: killed by a
//     signal, e.g. 137 for OOM or preemption, or no exit code at all, e.g. evicted) deletes
//     the pod, which is then recreated, and marks the job Restarting; a permanent code
//     (1-127) fails the job.
//   - OnFailure, Always: the pod is deleted and recreated (the kubelet could not restart it:
//     eviction, a lost node), and the job is Restarting.
//   - Never: the pod stays; the job fails (a TFJob with enableDynamicWorker carries on
//     without failed workers).
//
// Every recreation counts against backoffLimit (backoff.go).

// FailedPod is a failed pod of a job and what its replica's restart policy says to do.
type FailedPod struct {
	Pod      *corev1.Pod
	Type     trainingv1.ReplicaType
	ExitCode int32
	Action   engine.FailureAction
}

// FailedPods lists the failed pods (EffectivePhase Failed) among pods, sorted by name, with
// engine.OnPodFailed's action for their replica's restart policy and their framework
// container's exit code. Pods of replica types the job does not have are left out.
func FailedPods(fw engine.Framework, specs map[trainingv1.ReplicaType]*trainingv1.ReplicaSpec, pods []*corev1.Pod) []FailedPod {
	var out []FailedPod
	for _, p := range pods {
		if EffectivePhase(p, fw.DefaultContainerName()) != corev1.PodFailed {
			continue
		}
		t, ok := ReplicaTypeOf(specs, p)
		if !ok || specs[t] == nil {
			continue
		}
		code := engine.ContainerExitCode(p, fw.DefaultContainerName())
		out = append(out, FailedPod{Pod: p, Type: t, ExitCode: code, Action: engine.OnPodFailed(specs[t].RestartPolicy, code)})
	}
	slices.SortFunc(out, func(a, b FailedPod) int { return cmp.Compare(a.Pod.Name, b.Pod.Name) })
	return out
}

// typeCounts counts per replica type, for messages in the framework's type order.
type typeCounts map[trainingv1.ReplicaType]int

// first returns the first type (in order) with a count, and its count.
func (c typeCounts) first(order []trainingv1.ReplicaType) (trainingv1.ReplicaType, int) {
	for _, t := range order {
		if c[t] > 0 {
			return t, c[t]
		}
	}
	return "", 0
}
