package controller

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	tuningv1beta1 "github.com/kfup/kfup/components/tuning/api/v1beta1"
	"github.com/kfup/kfup/components/tuning/controller/dbmanager"
	"github.com/kfup/kfup/components/tuning/engine"
	"github.com/kfup/kfup/internal/agent"
	"github.com/kfup/kfup/internal/apihost"
)

// LogSource reads a container's log.
type LogSource interface {
	Logs(ctx context.Context, namespace, pod, container string, limitBytes int64) (io.ReadCloser, error)
}

// apiLogs reads logs through the API server (pods/log).
type apiLogs struct{ cs kubernetes.Interface }

func (l apiLogs) Logs(ctx context.Context, namespace, pod, container string, limitBytes int64) (io.ReadCloser, error) {
	return l.cs.CoreV1().Pods(namespace).GetLogs(pod, &corev1.PodLogOptions{Container: container, LimitBytes: &limitBytes}).Stream(ctx)
}

// TrialReconciler runs each Trial: it creates the run, judges it and collects its metrics.
type TrialReconciler struct {
	cfg    Config
	client client.Client
	reader client.Reader
	logs   LogSource
}

// Name is "trial-controller".
func (r *TrialReconciler) Name() string { return "trial-controller" }

// SetupWithManager watches Trials and the pods labelled with a trial's name; runs of any
// kind are polled (no informer per kind).
func (r *TrialReconciler) SetupWithManager(mgr manager.Manager) error {
	r.client, r.reader, r.logs = mgr.GetClient(), mgr.GetAPIReader(), r.cfg.Logs
	if r.logs == nil {
		cs, err := clientsetFor(mgr)
		if err != nil {
			return err
		}
		r.logs = apiLogs{cs}
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named(r.Name()).
		For(&tuningv1beta1.Trial{}).
		Watches(&corev1.Pod{}, handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
			if t := o.GetLabels()[tuningv1beta1.LabelTrialName]; t != "" {
				return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: o.GetNamespace(), Name: t}}}
			}
			return nil
		})).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(r.cfg.Workers, 1), SkipNameValidation: ptr.To(r.cfg.SkipNameValidation)}).
		Complete(r)
}

// Reconcile moves one Trial forward.
func (r *TrialReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	t := &tuningv1beta1.Trial{}
	if err := r.client.Get(ctx, req.NamespacedName, t); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !t.DeletionTimestamp.IsZero() || t.Spec.RunSpec == nil {
		return ctrl.Result{}, nil
	}
	run, err := r.run(ctx, t)
	if err != nil {
		return ctrl.Result{}, err
	}
	if trialDone(t) {
		return ctrl.Result{}, r.cleanUp(ctx, t, run)
	}
	before := t.Status.DeepCopy()
	now := metav1.Now()
	if t.Status.StartTime == nil {
		t.Status.StartTime = &now
		setTrialCond(t, tuningv1beta1.TrialCreated, tuningv1beta1.TrialCreatedReason, "Trial is created", now)
	}
	requeue, err := r.step(ctx, t, run, now)
	if err != nil {
		return ctrl.Result{}, err
	}
	if !equality.Semantic.DeepEqual(before, &t.Status) {
		t.Status.LastReconcileTime = &now
		if err := r.client.Status().Update(ctx, t); err != nil {
			return ctrl.Result{}, err
		}
	}
	if requeue {
		return ctrl.Result{RequeueAfter: r.cfg.PollInterval}, nil
	}
	return ctrl.Result{}, nil
}

// run reads the trial's run from the API server; nil when it does not exist.
func (r *TrialReconciler) run(ctx context.Context, t *tuningv1beta1.Trial) (*unstructured.Unstructured, error) {
	run := &unstructured.Unstructured{}
	run.SetGroupVersionKind(t.Spec.RunSpec.GroupVersionKind())
	err := r.reader.Get(ctx, types.NamespacedName{Namespace: t.Namespace, Name: t.Name}, run)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return run, err
}

