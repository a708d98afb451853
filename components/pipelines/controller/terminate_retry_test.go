package controller_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pipelinesv1alpha1 "github.com/kfup/kfup/components/pipelines/api/v1alpha1"
	"github.com/kfup/kfup/components/pipelines/controller"
	"github.com/kfup/kfup/components/pipelines/executor"
)

// patchRun changes the run's spec as the CLI and kubectl do: a merge patch of the spec.
func patchRun(t *testing.T, key client.ObjectKey, edit func(*pipelinesv1alpha1.PipelineRunSpec)) error {
	t.Helper()
	run := &pipelinesv1alpha1.PipelineRun{}
	if err := env.Client.Get(context.Background(), key, run); err != nil {
		t.Fatal(err)
	}
	before := run.DeepCopy()
	edit(&run.Spec)
	return env.Client.Patch(context.Background(), run, client.MergeFrom(before))
}

// mustPatchRun is patchRun that fails t when the API server refuses.
func mustPatchRun(t *testing.T, key client.ObjectKey, edit func(*pipelinesv1alpha1.PipelineRunSpec)) {
	t.Helper()
	if err := patchRun(t, key, edit); err != nil {
		t.Fatalf("patch run %s: %v", key.Name, err)
	}
}

func askTerminate(s *pipelinesv1alpha1.PipelineRunSpec) {
	s.Shutdown = pipelinesv1alpha1.ShutdownTerminate
}

// askRetry asks for the run's next retry, as `kfup pipeline retry` does.
func askRetry(s *pipelinesv1alpha1.PipelineRunSpec) { s.Retry, s.Shutdown = s.Retry+1, "" }

// runPods counts the run's pods by task ID, and lists their names.
func runPods(t *testing.T, ns, run string) (map[string]int, []string) {
	t.Helper()
	pods := &corev1.PodList{}
	if err := env.Client.List(context.Background(), pods, client.InNamespace(ns), client.MatchingLabels{controller.LabelRun: run}); err != nil {
		t.Fatal(err)
	}
	count, names := map[string]int{}, []string{}
	for _, p := range pods.Items {
		count[p.Annotations[controller.AnnotationTaskID]]++
		names = append(names, p.Name)
	}
	return count, names
}

