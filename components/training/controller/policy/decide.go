package policy

import (
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	"github.com/kfup/kfup/components/training/engine"
)

// DefaultStuckPodGrace is how long a container may wait for one of NeverStartReasons
// before its job fails, unless Input says otherwise.
const DefaultStuckPodGrace = time.Minute

// Input is what a decision looks at.
type Input struct {
	// Framework is the plug-in of the job's kind.
	Framework engine.Framework
	// Job is the job as the API server returned it; Decide works on a defaulted copy.
	Job engine.Job
	// Pods and Services are the children the job controls. Pods being deleted are ignored.
	Pods     []*corev1.Pod
	Services []*corev1.Service
	// Now is the time of the decision.
	Now time.Time
	// StuckPodGrace is how long a container may wait for one of NeverStartReasons; 0 means
	// DefaultStuckPodGrace.
	StuckPodGrace time.Duration
}

// Plan is what the reconciler does for a job.
type Plan struct {
	// Status is the job's next status. Its lastReconcileTime is the job's: the reconciler
	// sets it when it writes a status that changed.
	Status trainingv1.JobStatus
	// Restarts is the job's RestartsAnnotation after this decision.
	Restarts int32
	// RestartedPods is the job's RestartedPodsAnnotation after this decision (sorted): the
	// pods Restarts counts that are still there.
	RestartedPods []types.UID
	// Completed is the job's SucceededReplicasAnnotation after this decision: the replicas
	// whose pod succeeded, which are not created again (completed.go).
	Completed Completed
	// CreateChildren says that the job runs: create its missing pods and services (but not
	// those of DeletePods, which come back once gone), delete those it no longer wants
	// (scale-down) and apply its extras.
	CreateChildren bool
	// DeletePods and DeleteServices are children to delete: pods to restart, pods and
	// services of a suspended job, pods a passed deadline stops, cleanPodPolicy's.
	DeletePods     []*corev1.Pod
	DeleteServices []*corev1.Service
	// StopSidecars are pods to stop the lingering istio-proxy of (StopSidecarContainer).
	StopSidecars []*corev1.Pod
	// DeleteJob says that the finished job's ttlSecondsAfterFinished has passed.
	DeleteJob bool
	// RequeueAfter is when to look at the job again although nothing changes (a deadline,
	// a TTL or a stuck pod's grace runs out); 0 when there is no such time.
	RequeueAfter time.Duration
	// Events to record on the job, in order.
	Events []Event
}

type decision struct {
	in    Input
	fw    engine.Framework
	job   engine.Job
	specs map[trainingv1.ReplicaType]*trainingv1.ReplicaSpec
	rp    *trainingv1.RunPolicy
	st    *trainingv1.JobStatus
	now   metav1.Time
	pods  []*corev1.Pod // not being deleted
	plan  *Plan
	// counted are the recorded restarted pods still there: already counted, to delete
	counted map[types.UID]bool
}