// step creates the run or judges it; it reports whether to look again later.
func (r *TrialReconciler) step(ctx context.Context, t *tuningv1beta1.Trial, run *unstructured.Unstructured, now metav1.Time) (bool, error) {
	kind := t.Spec.RunSpec.GetKind()
	if run == nil {
		if trialRunning(t) {
			setTrialCond(t, tuningv1beta1.TrialKilled, tuningv1beta1.JobDeletedReason, kind+" "+t.Name+" was deleted", now)
			clearTrialCond(t, tuningv1beta1.TrialRunning, now)
			t.Status.CompletionTime = &now
			return false, nil
		}
		if err := r.create(ctx, t); err != nil {
			var ce errCollector
			if errors.As(err, &ce) {
				r.fail(t, tuningv1beta1.TrialFailedReason, ce.Error(), now)
				return false, nil
			}
			var ck errCheckpoint
			if errors.As(err, &ck) {
				r.fail(t, tuningv1beta1.TrialFailedReason, ck.Error(), now)
				return false, nil
			}
			if apierrors.IsAlreadyExists(err) {
				return true, nil
			}
			if apierrors.IsForbidden(err) || apierrors.IsInvalid(err) || meta.IsNoMatchError(err) || apierrors.IsBadRequest(err) {
				r.fail(t, tuningv1beta1.TrialFailedReason, fmt.Sprintf("create %s %s: %v", kind, t.Name, err), now)
				return false, nil
			}
			return false, err
		}
		setTrialCond(t, tuningv1beta1.TrialRunning, tuningv1beta1.TrialRunningReason, "Trial is running", now)
		return true, nil
	}
	if !metav1.IsControlledBy(run, t) {
		r.fail(t, TrialResourceExistsReason, fmt.Sprintf("%s %s/%s exists and is not this trial's: kfup leaves it alone; delete or rename it", kind, t.Namespace, t.Name), now)
		return false, nil
	}
	if !trialRunning(t) {
		setTrialCond(t, tuningv1beta1.TrialRunning, tuningv1beta1.TrialRunningReason, "Trial is running", now)
	}
	v, err := engine.Judge(run.Object, t.Spec.SuccessCondition, t.Spec.FailureCondition)
	if err != nil {
		r.fail(t, tuningv1beta1.TrialFailedReason, err.Error(), now)
		return false, nil
	}
	switch v.State {
	case engine.Running:
		if len(t.Spec.EarlyStoppingRules) > 0 {
			return r.earlyStop(ctx, t, run, now)
		}
		return true, nil
	case engine.Failed:
		obs, _ := r.collect(ctx, t)
		t.Status.Observation = obs
		msg := kind + " failed"
		if v.Message != "" {
			msg += ": " + v.Message
		}
		r.fail(t, tuningv1beta1.TrialFailedReason, msg, now)
		return false, nil
	}
	if t.Spec.MetricsCollector.CollectorKind() == tuningv1beta1.NoneCollector {
		r.succeed(t, now)
		return false, nil
	}
	obs, raw, err := r.observe(ctx, t)
	var bad badMetrics
	if errors.As(err, &bad) {
		setTrialCond(t, tuningv1beta1.TrialMetricsUnavailable, tuningv1beta1.TrialMetricsUnavailableReason, bad.Error(), now)
		clearTrialCond(t, tuningv1beta1.TrialRunning, now)
		t.Status.CompletionTime = &now
		return false, nil
	}
	if err != nil {
		return false, err
	}
	t.Status.Observation = obs
	if err := r.recordStartStepMean(ctx, t, raw); err != nil {
		return false, err
	}
	if _, ok := objectiveValue(t); !ok && !objectiveReported(t) {
		setTrialCond(t, tuningv1beta1.TrialMetricsUnavailable, tuningv1beta1.TrialMetricsUnavailableReason,
			unavailableMessage(t, kind), now)
		clearTrialCond(t, tuningv1beta1.TrialRunning, now)
		t.Status.CompletionTime = &now
		return false, nil
	}
	r.succeed(t, now)
	return false, nil
}

