package engine

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

// Containers kfup adds to job pods (PyTorch's init-pytorch, MPI's kubectl-delivery, the
// ephemeral container that stops a lingering sidecar) must not be what keeps a job out of
// a namespace that enforces the Pod Security Standard "restricted": a job whose own
// containers comply is admitted there. They need no privilege: they look a name up, copy
// a file into an emptyDir (writable by any user) or post to localhost.

// HelperUser is the user and group kfup's helper containers run as: the non-root user of
// kfup's own image (65532), which busybox and upstream's kubectl-delivery image run as
// well. It is set explicitly, as images that name no user would otherwise run as root and
// be refused under runAsNonRoot.
const HelperUser int64 = 65532

// HelperSecurityContext is the security context of every container kfup adds to a job pod:
// non-root, no privilege escalation, every capability dropped, the runtime's default
// seccomp profile — what the "restricted" Pod Security Standard asks of a container.
func HelperSecurityContext() *corev1.SecurityContext {
	return &corev1.SecurityContext{
		RunAsNonRoot:             ptr.To(true),
		RunAsUser:                ptr.To(HelperUser),
		RunAsGroup:               ptr.To(HelperUser),
		AllowPrivilegeEscalation: ptr.To(false),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}