// Decide computes a job's next status and the actions that go with it:
//
//  1. A job without a Created condition gets one.
//  2. A finished (succeeded or failed) job only has cleanPodPolicy and
//     ttlSecondsAfterFinished applied.
//  3. A suspended job has its pods and services deleted (suspend.go); a job no longer
//     suspended is resumed.
//  4. A running job gets its startTime, its replicas counted, and fails when past its
//     backoffLimit or activeDeadlineSeconds, when a replica failed for good (a permanent
//     exit code under ExitCode, any failure under Never), or when a pod can never start;
//     else it succeeds by its kind's success rules; else failed pods that may be restarted
//     are deleted (Restarting), and the job is Running while its leading replicas run. A
//     job that finishes here has step 2 applied at once.
func Decide(in Input) (*Plan, error) {
	job, err := engine.Defaulted(in.Framework, in.Job)
	if err != nil {
		return nil, err
	}
	fw := in.Framework
	d := &decision{
		in: in, fw: fw, job: job,
		specs: fw.ReplicaSpecs(job),
		rp:    fw.RunPolicy(job),
		st:    fw.Status(job).DeepCopy(),
		now:   metav1.NewTime(in.Now),
		plan:  &Plan{Restarts: RecordedRestarts(job.GetAnnotations()), Completed: RecordedCompleted(job.GetAnnotations())},
	}
	for _, p := range in.Pods {
		if p.DeletionTimestamp == nil {
			d.pods = append(d.pods, p)
		}
	}
	d.counted = map[types.UID]bool{}
	for _, uid := range RecordedRestartedPods(job.GetAnnotations()) {
		if slices.ContainsFunc(in.Pods, func(p *corev1.Pod) bool { return p.UID == uid }) {
			d.counted[uid] = true
			d.plan.RestartedPods = append(d.plan.RestartedPods, uid)
		}
	}
	oldConditions := fw.Status(in.Job).Conditions

	if FindCondition(d.st, trainingv1.JobCreated) == nil {
		SetCondition(d.st, trainingv1.JobCreated, corev1.ConditionTrue, Reason(fw.Kind(), ReasonCreated), CreatedMessage(fw, job), d.now)
	}
	switch {
	case IsFinished(d.st):
		d.finished()
	case IsSuspended(d.rp):
		d.suspend()
	default:
		d.resume()
		d.run()
		if IsFinished(d.st) {
			d.finished()
		} else {
			d.plan.CreateChildren = true
		}
	}
	if !IsSuspended(d.rp) {
		for _, p := range d.pods {
			if !slices.Contains(d.plan.DeletePods, p) && NeedsSidecarStop(p, fw.DefaultContainerName()) {
				d.plan.StopSidecars = append(d.plan.StopSidecars, p)
			}
		}
	}
	d.plan.DeletePods = uniqueByName(d.plan.DeletePods)
	d.plan.DeleteServices = uniqueByName(d.plan.DeleteServices)
	d.plan.Status = *d.st
	d.plan.Events = append(d.plan.Events, ConditionEvents(oldConditions, d.st.Conditions)...)
	return d.plan, nil
}

// run decides about a job that neither finished nor is suspended.
func (d *decision) run() {
	fw, name := d.fw, d.job.GetName()
	if d.st.StartTime == nil {
		start := d.now
		d.st.StartTime = &start
	}
	d.plan.Completed = CompletedReplicas(fw, d.specs, d.pods, d.plan.Completed)
	d.st.ReplicaStatuses = CountReplicas(fw, name, d.specs, d.pods)
	countCompleted(d.specs, d.st.ReplicaStatuses, d.pods, d.plan.Completed)

	restarts := d.plan.Restarts + KubeletRestarts(d.specs, d.pods)
	if ExceedsBackoffLimit(d.rp, restarts) {
		d.fail(ReasonBackoffLimitExceeded, BackoffLimitMessage(name), true)
		return
	}
	if left, ok := DeadlineLeft(d.rp, d.st, d.now.Time); ok {
		if left <= 0 {
			d.fail(ReasonDeadlineExceeded, DeadlineMessage(name), true)
			return
		}
		d.requeue(left)
	}

	order := orderedTypes(fw, d.specs)
	failedPods := FailedPods(fw, d.specs, d.pods)
	failed := typeCounts{}
	for _, f := range failedPods {
		switch {
		case f.Action == engine.FailJob:
		case f.Action == engine.KeepFailedPod && !d.dynamicWorker(f.Type):
		default:
			continue
		}
		failed[f.Type]++
		d.exited(f)
	}
	if t, n := failed.first(order); n > 0 {
		d.fail(Reason(fw.Kind(), ReasonFailed), FailedMessage(fw, d.job, n, t), false)
		return
	}

	succeeded, running := progress(fw, d.job, d.st.ReplicaStatuses, d.pods, d.plan.Completed)
	if succeeded {
		SetCondition(d.st, trainingv1.JobSucceeded, corev1.ConditionTrue, Reason(fw.Kind(), ReasonSucceeded), SucceededMessage(fw, d.job), d.now)
		d.complete()
		return
	}

	restarted := typeCounts{}
	for _, f := range failedPods {
		if f.Action != engine.RestartPod {
			continue
		}
		if d.counted[f.Pod.UID] { // counted by a decision whose delete did not happen
			restarted[f.Type]++
			d.plan.DeletePods = append(d.plan.DeletePods, f.Pod)
			continue
		}
		if ExceedsBackoffLimit(d.rp, restarts+1) {
			d.exited(f)
			d.fail(ReasonBackoffLimitExceeded, BackoffLimitMessage(name), true)
			return
		}
		restarts++
		d.plan.Restarts++
		if f.Pod.UID != "" {
			d.plan.RestartedPods = append(d.plan.RestartedPods, f.Pod.UID)
			slices.Sort(d.plan.RestartedPods)
		}
		restarted[f.Type]++
		d.plan.DeletePods = append(d.plan.DeletePods, f.Pod)
		d.exited(f)
	}

	grace := d.in.StuckPodGrace
	if grace <= 0 {
		grace = DefaultStuckPodGrace
	}
	for _, s := range StuckPods(d.pods) {
		left := s.Since.Add(grace).Sub(d.now.Time)
		if left > 0 {
			d.requeue(left)
			continue
		}
		d.fail(s.Reason, StuckMessage(fw, d.job, s), false)
		return
	}

	if running {
		SetCondition(d.st, trainingv1.JobRunning, corev1.ConditionTrue, Reason(fw.Kind(), ReasonRunning), RunningMessage(fw, d.job), d.now)
	}
	if t, n := restarted.first(order); n > 0 {
		SetCondition(d.st, trainingv1.JobRestarting, corev1.ConditionTrue, Reason(fw.Kind(), ReasonRestarting), RestartingMessage(fw, d.job, n, t), d.now)
	}
}

