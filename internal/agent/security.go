package agent

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

// User is the user and group `kfup agent` containers run as: the non-root user of kfup's
// own image (65532).
const User int64 = 65532

// SecurityContext is what a `kfup agent` container added to a job pod runs with: non-root,
// no privilege escalation, every capability dropped, the runtime's default seccomp
// profile — the "restricted" Pod Security Standard, so that the helper never keeps a job
// out of a namespace enforcing it. Every slice's helper containers use it.
func SecurityContext() *corev1.SecurityContext {
	return &corev1.SecurityContext{
		RunAsNonRoot:             ptr.To(true),
		RunAsUser:                ptr.To(User),
		RunAsGroup:               ptr.To(User),
		AllowPrivilegeEscalation: ptr.To(false),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}
