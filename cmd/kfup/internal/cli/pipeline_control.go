package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pipelinesv1alpha1 "github.com/kfup/kfup/components/pipelines/api/v1alpha1"
	"github.com/kfup/kfup/components/pipelines/runctl"
	"github.com/kfup/kfup/internal/errs"
)

// The two commands that act on a run write only its spec (spec.shutdown, spec.retry), as
// kubectl would, through components/pipelines/runctl (which the dashboard's buttons use
// too); the controller acts on them and owns the status.

// PipelineTerminateOptions are the flags and argument of `kfup pipeline terminate`.
type PipelineTerminateOptions struct {
	Run       string
	Namespace string
}

// NewCmdPipelineTerminate returns `kfup pipeline terminate RUN`; runF replaces the real
// run in tests.
func NewCmdPipelineTerminate(f *Factory, runF func(context.Context, *PipelineTerminateOptions) error) *cobra.Command {
	opts := &PipelineTerminateOptions{}
	cmd := &cobra.Command{
		Use:   "terminate RUN",
		Short: "Stop a pipeline run: its running task pods are deleted and it ends Canceled",
		Long: `Terminate RUN: kfup's controller starts none of its tasks any more, deletes the task pods
still running and ends the run Canceled (the tasks it stopped too). Exit handlers do not
run. Tasks that finished keep their pods and logs, and the run stays: 'kfup pipeline get'
shows it, 'kfup pipeline retry' runs it again from where it stopped. A run that has
already ended is left as it is.

The same with kubectl:
  kubectl patch pipelinerun RUN --type merge -p '{"spec":{"shutdown":"Terminate"}}'

Exit codes: 0 terminating (or already ended), 4 no such run.`,
		Args: exactlyOneArg("RUN", "name the run: 'kfup pipeline list' shows them"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Run = args[0]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runPipelineTerminate(cmd.Context(), newPipelineAPI(f), opts)
		},
	}
	namespaceFlag(cmd, &opts.Namespace, "the run")
	return cmd
}

func runPipelineTerminate(ctx context.Context, api *pipelineAPI, opts *PipelineTerminateOptions) error {
	c, _, err := api.connect(ctx)
	if err != nil {
		return err
	}
	out, run, err := runctl.Terminate(ctx, c, runGetter(c, opts.Namespace, opts.Run))
	if err != nil {
		if run != nil {
			return apiError(err, "terminate run "+run.Name)
		}
		return err
	}
	pr := api.f.Printer()
	switch out {
	case runctl.Ended:
		pr.Infof("Run %s has already ended (%s): nothing to terminate", run.Name, run.Status.Phase)
	case runctl.Terminating:
		pr.Infof("Run %s is already terminating", run.Name)
	default:
		pr.Infof("Terminating run %s: its running task pods are being deleted ('kfup pipeline get %s%s' shows it Canceled)", run.Name, run.Name, nsFlag(run.Namespace))
	}
	return nil
}

// runGetter reads run ns/name with getRun's errors.
func runGetter(c client.Client, ns, name string) runctl.Getter {
	return func(ctx context.Context) (*pipelinesv1alpha1.PipelineRun, error) { return getRun(ctx, c, ns, name) }
}

// PipelineRetryOptions are the flags and argument of `kfup pipeline retry`.
type PipelineRetryOptions struct {
	Run       string
	Namespace string
	Watch     bool
	// Timeout bounds the watch; 0 waits as long as the run takes.
	Timeout time.Duration
}

