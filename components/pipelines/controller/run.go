package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	pipelinesv1alpha1 "github.com/kfup/kfup/components/pipelines/api/v1alpha1"
	"github.com/kfup/kfup/components/pipelines/controller/policy"
	"github.com/kfup/kfup/components/pipelines/engine"
	"github.com/kfup/kfup/components/pipelines/executor"
	"github.com/kfup/kfup/components/pipelines/ir"
	"github.com/kfup/kfup/components/pipelines/plan"
	"github.com/kfup/kfup/components/pipelines/store"
	"github.com/kfup/kfup/internal/apihost"
)

// Labels and annotations on task pods.
const (
	// The task pods' labels and annotations (pipelinesv1alpha1 holds them for readers).
	LabelRun          = pipelinesv1alpha1.LabelRun
	LabelTask         = pipelinesv1alpha1.LabelTask
	LabelAttempt      = pipelinesv1alpha1.LabelAttempt
	AnnotationTaskID  = pipelinesv1alpha1.AnnotationTaskID
	AnnotationTaskKey = pipelinesv1alpha1.AnnotationTaskKey
	// AnnotationScheduledAt is the tick a RecurringRun started the run for.
	AnnotationScheduledAt = "pipelines.kfup.dev/scheduled-at"
	// cacheKeyIndex indexes runs by the cache keys of their succeeded tasks.
	cacheKeyIndex = "pipelines.kfup.dev/cache-key"
	// maxOutputBytes bounds one task's output parameters as stored in the run's status.
	maxOutputBytes = 64 << 10
)

// RunReconciler drives PipelineRuns: fetch → act on what the spec asks beyond running
// (a retry, a terminate) → fold the task pods' states into the status → plan.Compute →
// start the ready tasks (a pod each, or a cache hit, or an importer) → write the status
// once.
type RunReconciler struct {
	cfg      Config
	store    store.Store
	storeEnv []corev1.EnvVar
	// imageVolume: task pods mount kfup's image rather than copy kfup in (Config.Launcher)
	imageVolume bool
	client      client.Client
	reader      client.Reader // uncached: claims, which the manager's cache does not hold
	recorder    events.EventRecorder
}

// Name is "pipelinerun-controller".
func (r *RunReconciler) Name() string { return "pipelinerun-controller" }

// SetupWithManager watches runs and their pods, and indexes runs by cache key.
func (r *RunReconciler) SetupWithManager(mgr manager.Manager) error {
	r.client = mgr.GetClient()
	r.recorder = mgr.GetEventRecorder(r.Name())
	st, env, err := openStore(context.Background(), r.cfg, mgr.GetAPIReader())
	if err != nil {
		return err
	}
	r.store, r.storeEnv = st, env
	r.reader = mgr.GetAPIReader()
	if r.imageVolume, err = useImageVolume(r.cfg.Launcher, mgr.GetConfig()); err != nil {
		return err
	}
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &pipelinesv1alpha1.PipelineRun{}, cacheKeyIndex, func(o client.Object) []string {
		var keys []string
		for _, t := range o.(*pipelinesv1alpha1.PipelineRun).Status.Tasks {
			if t.Phase == pipelinesv1alpha1.PhaseSucceeded && t.CacheKey != "" {
				keys = append(keys, t.CacheKey)
			}
		}
		return keys
	}); err != nil {
		return fmt.Errorf("index runs by cache key: %w", err)
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named(r.Name()).
		For(&pipelinesv1alpha1.PipelineRun{}).
		Owns(&corev1.Pod{}).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(r.cfg.Workers, 1), SkipNameValidation: ptr.To(r.cfg.SkipNameValidation)}).
		Complete(r)
}

