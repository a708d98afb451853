package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pipelinesv1alpha1 "github.com/kfup/kfup/components/pipelines/api/v1alpha1"
	"github.com/kfup/kfup/dashboard"
	"github.com/kfup/kfup/internal/errs"
)

// Task pods' labels, annotations and container, as the pipelines controller writes them.
const (
	labelRun         = pipelinesv1alpha1.LabelRun
	annotationTaskID = pipelinesv1alpha1.AnnotationTaskID
	taskContainer    = pipelinesv1alpha1.MainContainer
)

// PipelineLogsOptions are the flags and arguments of `kfup pipeline logs`.
type PipelineLogsOptions struct {
	Run string
	// Task is a task ID or an unambiguous task name; empty: every task.
	Task      string
	Namespace string
	Follow    bool
}

// NewCmdPipelineLogs returns `kfup pipeline logs RUN [TASK]`; runF replaces the real run
// in tests.
func NewCmdPipelineLogs(f *Factory, runF func(context.Context, *PipelineLogsOptions) error) *cobra.Command {
	opts := &PipelineLogsOptions{}
	cmd := &cobra.Command{
		Use:   "logs RUN [TASK]",
		Short: "Print the logs of a run's tasks",
		Long: `Print the logs of the main container of TASK's latest pod (its last attempt). TASK is a
task ID as 'kfup pipeline get' shows it (for-loop-1[2]/train) or a task name that names
one task of the run. Without TASK, every task's logs in start order, each under a
"==> ID <==" header. A cached task ran no pod: it says which run's outputs it reused; a
skipped one says why. With --follow, stream the logs as they are written; without TASK,
follow the run to its end, task by task. Once a task's pod is gone, its log is the copy
the task kept in kfup's artifact store (the last 1 MiB of its last attempt), read through
a port-forward of the kfup-manager pod.

Exit codes: 0 printed, 2 TASK names several tasks, 4 no such run, task or pod.`,
		Example: `  kfup pipeline logs add-numbers-x7k2p
  kfup pipeline logs train-1 train --follow
  kfup pipeline logs train-1 'for-loop-1[2]/train'`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) < 1 || len(args) > 2 {
				return errs.Usage("name the run, and optionally a task: kfup pipeline logs RUN [TASK]", "%s takes RUN and an optional TASK, got %d arguments", c.CommandPath(), len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Run = args[0]
			if len(args) > 1 {
				opts.Task = args[1]
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runPipelineLogs(cmd.Context(), newPipelineAPI(f), opts)
		},
	}
	namespaceFlag(cmd, &opts.Namespace, "the run")
	cmd.Flags().BoolVarP(&opts.Follow, "follow", "f", false, "stream the logs as they are written")
	return cmd
}

func runPipelineLogs(ctx context.Context, api *pipelineAPI, opts *PipelineLogsOptions) error {
	c, cs, err := api.connect(ctx)
	if err != nil {
		return err
	}
	run, err := getRun(ctx, c, opts.Namespace, opts.Run)
	if err != nil {
		return err
	}
	out := api.f.IO.Out
	if opts.Task != "" {
		t, err := matchTask(run, opts.Task)
		if err != nil {
			return err
		}
		if note := noLogs(t); note != "" {
			api.f.Printer().Infof("%s", note)
			return nil
		}
		pod, err := taskPod(ctx, c, run, t)
		for opts.Follow && err == nil && !t.Phase.Final() && !podStarted(pod) {
			// Wait for the pod to start (or for the task to end without one).
			if err := api.sleep(ctx, api.poll); err != nil {
				return err
			}
			if run, err = getRun(ctx, c, opts.Namespace, opts.Run); err != nil {
				return err
			}
			if t = run.Status.Task(t.ID); t == nil {
				return fmt.Errorf("task %s is gone from run %s", opts.Task, run.Name)
			}
			pod, err = taskPod(ctx, c, run, t)
		}
		if err != nil {
			return err
		}
		if pod == nil {
			b, kerr := keptLog(ctx, api, run, t)
			if kerr == nil {
				api.f.Printer().Infof("the pod of task %s is gone: its log as the task kept it in the artifact store", t.ID)
				_, err := out.Write(b)
				return err
			}
			return errs.New(errs.KindNotFound, "the pod may have been deleted; 'kfup pipeline get "+run.Name+nsFlag(run.Namespace)+"' shows the task's message",
				"task %s of run %s has no pod, and its kept log cannot be read: %v", t.ID, run.Name, kerr)
		}
		return streamLogs(ctx, cs, pod, opts.Follow, out)
	}
	// Every task, in start order. Following, poll the run for tasks started since, until
	// it is final and each task has been shown.
	shown := map[string]bool{}
	for {
		final := run.Status.Phase.Final()
		for i := range run.Status.Tasks {
			t := &run.Status.Tasks[i]
			if shown[t.ID] {
				continue
			}
			note := noLogs(t)
			if note == "" && !t.Phase.Final() {
				if opts.Follow {
					if pod, err := taskPod(ctx, c, run, t); err == nil && !podStarted(pod) {
						break // keep start order: come back once it has started
					}
				} else if t.PodName == "" {
					note = "(not started yet)"
				}
			}
			shown[t.ID] = true
			fmt.Fprintf(out, "==> %s <==\n", t.ID)
			if note == "" {
				note = taskLogs(ctx, api, c, cs, run, t, opts.Follow, out)
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if note != "" {
				fmt.Fprintln(out, note)
			}
		}
		if !opts.Follow || (final && len(shown) == len(run.Status.Tasks)) {
			return nil
		}
		if err := api.sleep(ctx, api.poll); err != nil {
			return err
		}
		if run, err = getRun(ctx, c, opts.Namespace, opts.Run); err != nil {
			return err
		}
	}
}

// taskLogs writes t's logs to out, or returns a note saying why there are none.
func taskLogs(ctx context.Context, api *pipelineAPI, c client.Client, cs kubernetes.Interface, run *pipelinesv1alpha1.PipelineRun, t *pipelinesv1alpha1.TaskStatus, follow bool, out io.Writer) string {
	pod, err := taskPod(ctx, c, run, t)
	switch {
	case err != nil:
		return fmt.Sprintf("(no logs: %v)", err)
	case pod == nil:
		b, err := keptLog(ctx, api, run, t)
		if err != nil {
			return fmt.Sprintf("(no logs: the task's pod is gone, and its kept log cannot be read: %v)", err)
		}
		fmt.Fprintln(out, "(the task's pod is gone: its log as the task kept it in the artifact store)")
		_, _ = out.Write(b)
		return ""
	}
	if err := streamLogs(ctx, cs, pod, follow, out); err != nil {
		return fmt.Sprintf("(no logs: %v)", err)
	}
	return ""
}

// keptLog is the log task t kept in the artifact store (pipelinesv1alpha1.TaskLogFile,
// its last attempt's), for when its pod is gone.
func keptLog(ctx context.Context, api *pipelineAPI, run *pipelinesv1alpha1.PipelineRun, t *pipelinesv1alpha1.TaskStatus) ([]byte, error) {
	if api.artifacts == nil || t.PodName == "" {
		return nil, errors.New("the task ran no pod")
	}
	r, err := api.artifacts(ctx)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	b, _, err := dashboard.ReadTaskLog(ctx, r, run, t.ID)
	return b, err
}

// podStarted reports whether pod has got past Pending: its logs can be read.
func podStarted(pod *corev1.Pod) bool {
	return pod != nil && pod.Status.Phase != corev1.PodPending && pod.Status.Phase != ""
}

// noLogs says why task t has no logs to print (cached, skipped), or "".
func noLogs(t *pipelinesv1alpha1.TaskStatus) string {
	switch {
	case t.CachedFrom != "":
		return fmt.Sprintf("task %s was cached: it reused the outputs of %s and ran no pod (kfup pipeline logs %s)", t.ID, t.CachedFrom, strings.Replace(shellQuote(t.CachedFrom), "/", " ", 1))
	case t.Phase == pipelinesv1alpha1.PhaseSkipped:
		msg := "skipped"
		if t.Message != "" {
			msg += ": " + oneLine(t.Message)
		}
		return fmt.Sprintf("task %s was %s", t.ID, msg)
	}
	return ""
}

// matchTask finds the task arg names: a task ID, or else a task name (the ID's last
// part) that only one task has.
func matchTask(run *pipelinesv1alpha1.PipelineRun, arg string) (*pipelinesv1alpha1.TaskStatus, error) {
	if t := run.Status.Task(arg); t != nil {
		return t, nil
	}
	var matches []*pipelinesv1alpha1.TaskStatus
	for i := range run.Status.Tasks {
		t := &run.Status.Tasks[i]
		if t.Task == arg || lastPart(t.ID) == arg {
			matches = append(matches, t)
		}
	}
	switch len(matches) {
	case 1:
		return matches[0], nil
	case 0:
		ids := make([]string, len(run.Status.Tasks))
		for i, t := range run.Status.Tasks {
			ids[i] = t.ID
		}
		hint := "the run has started no task yet"
		if len(ids) > 0 {
			hint = "the run's tasks: " + strings.Join(ids, ", ")
		}
		return nil, errs.New(errs.KindNotFound, hint, "run %s has no task %q", run.Name, arg)
	}
	ids := make([]string, len(matches))
	for i, t := range matches {
		ids[i] = shellQuote(t.ID)
	}
	return nil, errs.Usage("name one by its ID: "+strings.Join(ids, ", "), "%q names %d tasks of run %s", arg, len(matches), run.Name)
}

func lastPart(id string) string {
	return id[strings.LastIndex(id, "/")+1:]
}

// taskPod returns the pod of t's latest attempt: the one its status names or, when that
// is not known yet, the newest of the run's pods annotated with t's ID; nil when none.
func taskPod(ctx context.Context, c client.Client, run *pipelinesv1alpha1.PipelineRun, t *pipelinesv1alpha1.TaskStatus) (*corev1.Pod, error) {
	if t.PodName != "" {
		pod := &corev1.Pod{}
		err := c.Get(ctx, client.ObjectKey{Namespace: run.Namespace, Name: t.PodName}, pod)
		if err == nil {
			return pod, nil
		}
		if !apierrors.IsNotFound(err) {
			return nil, apiError(err, "get pod "+t.PodName)
		}
	}
	pods := &corev1.PodList{}
	if err := c.List(ctx, pods, client.InNamespace(run.Namespace), client.MatchingLabels{labelRun: run.Name}); err != nil {
		return nil, apiError(err, "list the run's pods")
	}
	var latest *corev1.Pod
	for i := range pods.Items {
		p := &pods.Items[i]
		if p.Annotations[annotationTaskID] != t.ID {
			continue
		}
		if latest == nil || latest.CreationTimestamp.Before(&p.CreationTimestamp) {
			latest = p
		}
	}
	return latest, nil
}

// streamLogs copies the main container's logs of pod to out.
func streamLogs(ctx context.Context, cs kubernetes.Interface, pod *corev1.Pod, follow bool, out io.Writer) error {
	container := taskContainer
	if !slices.ContainsFunc(pod.Spec.Containers, func(c corev1.Container) bool { return c.Name == container }) && len(pod.Spec.Containers) > 0 {
		container = pod.Spec.Containers[0].Name
	}
	rc, err := cs.CoreV1().Pods(pod.Namespace).GetLogs(pod.Name, &corev1.PodLogOptions{Container: container, Follow: follow}).Stream(ctx)
	if err != nil {
		return fmt.Errorf("logs of pod %s: %w", pod.Name, err)
	}
	defer rc.Close()
	w := &lastByteWriter{w: out}
	_, err = io.Copy(w, rc)
	if w.last != 0 && w.last != '\n' {
		fmt.Fprintln(out) // the next header starts on a line of its own
	}
	if err != nil {
		return fmt.Errorf("logs of pod %s: %w", pod.Name, err)
	}
	return nil
}

// lastByteWriter remembers the last byte written through it.
type lastByteWriter struct {
	w    io.Writer
	last byte
}

func (l *lastByteWriter) Write(p []byte) (int, error) {
	n, err := l.w.Write(p)
	if n > 0 {
		l.last = p[n-1]
	}
	return n, err
}
