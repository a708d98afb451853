package engine

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/kfup/kfup/internal/agent"
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
const HelperUser = agent.User

// HelperSecurityContext is the security context of every container kfup adds to a job pod:
// agent.SecurityContext, the one every slice's helpers share (non-root, no privilege
// escalation, every capability dropped, the runtime's default seccomp profile).
func HelperSecurityContext() *corev1.SecurityContext { return agent.SecurityContext() }
