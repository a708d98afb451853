package policy

import (
	corev1 "k8s.io/api/core/v1"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
)

// runPolicy.suspend, as upstream: while a (not finished) job is suspended its pods and
// services are deleted (extras that only a running job has, such as PyTorch's HPA, too:
// the reconciler handles those), its replicas count no active pod, a Running condition
// turns False and the Suspended condition is True, with reason "<Kind>Suspended". When it
// is resumed, Suspended turns False with reason "<Kind>Resumed" and status.startTime
// restarts, so that activeDeadlineSeconds counts from the resume. Suspending a finished
// job changes nothing.

// IsSuspended says whether the run policy suspends the job.
func IsSuspended(rp *trainingv1.RunPolicy) bool { return rp.Suspend != nil && *rp.Suspend }

// suspend applies a suspended job's state.
func (d *decision) suspend() {
	d.plan.Completed = Completed{} // resuming runs every replica again
	d.plan.DeletePods = append(d.plan.DeletePods, d.pods...)
	d.plan.DeleteServices = append(d.plan.DeleteServices, d.in.Services...)
	for _, s := range d.st.ReplicaStatuses {
		if s != nil {
			s.Active = 0
		}
	}
	reason, msg := Reason(d.fw.Kind(), ReasonSuspended), SuspendedMessage(d.fw, d.job)
	if IsTrue(d.st, trainingv1.JobRunning) {
		SetCondition(d.st, trainingv1.JobRunning, corev1.ConditionFalse, reason, msg, d.now)
	}
	if !IsTrue(d.st, trainingv1.JobSuspended) {
		SetCondition(d.st, trainingv1.JobSuspended, corev1.ConditionTrue, reason, msg, d.now)
	}
}

// resume turns Suspended False and restarts the clock of a job that is no longer
// suspended; it does nothing to a job that was not.
func (d *decision) resume() {
	if !IsTrue(d.st, trainingv1.JobSuspended) {
		return
	}
	SetCondition(d.st, trainingv1.JobSuspended, corev1.ConditionFalse, Reason(d.fw.Kind(), ReasonResumed), ResumedMessage(d.fw, d.job), d.now)
	start := d.now
	d.st.StartTime = &start
}
