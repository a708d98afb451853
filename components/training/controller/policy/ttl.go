package policy

import (
	"time"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
)

// ttlSecondsAfterFinished deletes a finished job (and, through owner references, its
// children) that long after status.completionTime; before that, the reconciler looks again
// when it is due. A suspended job is never deleted by it, as upstream.

// TTLLeft returns how long until a finished job is to be deleted, and false when it is not
// to be (no ttlSecondsAfterFinished, not finished, or suspended). It is 0 or less when due.
// A finished job without a completionTime counts as finished now.
func TTLLeft(rp *trainingv1.RunPolicy, st *trainingv1.JobStatus, now time.Time) (time.Duration, bool) {
	if rp.TTLSecondsAfterFinished == nil || !IsFinished(st) || (rp.Suspend != nil && *rp.Suspend) {
		return 0, false
	}
	done := now
	if st.CompletionTime != nil {
		done = st.CompletionTime.Time
	}
	return done.Add(time.Duration(*rp.TTLSecondsAfterFinished) * time.Second).Sub(now), true
}
