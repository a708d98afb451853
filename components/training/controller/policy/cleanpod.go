package policy

import (
	"slices"

	corev1 "k8s.io/api/core/v1"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
)

// cleanPodPolicy says which pods of a finished job are deleted, as upstream: All deletes
// every pod, Running the pods still pending or running (a pending pod would start later),
// None (every kind's default) none. The service of the same name goes with each deleted
// pod; All deletes every service.

// PodsToClean returns the pods of a finished job that policy deletes.
func PodsToClean(policy trainingv1.CleanPodPolicy, pods []*corev1.Pod) []*corev1.Pod {
	var out []*corev1.Pod
	for _, p := range pods {
		switch policy {
		case trainingv1.CleanPodPolicyAll:
			out = append(out, p)
		case trainingv1.CleanPodPolicyRunning:
			if p.Status.Phase == corev1.PodRunning || p.Status.Phase == corev1.PodPending {
				out = append(out, p)
			}
		}
	}
	return out
}

// ServicesToClean returns the services of a finished job that policy deletes along with
// the pods cleaned: all of them under All, else those named like a cleaned pod.
func ServicesToClean(policy trainingv1.CleanPodPolicy, cleaned []*corev1.Pod, services []*corev1.Service) []*corev1.Service {
	var out []*corev1.Service
	for _, s := range services {
		if policy == trainingv1.CleanPodPolicyAll ||
			slices.ContainsFunc(cleaned, func(p *corev1.Pod) bool { return p.Name == s.Name }) {
			out = append(out, s)
		}
	}
	return out
}

// ActivePods are the pods still pending or running (the ones a deadline stops).
func ActivePods(pods []*corev1.Pod) []*corev1.Pod {
	return PodsToClean(trainingv1.CleanPodPolicyRunning, pods)
}
