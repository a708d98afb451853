package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pipelinesv1alpha1 "github.com/kfup/kfup/components/pipelines/api/v1alpha1"
	"github.com/kfup/kfup/internal/errs"
)

// watchRun polls run ns/name until it is final, printing each task's transitions once on
// stderr as they are seen, then the run's outputs on stdout. A failed or canceled run is
// an error naming the failed task or why; timeout (0: none) bounds the wait, not the run.
// retry is the retry of the run just asked for (0: none): until the controller has acted
// on it, the run's status is the one before, and is not shown.
func watchRun(ctx context.Context, api *pipelineAPI, c client.Client, ns, name string, retry int32, timeout time.Duration) error {
	parent := ctx
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	pr := api.f.Printer()
	step := pr.Step("Running " + name)
	seen := taskTransitions{}
	stopped := func(err error) error {
		step.Fail()
		hint := fmt.Sprintf("the run goes on: 'kfup pipeline get %s%s' shows it, 'kfup pipeline terminate %s%s' stops it", name, nsFlag(ns), name, nsFlag(ns))
		switch {
		case parent.Err() != nil:
			return errs.Wrap(errs.KindInterrupted, hint, fmt.Errorf("watch run %s: %w", name, parent.Err()))
		case errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil:
			return errs.Wrap(errs.KindTimeout, hint, fmt.Errorf("run %s is not done after %s", name, timeout))
		}
		return err
	}
	for {
		run := &pipelinesv1alpha1.PipelineRun{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, run); err != nil {
			if ctx.Err() != nil {
				return stopped(err)
			}
			step.Fail()
			return apiError(err, "watch run "+name)
		}
		if run.Status.ObservedRetry >= retry {
			for _, line := range seen.update(run.Status.Tasks) {
				pr.Infof("   %s", line)
			}
			switch run.Status.Phase {
			case pipelinesv1alpha1.PhaseFailed:
				step.Fail()
				return runFailed(run)
			case pipelinesv1alpha1.PhaseCanceled:
				step.Fail()
				return runCanceled(run)
			case pipelinesv1alpha1.PhaseSucceeded:
				step.Done()
				writeOutputs(api.f.IO.Out, run)
				return nil
			}
		}
		if err := api.sleep(ctx, api.poll); err != nil {
			return stopped(err)
		}
	}
}

// runFailed is the error of a failed run, with the command that shows the failed task's
// logs.
func runFailed(run *pipelinesv1alpha1.PipelineRun) error {
	hint := fmt.Sprintf("'kfup pipeline get %s%s' shows every task", run.Name, nsFlag(run.Namespace))
	for _, t := range run.Status.Tasks {
		if t.Phase == pipelinesv1alpha1.PhaseFailed {
			hint = fmt.Sprintf("see the task's logs: kfup pipeline logs %s %s%s", run.Name, shellQuote(t.ID), nsFlag(run.Namespace))
			break
		}
	}
	msg := run.Status.Error
	if msg == "" {
		msg = "no reason given"
	}
	return errs.New(errs.KindUnknown, hint, "run %s failed: %s", run.Name, msg)
}

// runCanceled is the error of a run that was terminated, with the command that runs it
// again.
func runCanceled(run *pipelinesv1alpha1.PipelineRun) error {
	why := "terminated"
	if c := meta.FindStatusCondition(run.Status.Conditions, "Succeeded"); c != nil && c.Message != "" {
		why = c.Message
	}
	return errs.New(errs.KindUnknown, fmt.Sprintf("'kfup pipeline retry %s%s' runs it again from where it stopped", run.Name, nsFlag(run.Namespace)),
		"run %s was canceled: %s", run.Name, why)
}

// taskTransitions remembers what was printed of each task, so that each transition is
// printed once however often the run is polled.
type taskTransitions map[string]*taskSeen

type taskSeen struct {
	running  bool
	attempts int32
	final    bool
}

