package controller_test

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pipelinesv1alpha1 "github.com/kfup/kfup/components/pipelines/api/v1alpha1"
	"github.com/kfup/kfup/components/pipelines/controller"
	"github.com/kfup/kfup/components/pipelines/executor"
)

func final(r *pipelinesv1alpha1.PipelineRun) bool { return r.Status.Phase.Final() }

// A producer → consumer pipeline: the first task's pod starts with the run's parameter,
// its output parameter reaches the second task's executor input, the run succeeds; the
// same run again is served entirely from the cache, with no pod.
func TestRunLifecycleAndCache(t *testing.T) {
	start(t)
	ctx := context.Background()
	ns := env.Namespace(t)
	run := irRun(t, "pc", ns, "producer_consumer_param_pipeline.yaml", map[string]any{"text": "hi"})
	if err := env.Client.Create(ctx, run); err != nil {
		t.Fatal(err)
	}
	key := client.ObjectKeyFromObject(run)

	prod := waitPod(t, ns, "pc", "producer", 1)
	if got := executorInput(t, prod).Inputs.ParameterValues["input_text"]; got != "hi" {
		t.Errorf("producer's input_text = %v, want the run's parameter", got)
	}
	checkTaskPod(t, prod)
	waitRun(t, key, "the producer running", func(r *pipelinesv1alpha1.PipelineRun) bool {
		tk := r.Status.Task("producer")
		return tk != nil && tk.Phase == pipelinesv1alpha1.PhaseRunning && tk.PodName == prod.Name
	})
	finishPod(t, prod, 0, &executor.Result{Parameters: map[string]any{"output_value": "hi, this is an output parameter"}})

	cons := waitPod(t, ns, "pc", "consumer", 1)
	if got := executorInput(t, cons).Inputs.ParameterValues["input_value"]; got != "hi, this is an output parameter" {
		t.Errorf("consumer's input_value = %v, want the producer's output", got)
	}
	endMain(t, cons, 0, &executor.Result{}) // the run need not wait for the pod's phase
	done := waitRun(t, key, "the run to end", final)
	if done.Status.Phase != pipelinesv1alpha1.PhaseSucceeded || done.Status.CompletionTime == nil || done.Status.Pipeline != "producer-consumer-param-pipeline" {
		t.Fatalf("run ended %s (%s), pipeline %q", done.Status.Phase, done.Status.Error, done.Status.Pipeline)
	}
	for _, id := range []string{"producer", "consumer"} {
		tk := done.Status.Task(id)
		if tk == nil || tk.Phase != pipelinesv1alpha1.PhaseSucceeded || tk.Attempts != 1 || tk.CacheKey == "" || tk.StartTime == nil || tk.CompletionTime == nil {
			t.Errorf("task %s: %+v", id, tk)
		}
	}

	// the same run again: every task from the cache, no pod
	again := irRun(t, "pc-again", ns, "producer_consumer_param_pipeline.yaml", map[string]any{"text": "hi"})
	if err := env.Client.Create(ctx, again); err != nil {
		t.Fatal(err)
	}
	cached := waitRun(t, client.ObjectKeyFromObject(again), "the cached run to end", final)
	if cached.Status.Phase != pipelinesv1alpha1.PhaseSucceeded {
		t.Fatalf("cached run ended %s: %s", cached.Status.Phase, cached.Status.Error)
	}
	for _, id := range []string{"producer", "consumer"} {
		tk := cached.Status.Task(id)
		if tk == nil || tk.CachedFrom != "pc/"+id || tk.PodName != "" {
			t.Errorf("task %s of the second run: %+v, want a cache hit from pc/%s", id, tk, id)
		}
	}
	if p := cached.Status.Task("producer"); p != nil && string(p.Parameters["output_value"].Raw) != `"hi, this is an output parameter"` {
		t.Errorf("cached producer outputs = %v", p.Parameters)
	}
	pods := &corev1.PodList{}
	if err := env.Client.List(ctx, pods, client.InNamespace(ns), client.MatchingLabels{controller.LabelRun: "pc-again"}); err != nil || len(pods.Items) != 0 {
		t.Errorf("the cached run made %d pods (%v)", len(pods.Items), err)
	}

	// with the cache off, the producer runs again
	nocache := irRun(t, "pc-nocache", ns, "producer_consumer_param_pipeline.yaml", map[string]any{"text": "hi"})
	nocache.Spec.DisableCache = true
	if err := env.Client.Create(ctx, nocache); err != nil {
		t.Fatal(err)
	}
	waitPod(t, ns, "pc-nocache", "producer", 1)
}

// checkTaskPod checks the pod's shape: owned by its run, kfup's launcher in front of the
// user's command, restricted init container, nothing restarted by the kubelet.
func checkTaskPod(t *testing.T, pod *corev1.Pod) {
	t.Helper()
	if len(pod.OwnerReferences) != 1 || pod.OwnerReferences[0].Kind != "PipelineRun" || pod.OwnerReferences[0].Controller == nil || !*pod.OwnerReferences[0].Controller {
		t.Errorf("owner references: %+v", pod.OwnerReferences)
	}
	if pod.Spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("restart policy %s", pod.Spec.RestartPolicy)
	}
	// envtest serves Kubernetes 1.37: the launcher comes in as an image volume
	if len(pod.Spec.InitContainers) != 0 || len(pod.Spec.Volumes) < 2 || pod.Spec.Volumes[1].Image == nil || pod.Spec.Volumes[1].Image.Reference != testImage {
		t.Errorf("want kfup's image as a volume and no init container: volumes %+v, init containers %+v", pod.Spec.Volumes, pod.Spec.InitContainers)
	}
	main := pod.Spec.Containers[0]
	if !strings.HasPrefix(strings.Join(main.Command, " "), "/kfup-image/kfup agent launch --") {
		t.Errorf("main command %q: want kfup's launcher first", main.Command)
	}
	if pod.Labels["kfup.dev/api"] != "pipelines" {
		t.Errorf("labels %v: want the pipelines API label", pod.Labels)
	}
}

