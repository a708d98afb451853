package engine

import (
	corev1 "k8s.io/api/core/v1"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
)

// ExitClass is what a container's exit code means for its replica.
type ExitClass int

// Exit classes.
const (
	// ExitSucceeded is exit code 0.
	ExitSucceeded ExitClass = iota
	// ExitPermanent is a code from 1 to 127: the program failed and would fail again
	// (a bug, bad arguments); under RestartPolicy ExitCode the job fails.
	ExitPermanent
	// ExitRetryable is a code of 128 or more, 128+signal: the process was killed (137 is
	// SIGKILL, e.g. OOM or preemption, 143 SIGTERM); under ExitCode the pod is replaced.
	ExitRetryable
)

// String names the class.
func (c ExitClass) String() string {
	switch c {
	case ExitSucceeded:
		return "Succeeded"
	case ExitPermanent:
		return "Permanent"
	default:
		return "Retryable"
	}
}

// IsRetryableExitCode says whether exit code is worth a retry: 128 and above, as upstream's
// IsRetryableExitCode.
func IsRetryableExitCode(code int32) bool { return code >= 128 }

// ClassifyExitCode sorts an exit code into succeeded, permanent (1-127) or retryable (128+).
// Negative codes (not produced by Linux) count as permanent.
func ClassifyExitCode(code int32) ExitClass {
	switch {
	case code == 0:
		return ExitSucceeded
	case IsRetryableExitCode(code):
		return ExitRetryable
	default:
		return ExitPermanent
	}
}

// UnknownExitCode stands for "the container has not terminated" (a pod failed before or
// without its container ending, e.g. evicted). It is upstream's magic 0xbeef and, being
// above 127, retryable.
const UnknownExitCode int32 = 0xbeef

// ContainerExitCode is the exit code of the terminated container called name in pod, or
// UnknownExitCode when it has not terminated.
func ContainerExitCode(pod *corev1.Pod, name string) int32 {
	for _, s := range pod.Status.ContainerStatuses {
		if s.Name == name && s.State.Terminated != nil {
			return s.State.Terminated.ExitCode
		}
	}
	return UnknownExitCode
}

// FailureAction is what the reconciler does about a pod in phase Failed.
type FailureAction int

// Failure actions.
const (
	// KeepFailedPod leaves the pod and counts it as failed (RestartPolicy Never); the
	// framework's status rules decide the job's fate.
	KeepFailedPod FailureAction = iota
	// RestartPod deletes the pod so that it is recreated, and marks the job Restarting.
	RestartPod
	// FailJob marks the job Failed: a permanent exit code under RestartPolicy ExitCode.
	FailJob
)

// String names the action.
func (a FailureAction) String() string {
	switch a {
	case RestartPod:
		return "RestartPod"
	case FailJob:
		return "FailJob"
	default:
		return "KeepFailedPod"
	}
}

// OnPodFailed decides about a failed pod of a replica with restart policy p whose
// framework container exited with exitCode (UnknownExitCode if it did not terminate), as
// upstream's ReconcilePods does: ExitCode restarts retryable codes and fails the job on
// permanent ones; OnFailure and Always restart (the kubelet restarts containers in place,
// so this is for pods failed as a whole, e.g. evicted); Never keeps the pod.
func OnPodFailed(p trainingv1.RestartPolicy, exitCode int32) FailureAction {
	switch p {
	case trainingv1.RestartPolicyExitCode:
		if IsRetryableExitCode(exitCode) {
			return RestartPod
		}
		return FailJob
	case trainingv1.RestartPolicyOnFailure, trainingv1.RestartPolicyAlways:
		return RestartPod
	default:
		return KeepFailedPod
	}
}
