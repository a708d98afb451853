package policy

import (
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
)

// backoffLimit counts a job's restarts: the restarts of containers by the kubelet (restart
// counts of the pods of replicas restarted OnFailure, Always or ExitCode, as upstream) plus
// the pods the reconciler deleted to recreate them (restart.go), which upstream does not
// count, so that ExitCode jobs are bounded too. The recreations are remembered in the
// job's RestartsAnnotation: a recreated pod's restart counts start again from 0.
//
// A job fails with ReasonBackoffLimitExceeded once its restarts exceed backoffLimit: with
// backoffLimit N, N restarts are allowed, as in batch/v1 Job. (Upstream fails when the
// restarts reach N, for N > 0.) A failed pod whose restart would exceed the limit is not
// recreated.

// RestartsAnnotation on a job holds the number of its pods the reconciler deleted to
// recreate them.
const RestartsAnnotation = "training.kfup.dev/restarts"

// RestartedPodsAnnotation on a job lists, comma-separated, the UIDs of the failed pods
// RestartsAnnotation already counts and that may not be deleted yet: written with the
// count, before the delete, so that a manager that dies between the two does not count
// the same pod again when it sees it still there. UIDs of pods gone are dropped.
const RestartedPodsAnnotation = "training.kfup.dev/restarted-pods"

// RecordedRestartedPods is the job's RestartedPodsAnnotation, sorted, without duplicates
// or empty entries.
func RecordedRestartedPods(annotations map[string]string) []types.UID {
	var out []types.UID
	for _, s := range strings.Split(annotations[RestartedPodsAnnotation], ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, types.UID(s))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// FormatRestartedPods is the RestartedPodsAnnotation value listing uids.
func FormatRestartedPods(uids []types.UID) string {
	s := make([]string, len(uids))
	for i, u := range uids {
		s[i] = string(u)
	}
	return strings.Join(s, ",")
}

// RecordedRestarts is the job's RestartsAnnotation, 0 when absent or invalid.
func RecordedRestarts(annotations map[string]string) int32 {
	n, err := strconv.ParseInt(annotations[RestartsAnnotation], 10, 32)
	if err != nil || n < 0 {
		return 0
	}
	return int32(n)
}

// KubeletRestarts sums the restart counts of the init and regular containers of pods whose
// replica restarts them (OnFailure, Always, ExitCode).
func KubeletRestarts(specs map[trainingv1.ReplicaType]*trainingv1.ReplicaSpec, pods []*corev1.Pod) int32 {
	var n int32
	for _, p := range pods {
		t, ok := ReplicaTypeOf(specs, p)
		if !ok || specs[t] == nil || specs[t].RestartPolicy == trainingv1.RestartPolicyNever {
			continue
		}
		for _, s := range p.Status.InitContainerStatuses {
			n += s.RestartCount
		}
		for _, s := range p.Status.ContainerStatuses {
			n += s.RestartCount
		}
	}
	return n
}

// ExceedsBackoffLimit says whether restarts exceed the run policy's backoffLimit (never
// when it is unset).
func ExceedsBackoffLimit(rp *trainingv1.RunPolicy, restarts int32) bool {
	return rp.BackoffLimit != nil && restarts > *rp.BackoffLimit
}

// BackoffLimitMessage is upstream's message for a job failed by backoffLimit.
func BackoffLimitMessage(jobName string) string {
	return "Job " + jobName + " has failed because it has reached the specified backoff limit"
}
