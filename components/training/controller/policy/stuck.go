package policy

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/kfup/kfup/components/training/engine"
)

// A pod that can never start (a bad image name, an image that does not exist or cannot be
// pulled, a container config referring to a missing Secret or ConfigMap) would otherwise
// leave its job in Created or Running forever, as upstream's does. Once one of its
// containers (init or regular) has waited for one of NeverStartReasons for longer than a
// grace period, counted from the pod's start (when the kubelet took it) or creation, the job
// fails with the container's waiting reason as the condition reason ("ImagePullBackOff")
// and its message. The grace lets transient registry errors heal: the kubelet retries
// pulls with a backoff. Failing (rather than a non-terminal condition) lets whatever waits
// for the job (a pipeline, a Katib trial) go on, and cleanPodPolicy then applies.

// NeverStartReasons are the waiting reasons of containers that will not start on their
// own.
var NeverStartReasons = []string{
	"ImagePullBackOff", "ErrImagePull", "ErrImageNeverPull", "InvalidImageName", "CreateContainerConfigError",
}

// StuckPod is a pod with a container waiting for one of NeverStartReasons.
type StuckPod struct {
	Pod       *corev1.Pod
	Container string
	Reason    string
	Message   string
	// Since is when the pod started (or was created); the grace counts from it.
	Since time.Time
}

// StuckPods returns, sorted by name, the pending or running pods among pods with a
// container waiting for one of NeverStartReasons (the first such container of each).
func StuckPods(pods []*corev1.Pod) []StuckPod {
	var out []StuckPod
	for _, p := range pods {
		if p.Status.Phase != corev1.PodPending && p.Status.Phase != corev1.PodRunning {
			continue
		}
		statuses := append(slices.Clone(p.Status.InitContainerStatuses), p.Status.ContainerStatuses...)
		for _, s := range statuses {
			w := s.State.Waiting
			if w == nil || !slices.Contains(NeverStartReasons, w.Reason) {
				continue
			}
			since := p.CreationTimestamp.Time
			if p.Status.StartTime != nil {
				since = p.Status.StartTime.Time
			}
			out = append(out, StuckPod{Pod: p, Container: s.Name, Reason: w.Reason, Message: w.Message, Since: since})
			break
		}
	}
	slices.SortFunc(out, func(a, b StuckPod) int { return cmp.Compare(a.Pod.Name, b.Pod.Name) })
	return out
}

// StuckMessage says why the job failed: "PyTorchJob <name> is failed because pod <pod>
// cannot start: container <c>: <reason>: <message>".
func StuckMessage(fw engine.Framework, job engine.Job, s StuckPod) string {
	msg := fmt.Sprintf("%s %s is failed because pod %s cannot start: container %s: %s", fw.Kind(), job.GetName(), s.Pod.Name, s.Container, s.Reason)
	if s.Message != "" {
		msg += ": " + s.Message
	}
	return msg
}
