package controller

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	"github.com/kfup/kfup/components/training/controller/policy"
	"github.com/kfup/kfup/components/training/engine"
	"github.com/kfup/kfup/components/training/frameworks"
	"github.com/kfup/kfup/internal/apihost"
)

// Reconciler reconciles the jobs of one kind, the kind of its framework.
type Reconciler struct {
	fw  engine.Framework
	cfg Config
	now func() time.Time

	client   client.Client
	reader   client.Reader // the API server itself, for reads that the trimmed cache cannot serve
	recorder recorder.EventRecorder

	// deleted remembers, per job, the pods this reconciler deleted until the cache stops
	// listing them, so that a stale cache does not have a pod restarted (and counted) twice.
	mu      sync.Mutex
	deleted map[types.NamespacedName]map[types.UID]bool
}

var _ apihost.Controller = (*Reconciler)(nil)

// conflictRetry is how soon a reconcile that lost a write race (its cached job was stale)
// tries again; the job's own status writes do not trigger reconciles.
const conflictRetry = 100 * time.Millisecond

// New returns the reconciler of fw's kind.
func New(fw engine.Framework, cfg Config) *Reconciler {
	return &Reconciler{fw: fw, cfg: cfg, now: time.Now, deleted: map[types.NamespacedName]map[types.UID]bool{}}
}

// All returns one reconciler per kind (frameworks.All), configured by cfg.
func All(cfg Config) []*Reconciler {
	var out []*Reconciler
	for _, fw := range frameworks.All(cfg.Frameworks()) {
		out = append(out, New(fw, cfg))
	}
	return out
}

// Controllers returns All(cfg) as the manager's controllers.
func Controllers(cfg Config) []apihost.Controller {
	var out []apihost.Controller
	for _, r := range All(cfg) {
		out = append(out, r)
	}
	return out
}

// Name is the framework's controller name, e.g. "pytorchjob-controller".
func (r *Reconciler) Name() string { return r.fw.ControllerName() }