// runEvents are "Type Reason" of the events recorded on the run called name.
func runEvents(t *testing.T, ns, name string) []string {
	t.Helper()
	var l eventsv1.EventList
	if err := env.Client.List(context.Background(), &l, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range l.Items {
		if e.Regarding.Name == name && e.Regarding.Kind == "PipelineRun" {
			out = append(out, e.Type+" "+e.Reason)
		}
	}
	return out
}

// waitEvent waits for an event "Type Reason" on the run.
func waitEvent(t *testing.T, ns, name, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !slices.Contains(runEvents(t, ns, name), want) {
		if time.Now().After(deadline) {
			t.Fatalf("run %s: no event %q; events %v", name, want, runEvents(t, ns, name))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Terminating a running run deletes its running task pod, starts nothing more and ends
// it Canceled; a retry of the canceled run runs the canceled task again (a new pod,
// attempt 2) and the run succeeds.
func TestTerminate(t *testing.T) {
	start(t)
	ctx := context.Background()
	ns := env.Namespace(t)
	run := irRun(t, "stop", ns, "producer_consumer_param_pipeline.yaml", map[string]any{"text": "hi"})
	if err := env.Client.Create(ctx, run); err != nil {
		t.Fatal(err)
	}
	key := client.ObjectKeyFromObject(run)
	prod := waitPod(t, ns, "stop", "producer", 1)
	waitRun(t, key, "the producer running", func(r *pipelinesv1alpha1.PipelineRun) bool {
		tk := r.Status.Task("producer")
		return tk != nil && tk.Phase == pipelinesv1alpha1.PhaseRunning
	})

	mustPatchRun(t, key, askTerminate)
	done := waitRun(t, key, "the run to end", final)
	if done.Status.Phase != pipelinesv1alpha1.PhaseCanceled || done.Status.Error != "" || done.Status.CompletionTime == nil {
		t.Fatalf("run ended %s (error %q, completion %v): want Canceled, no error", done.Status.Phase, done.Status.Error, done.Status.CompletionTime)
	}
	if c := meta.FindStatusCondition(done.Status.Conditions, "Succeeded"); c == nil || c.Status != "False" || c.Reason != "Canceled" || !strings.Contains(c.Message, "terminated by the user") {
		t.Errorf("condition %+v: want Succeeded False, reason Canceled", c)
	}
	if tk := done.Status.Task("producer"); tk == nil || tk.Phase != pipelinesv1alpha1.PhaseCanceled || tk.Message != "canceled: the run was terminated" || tk.CompletionTime == nil {
		t.Errorf("producer: %+v, want Canceled", tk)
	}
	if tk := done.Status.Task("consumer"); tk != nil {
		t.Errorf("consumer: %+v, want never started", tk)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		p := &corev1.Pod{}
		err := env.Client.Get(ctx, client.ObjectKeyFromObject(prod), p)
		if apierrors.IsNotFound(err) || err == nil && !p.DeletionTimestamp.IsZero() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the running producer pod %s was not deleted (%v)", prod.Name, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	waitEvent(t, ns, "stop", "Normal Canceled")

	// retry the canceled run: the producer again, as attempt 2, then the consumer
	mustPatchRun(t, key, askRetry)
	prod2 := waitPod(t, ns, "stop", "producer", 2)
	if prod2.Name == prod.Name {
		t.Fatalf("the retry reused pod %s", prod.Name)
	}
	mid := waitRun(t, key, "the retry running", func(r *pipelinesv1alpha1.PipelineRun) bool { return r.Status.ObservedRetry == 1 })
	if mid.Status.Phase != pipelinesv1alpha1.PhaseRunning || mid.Status.CompletionTime != nil || mid.Status.LastRetryTime == nil {
		t.Errorf("during the retry: phase %s, completion %v, last retry %v", mid.Status.Phase, mid.Status.CompletionTime, mid.Status.LastRetryTime)
	}
	finishPod(t, prod2, 0, &executor.Result{Parameters: map[string]any{"output_value": "again"}})
	cons := waitPod(t, ns, "stop", "consumer", 1)
	finishPod(t, cons, 0, &executor.Result{})
	done = waitRun(t, key, "the retried run to end", final)
	if done.Status.Phase != pipelinesv1alpha1.PhaseSucceeded {
		t.Fatalf("retried run ended %s: %s", done.Status.Phase, done.Status.Error)
	}
	if tk := done.Status.Task("producer"); tk.Attempts != 2 || tk.PriorAttempts != 1 || tk.PodName != prod2.Name {
		t.Errorf("producer: %+v, want attempt 2 after 1 prior", tk)
	}
	if c := meta.FindStatusCondition(done.Status.Conditions, "Succeeded"); c == nil || c.Status != "True" {
		t.Errorf("condition %+v, want Succeeded True", c)
	}
}

// A retry of a failed run starts only the failed task again, as a new attempt with a pod
// of its own; the task that succeeded stays as it was. A second retry works the same,
// and when the task then succeeds so does the run.
func TestRunRetry(t *testing.T) {
	start(t)
	ctx := context.Background()
	ns := env.Namespace(t)
	run := irRun(t, "again", ns, "producer_consumer_param_pipeline.yaml", map[string]any{"text": "hi"})
	if err := env.Client.Create(ctx, run); err != nil {
		t.Fatal(err)
	}
	key := client.ObjectKeyFromObject(run)
	prod := waitPod(t, ns, "again", "producer", 1)
	finishPod(t, prod, 0, &executor.Result{Parameters: map[string]any{"output_value": "from the producer"}})
	var consumers []*corev1.Pod
	for attempt := 1; attempt <= 3; attempt++ {
		cons := waitPod(t, ns, "again", "consumer", attempt)
		if in := executorInput(t, cons).Inputs.ParameterValues["input_value"]; in != "from the producer" {
			t.Errorf("attempt %d: consumer's input_value = %v, want the producer's output", attempt, in)
		}
		consumers = append(consumers, cons)
		if attempt == 3 {
			finishPod(t, cons, 0, &executor.Result{})
			break
		}
		finishPod(t, cons, 1, &executor.Result{Error: "command exited with code 1: boom"})
		failed := waitRun(t, key, "the run to fail", func(r *pipelinesv1alpha1.PipelineRun) bool {
			return r.Status.Phase == pipelinesv1alpha1.PhaseFailed && r.Status.ObservedRetry == int32(attempt-1)
		})
		if !strings.Contains(failed.Status.Error, "consumer") || !strings.Contains(failed.Status.Error, "boom") {
			t.Errorf("attempt %d: error %q, want the consumer named", attempt, failed.Status.Error)
		}
		mustPatchRun(t, key, askRetry)
		mid := waitRun(t, key, "the retry to start", func(r *pipelinesv1alpha1.PipelineRun) bool {
			tk := r.Status.Task("consumer")
			return r.Status.ObservedRetry == int32(attempt) && tk != nil && tk.Phase == pipelinesv1alpha1.PhaseRunning
		})
		if mid.Status.Phase != pipelinesv1alpha1.PhaseRunning || mid.Status.Error != "" || mid.Status.CompletionTime != nil {
			t.Errorf("retry %d: phase %s, error %q, completion %v", attempt, mid.Status.Phase, mid.Status.Error, mid.Status.CompletionTime)
		}
		if tk := mid.Status.Task("producer"); tk.Phase != pipelinesv1alpha1.PhaseSucceeded || tk.Attempts != 1 || tk.PodName != prod.Name {
			t.Errorf("retry %d: producer %+v, want it left as it succeeded", attempt, tk)
		}
		if tk := mid.Status.Task("consumer"); tk.Attempts != int32(attempt+1) || tk.PriorAttempts != int32(attempt) {
			t.Errorf("retry %d: consumer attempts %d (prior %d), want %d (%d)", attempt, tk.Attempts, tk.PriorAttempts, attempt+1, attempt)
		}
	}
	done := waitRun(t, key, "the run to succeed", final)
	if done.Status.Phase != pipelinesv1alpha1.PhaseSucceeded || done.Status.ObservedRetry != 2 {
		t.Fatalf("run ended %s (%s), observed retry %d", done.Status.Phase, done.Status.Error, done.Status.ObservedRetry)
	}
	count, names := runPods(t, ns, "again")
	if count["producer"] != 1 || count["consumer"] != 3 || len(slices.Compact(slices.Sorted(slices.Values(names)))) != 4 {
		t.Errorf("pods %v (%v): want the producer's one and three consumers, each named apart", count, names)
	}
	waitEvent(t, ns, "again", "Normal Retrying")
}

// A retry of a run whose first task failed runs that task again; its consumer, skipped
// for the failure, waits for it and then runs.
func TestRunRetryFromFailedUpstream(t *testing.T) {
	start(t)
	ctx := context.Background()
	ns := env.Namespace(t)
	run := irRun(t, "up", ns, "producer_consumer_param_pipeline.yaml", map[string]any{"text": "hi"})
	if err := env.Client.Create(ctx, run); err != nil {
		t.Fatal(err)
	}
	key := client.ObjectKeyFromObject(run)
	finishPod(t, waitPod(t, ns, "up", "producer", 1), 1, &executor.Result{Error: "command exited with code 1"})
	failed := waitRun(t, key, "the run to fail", final)
	if tk := failed.Status.Task("consumer"); failed.Status.Phase != pipelinesv1alpha1.PhaseFailed || tk == nil || tk.Phase != pipelinesv1alpha1.PhaseSkipped {
		t.Fatalf("run %s, consumer %+v: want Failed, the consumer skipped", failed.Status.Phase, tk)
	}
	mustPatchRun(t, key, askRetry)
	prod := waitPod(t, ns, "up", "producer", 2)
	mid := waitRun(t, key, "the producer running again", func(r *pipelinesv1alpha1.PipelineRun) bool {
		tk := r.Status.Task("producer")
		return tk != nil && tk.Phase == pipelinesv1alpha1.PhaseRunning
	})
	if tk := mid.Status.Task("consumer"); tk != nil {
		t.Errorf("consumer %+v while its producer runs again: want it waiting, not skipped", tk)
	}
	finishPod(t, prod, 0, &executor.Result{Parameters: map[string]any{"output_value": "x"}})
	finishPod(t, waitPod(t, ns, "up", "consumer", 1), 0, &executor.Result{})
	if done := waitRun(t, key, "the run to end", final); done.Status.Phase != pipelinesv1alpha1.PhaseSucceeded {
		t.Fatalf("run ended %s: %s", done.Status.Phase, done.Status.Error)
	}
}

// Without the webhook (kubectl against a namespace it does not cover), the controller
// still refuses to retry a run that succeeded: it answers the request (observedRetry),
// records a Warning event and leaves the run as it was; a terminate of a final run
// changes nothing.
func TestRunRetryRefusedByController(t *testing.T) {
	start(t)
	ctx := context.Background()
	ns := env.Namespace(t)
	run := irRun(t, "ok", ns, "producer_consumer_param_pipeline.yaml", map[string]any{"text": "hi"})
	if err := env.Client.Create(ctx, run); err != nil {
		t.Fatal(err)
	}
	key := client.ObjectKeyFromObject(run)
	finishPod(t, waitPod(t, ns, "ok", "producer", 1), 0, &executor.Result{Parameters: map[string]any{"output_value": "x"}})
	finishPod(t, waitPod(t, ns, "ok", "consumer", 1), 0, &executor.Result{})
	done := waitRun(t, key, "the run to succeed", final)

	mustPatchRun(t, key, askRetry)
	after := waitRun(t, key, "the retry answered", func(r *pipelinesv1alpha1.PipelineRun) bool { return r.Status.ObservedRetry == 1 })
	if after.Status.Phase != pipelinesv1alpha1.PhaseSucceeded || !after.Status.CompletionTime.Equal(done.Status.CompletionTime) {
		t.Errorf("after a refused retry: phase %s, completion %v (was %v)", after.Status.Phase, after.Status.CompletionTime, done.Status.CompletionTime)
	}
	waitEvent(t, ns, "ok", "Warning RetryRefused")

	mustPatchRun(t, key, askTerminate)
	time.Sleep(time.Second) // what a reconcile would do, it has done by now
	got := waitRun(t, key, "the run", final)
	if got.Status.Phase != pipelinesv1alpha1.PhaseSucceeded || !got.Status.CompletionTime.Equal(done.Status.CompletionTime) {
		t.Errorf("a terminate of a succeeded run changed it: %s, %v", got.Status.Phase, got.Status.CompletionTime)
	}
	if count, _ := runPods(t, ns, "ok"); count["producer"] != 1 || count["consumer"] != 1 {
		t.Errorf("pods %v: want one a task", count)
	}
}

// The webhook refuses what the schema cannot know is wrong: a retry of a run still
// running or succeeded, a new run that asks for a retry or a terminate, and a change of
// the parameters.
func TestAdmissionRetry(t *testing.T) {
	ns := env.Namespace(t)
	admit(t, ns)
	start(t)
	ctx := context.Background()
	fresh := irRun(t, "fresh", ns, "producer_consumer_param_pipeline.yaml", map[string]any{"text": "hi"})
	for name, edit := range map[string]func(*pipelinesv1alpha1.PipelineRunSpec){
		"spec.retry: a new run has nothing to retry":       func(s *pipelinesv1alpha1.PipelineRunSpec) { s.Retry = 1 },
		"spec.shutdown: a new run cannot start terminated": askTerminate,
	} {
		r := fresh.DeepCopy()
		edit(&r.Spec)
		if err := env.Client.Create(ctx, r, client.DryRunAll); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("create: got %v, want refused with %q", err, name)
		}
	}

	run := irRun(t, "adm", ns, "producer_consumer_param_pipeline.yaml", map[string]any{"text": "hi"})
	if err := env.Client.Create(ctx, run); err != nil {
		t.Fatal(err)
	}
	key := client.ObjectKeyFromObject(run)
	// the parameters' JSON the schema cannot compare: the webhook keeps it as it was
	if err := patchRun(t, key, func(s *pipelinesv1alpha1.PipelineRunSpec) { s.Parameters["text"] = apiextJSON{Raw: []byte(`"bye"`)} }); err == nil || !strings.Contains(err.Error(), "immutable") {
		t.Errorf("a parameter changed: got %v, want refused as immutable", err)
	}
	prod := waitPod(t, ns, "adm", "producer", 1)
	waitRun(t, key, "the run running", func(r *pipelinesv1alpha1.PipelineRun) bool { return r.Status.Phase == pipelinesv1alpha1.PhaseRunning })
	if err := patchRun(t, key, askRetry); err == nil || !strings.Contains(err.Error(), "run adm cannot be retried: the run is Running") {
		t.Errorf("retry of a running run: got %v, want refused", err)
	}
	finishPod(t, prod, 0, &executor.Result{Parameters: map[string]any{"output_value": "x"}})
	finishPod(t, waitPod(t, ns, "adm", "consumer", 1), 0, &executor.Result{})
	waitRun(t, key, "the run to succeed", final)
	if err := patchRun(t, key, askRetry); err == nil || !strings.Contains(err.Error(), "the run succeeded: there is nothing to retry") {
		t.Errorf("retry of a succeeded run: got %v, want refused", err)
	}
	// a terminate of a final run is no error
	if err := patchRun(t, key, askTerminate); err != nil {
		t.Errorf("terminate of a succeeded run: %v", err)
	}
}
