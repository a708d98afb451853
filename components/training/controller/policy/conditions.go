package policy

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
)

// Condition reasons of the Training Operator v1.9: a job's condition reason is its kind
// followed by one of these, e.g. "PyTorchJobRunning" (see Reason).
const (
	ReasonCreated    = "Created"
	ReasonRunning    = "Running"
	ReasonRestarting = "Restarting"
	ReasonSucceeded  = "Succeeded"
	ReasonFailed     = "Failed"
	ReasonSuspended  = "Suspended"
	ReasonResumed    = "Resumed"
)

// Failure reasons used as they are, without the kind, as batch/v1 Job words them. Upstream
// says "<Kind>Failed" for these too; the message is upstream's either way.
const (
	// ReasonBackoffLimitExceeded fails a job whose pods restarted more than backoffLimit times.
	ReasonBackoffLimitExceeded = "BackoffLimitExceeded"
	// ReasonDeadlineExceeded fails a job active for longer than activeDeadlineSeconds.
	ReasonDeadlineExceeded = "DeadlineExceeded"
)

// Reason is a condition or event reason of a job of kind: "PyTorchJob" + "Running".
func Reason(kind, reason string) string { return kind + reason }

// FindCondition returns the condition of type t, or nil.
func FindCondition(st *trainingv1.JobStatus, t trainingv1.JobConditionType) *trainingv1.JobCondition {
	for i := range st.Conditions {
		if st.Conditions[i].Type == t {
			return &st.Conditions[i]
		}
	}
	return nil
}

// IsTrue says whether the job has a condition of type t with status True.
func IsTrue(st *trainingv1.JobStatus, t trainingv1.JobConditionType) bool {
	c := FindCondition(st, t)
	return c != nil && c.Status == corev1.ConditionTrue
}

// IsSucceeded says whether the job succeeded.
func IsSucceeded(st *trainingv1.JobStatus) bool { return IsTrue(st, trainingv1.JobSucceeded) }

// IsFailed says whether the job failed.
func IsFailed(st *trainingv1.JobStatus) bool { return IsTrue(st, trainingv1.JobFailed) }

// IsFinished says whether the job succeeded or failed: nothing changes it any more but its
// deletion.
func IsFinished(st *trainingv1.JobStatus) bool { return IsSucceeded(st) || IsFailed(st) }

// SetCondition records a condition as upstream's UpdateJobConditions does:
//
//   - a failed job's conditions no longer change;
//   - a condition of the same type, status and reason is left as it is (first message wins);
//   - the lastTransitionTime is kept when only the reason changes;
//   - the condition moves to the end of the list (the printer column shows the last one);
//   - Running and Restarting exclude each other: setting one removes the other;
//   - Succeeded or Failed turn a Running condition to False.
//
// It reports whether the conditions changed.
func SetCondition(st *trainingv1.JobStatus, t trainingv1.JobConditionType, status corev1.ConditionStatus, reason, message string, now metav1.Time) bool {
	if IsFailed(st) {
		return false
	}
	cond := trainingv1.JobCondition{
		Type: t, Status: status, Reason: reason, Message: message,
		LastUpdateTime: now, LastTransitionTime: now,
	}
	if cur := FindCondition(st, t); cur != nil {
		if cur.Status == status && cur.Reason == reason {
			return false
		}
		if cur.Status == status {
			cond.LastTransitionTime = cur.LastTransitionTime
		}
	}
	out := make([]trainingv1.JobCondition, 0, len(st.Conditions)+1)
	for _, c := range st.Conditions {
		switch {
		case c.Type == t,
			t == trainingv1.JobRestarting && c.Type == trainingv1.JobRunning,
			t == trainingv1.JobRunning && c.Type == trainingv1.JobRestarting:
			continue
		case (t == trainingv1.JobFailed || t == trainingv1.JobSucceeded) && c.Type == trainingv1.JobRunning:
			c.Status = corev1.ConditionFalse
		}
		out = append(out, c)
	}
	st.Conditions = append(out, cond)
	return true
}
