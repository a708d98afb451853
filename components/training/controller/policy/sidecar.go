package policy

import (
	"slices"

	corev1 "k8s.io/api/core/v1"

	"github.com/kfup/kfup/components/training/engine"
)

// Sidecars that outlive the training container. Job pods default to no Istio injection
// (engine.DefaultIstioInjection); when a sidecar is injected anyway, a pod whose framework
// container has terminated for good stays Running as long as the sidecar runs, and so
// would its job. kfup handles this in two steps:
//
//  1. The job's status does not wait for the pod: EffectivePhase counts the pod as
//     Succeeded or Failed by its framework container's exit code, so the job completes,
//     restarts or fails on time, and cleanPodPolicy applies.
//  2. The sidecar is stopped, so the pod itself finishes (and frees its node): an
//     ephemeral container (StopSidecarContainer) is added to the pod; sharing the pod's
//     network namespace, it asks the Istio agent to quit over localhost
//     (POST 127.0.0.1:15020/quitquitquit, which stops pilot-agent and Envoy).
//
// An ephemeral container rather than exec: it needs neither exec rights on user pods nor a
// streaming connection from the manager, works with any proxy image (distroless ones too),
// and is idempotent (it is added once, by name). Deleting the pod instead would lose the
// logs of a finished replica and, while the job runs, have it recreated. Sidecars other
// than istio-proxy have no common way to be told to quit; step 1 still completes their
// jobs, and cleanPodPolicy All or Running deletes their pods. Native sidecars
// (restartable init containers) are stopped by the kubelet itself.

// StopSidecarContainerName names the ephemeral container that stops a lingering sidecar.
const StopSidecarContainerName = "kfup-stop-sidecar"

// istioQuitURL is the Istio agent's endpoint that stops the proxy.
const istioQuitURL = "http://127.0.0.1:15020/quitquitquit"

// NeedsSidecarStop says whether pod runs an istio-proxy sidecar although its framework
// container (main) is done, and has no StopSidecarContainer yet.
func NeedsSidecarStop(pod *corev1.Pod, main string) bool {
	if pod.DeletionTimestamp != nil || !slices.Contains(engine.LingeringSidecars(pod, main), engine.IstioProxyContainer) {
		return false
	}
	return !slices.ContainsFunc(pod.Spec.EphemeralContainers, func(c corev1.EphemeralContainer) bool {
		return c.Name == StopSidecarContainerName
	})
}

// StopSidecarContainer is the ephemeral container that asks the Istio agent of its pod to
// quit, retrying for about 20 seconds. With a nil command, image needs sh, seq, sleep and
// wget (busybox); otherwise command runs as is (kfup agent quit-sidecar).
func StopSidecarContainer(image string, command []string) corev1.EphemeralContainer {
	if command == nil {
		command = []string{"sh", "-c", "for i in $(seq 10); do wget -q -O- --post-data= " + istioQuitURL + " && exit 0; sleep 2; done; exit 1"}
	}
	return corev1.EphemeralContainer{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
		Name:            StopSidecarContainerName,
		Image:           image,
		ImagePullPolicy: corev1.PullIfNotPresent,
		Command:         append([]string(nil), command...),
		SecurityContext: engine.HelperSecurityContext(),
	}}
}