// Reconcile moves one run forward.
func (r *RunReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	run := &pipelinesv1alpha1.PipelineRun{}
	if err := r.client.Get(ctx, req.NamespacedName, run); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !run.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}
	pods, err := r.pods(ctx, run)
	if err != nil {
		return ctrl.Result{}, err
	}
	st := &run.Status
	retry := run.Spec.Retry > st.ObservedRetry
	if st.Phase.Final() && !retry {
		return ctrl.Result{}, r.stopPods(ctx, run, pods)
	}
	before := st.DeepCopy()
	now := metav1.NewTime(r.cfg.now())
	if st.StartTime == nil {
		st.StartTime = &now
	}
	st.ObservedGeneration = run.Generation
	var events []runEvent
	if retry {
		again, err := policy.Retry(run, now)
		if err != nil {
			events = append(events, runEvent{corev1.EventTypeWarning, "RetryRefused", "Retry", fmt.Sprintf("retry %d refused: %v", run.Spec.Retry, err)})
		} else {
			events = append(events, runEvent{corev1.EventTypeNormal, "Retrying", "Retry", fmt.Sprintf("retry %d: %d task(s) to run again: %s", run.Spec.Retry, len(again), truncate(strings.Join(again, ", "), 512))})
		}
	}
	var requeue time.Duration
	switch {
	case st.Phase.Final(): // a refused retry
	case run.Spec.Shutdown == pipelinesv1alpha1.ShutdownTerminate:
		// a task whose pod ended before the terminate keeps its result; the rest is canceled
		for i := range st.Tasks {
			if err := r.observe(ctx, run, &st.Tasks[i], pods, now); err != nil {
				return ctrl.Result{}, err
			}
		}
		policy.Finish(run, pipelinesv1alpha1.PhaseCanceled, "", now)
	default:
		requeue, err = r.step(ctx, run, pods, now)
		var perm permanent
		if errors.As(err, &perm) {
			policy.Finish(run, pipelinesv1alpha1.PhaseFailed, perm.Error(), now)
			err = nil
		}
		if err != nil {
			return ctrl.Result{}, err
		}
	}
	if equality.Semantic.DeepEqual(before, st) {
		return ctrl.Result{RequeueAfter: requeue}, nil
	}
	if err := r.client.Status().Update(ctx, run); err != nil {
		return ctrl.Result{}, err
	}
	// the run became final in this pass (again, after a retry): its completion time moved
	if st.Phase.Final() && (before.CompletionTime == nil || !before.CompletionTime.Equal(st.CompletionTime)) {
		events = append(events, finishEvent(st, pods))
	}
	for _, e := range events {
		r.recorder.Eventf(run, nil, e.kind, e.reason, e.action, "%s", e.msg)
	}
	if st.Phase.Final() {
		return ctrl.Result{}, r.stopPods(ctx, run, pods)
	}
	return ctrl.Result{RequeueAfter: requeue}, nil
}

// runEvent is an Event to record on the run once its status is written.
type runEvent struct{ kind, reason, action, msg string }

// finishEvent is the Event of a run that has just become final; pods are its task pods
// as the pass found them.
func finishEvent(st *pipelinesv1alpha1.PipelineRunStatus, pods map[string]*corev1.Pod) runEvent {
	switch st.Phase {
	case pipelinesv1alpha1.PhaseFailed:
		return runEvent{corev1.EventTypeWarning, "Failed", "Finish", st.Error}
	case pipelinesv1alpha1.PhaseCanceled:
		stopping := 0
		for _, p := range pods {
			if ph := taskPodPhase(p); ph != corev1.PodSucceeded && ph != corev1.PodFailed && p.DeletionTimestamp.IsZero() {
				stopping++
			}
		}
		return runEvent{corev1.EventTypeNormal, "Canceled", "Finish", fmt.Sprintf("%s: stopping %d running task pod(s)", policy.MessageTerminated, stopping)}
	}
	return runEvent{corev1.EventTypeNormal, "Succeeded", "Finish", fmt.Sprintf("pipeline %s succeeded", st.Pipeline)}
}

