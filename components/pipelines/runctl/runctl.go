// Package runctl holds the two actions on a PipelineRun that its users take, terminate
// and retry, for every front end that offers them (kfup pipeline terminate|retry, the
// dashboard's buttons): the same checks, the same writes, an outcome each front end
// phrases its own way. Both write only the run's spec, as kubectl would; the controller
// acts on it and owns the status.
package runctl

import (
	"context"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pipelinesv1alpha1 "github.com/kfup/kfup/components/pipelines/api/v1alpha1"
)

// Outcome says what an action did.
type Outcome int

const (
	// Done: the action was written (spec.shutdown set; spec.retry raised by one).
	Done Outcome = iota
	// Ended: terminate found the run already ended (Run.Status.Phase says how).
	Ended
	// Terminating: terminate found the run terminating already.
	Terminating
	// Asked: retry found a retry asked for already, which the controller has yet to act
	// on (Run.Spec.Retry is it).
	Asked
	// Succeeded: retry refused, the run succeeded (a new run runs the pipeline again).
	Succeeded
	// Running: retry refused, the run has not ended (terminate it, or wait).
	Running
)

// Refused says the outcome is a refusal: nothing was written because the action does not
// apply to the run as it is.
func (o Outcome) Refused() bool { return o == Succeeded || o == Running }

// Getter reads the run, with the caller's own wording of its errors (not found above all).
type Getter func(ctx context.Context) (*pipelinesv1alpha1.PipelineRun, error)

// Terminate sets spec.shutdown Terminate on the run get reads, unless it has ended or is
// terminating already. The error is get's, or the API server's refusal of the patch.
func Terminate(ctx context.Context, c client.Client, get Getter) (Outcome, *pipelinesv1alpha1.PipelineRun, error) {
	run, err := get(ctx)
	if err != nil {
		return 0, nil, err
	}
	switch {
	case run.Status.Phase.Final():
		return Ended, run, nil
	case run.Spec.Shutdown == pipelinesv1alpha1.ShutdownTerminate:
		return Terminating, run, nil
	}
	patch := client.RawPatch(types.MergePatchType, []byte(`{"spec":{"shutdown":"`+pipelinesv1alpha1.ShutdownTerminate+`"}}`))
	if err := c.Patch(ctx, run, patch); err != nil {
		return 0, run, err
	}
	return Done, run, nil
}

// Retry raises spec.retry by one and clears spec.shutdown on a run that failed or was
// canceled, in one patch carrying the resourceVersion read: a run that changed meanwhile
// is read and checked again. A retry asked for already is not asked twice. The run
// returned is as written (or as read, when nothing was).
func Retry(ctx context.Context, c client.Client, get Getter) (Outcome, *pipelinesv1alpha1.PipelineRun, error) {
	var out Outcome
	var run *pipelinesv1alpha1.PipelineRun
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var err error
		if run, err = get(ctx); err != nil {
			return err
		}
		switch {
		case run.Spec.Retry > run.Status.ObservedRetry:
			out = Asked
			return nil
		case run.Status.Phase == pipelinesv1alpha1.PhaseSucceeded:
			out = Succeeded
			return nil
		case !run.Status.Phase.Retryable():
			out = Running
			return nil
		}
		before := run.DeepCopy()
		run.Spec.Retry++
		run.Spec.Shutdown = ""
		out = Done
		return c.Patch(ctx, run, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{}))
	})
	if err != nil {
		return 0, run, err
	}
	return out, run, nil
}
