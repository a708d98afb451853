package engine

import (
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
)

// APIName is the training slice's name: its profile component, and the value of kfup's
// API label (internal/apihost.LabelAPI) on every child the controllers create.
const APIName = "training"

// ReplicaName is the name of the pod and the service of replica index of type rtype:
// "<job>-<lowercased type>-<index>", e.g. "mnist-worker-0". The service's DNS name is the
// same, so peers reach the replica at "<job>-<type>-<index>[.<namespace>.svc]".
func ReplicaName(jobName string, rtype trainingv1.ReplicaType, index int) string {
	n := jobName + "-" + strings.ToLower(string(rtype)) + "-" + strconv.Itoa(index)
	// Upstream guards against a namespaced key being passed as the job name.
	return strings.ReplaceAll(n, "/", "-")
}

// JobLabels are the labels every pod and service of the job carries: operator-name and
// job-name. They select all of a job's children.
func JobLabels(fw Framework, jobName string) map[string]string {
	return map[string]string{
		trainingv1.OperatorNameLabel: fw.ControllerName(),
		trainingv1.JobNameLabel:      strings.ReplaceAll(jobName, "/", "-"),
	}
}

// ReplicaLabels are the labels of replica (rtype, index): JobLabels plus the lowercased
// replica type and the index. A replica's service selects its pod by exactly these.
func ReplicaLabels(fw Framework, jobName string, rtype trainingv1.ReplicaType, index int) map[string]string {
	l := JobLabels(fw, jobName)
	l[trainingv1.ReplicaTypeLabel] = strings.ToLower(string(rtype))
	l[trainingv1.ReplicaIndexLabel] = strconv.Itoa(index)
	return l
}

// ReplicaTypeSelector selects all pods of one replica type of the job; its string form is
// the status.replicaStatuses[type].selector the scale subresource (and an HPA) reads.
func ReplicaTypeSelector(fw Framework, jobName string, rtype trainingv1.ReplicaType) *metav1.LabelSelector {
	l := JobLabels(fw, jobName)
	l[trainingv1.ReplicaTypeLabel] = strings.ToLower(string(rtype))
	return &metav1.LabelSelector{MatchLabels: l}
}

// OwnerReference makes job the controller of a child: deleting the job deletes the child,
// and the reconciler finds the job from the child.
func OwnerReference(fw Framework, job Job) metav1.OwnerReference {
	return metav1.OwnerReference{
		APIVersion:         trainingv1.GroupVersion.String(),
		Kind:               fw.Kind(),
		Name:               job.GetName(),
		UID:                job.GetUID(),
		Controller:         ptr.To(true),
		BlockOwnerDeletion: ptr.To(true),
	}
}