// pods returns the run's task pods by name.
func (r *RunReconciler) pods(ctx context.Context, run *pipelinesv1alpha1.PipelineRun) (map[string]*corev1.Pod, error) {
	list := &corev1.PodList{}
	if err := r.client.List(ctx, list, client.InNamespace(run.Namespace), client.MatchingLabels{LabelRun: run.Name}); err != nil {
		return nil, err
	}
	out := map[string]*corev1.Pod{}
	for i := range list.Items {
		p := &list.Items[i]
		if metav1.IsControlledBy(p, run) {
			out[p.Name] = p
		}
	}
	return out, nil
}

// stopPods deletes the run's pods that still run once the run is final (a deadline, a
// failure elsewhere, a terminate); finished pods stay for their logs.
func (r *RunReconciler) stopPods(ctx context.Context, run *pipelinesv1alpha1.PipelineRun, pods map[string]*corev1.Pod) error {
	for _, p := range pods {
		if ph := taskPodPhase(p); ph == corev1.PodSucceeded || ph == corev1.PodFailed || !p.DeletionTimestamp.IsZero() {
			continue
		}
		if err := r.client.Delete(ctx, p, client.Preconditions{UID: &p.UID}); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("stop task pod %s: %w", p.Name, err)
		}
	}
	return nil
}

// step folds the pods into the status, plans, and starts what is ready. It returns when
// to look again (a retry's backoff, the deadline).
func (r *RunReconciler) step(ctx context.Context, run *pipelinesv1alpha1.PipelineRun, pods map[string]*corev1.Pod, now metav1.Time) (time.Duration, error) {
	st := &run.Status
	// the deadline counts from the run's start, or from its latest retry
	began := st.StartTime.Time
	if st.LastRetryTime != nil {
		began = st.LastRetryTime.Time
	}
	if d := run.Spec.ActiveDeadlineSeconds; d != nil && now.Sub(began) >= time.Duration(*d)*time.Second {
		policy.Finish(run, pipelinesv1alpha1.PhaseFailed, fmt.Sprintf("the run passed its deadline of %ds (spec.activeDeadlineSeconds)", *d), now)
		return 0, nil
	}
	p, err := loadPipeline(ctx, r.client, run.Namespace, "spec", &run.Spec)
	if err != nil {
		return 0, err
	}
	st.Pipeline = p.Spec.PipelineInfo.Name
	params, err := parameters(run.Spec.Parameters)
	if err != nil {
		return 0, permanent{fmt.Errorf("spec.%w", err)}
	}
	for i := range st.Tasks {
		if err := r.observe(ctx, run, &st.Tasks[i], pods, now); err != nil {
			return 0, err
		}
	}
	pl, err := plan.Compute(plan.Input{Pipeline: p, Parameters: params, Status: planStatus(st.Tasks), DisableCache: run.Spec.DisableCache})
	if err != nil {
		return 0, permanent{fmt.Errorf("the run cannot start: %w", err)}
	}
	st.Tasks = unsettle(st.Tasks, pl)
	for _, s := range pl.Skipped {
		r.settle(st, s.ID, pipelinesv1alpha1.PhaseSkipped, s.Reason, now)
	}
	for _, f := range pl.Failed {
		r.settle(st, f.ID, pipelinesv1alpha1.PhaseFailed, f.Reason, now)
	}
	var requeue time.Duration
	if !pl.Phase.Final() {
		requeue, err = r.start(ctx, run, p, pl.Ready, now)
		if err != nil {
			return 0, err
		}
	}
	if d := run.Spec.ActiveDeadlineSeconds; d != nil {
		left := time.Duration(*d)*time.Second - now.Sub(began)
		if requeue == 0 || left < requeue {
			requeue = max(left, time.Second)
		}
	}
	st.Phase = pipelinesv1alpha1.PhaseRunning
	switch pl.Phase {
	case plan.Succeeded:
		outputs, err := jsonMap(pl.Outputs)
		if err != nil {
			return 0, permanent{fmt.Errorf("the pipeline's outputs: %w", err)}
		}
		st.Outputs = outputs
		policy.Finish(run, pipelinesv1alpha1.PhaseSucceeded, "", now)
	case plan.Failed:
		policy.Finish(run, pipelinesv1alpha1.PhaseFailed, pl.Error, now)
	}
	return requeue, nil
}