func (r *TrialReconciler) succeed(t *tuningv1beta1.Trial, now metav1.Time) {
	setTrialCond(t, tuningv1beta1.TrialSucceeded, tuningv1beta1.TrialSucceededReason, "Trial has succeeded", now)
	clearTrialCond(t, tuningv1beta1.TrialRunning, now)
	t.Status.CompletionTime = &now
}

func (r *TrialReconciler) fail(t *tuningv1beta1.Trial, reason, msg string, now metav1.Time) {
	setTrialCond(t, tuningv1beta1.TrialFailed, reason, msg, now)
	clearTrialCond(t, tuningv1beta1.TrialRunning, now)
	t.Status.CompletionTime = &now
}

// create makes the run: the rendered runSpec, owned by the trial, labelled (its pod
// templates too, for the kinds kfup knows) so its pods can be found.
func (r *TrialReconciler) create(ctx context.Context, t *tuningv1beta1.Trial) error {
	run := t.Spec.RunSpec.DeepCopy()
	run.SetName(t.Name)
	run.SetNamespace(t.Namespace)
	labels := run.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	exp := t.Labels[tuningv1beta1.LabelExperimentName]
	labels[tuningv1beta1.LabelExperimentName] = exp
	labels[tuningv1beta1.LabelTrialName] = t.Name
	labels[apihost.LabelAPI] = APIName
	run.SetLabels(labels)
	engine.LabelPodTemplates(run, map[string]string{
		tuningv1beta1.LabelExperimentName: exp, tuningv1beta1.LabelTrialName: t.Name, apihost.LabelAPI: APIName,
	})
	if err := r.trialCheckpoint(ctx, t, run); err != nil { // before the sidecar, which may read the volume
		return err
	}
	if err := injectCollector(run, &t.Spec.MetricsCollector, t.Spec.PrimaryContainerName, r.cfg.Image, t.Spec.Objective.MetricNames()); err != nil {
		return errCollector{err}
	}
	if err := injectTrialName(run, t); err != nil {
		return errCollector{err}
	}
	if err := controllerutil.SetControllerReference(t, run, r.client.Scheme()); err != nil {
		return err
	}
	return r.client.Create(ctx, run)
}

// cleanUp deletes a finished trial's run unless retained; a killed one's always (it must
// stop).
func (r *TrialReconciler) cleanUp(ctx context.Context, t *tuningv1beta1.Trial, run *unstructured.Unstructured) error {
	if run == nil || !metav1.IsControlledBy(run, t) || !run.GetDeletionTimestamp().IsZero() {
		return nil
	}
	if t.Spec.RetainRun && !trialKilled(t) {
		return nil
	}
	err := r.client.Delete(ctx, run, client.PropagationPolicy(metav1.DeletePropagationBackground), client.Preconditions{UID: ptr.To(run.GetUID())})
	return client.IgnoreNotFound(err)
}

// collect reads the metrics from the primary container's log of every primary pod of the
// trial.
func (r *TrialReconciler) collect(ctx context.Context, t *tuningv1beta1.Trial) (*tuningv1beta1.Observation, error) {
	out, _, err := r.observe(ctx, t)
	return out, err
}