// NewCmdPipelineRetry returns `kfup pipeline retry RUN`; runF replaces the real run in
// tests.
func NewCmdPipelineRetry(f *Factory, runF func(context.Context, *PipelineRetryOptions) error) *cobra.Command {
	opts := &PipelineRetryOptions{}
	cmd := &cobra.Command{
		Use:   "retry RUN",
		Short: "Run a failed or canceled pipeline run again from where it stopped",
		Long: `Retry RUN, a run that failed or was terminated, in place: the tasks that succeeded
(cache hits included) keep their outputs and those a condition skipped stay skipped; the
failed and canceled tasks run again as new attempts, each in a pod of its own (the
failed attempts' pods stay, for their logs), then the tasks that never started. A task's
retry policy counts afresh, and spec.activeDeadlineSeconds counts from the retry. A run
can be retried any number of times; one that succeeded or still runs cannot.

With --watch, follow the run to its new end, as 'kfup pipeline run --watch' does.

The same with kubectl: raise spec.retry by one (N: one more than the run's spec.retry,
0 when unset) and clear spec.shutdown in one patch:
  kubectl patch pipelinerun RUN --type merge -p '{"spec":{"retry":N,"shutdown":null}}'

Exit codes: 0 retrying (with --watch: succeeded), 1 the run failed again (or was
canceled), 4 no such run, 5 the run cannot be retried (it succeeded or still runs), 124
--timeout passed (the run goes on).`,
		Example: `  kfup pipeline retry train-1
  kfup pipeline retry train-1 -n team-a --watch`,
		Args: exactlyOneArg("RUN", "name the run: 'kfup pipeline list' shows them"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Run = args[0]
			if cmd.Flags().Changed("timeout") && !opts.Watch {
				return errs.Usage("add --watch", "--timeout bounds --watch")
			}
			if opts.Timeout < 0 {
				return errs.Usage("pass a positive duration such as --timeout 30m", "--timeout must be positive")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runPipelineRetry(cmd.Context(), newPipelineAPI(f), opts)
		},
	}
	namespaceFlag(cmd, &opts.Namespace, "the run")
	cmd.Flags().BoolVarP(&opts.Watch, "watch", "w", false, "follow the run until it ends; fail when it fails")
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", 0, "with --watch: stop watching after this long (the run goes on)")
	return cmd
}

func runPipelineRetry(ctx context.Context, api *pipelineAPI, opts *PipelineRetryOptions) error {
	c, _, err := api.connect(ctx)
	if err != nil {
		return err
	}
	out, run, err := runctl.Retry(ctx, c, runGetter(c, opts.Namespace, opts.Run))
	switch {
	case err != nil && run != nil:
		return apiError(err, "retry run "+run.Name)
	case err != nil:
		return err
	case out.Refused():
		return retryable(run)
	}
	pr := api.f.Printer()
	if out == runctl.Asked {
		pr.Infof("Run %s: retry %d is already asked for", run.Name, run.Spec.Retry)
	} else {
		again := retriedTasks(run)
		pr.Infof("Retrying run %s (retry %d): %d task(s) to run again%s", run.Name, run.Spec.Retry, len(again), idList(again))
	}
	if !opts.Watch {
		return nil
	}
	return watchRun(ctx, api, c, run.Namespace, run.Name, run.Spec.Retry, opts.Timeout)
}

// retryable says why run cannot be retried (runctl refused it), with what to do instead.
func retryable(run *pipelinesv1alpha1.PipelineRun) error {
	ns := nsFlag(run.Namespace)
	switch phase := runPhase(run); {
	case run.Status.Phase == pipelinesv1alpha1.PhaseSucceeded:
		return errs.New(errs.KindConflict, fmt.Sprintf("start a new run to run the pipeline again: kfup pipeline run FILE (or --version V)%s", ns),
			"run %s succeeded: there is nothing to retry", run.Name)
	case !run.Status.Phase.Retryable():
		return errs.New(errs.KindConflict, fmt.Sprintf("wait for it to end ('kfup pipeline get %s%s'), or stop it first: kfup pipeline terminate %s%s", run.Name, ns, run.Name, ns),
			"run %s is %s: only a run that failed or was canceled can be retried", run.Name, phase)
	}
	return nil
}

// retriedTasks are the IDs of the tasks a retry of run runs again: those that failed or
// were canceled after starting an attempt (the controller decides; this is for the
// message).
func retriedTasks(run *pipelinesv1alpha1.PipelineRun) []string {
	var ids []string
	for _, t := range run.Status.Tasks {
		if (t.Phase == pipelinesv1alpha1.PhaseFailed || t.Phase == pipelinesv1alpha1.PhaseCanceled) && t.Attempts > 0 {
			ids = append(ids, t.ID)
		}
	}
	return ids
}

// idList is ": a, b, c" (at most five named), or "".
func idList(ids []string) string {
	switch {
	case len(ids) == 0:
		return ""
	case len(ids) > 5:
		return ": " + strings.Join(ids[:5], ", ") + fmt.Sprintf(" and %d more", len(ids)-5)
	}
	return ": " + strings.Join(ids, ", ")
}