// settle records a task the planner skipped or failed itself.
func (r *RunReconciler) settle(st *pipelinesv1alpha1.PipelineRunStatus, id string, phase pipelinesv1alpha1.RunPhase, msg string, now metav1.Time) {
	t := st.Task(id)
	if t == nil {
		if len(st.Tasks) >= pipelinesv1alpha1.MaxTasks {
			return
		}
		st.Tasks = append(st.Tasks, pipelinesv1alpha1.TaskStatus{ID: id, Task: taskName(id)})
		t = &st.Tasks[len(st.Tasks)-1]
	}
	if t.Phase.Final() && t.Phase == phase {
		return
	}
	t.Phase, t.Message, t.CompletionTime = phase, truncate(msg, 2048), &now
}

// observe folds the pod of a running task into its status (a task a retry sent back,
// Pending, still names the pod of its failed attempt: not its to fold).
func (r *RunReconciler) observe(ctx context.Context, run *pipelinesv1alpha1.PipelineRun, t *pipelinesv1alpha1.TaskStatus, pods map[string]*corev1.Pod, now metav1.Time) error {
	if t.Phase != pipelinesv1alpha1.PhaseRunning || t.PodName == "" {
		return nil
	}
	pod := pods[t.PodName]
	if pod == nil {
		// created moments ago and not yet in the cache, or deleted by someone: a pod of
		// this attempt that is gone for good fails the attempt
		if t.StartTime != nil && now.Sub(t.StartTime.Time) < 30*time.Second {
			return nil
		}
		t.Phase, t.Message, t.CompletionTime = pipelinesv1alpha1.PhaseFailed, fmt.Sprintf("task pod %s was deleted", t.PodName), &now
		return nil
	}
	switch taskPodPhase(pod) {
	case corev1.PodSucceeded:
		res, err := r.result(ctx, pod)
		if err != nil {
			t.Phase, t.Message = pipelinesv1alpha1.PhaseFailed, err.Error()
		} else if err := setOutputs(t, res); err != nil {
			t.Phase, t.Message = pipelinesv1alpha1.PhaseFailed, err.Error()
		} else {
			t.Phase, t.Message = pipelinesv1alpha1.PhaseSucceeded, ""
		}
		t.CompletionTime = finishedAt(pod, now)
	case corev1.PodFailed:
		t.Phase, t.Message, t.CompletionTime = pipelinesv1alpha1.PhaseFailed, podFailure(pod), finishedAt(pod, now)
	default:
		t.Phase = pipelinesv1alpha1.PhaseRunning
		if msg := podStuck(pod); msg != "" {
			t.Message = msg
		} else {
			t.Message = ""
		}
	}
	return nil
}

// result reads the launcher's report from the main container's termination message (or,
// when it was too long for one, from the store).
func (r *RunReconciler) result(ctx context.Context, pod *corev1.Pod) (*executor.Result, error) {
	msg := mainTermination(pod)
	if msg == nil {
		return nil, fmt.Errorf("task pod %s ended without the launcher's report", pod.Name)
	}
	res, err := executor.ParseResult([]byte(msg.Message))
	if err != nil {
		return nil, fmt.Errorf("task pod %s: the launcher's report: %w", pod.Name, err)
	}
	if res.Ref != "" {
		key, ok := r.store.Key(res.Ref)
		if !ok || !strings.HasPrefix(key, pod.Annotations[AnnotationTaskKey]+"/") {
			return nil, fmt.Errorf("task pod %s: its report points outside its own outputs (%s)", pod.Name, res.Ref)
		}
		rc, err := r.store.Get(ctx, key)
		if err != nil {
			return nil, fmt.Errorf("task pod %s: read its report: %w", pod.Name, err)
		}
		defer rc.Close()
		var full executor.Result
		if err := json.NewDecoder(ioLimit(rc, 4*maxOutputBytes)).Decode(&full); err != nil {
			return nil, fmt.Errorf("task pod %s: its report %s: %w", pod.Name, res.Ref, err)
		}
		res = &full
	}
	if res.Error != "" {
		return nil, errors.New(res.Error)
	}
	return res, nil
}