// observe is collect with the raw reports (what early stopping reads).
func (r *TrialReconciler) observe(ctx context.Context, t *tuningv1beta1.Trial) (*tuningv1beta1.Observation, []engine.Observation, error) {
	if t.Spec.MetricsCollector.CollectorKind() == tuningv1beta1.PushCollector {
		return r.observePushed(ctx, t)
	}
	sel := client.MatchingLabels{tuningv1beta1.LabelTrialName: t.Name}
	for k, v := range t.Spec.PrimaryPodLabels {
		sel[k] = v
	}
	pods := &corev1.PodList{}
	if err := r.reader.List(ctx, pods, client.InNamespace(t.Namespace), sel); err != nil {
		return nil, nil, err
	}
	names := t.Spec.Objective.MetricNames()
	var filters []string
	format := engine.TextFormat
	if s := t.Spec.MetricsCollector.Source; s != nil {
		if s.Filter != nil {
			filters = s.Filter.MetricsFormat
		}
		if s.FileSystemPath != nil && s.FileSystemPath.Format == tuningv1beta1.JsonFormat {
			format = engine.JSONFormat
		}
	}
	if t.Spec.MetricsCollector.CollectorKind() == tuningv1beta1.TfEventCollector {
		filters = []string{agent.EventLineFilter}
	}
	container := metricsContainer(t)
	var all []engine.Observation
	for _, p := range pods.Items {
		if !hasContainer(&p, t.Spec.PrimaryContainerName) || !hasContainer(&p, container) {
			continue
		}
		rc, err := r.logs.Logs(ctx, p.Namespace, p.Name, container, r.cfg.LogLimitBytes)
		if err != nil {
			continue // a pod that never started has no log
		}
		obs, err := engine.Parse(rc, format, names, filters)
		_ = rc.Close()
		if err != nil {
			return nil, nil, badMetrics{fmt.Errorf("the metrics log of pod %s (container %s): %w", p.Name, container, err)}
		}
		all = append(all, obs...)
	}
	r.keepLog(ctx, t, all)
	out := &tuningv1beta1.Observation{}
	for _, m := range engine.Summarize(all, names) {
		out.Metrics = append(out.Metrics, tuningv1beta1.Metric{Name: m.Name, Min: m.Min, Max: m.Max, Latest: m.Latest})
	}
	return out, all, nil
}

// keepLog writes what the collector parsed into the trial's observation log
// (dbmanager.WriteLog), for GetObservationLog and the dashboard's charts once the run and
// its pods are gone. The trial's status does not depend on it: a failure is logged, and
// a ConfigMap of that name the trial does not own is left alone.
func (r *TrialReconciler) keepLog(ctx context.Context, t *tuningv1beta1.Trial, all []engine.Observation) {
	if len(all) == 0 {
		return
	}
	if err := dbmanager.WriteLog(ctx, r.client, r.reader, r.client.Scheme(), t, all); err != nil {
		ctrl.LoggerFrom(ctx).Info("cannot keep the trial's observation log", "trial", t.Name, "configMap", dbmanager.LogName(t.Name), "error", err.Error())
	}
}

// badMetrics is a metrics log kfup cannot read (e.g. a line that is not JSON with the JSON
// format): no retry can fix it, so a finished trial is MetricsUnavailable with the reason.
type badMetrics struct{ error }

func (b badMetrics) Unwrap() error { return b.error }

// errCollector is a metrics collector the trial's run cannot have: the trial fails.
type errCollector struct{ error }

func hasContainer(p *corev1.Pod, name string) bool {
	for _, c := range slices.Concat(p.Spec.InitContainers, p.Spec.Containers) {
		if c.Name == name {
			return true
		}
	}
	return strings.TrimSpace(name) == ""
}

// objectiveReported says the objective metric was reported, numeric or not: Katib's
// trial controller judges a trial by its latest report, so a darts trial whose objective
// is its best genotype (Best-Genotype=Genotype(...)) succeeds. Only numeric values
// compete for currentOptimalTrial and the goal.
func objectiveReported(t *tuningv1beta1.Trial) bool {
	o := t.Spec.Objective
	if o == nil || t.Status.Observation == nil {
		return false
	}
	for _, m := range t.Status.Observation.Metrics {
		if m.Name == o.ObjectiveMetricName && m.Latest != "" && m.Latest != engine.UnavailableValue {
			return true
		}
	}
	return false
}