// A failing task with a retry policy gets a second attempt, a new pod; its success ends
// the run well.
func TestRetry(t *testing.T) {
	start(t)
	ctx := context.Background()
	ns := env.Namespace(t)
	run := irRun(t, "retry", ns, "pipeline_with_retry.yaml", nil)
	if err := env.Client.Create(ctx, run); err != nil {
		t.Fatal(err)
	}
	key := client.ObjectKeyFromObject(run)
	r := waitRun(t, key, "a task", func(r *pipelinesv1alpha1.PipelineRun) bool { return len(r.Status.Tasks) > 0 })
	id := r.Status.Tasks[0].ID
	first := waitPod(t, ns, "retry", id, 1)
	endMain(t, first, 1, &executor.Result{Error: "command exited with code 1"})
	second := waitPod(t, ns, "retry", id, 2)
	if second.Name == first.Name {
		t.Fatalf("the retry reused pod %s", first.Name)
	}
	mid := waitRun(t, key, "attempt 2 running", func(r *pipelinesv1alpha1.PipelineRun) bool {
		tk := r.Status.Task(id)
		return tk != nil && tk.Attempts == 2 && tk.Phase == pipelinesv1alpha1.PhaseRunning
	})
	if mid.Status.Phase != pipelinesv1alpha1.PhaseRunning {
		t.Errorf("run phase %s during the retry", mid.Status.Phase)
	}
	finishPod(t, second, 0, &executor.Result{Parameters: map[string]any{"Output": 3.0}})
	done := waitRun(t, key, "the run to end", final)
	if done.Status.Phase != pipelinesv1alpha1.PhaseSucceeded {
		t.Fatalf("run ended %s: %s", done.Status.Phase, done.Status.Error)
	}
}

// The exit handler runs after its group failed, and the run then fails naming the task
// that failed and why.
func TestExitHandlerAfterFailure(t *testing.T) {
	start(t)
	ctx := context.Background()
	ns := env.Namespace(t)
	run := irRun(t, "exit", ns, "pipeline_with_input_status_state.yaml", nil)
	if err := env.Client.Create(ctx, run); err != nil {
		t.Fatal(err)
	}
	key := client.ObjectKeyFromObject(run)
	task := waitPod(t, ns, "exit", "exit-handler-1/some-task", 1)
	finishPod(t, task, 1, &executor.Result{Error: "command exited with code 1: boom"})
	handler := waitPod(t, ns, "exit", "echo-state", 1)
	status, _ := executorInput(t, handler).Inputs.ParameterValues["status"].(map[string]any)
	if status["state"] != "FAILED" {
		t.Errorf("the handler's status input = %v, want state FAILED", status)
	}
	finishPod(t, handler, 0, &executor.Result{})
	done := waitRun(t, key, "the run to end", final)
	if done.Status.Phase != pipelinesv1alpha1.PhaseFailed || !strings.Contains(done.Status.Error, "exit-handler-1/some-task") || !strings.Contains(done.Status.Error, "boom") {
		t.Fatalf("run ended %s with %q: want Failed naming the task and its error", done.Status.Phase, done.Status.Error)
	}
	if h := done.Status.Task("echo-state"); h == nil || h.Phase != pipelinesv1alpha1.PhaseSucceeded {
		t.Errorf("exit handler: %+v", h)
	}
}

// A bad pipeline fails the run at once with every problem, and starts no pod.
func TestInvalidPipelineFailsRun(t *testing.T) {
	start(t)
	ctx := context.Background()
	ns := env.Namespace(t)
	run := irRun(t, "bad", ns, "producer_consumer_param_pipeline.yaml", nil)
	run.Spec.PipelineSpec.Raw = []byte(strings.Replace(string(run.Spec.PipelineSpec.Raw), `"producerTask":"producer"`, `"producerTask":"nobody"`, 1))
	if err := env.Client.Create(ctx, run); err != nil {
		t.Fatal(err)
	}
	done := waitRun(t, client.ObjectKeyFromObject(run), "the run to fail", final)
	if done.Status.Phase != pipelinesv1alpha1.PhaseFailed || !strings.Contains(done.Status.Error, "nobody") {
		t.Fatalf("run ended %s with %q: want Failed naming the missing task", done.Status.Phase, done.Status.Error)
	}
	pods := &corev1.PodList{}
	if err := env.Client.List(ctx, pods, client.InNamespace(ns)); err != nil || len(pods.Items) != 0 {
		t.Errorf("a bad run made %d pods (%v)", len(pods.Items), err)
	}
	// a missing PipelineVersion likewise
	ref := &pipelinesv1alpha1.PipelineRun{}
	ref.Name, ref.Namespace = "noversion", ns
	ref.Spec.PipelineVersionRef = &pipelinesv1alpha1.PipelineVersionRef{Name: "v-missing"}
	if err := env.Client.Create(ctx, ref); err != nil {
		t.Fatal(err)
	}
	done = waitRun(t, client.ObjectKeyFromObject(ref), "the run to fail", final)
	if !strings.Contains(done.Status.Error, "v-missing does not exist") {
		t.Errorf("error %q: want the missing version named", done.Status.Error)
	}
}