// taskPodPhase is the pod's phase, or already Succeeded or Failed once its main container
// has ended: task pods never restart it (restartPolicy Never), and the kubelet reports
// the pod's terminal phase only after it has torn the pod down, about a second later,
// which every step of a pipeline would wait for.
func taskPodPhase(pod *corev1.Pod) corev1.PodPhase {
	switch t := mainTermination(pod); {
	case pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed || t == nil:
		return pod.Status.Phase
	case t.ExitCode == 0:
		return corev1.PodSucceeded
	default:
		return corev1.PodFailed
	}
}

func mainTermination(pod *corev1.Pod) *corev1.ContainerStateTerminated {
	for _, c := range pod.Status.ContainerStatuses {
		if c.Name == engine.MainContainer && c.State.Terminated != nil {
			return c.State.Terminated
		}
	}
	return nil
}

func finishedAt(pod *corev1.Pod, now metav1.Time) *metav1.Time {
	if t := mainTermination(pod); t != nil && !t.FinishedAt.IsZero() {
		return &t.FinishedAt
	}
	return &now
}

// podFailure says why a task pod failed: the launcher's one line, else the kubelet's.
func podFailure(pod *corev1.Pod) string {
	for _, cs := range append(append([]corev1.ContainerStatus(nil), pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...) {
		t := cs.State.Terminated
		if t == nil || t.ExitCode == 0 {
			continue
		}
		if res, err := executor.ParseResult([]byte(t.Message)); err == nil && res.Error != "" {
			return res.Error
		}
		msg := fmt.Sprintf("container %s exited with code %d", cs.Name, t.ExitCode)
		if t.Reason != "" && t.Reason != "Error" {
			msg += " (" + t.Reason + ")"
		}
		if m := strings.TrimSpace(t.Message); m != "" {
			msg += ": " + truncate(m, 512)
		}
		return msg
	}
	if pod.Status.Message != "" {
		return pod.Status.Reason + ": " + pod.Status.Message
	}
	return "task pod " + pod.Name + " failed"
}

// podStuck names a waiting reason that will not mend by itself.
func podStuck(pod *corev1.Pod) string {
	for _, cs := range append(append([]corev1.ContainerStatus(nil), pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...) {
		if w := cs.State.Waiting; w != nil {
			switch w.Reason {
			case "ErrImagePull", "ImagePullBackOff", "InvalidImageName", "CreateContainerConfigError", "CreateContainerError":
				return fmt.Sprintf("container %s: %s: %s", cs.Name, w.Reason, truncate(w.Message, 512))
			}
		}
	}
	return ""
}

// setOutputs records a task's outputs, bounded.
func setOutputs(t *pipelinesv1alpha1.TaskStatus, res *executor.Result) error {
	params, err := jsonMap(res.Parameters)
	if err != nil {
		return err
	}
	size := 0
	for _, v := range params {
		size += len(v.Raw)
	}
	if size > maxOutputBytes {
		return fmt.Errorf("the task's output parameters take %d bytes, over kfup's %d: pass large values as artifacts", size, maxOutputBytes)
	}
	arts, err := apiArtifacts(res.Artifacts)
	if err != nil {
		return err
	}
	t.Parameters, t.Artifacts = params, arts
	return nil
}

// start starts the ready steps, within the run's parallelism.
func (r *RunReconciler) start(ctx context.Context, run *pipelinesv1alpha1.PipelineRun, p *ir.Pipeline, ready []plan.Step, now metav1.Time) (time.Duration, error) {
	st := &run.Status
	running := 0
	for _, t := range st.Tasks {
		if t.Phase == pipelinesv1alpha1.PhaseRunning && t.PodName != "" {
			running++
		}
	}
	limit := int(ptr.Deref(run.Spec.Parallelism, pipelinesv1alpha1.DefaultParallelism))
	// the run's workspace claim is ensured once, when the first pod of this pass needs it
	workspace := sync.OnceValues(func() (string, error) { return r.workspaceClaim(ctx, run, p) })
	var requeue time.Duration
	for _, s := range ready {
		t := st.Task(s.ID)
		if t != nil && t.Phase == pipelinesv1alpha1.PhaseRunning {
			continue // started; its pod is on its way
		}
		if t != nil && int(t.Attempts) >= s.Attempt {
			continue
		}
		if !s.NotBefore.IsZero() && s.NotBefore.After(now.Time) {
			if t != nil {
				t.RetryAfter = &metav1.Time{Time: s.NotBefore}
			}
			if d := s.NotBefore.Sub(now.Time); requeue == 0 || d < requeue {
				requeue = d
			}
			continue
		}
		exec := p.Spec.DeploymentSpec.Executors[s.ExecutorLabel]
		// importers and CreatePVC/DeletePVC run in the controller: no pod, no cache
		inController := exec.Importer != nil || claimTask(exec)
		var hit *cacheHit
		if !inController && s.CacheKey != "" && s.Attempt == 1 {
			var err error
			if hit, err = r.cached(ctx, run, s.CacheKey); err != nil {
				return 0, err
			}
		}
		if !inController && hit == nil && running >= limit {
			continue // a pod's end frees a slot and requeues the run
		}
		if t == nil {
			if len(st.Tasks) >= pipelinesv1alpha1.MaxTasks {
				return 0, permanent{fmt.Errorf("the run has more than %d tasks (ParallelFor iterations included): split it", pipelinesv1alpha1.MaxTasks)}
			}
			st.Tasks = append(st.Tasks, pipelinesv1alpha1.TaskStatus{ID: s.ID, Task: s.Task, StartTime: &now})
			t = &st.Tasks[len(st.Tasks)-1]
		}
		inputs, err := apiArtifacts(s.Artifacts)
		if err != nil {
			return 0, permanent{err}
		}
		t.Inputs, t.CacheKey, t.RetryAfter, t.Message = inputs, s.CacheKey, nil, ""
		t.Parameters, t.Artifacts, t.CompletionTime, t.CachedFrom = nil, nil, nil, ""
		switch {
		case exec.Importer != nil:
			r.importArtifact(t, s, exec.Importer, now)
			continue
		case claimTask(exec):
			if err := r.runClaimTask(ctx, run, t, s, exec.Container.Image, now); err != nil {
				return 0, err
			}
			continue
		case hit != nil:
			t.Phase, t.Attempts, t.CompletionTime = pipelinesv1alpha1.PhaseSucceeded, 0, &now
			t.Parameters, t.Artifacts, t.CachedFrom = hit.params, hit.artifacts, hit.from
			continue
		}
		name, err := r.createPod(ctx, run, p, s, workspace)
		if err != nil {
			if permanentErr := (permanent{}); errors.As(err, &permanentErr) {
				t.Phase, t.Attempts, t.Message, t.CompletionTime = pipelinesv1alpha1.PhaseFailed, int32(s.Attempt), err.Error(), &now
				continue
			}
			return 0, err
		}
		running++
		t.Phase, t.Attempts, t.PodName = pipelinesv1alpha1.PhaseRunning, int32(s.Attempt), name
		if t.StartTime == nil {
			t.StartTime = &now
		}
	}
	return requeue, nil
}

// importArtifact completes an importer task: its one output, "artifact", is the URI it
// names (never downloaded: consumers read it where it is).
func (r *RunReconciler) importArtifact(t *pipelinesv1alpha1.TaskStatus, s plan.Step, imp *ir.ImporterSpec, now metav1.Time) {
	uri := imp.ArtifactURI.Constant
	if uri == nil {
		uri = imp.ArtifactURI.ConstantValue
	}
	if name := imp.ArtifactURI.RuntimeParameter; name != "" {
		uri = s.Parameters[name]
	}
	u, ok := uri.(string)
	t.Attempts, t.CompletionTime = int32(s.Attempt), &now
	if !ok || u == "" {
		t.Phase, t.Message = pipelinesv1alpha1.PhaseFailed, fmt.Sprintf("importer: artifactUri is %v, not a URI", uri)
		return
	}
	a := pipelinesv1alpha1.Artifact{URI: u, Type: imp.TypeSchema.SchemaTitle}
	if len(imp.Metadata) > 0 {
		if raw, err := json.Marshal(imp.Metadata); err == nil {
			a.Metadata = &apiextensionsv1.JSON{Raw: raw}
		}
	}
	t.Phase, t.Artifacts = pipelinesv1alpha1.PhaseSucceeded, map[string]pipelinesv1alpha1.ArtifactList{"artifact": {Artifacts: []pipelinesv1alpha1.Artifact{a}}}
}

// cacheHit is an earlier task's outputs, reusable.
type cacheHit struct {
	params    map[string]apiextensionsv1.JSON
	artifacts map[string]pipelinesv1alpha1.ArtifactList
	from      string
}

// cached finds a succeeded task with key among the namespace's runs (the cache lives in
// the runs' statuses: deleting a run drops its entries).
func (r *RunReconciler) cached(ctx context.Context, run *pipelinesv1alpha1.PipelineRun, key string) (*cacheHit, error) {
	runs := &pipelinesv1alpha1.PipelineRunList{}
	if err := r.client.List(ctx, runs, client.InNamespace(run.Namespace), client.MatchingFields{cacheKeyIndex: key}); err != nil {
		return nil, fmt.Errorf("look up the cache: %w", err)
	}
	sort.Slice(runs.Items, func(i, j int) bool { return runs.Items[i].CreationTimestamp.Before(&runs.Items[j].CreationTimestamp) })
	for i := range runs.Items {
		other := &runs.Items[i]
		if other.UID == run.UID {
			continue
		}
		for _, t := range other.Status.Tasks {
			if t.CacheKey == key && t.Phase == pipelinesv1alpha1.PhaseSucceeded {
				from := other.Name + "/" + t.ID
				if t.CachedFrom != "" {
					from = t.CachedFrom
				}
				return &cacheHit{params: t.Parameters, artifacts: t.Artifacts, from: from}, nil
			}
		}
	}
	return nil, nil
}

// createPod creates the pod of step s (idempotent: its name is fixed by the task and
// attempt) and returns its name; workspaceClaim names the run's workspace claim ("" for
// none).
func (r *RunReconciler) createPod(ctx context.Context, run *pipelinesv1alpha1.PipelineRun, p *ir.Pipeline, s plan.Step, workspaceClaim func() (string, error)) (string, error) {
	key := taskKey(run, s.ID)
	s = withRunName(p, s, run.Name)
	in, err := executor.Build(p, s, func(output string) string { return r.store.URI(key + "/" + output) })
	if err != nil {
		return "", permanent{fmt.Errorf("task %s: %w", s.ID, err)}
	}
	inJSON, err := json.Marshal(in)
	if err != nil {
		return "", err
	}
	info := executor.RunInfo{
		JobName: run.Name, JobResourceName: run.Name, JobUID: string(run.UID),
		TaskName: s.Task, TaskUID: string(run.UID) + "-" + policy.Hash(s.ID, 12),
		PipelineRoot: r.store.URI(runKey(run)), CreateTime: run.CreationTimestamp.UTC(),
		Namespace: run.Namespace, ScheduleTime: run.CreationTimestamp.UTC(),
	}
	if at, err := time.Parse(time.RFC3339, run.Annotations[AnnotationScheduledAt]); err == nil {
		info.ScheduleTime = at
	}
	workspace, err := workspaceClaim()
	if err != nil {
		return "", err
	}
	if workspace != "" {
		info.WorkspacePath = engine.WorkspaceMountPath
	}
	infoJSON, err := json.Marshal(info)
	if err != nil {
		return "", err
	}
	name := policy.PodName(run.Name, s.Task, s.ID, s.Attempt)
	env := append([]corev1.EnvVar(nil), r.storeEnv...)
	pod, err := engine.TaskPod(engine.PodInput{
		Pipeline: p, Step: s, Run: run, PodName: name, Image: r.cfg.Image, ImageVolume: r.imageVolume,
		ExecutorInput: inJSON, RunInfo: infoJSON, ResultKey: key + "/.kfup-result.json", StoreEnv: env, WorkspaceClaim: workspace,
		Labels: map[string]string{
			apihost.LabelAPI: APIName, LabelRun: run.Name, LabelTask: policy.LabelValue(s.Task), LabelAttempt: strconv.Itoa(s.Attempt),
		},
		Annotations: map[string]string{AnnotationTaskID: s.ID, AnnotationTaskKey: key},
	})
	if err != nil {
		return "", permanent{err} // engine's errors name the task and the IR field
	}
	if r.cfg.ArtifactStore == "s3" {
		c := &pod.Spec.Containers[len(pod.Spec.Containers)-1]
		c.EnvFrom = append(c.EnvFrom, corev1.EnvFromSource{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: S3Secret}}})
	}
	if err := r.client.Create(ctx, pod); err != nil {
		if apierrors.IsAlreadyExists(err) {
			return name, nil
		}
		if apierrors.IsInvalid(err) || apierrors.IsForbidden(err) {
			return "", permanent{fmt.Errorf("task %s: create its pod: %w", s.ID, err)}
		}
		return "", fmt.Errorf("task %s: create its pod: %w", s.ID, err)
	}
	r.recorder.Eventf(run, pod, corev1.EventTypeNormal, "TaskStarted", "Start", "task %s: pod %s (attempt %d)", s.ID, name, s.Attempt)
	return name, nil
}