// SetupWithManager registers the controller: it watches the jobs of its kind (not their
// status-only updates, which are its own) and the pods and services they control.
func (r *Reconciler) SetupWithManager(mgr manager.Manager) error {
	r.client = mgr.GetClient()
	r.reader = mgr.GetAPIReader()
	r.recorder = mgr.GetEventRecorder(r.Name())
	workers := max(r.cfg.Workers, 1)
	return ctrl.NewControllerManagedBy(mgr).
		Named(r.Name()).
		For(r.fw.NewJob(), builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		Owns(&corev1.Pod{}).
		Owns(&corev1.Service{}).
		WithOptions(controller.Options{MaxConcurrentReconciles: workers, SkipNameValidation: ptr.To(r.cfg.SkipNameValidation)}).
		Complete(r)
}

// managedHere says whether a job with runPolicy.managedBy m is kfup's to reconcile.
func managedHere(m *string) bool {
	return m == nil || *m == "" || *m == ManagedByTrainingOperator
}

// Reconcile brings one job and its children a step closer to what its spec and run
// policies say, and writes its status.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	log := ctrl.LoggerFrom(ctx)
	job := r.fw.NewJob()
	if err := r.client.Get(ctx, req.NamespacedName, job); err != nil {
		if apierrors.IsNotFound(err) {
			r.forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if job.GetDeletionTimestamp() != nil {
		return ctrl.Result{}, nil
	}
	if m := r.fw.RunPolicy(job).ManagedBy; !managedHere(m) {
		log.V(1).Info("skipping a job managed by another controller", "managedBy", *m)
		return ctrl.Result{}, nil
	}

	pods, services, err := r.children(ctx, job)
	if err != nil {
		return ctrl.Result{}, err
	}
	now := r.now()
	plan, err := policy.Decide(policy.Input{
		Framework: r.fw, Job: job, Pods: pods, Services: services, Now: now, StuckPodGrace: r.cfg.StuckPodGrace,
	})
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("decide about %s %s: %w", r.fw.Kind(), req.NamespacedName, err)
	}

	var desired *engine.Children
	if plan.CreateChildren {
		if desired, err = engine.Desired(r.fw, job, live(pods)); err != nil {
			// The spec passed the API server's validation but cannot run (the webhook
			// upstream has would have refused it): fail the job rather than retry forever.
			failValidation(r.fw, job, plan, err, now)
		}
	}
	if desired != nil {
		desired.Pods = withoutCompleted(desired.Pods, r.fw.ReplicaSpecs(job), plan.Completed, pods)
	}
	gang := r.cfg.GangScheduler != ""
	if gang && desired != nil {
		r.decorateGangPods(job, desired.Pods)
	}

	// The job's writes come first, and nothing is done unless they succeed: a job whose
	// cached copy is stale must not act (delete pods, say) on a status it cannot write.
	// The status goes first: a restart it announces is counted (and its pod deleted) once
	// the count is written, so that a failed write cannot count a restart twice.
	if err := r.writeStatus(ctx, job, plan, now); err != nil {
		if apierrors.IsConflict(err) {
			return ctrl.Result{RequeueAfter: conflictRetry}, nil
		}
		return ctrl.Result{}, fmt.Errorf("update status of %s %s: %w", r.fw.Kind(), req.NamespacedName, err)
	}
	// The status is written: announce its transitions now, for the next reconcile sees
	// them done and would not announce them if the write below failed.
	for _, e := range plan.Events {
		r.event(job, e.Type, e.Reason, "UpdateStatus", e.Message)
	}
	if plan.Restarts != policy.RecordedRestarts(job.GetAnnotations()) ||
		!slices.Equal(plan.RestartedPods, policy.RecordedRestartedPods(job.GetAnnotations())) ||
		plan.Completed.String() != job.GetAnnotations()[policy.SucceededReplicasAnnotation] {
		if err := r.recordRestarts(ctx, job, plan); err != nil {
			if apierrors.IsConflict(err) {
				return ctrl.Result{RequeueAfter: conflictRetry}, nil
			}
			return ctrl.Result{}, fmt.Errorf("record restarts of %s %s: %w", r.fw.Kind(), req.NamespacedName, err)
		}
	}
	if err := r.deletePods(ctx, job, plan.DeletePods); err != nil {
		return ctrl.Result{}, err
	}
	if err := r.deleteServices(ctx, job, plan.DeleteServices); err != nil {
		return ctrl.Result{}, err
	}
	if err := r.stopSidecars(ctx, job, plan.StopSidecars); err != nil {
		return ctrl.Result{}, err
	}
	gangWait := false
	switch {
	case !gang:
	case policy.IsFinished(&plan.Status) || policy.IsSuspended(r.fw.RunPolicy(job)):
		if err := r.deletePodGroup(ctx, job); err != nil {
			return ctrl.Result{}, err
		}
	case desired != nil && plan.CreateChildren:
		admitted, err := r.syncPodGroup(ctx, job)
		if err != nil {
			return r.childError(ctx, job, plan, now, err)
		}
		gangWait = !admitted
	}
	if desired != nil && plan.CreateChildren && !gangWait {
		if err := r.sync(ctx, job, desired, pods, services, plan.DeletePods); err != nil {
			return r.childError(ctx, job, plan, now, err)
		}
	}
	if policy.IsSuspended(r.fw.RunPolicy(job)) {
		if err := r.deleteRunningOnlyExtras(ctx, job, live(pods)); err != nil {
			return ctrl.Result{}, err
		}
	}

	if plan.DeleteJob {
		if err := r.client.Delete(ctx, job, client.PropagationPolicy(metav1.DeletePropagationBackground),
			client.Preconditions{UID: ptr.To(job.GetUID())}); client.IgnoreNotFound(err) != nil {
			return ctrl.Result{}, fmt.Errorf("delete %s %s after its ttlSecondsAfterFinished: %w", r.fw.Kind(), req.NamespacedName, err)
		}
		log.V(1).Info("deleted a finished job: ttlSecondsAfterFinished passed")
		return ctrl.Result{}, nil
	}
	if gangWait && (plan.RequeueAfter == 0 || plan.RequeueAfter > gangRecheck) {
		return ctrl.Result{RequeueAfter: gangRecheck}, nil // until the gang scheduler admits the group
	}
	return ctrl.Result{RequeueAfter: plan.RequeueAfter}, nil
}

// failValidation fails a job whose children cannot be computed.
func failValidation(fw engine.Framework, job engine.Job, plan *policy.Plan, err error, now time.Time) {
	old := plan.Status.DeepCopy()
	reason := policy.Reason(fw.Kind(), "FailedValidation")
	policy.SetCondition(&plan.Status, trainingv1.JobFailed, corev1.ConditionTrue, reason,
		fmt.Sprintf("%s %s is invalid: %v", fw.Kind(), job.GetName(), err), metav1.NewTime(now))
	if plan.Status.CompletionTime == nil {
		t := metav1.NewTime(now)
		plan.Status.CompletionTime = &t
	}
	plan.Events = append(plan.Events, policy.ConditionEvents(old.Conditions, plan.Status.Conditions)...)
	plan.CreateChildren = false
}

// recordRestarts sets the job's restart count annotation, the pods it counts that are
// still there (deleted after this write) and the replicas that succeeded, failing on a
// conflict so that a stale job cannot count a restart twice. job is updated to the
// server's version.
func (r *Reconciler) recordRestarts(ctx context.Context, job engine.Job, plan *policy.Plan) error {
	n, pods := plan.Restarts, plan.RestartedPods
	base, ok := job.DeepCopyObject().(client.Object)
	if !ok {
		return fmt.Errorf("%T is not a client.Object", job)
	}
	ann := maps.Clone(job.GetAnnotations())
	if ann == nil {
		ann = map[string]string{}
	}
	ann[policy.RestartsAnnotation] = strconv.Itoa(int(n))
	if len(pods) > 0 {
		ann[policy.RestartedPodsAnnotation] = policy.FormatRestartedPods(pods)
	} else {
		delete(ann, policy.RestartedPodsAnnotation)
	}
	if done := plan.Completed.String(); done != "" {
		ann[policy.SucceededReplicasAnnotation] = done
	} else {
		delete(ann, policy.SucceededReplicasAnnotation)
	}
	job.SetAnnotations(ann)
	return r.client.Patch(ctx, job, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
}

// writeStatus writes the plan's status when it changed, with lastReconcileTime now.
func (r *Reconciler) writeStatus(ctx context.Context, job engine.Job, plan *policy.Plan, now time.Time) error {
	st := r.fw.Status(job)
	if !policy.StatusChanged(st, &plan.Status) {
		return nil
	}
	*st = *plan.Status.DeepCopy()
	t := metav1.NewTime(now)
	st.LastReconcileTime = &t
	return r.client.Status().Update(ctx, job)
}

// event records an event on the job.
func (r *Reconciler) event(job engine.Job, eventType, reason, action, message string) {
	r.recorder.Eventf(job, nil, eventType, reason, action, "%s", message)
}
