package policy

import (
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	pipelinesv1alpha1 "github.com/kfup/kfup/components/pipelines/api/v1alpha1"
)

// ConditionSucceeded is a run's condition: True or False once it is final, Unknown while
// a retry runs.
const ConditionSucceeded = "Succeeded"

// The messages of a terminated run (spec.shutdown: Terminate) and of its unfinished tasks.
const (
	MessageTerminated   = "terminated by the user (spec.shutdown: Terminate)"
	MessageTaskCanceled = "canceled: the run was terminated"
)

// Finish makes run final in phase (Succeeded, Failed or Canceled) at now. msg is a failed
// run's error, the reason it failed; a canceled run keeps no error, its Succeeded
// condition says why. Tasks still to finish end with it: Canceled when the run is, else
// Failed ("stopped: the run ended").
func Finish(run *pipelinesv1alpha1.PipelineRun, phase pipelinesv1alpha1.RunPhase, msg string, now metav1.Time) {
	st := &run.Status
	st.Phase, st.Error, st.CompletionTime = phase, msg, &now
	cond := metav1.Condition{Type: ConditionSucceeded, Status: metav1.ConditionTrue, Reason: "Succeeded", Message: "every task succeeded or was skipped", ObservedGeneration: run.Generation}
	taskPhase, taskMsg := pipelinesv1alpha1.PhaseFailed, "stopped: the run ended"
	switch phase {
	case pipelinesv1alpha1.PhaseSucceeded:
	case pipelinesv1alpha1.PhaseCanceled:
		st.Error = ""
		cond.Status, cond.Reason, cond.Message = metav1.ConditionFalse, "Canceled", MessageTerminated
		taskPhase, taskMsg = pipelinesv1alpha1.PhaseCanceled, MessageTaskCanceled
	default:
		cond.Status, cond.Reason, cond.Message = metav1.ConditionFalse, "Failed", truncate(msg, 1024)
	}
	meta.SetStatusCondition(&st.Conditions, cond)
	for i := range st.Tasks {
		t := &st.Tasks[i]
		if !t.Phase.Final() {
			t.Phase, t.Message, t.CompletionTime = taskPhase, taskMsg, &now
		}
	}
}

// CheckRetry says why a run in phase, asked for a retry by spec, cannot be retried: only
// a Failed or Canceled run can, and the retry must clear spec.shutdown (or the run would
// be terminated again at once). nil when it can.
func CheckRetry(phase pipelinesv1alpha1.RunPhase, spec *pipelinesv1alpha1.PipelineRunSpec) error {
	switch {
	case phase == pipelinesv1alpha1.PhaseSucceeded:
		return errors.New("the run succeeded: there is nothing to retry (start a new run to run the pipeline again)")
	case !phase.Retryable():
		if phase == "" {
			phase = pipelinesv1alpha1.PhasePending
		}
		return fmt.Errorf("the run is %s: only a Failed or Canceled run can be retried (terminate it with spec.shutdown: Terminate, or wait for it to end)", phase)
	case spec.Shutdown != "":
		return errors.New("spec.shutdown is still set: remove it in the update that raises spec.retry")
	}
	return nil
}

// Retry acts on run's spec.retry, which the caller has seen above status.observedRetry.
// When CheckRetry refuses, only observedRetry moves (the request is answered) and the
// refusal is returned. Else the run is Running again from now: every task that failed or
// was canceled after starting an attempt goes back to Pending to run again (its attempts
// kept as PriorAttempts, so that the next attempt gets a pod name of its own and its
// retryPolicy counts afresh); tasks that succeeded, cache hits included, stay, and so do
// those the planner settled itself (skipped, or failed before any attempt), which it
// settles again or, their upstream now running again, lets wait. The deadline counts
// from now (LastRetryTime). It returns the IDs of the tasks sent back.
func Retry(run *pipelinesv1alpha1.PipelineRun, now metav1.Time) ([]string, error) {
	st := &run.Status
	st.ObservedRetry = run.Spec.Retry
	if err := CheckRetry(st.Phase, &run.Spec); err != nil {
		return nil, err
	}
	var again []string
	for i := range st.Tasks {
		t := &st.Tasks[i]
		if t.Phase == pipelinesv1alpha1.PhaseSucceeded || t.Phase == pipelinesv1alpha1.PhaseSkipped || t.Attempts == 0 {
			continue
		}
		t.Phase, t.PriorAttempts = pipelinesv1alpha1.PhasePending, t.Attempts
		t.Message = fmt.Sprintf("to run again: retry %d of the run", run.Spec.Retry)
		t.CompletionTime, t.RetryAfter = nil, nil
		again = append(again, t.ID)
	}
	st.Phase, st.Error, st.CompletionTime, st.Outputs = pipelinesv1alpha1.PhaseRunning, "", nil, nil
	st.LastRetryTime = &now
	meta.SetStatusCondition(&st.Conditions, metav1.Condition{
		Type: ConditionSucceeded, Status: metav1.ConditionUnknown, Reason: "Retrying", ObservedGeneration: run.Generation,
		Message: fmt.Sprintf("retry %d: %d task(s) to run again", run.Spec.Retry, len(again)),
	})
	return again, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
