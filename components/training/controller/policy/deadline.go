package policy

import (
	"math"
	"time"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
)

// activeDeadlineSeconds bounds how long a job may be active, counted from status.startTime
// (which a resume resets, so that time suspended does not count). Past it, the job fails
// with ReasonDeadlineExceeded and its running pods are deleted, whatever cleanPodPolicy
// says (upstream deletes every pod); before it, the reconciler looks again when it passes.

// DeadlineLeft returns how long the job may still be active, and false when no deadline
// applies (no activeDeadlineSeconds, or not started). It is 0 or less once past.
func DeadlineLeft(rp *trainingv1.RunPolicy, st *trainingv1.JobStatus, now time.Time) (time.Duration, bool) {
	if rp.ActiveDeadlineSeconds == nil || st.StartTime == nil {
		return 0, false
	}
	deadline := st.StartTime.Add(seconds(*rp.ActiveDeadlineSeconds))
	return deadline.Sub(now), true
}

// seconds is n seconds as a duration, the longest duration (292 years) when n seconds do
// not fit in one: n * time.Second would overflow into a negative duration, which would fail
// a job at once. The API server bounds activeDeadlineSeconds far below that
// (trainingv1.MaxActiveDeadlineSeconds); jobs stored before it did are not.
func seconds(n int64) time.Duration {
	if n > math.MaxInt64/int64(time.Second) {
		return math.MaxInt64
	}
	if n < math.MinInt64/int64(time.Second) {
		return math.MinInt64
	}
	return time.Duration(n) * time.Second
}

// DeadlineMessage is upstream's message for a job failed by activeDeadlineSeconds.
func DeadlineMessage(jobName string) string {
	return "Job " + jobName + " has failed because it was active longer than specified deadline"
}