// dynamicWorker says whether failed replicas of type t are let go: Workers of a TFJob with
// enableDynamicWorker.
func (d *decision) dynamicWorker(t trainingv1.ReplicaType) bool {
	j, ok := d.job.(*trainingv1.TFJob)
	return ok && j.Spec.EnableDynamicWorker && t == trainingv1.TFJobReplicaTypeWorker
}

// exited records upstream's event for a failed pod's exit code.
func (d *decision) exited(f FailedPod) {
	msg := fmt.Sprintf("Pod: %s.%s exited with code %d", f.Pod.Namespace, f.Pod.Name, f.ExitCode)
	if f.ExitCode == engine.UnknownExitCode {
		msg = fmt.Sprintf("Pod: %s.%s failed without an exit code (%s)", f.Pod.Namespace, f.Pod.Name, f.Pod.Status.Reason)
	}
	d.plan.Events = append(d.plan.Events, Event{Type: corev1.EventTypeNormal, Reason: "ExitedWithCode", Message: msg})
}

// fail marks the job Failed; stop deletes its pending and running pods at once.
func (d *decision) fail(reason, message string, stop bool) {
	SetCondition(d.st, trainingv1.JobFailed, corev1.ConditionTrue, reason, message, d.now)
	d.complete()
	if stop {
		d.plan.DeletePods = append(d.plan.DeletePods, ActivePods(d.pods)...)
	}
}

func (d *decision) complete() {
	if d.st.CompletionTime == nil {
		t := d.now
		d.st.CompletionTime = &t
	}
}

// finished applies cleanPodPolicy and ttlSecondsAfterFinished to a finished job, and counts
// the active replicas of a succeeded one as succeeded, as upstream.
func (d *decision) finished() {
	d.complete()
	policy := trainingv1.CleanPodPolicyNone
	if d.rp.CleanPodPolicy != nil {
		policy = *d.rp.CleanPodPolicy
	}
	cleaned := PodsToClean(policy, d.pods)
	d.plan.DeletePods = append(d.plan.DeletePods, cleaned...)
	d.plan.DeleteServices = append(d.plan.DeleteServices, ServicesToClean(policy, cleaned, d.in.Services)...)
	if IsSucceeded(d.st) {
		for _, s := range d.st.ReplicaStatuses {
			if s != nil {
				s.Succeeded += s.Active
				s.Active = 0
			}
		}
	}
	if left, ok := TTLLeft(d.rp, d.st, d.now.Time); ok {
		if left <= 0 {
			d.plan.DeleteJob = true
		} else {
			d.requeue(left)
		}
	}
}

func (d *decision) requeue(after time.Duration) {
	if d.plan.RequeueAfter == 0 || after < d.plan.RequeueAfter {
		d.plan.RequeueAfter = after
	}
}

func uniqueByName[T interface{ GetName() string }](objs []T) []T {
	var out []T
	seen := map[string]bool{}
	for _, o := range objs {
		if !seen[o.GetName()] {
			seen[o.GetName()] = true
			out = append(out, o)
		}
	}
	return out
}