func taskName(id string) string {
	if i := strings.LastIndex(id, "/"); i >= 0 {
		id = id[i+1:]
	}
	if i := strings.Index(id, "["); i >= 0 {
		id = id[:i]
	}
	return id
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// withRunName adds the run's name to the PipelineTaskFinalStatus inputs of s (the kfp
// SDK reads pipelineJobResourceName there); the planner, which knows no run, leaves it
// out, and the cache key does not include it.
func withRunName(p *ir.Pipeline, s plan.Step, run string) plan.Step {
	c, ok := p.Spec.Components[s.Component]
	if !ok || c.InputDefinitions == nil {
		return s
	}
	var params map[string]any
	for name, def := range c.InputDefinitions.Parameters {
		st, ok := s.Parameters[name].(map[string]any)
		if def.ParameterType != "TASK_FINAL_STATUS" || !ok {
			continue
		}
		if params == nil { // copy: the plan's maps are not ours to write
			params = make(map[string]any, len(s.Parameters))
			for k, v := range s.Parameters {
				params[k] = v
			}
		}
		cp := make(map[string]any, len(st)+1)
		for k, v := range st {
			cp[k] = v
		}
		cp["pipelineJobResourceName"] = run
		params[name] = cp
	}
	if params == nil {
		return s
	}
	s.Parameters = params
	return s
}

// useImageVolume resolves the launcher mode: auto means an image volume when the API
// server is Kubernetes 1.35 or later (image volumes on by default; the nodes' runtime
// must support them too, which --pipelines-launcher=init-container works around).
func useImageVolume(mode string, cfg *rest.Config) (bool, error) {
	switch mode {
	case LauncherImageVolume:
		return true, nil
	case LauncherInitContainer:
		return false, nil
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return false, err
	}
	v, err := dc.ServerVersion()
	if err != nil {
		return false, fmt.Errorf("read the API server's version (to choose the task pods' launcher; --pipelines-launcher picks one): %w", err)
	}
	return supportsImageVolume(v.Major, v.Minor), nil
}

// supportsImageVolume says whether Kubernetes major.minor ("1", "35+") has image volumes
// on by default.
func supportsImageVolume(major, minor string) bool {
	mi, err := strconv.Atoi(strings.TrimRight(minor, "+"))
	return major == "1" && err == nil && mi >= imageVolumeSince
}