// update returns a line for each change in tasks since the last call: "• ID  running",
// "↻ ID  attempt 2", then one of "✓ ID  3s", "✗ ID  MESSAGE", "⊘ ID  canceled", "⤳ ID
// cached (from RUN/TASK)" and "- ID  skipped: REASON". A task a retry of the run sent
// back (Pending, after its attempts so far) is followed again from its next attempt.
func (s taskTransitions) update(tasks []pipelinesv1alpha1.TaskStatus) []string {
	var lines []string
	for i := range tasks {
		t := &tasks[i]
		seen := s[t.ID]
		if seen == nil {
			seen = &taskSeen{attempts: 1}
			if t.Phase == pipelinesv1alpha1.PhasePending {
				seen.attempts = max(t.Attempts, 1)
			}
			s[t.ID] = seen
		}
		if seen.final {
			if t.Phase.Final() {
				continue
			}
			seen.final, seen.running = false, false // sent back by a retry of the run
		}
		if t.Phase.Final() {
			seen.final = true
			lines = append(lines, finalTransition(t))
			continue
		}
		if t.Attempts > seen.attempts {
			seen.attempts = t.Attempts
			seen.running = true // the retry line says it is going again
			lines = append(lines, fmt.Sprintf("↻ %s  attempt %d", t.ID, t.Attempts))
			continue
		}
		if t.Phase == pipelinesv1alpha1.PhaseRunning && !seen.running {
			seen.running = true
			lines = append(lines, fmt.Sprintf("• %s  running", t.ID))
		}
	}
	return lines
}

func finalTransition(t *pipelinesv1alpha1.TaskStatus) string {
	attempts := ""
	if t.Attempts > 1 {
		attempts = fmt.Sprintf(" (%d attempts)", t.Attempts)
	}
	switch {
	case t.Phase == pipelinesv1alpha1.PhaseSucceeded && t.CachedFrom != "":
		return fmt.Sprintf("⤳ %s  cached (from %s)", t.ID, t.CachedFrom)
	case t.Phase == pipelinesv1alpha1.PhaseSucceeded:
		d := taskDuration(t, time.Time{})
		if d == "" {
			d = "done"
		}
		return fmt.Sprintf("✓ %s  %s%s", t.ID, d, attempts)
	case t.Phase == pipelinesv1alpha1.PhaseFailed:
		msg := oneLine(t.Message)
		if msg == "" {
			msg = "failed"
		}
		return fmt.Sprintf("✗ %s  %s%s", t.ID, msg, attempts)
	case t.Phase == pipelinesv1alpha1.PhaseCanceled:
		return fmt.Sprintf("⊘ %s  canceled%s", t.ID, attempts)
	}
	if t.Message != "" {
		return fmt.Sprintf("- %s  skipped: %s", t.ID, oneLine(t.Message))
	}
	return fmt.Sprintf("- %s  skipped", t.ID)
}

// taskDuration is how long t ran, to now when it has not ended (now zero: only an ended
// task has one); empty when it never started.
func taskDuration(t *pipelinesv1alpha1.TaskStatus, now time.Time) string {
	return spanDuration(t.StartTime, t.CompletionTime, now)
}

func spanDuration(start, end *metav1.Time, now time.Time) string {
	if start == nil {
		return ""
	}
	switch {
	case end != nil:
		return shortDuration(end.Sub(start.Time))
	case !now.IsZero():
		return shortDuration(now.Sub(start.Time))
	}
	return ""
}

// shortDuration prints d as <1s, 3s, 2m5s or 1h2m: the API keeps times to the second.
func shortDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return "<1s"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		d = d.Round(time.Second)
		return fmt.Sprintf("%dm%ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	d = d.Round(time.Minute)
	return fmt.Sprintf("%dh%dm", int(d.Hours()), int(d.Minutes())%60)
}

// oneLine joins the lines of a message, for table cells and status lines.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
