package engine

import (
	corev1 "k8s.io/api/core/v1"
)

// Job pods must finish: a pod whose training container exited but whose injected sidecar
// (istio-proxy) keeps running never reaches Succeeded or Failed, and the job hangs in
// Running. That is upstream's most reported problem. kfup avoids it twice: job pods default
// to no injection, and when a sidecar is present anyway the reconciler stops it once the
// framework's container has terminated (LingeringSidecars says which ones).

const (
	// IstioInjectKey is the label and annotation that turns Istio's sidecar injection on or
	// off for a pod.
	IstioInjectKey = "sidecar.istio.io/inject"
	// IstioProxyContainer is the name of Istio's injected sidecar container.
	IstioProxyContainer = "istio-proxy"
)

// IstioQuitCommand, run in the istio-proxy container, makes the sidecar exit (pilot-agent
// posts to Envoy's /quitquitquit and then exits itself).
var IstioQuitCommand = []string{"pilot-agent", "request", "POST", "quitquitquit"}

// DefaultIstioInjection turns Istio injection off in annotations unless the pod template
// decides for itself through the label or the annotation.
func DefaultIstioInjection(labels, annotations map[string]string) {
	if _, ok := labels[IstioInjectKey]; ok {
		return
	}
	if _, ok := annotations[IstioInjectKey]; ok {
		return
	}
	annotations[IstioInjectKey] = "false"
}

// LingeringSidecars names the containers of pod that still run although the framework's
// container (main) has terminated: sidecars that would keep the pod, and so the job, from
// finishing. The main container counts as done only when the kubelet will not restart it:
// any exit under restartPolicy Never, exit 0 under OnFailure, never under Always. Native
// sidecars (restartable init containers) are not listed: the kubelet stops those itself.
func LingeringSidecars(pod *corev1.Pod, main string) []string {
	mainDone := false
	for _, s := range pod.Status.ContainerStatuses {
		if s.Name != main || s.State.Terminated == nil {
			continue
		}
		switch pod.Spec.RestartPolicy {
		case corev1.RestartPolicyAlways:
		case corev1.RestartPolicyOnFailure:
			mainDone = s.State.Terminated.ExitCode == 0
		default:
			mainDone = true
		}
	}
	if !mainDone {
		return nil
	}
	var out []string
	for _, s := range pod.Status.ContainerStatuses {
		if s.Name != main && s.State.Running != nil {
			out = append(out, s.Name)
		}
	}
	return out
}
