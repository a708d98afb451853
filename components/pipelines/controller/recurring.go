package controller

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	pipelinesv1alpha1 "github.com/kfup/kfup/components/pipelines/api/v1alpha1"
	"github.com/kfup/kfup/components/pipelines/controller/policy"
	"github.com/kfup/kfup/internal/apihost"
)

// LabelRecurringRun names the RecurringRun that started a run.
const LabelRecurringRun = "pipelines.kfup.dev/recurring-run"

// RecurringRunReconciler starts PipelineRuns on RecurringRuns' schedules.
type RecurringRunReconciler struct {
	cfg    Config
	client client.Client
}

// Name is "recurringrun-controller".
func (r *RecurringRunReconciler) Name() string { return "recurringrun-controller" }

// SetupWithManager watches RecurringRuns and the runs they own.
func (r *RecurringRunReconciler) SetupWithManager(mgr manager.Manager) error {
	r.client = mgr.GetClient()
	return ctrl.NewControllerManagedBy(mgr).
		Named(r.Name()).
		For(&pipelinesv1alpha1.RecurringRun{}).
		Owns(&pipelinesv1alpha1.PipelineRun{}).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(r.cfg.Workers, 1), SkipNameValidation: ptr.To(r.cfg.SkipNameValidation)}).
		Complete(r)
}

// Reconcile starts the runs that are due and prunes the history.
func (r *RecurringRunReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	rr := &pipelinesv1alpha1.RecurringRun{}
	if err := r.client.Get(ctx, req.NamespacedName, rr); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !rr.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}
	before := rr.Status.DeepCopy()
	now := r.cfg.now()
	st := &rr.Status
	sched, err := policy.Schedule(rr.Spec.Schedule, rr.Spec.TimeZone)
	if err != nil {
		meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: "Ready", Status: metav1.ConditionFalse, Reason: "InvalidSchedule", Message: err.Error(), ObservedGeneration: rr.Generation})
		st.NextScheduleTime = nil
		return ctrl.Result{}, r.writeStatus(ctx, rr, before)
	}
	meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: "Ready", Status: metav1.ConditionTrue, Reason: "Scheduled", Message: "runs start on schedule", ObservedGeneration: rr.Generation})
	runs, err := r.children(ctx, rr)
	if err != nil {
		return ctrl.Result{}, err
	}
	st.Active = nil
	for _, run := range runs {
		if !run.Status.Phase.Final() {
			st.Active = append(st.Active, run.Name)
		}
	}
	last := rr.CreationTimestamp.Time
	if st.LastScheduleTime != nil {
		last = st.LastScheduleTime.Time
	}
	due, next := policy.Due(sched, last, now, rr.Spec.CatchUp)
	st.NextScheduleTime = &metav1.Time{Time: next}
	if rr.Spec.Suspend {
		st.NextScheduleTime = nil
		if len(due) > 0 { // ticks passed while suspended are not made up later
			st.LastScheduleTime = &metav1.Time{Time: due[len(due)-1]}
		}
		due = nil
	}
	limit := int(ptr.Deref(rr.Spec.MaxConcurrency, 1))
	for _, tick := range due {
		st.LastScheduleTime = &metav1.Time{Time: tick}
		if len(st.Active) >= limit {
			continue // the bound is reached: this tick is skipped
		}
		name, err := r.startRun(ctx, rr, tick)
		if err != nil {
			return ctrl.Result{}, err
		}
		st.Active = append(st.Active, name)
	}
	if err := r.prune(ctx, rr, runs); err != nil {
		return ctrl.Result{}, err
	}
	if err := r.writeStatus(ctx, rr, before); err != nil {
		return ctrl.Result{}, err
	}
	if st.NextScheduleTime == nil {
		return ctrl.Result{}, nil
	}
	return ctrl.Result{RequeueAfter: max(time.Until(next), time.Second)}, nil
}

func (r *RecurringRunReconciler) writeStatus(ctx context.Context, rr *pipelinesv1alpha1.RecurringRun, before *pipelinesv1alpha1.RecurringRunStatus) error {
	if equality.Semantic.DeepEqual(before, &rr.Status) {
		return nil
	}
	return r.client.Status().Update(ctx, rr)
}

// children returns the runs rr started, oldest first.
func (r *RecurringRunReconciler) children(ctx context.Context, rr *pipelinesv1alpha1.RecurringRun) ([]*pipelinesv1alpha1.PipelineRun, error) {
	list := &pipelinesv1alpha1.PipelineRunList{}
	if err := r.client.List(ctx, list, client.InNamespace(rr.Namespace), client.MatchingLabels{LabelRecurringRun: rr.Name}); err != nil {
		return nil, err
	}
	var out []*pipelinesv1alpha1.PipelineRun
	for i := range list.Items {
		if metav1.IsControlledBy(&list.Items[i], rr) {
			out = append(out, &list.Items[i])
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// startRun creates the run of tick: <recurring run>-<unix seconds>, so a retry of the
// same tick finds it instead of starting a second.
func (r *RecurringRunReconciler) startRun(ctx context.Context, rr *pipelinesv1alpha1.RecurringRun, tick time.Time) (string, error) {
	run := &pipelinesv1alpha1.PipelineRun{
		ObjectMeta: metav1.ObjectMeta{
			Name: rr.Name + "-" + strconv.FormatInt(tick.Unix(), 10), Namespace: rr.Namespace,
			Labels:      map[string]string{LabelRecurringRun: rr.Name},
			Annotations: map[string]string{AnnotationScheduledAt: tick.UTC().Format(time.RFC3339)},
		},
		Spec: *rr.Spec.RunSpec.DeepCopy(),
	}
	apihost.MarkChild(run, APIName)
	if err := ctrl.SetControllerReference(rr, run, r.client.Scheme()); err != nil {
		return "", err
	}
	if err := r.client.Create(ctx, run); err != nil && !apierrors.IsAlreadyExists(err) {
		return "", fmt.Errorf("start the run of %s: %w", tick.UTC().Format(time.RFC3339), err)
	}
	return run.Name, nil
}

// prune deletes the oldest final runs beyond the history limit.
func (r *RecurringRunReconciler) prune(ctx context.Context, rr *pipelinesv1alpha1.RecurringRun, runs []*pipelinesv1alpha1.PipelineRun) error {
	keep := int(ptr.Deref(rr.Spec.HistoryLimit, 10))
	var final []*pipelinesv1alpha1.PipelineRun
	for _, run := range runs {
		if run.Status.Phase.Final() {
			final = append(final, run)
		}
	}
	for len(final) > keep {
		old := final[0]
		final = final[1:]
		if err := r.client.Delete(ctx, old, client.Preconditions{UID: &old.UID}); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("prune run %s: %w", old.Name, err)
		}
	}
	return nil
}
