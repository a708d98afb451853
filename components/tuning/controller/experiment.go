package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/yaml"

	tuningv1beta1 "github.com/kfup/kfup/components/tuning/api/v1beta1"
	"github.com/kfup/kfup/components/tuning/engine"
	"github.com/kfup/kfup/components/tuning/suggest"
	"github.com/kfup/kfup/internal/apihost"
)

// ExperimentInvalidReason is the Failed condition's reason of an Experiment kfup cannot run
// as written (the message says what to fix). Upstream refuses such experiments in its
// webhook; kfup refuses what CEL can check at admission and the rest here, before any
// trial is created.
const ExperimentInvalidReason = "ExperimentInvalid"

// ExperimentReconciler reconciles Experiments: their Suggestion, their Trials and their
// status.
type ExperimentReconciler struct {
	cfg    Config
	kinds  []schema.GroupVersionKind
	client client.Client
	reader client.Reader
}

// Name is "experiment-controller".
func (r *ExperimentReconciler) Name() string { return "experiment-controller" }

// SetupWithManager watches Experiments and the Trials and Suggestions they own.
func (r *ExperimentReconciler) SetupWithManager(mgr manager.Manager) error {
	r.client, r.reader = mgr.GetClient(), mgr.GetAPIReader()
	return ctrl.NewControllerManagedBy(mgr).
		Named(r.Name()).
		For(&tuningv1beta1.Experiment{}).
		Owns(&tuningv1beta1.Trial{}).
		Owns(&tuningv1beta1.Suggestion{}).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(r.cfg.Workers, 1), SkipNameValidation: ptr.To(r.cfg.SkipNameValidation)}).
		Complete(r)
}

// Reconcile brings one Experiment one step forward.
func (r *ExperimentReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	exp := &tuningv1beta1.Experiment{}
	if err := r.client.Get(ctx, req.NamespacedName, exp); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !exp.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}
	before := exp.Status.DeepCopy()
	now := metav1.Now()
	st := &exp.Status
	if st.StartTime == nil {
		st.StartTime = &now
	}
	if !hasExpCond(exp, tuningv1beta1.ExperimentCreated) {
		setExpCond(exp, tuningv1beta1.ExperimentCreated, tuningv1beta1.ExperimentCreatedReason, "Experiment is created", now)
	}

	var tmpl []byte // the trial template, read once per reconcile
	if !completed(exp) {
		var err error
		if tmpl, err = r.check(ctx, exp); err != nil {
			setExpCond(exp, tuningv1beta1.ExperimentFailed, ExperimentInvalidReason, err.Error(), now)
			clearExpCond(exp, tuningv1beta1.ExperimentRunning, now)
			st.CompletionTime = &now
			return ctrl.Result{}, r.writeStatus(ctx, exp, before)
		}
	}

	trials, err := r.trials(ctx, exp)
	if err != nil {
		return ctrl.Result{}, err
	}
	goal := summarize(exp, trials)

	// LongRunning and FromVolume experiments resume when maxTrialCount is raised.
	if restartable(exp) && exp.Spec.MaxTrialCount != nil && completedCount(st) < *exp.Spec.MaxTrialCount {
		setExpCond(exp, tuningv1beta1.ExperimentRestarting, tuningv1beta1.ExperimentRestartingReason, "Experiment is restarting: maxTrialCount was raised", now)
		clearExpCond(exp, tuningv1beta1.ExperimentSucceeded, now)
		st.CompletionTime = nil
	}

	sug, err := r.suggestion(ctx, exp)
	if err != nil {
		return ctrl.Result{}, err
	}
	if !completed(exp) {
		if err := r.ensureCheckpointVolume(ctx, exp, sug, now); err != nil {
			return ctrl.Result{}, err
		}
	}
	if !completed(exp) {
		suggestionEnd := suggestionCond(sug, tuningv1beta1.SuggestionSucceeded)
		decide(exp, goal, suggestionEnd, now)
		if failed := suggestionCondition(sug, tuningv1beta1.SuggestionFailed); failed != nil && !completed(exp) {
			setExpCond(exp, tuningv1beta1.ExperimentFailed, tuningv1beta1.ExperimentFailedReason, "the search algorithm failed: "+failed.Message, now)
			clearExpCond(exp, tuningv1beta1.ExperimentRunning, now)
			st.CompletionTime = &now
		}
	}
	if !completed(exp) {
		if tmpl == nil { // resumed in this reconcile: not checked above
			if tmpl, err = r.template(ctx, exp); err != nil {
				return ctrl.Result{}, err
			}
		}
		if err := r.reconcileTrials(ctx, exp, sug, trials, tmpl); err != nil {
			return ctrl.Result{}, err
		}
	} else {
		if err := r.finish(ctx, exp, sug, trials, now); err != nil {
			return ctrl.Result{}, err
		}
		// the trials finish just killed count as killed in the status written now: an
		// ended experiment never reports trials still running
		summarize(exp, trials)
	}
	return ctrl.Result{}, r.writeStatus(ctx, exp, before)
}

// check refuses, before any trial, what admission cannot: an algorithm kfup has not, its
// settings, the search space, the template against its parameters, a collector or kind
// kfup does not serve. It returns the trial template.
func (r *ExperimentReconciler) check(ctx context.Context, exp *tuningv1beta1.Experiment) ([]byte, error) {
	spec := &exp.Spec
	if spec.Algorithm == nil || spec.Objective == nil || spec.TrialTemplate == nil {
		return nil, errors.New("spec.algorithm, spec.objective and spec.trialTemplate are required")
	}
	settings, err := algorithmSettings(spec.Algorithm.AlgorithmSettings)
	if err != nil {
		return nil, err
	}
	var names []string // what the template's trialParameters may reference
	var sample map[string]string
	if spec.NasConfig != nil {
		if len(spec.Parameters) > 0 {
			return nil, errors.New("spec.parameters and spec.nasConfig are both set: a neural architecture search takes its space from nasConfig alone; remove spec.parameters")
		}
		nas, err := nasOf(spec.NasConfig)
		if err != nil {
			return nil, err
		}
		alg, err := suggest.CheckNAS(spec.Algorithm.AlgorithmName, nas, settings)
		if err != nil {
			return nil, fmt.Errorf("algorithm %s: %w", spec.Algorithm.AlgorithmName, err)
		}
		names, sample = alg.Assignments(), map[string]string{}
		for _, n := range names {
			sample[n] = "[[0]]"
		}
	} else {
		space, err := spaceOf(spec)
		if err != nil {
			return nil, err
		}
		if _, err := suggest.Check(spec.Algorithm.AlgorithmName, space, settings); err != nil {
			return nil, fmt.Errorf("algorithm %s: %w", spec.Algorithm.AlgorithmName, err)
		}
		for _, p := range space {
			names = append(names, p.Name)
		}
		sample = sampleAssignments(space)
	}
	if es := spec.EarlyStopping; es != nil && es.AlgorithmName != "" {
		if es.AlgorithmName != MedianStop {
			return nil, fmt.Errorf("early stopping %q is not served by kfup: use %s, or remove spec.earlyStopping", es.AlgorithmName, MedianStop)
		}
		if _, _, err := medianStopSettings(exp); err != nil {
			return nil, fmt.Errorf("earlyStopping: %w", err)
		}
	}
	switch k := spec.MetricsCollectorSpec.CollectorKind(); k {
	case tuningv1beta1.StdOutCollector, tuningv1beta1.NoneCollector, tuningv1beta1.PushCollector:
	case tuningv1beta1.FileCollector, tuningv1beta1.TfEventCollector:
		if _, err := resolveFileSource(spec.MetricsCollectorSpec); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("metrics collector %s is not served by kfup yet: use StdOut (print name=value lines), File, TensorFlowEvent, Push or None", k)
	}
	if ms := spec.MetricsCollectorSpec; ms != nil && ms.Source != nil && ms.Source.Filter != nil {
		if _, err := engine.CompileFilters(ms.Source.Filter.MetricsFormat); err != nil {
			return nil, err
		}
	}
	tmpl, err := r.template(ctx, exp)
	if err != nil {
		return nil, err
	}
	params := trialParams(spec.TrialTemplate)
	if err := engine.CheckTemplate(tmpl, params, names); err != nil {
		return nil, fmt.Errorf("trialTemplate: %w", err)
	}
	obj, err := engine.Render(tmpl, params, sample, engine.TrialMeta{Name: exp.Name, Namespace: exp.Namespace})
	if err != nil {
		return nil, fmt.Errorf("trialTemplate: %w", err)
	}
	gvk := obj.GroupVersionKind()
	if !slices.Contains(r.kinds, gvk) {
		return nil, fmt.Errorf("trials of kind %s are not served: kfup runs trials as %s", gvk.Kind+"."+gvk.Version+"."+gvk.Group, strings.Join(r.cfg.TrialResources, ", "))
	}
	tt := spec.TrialTemplate
	if err := injectCheckpoint(obj, exp, exp.Name+"-trial", "", tt.PrimaryContainerName, r.cfg.Image); err != nil {
		return nil, fmt.Errorf("trialTemplate: %w", err)
	}
	if err := injectCollector(obj, spec.MetricsCollectorSpec, tt.PrimaryContainerName, r.cfg.Image, spec.Objective.MetricNames()); err != nil {
		return nil, fmt.Errorf("trialTemplate: %w", err)
	}
	if tt.SuccessCondition == "" || tt.FailureCondition == "" {
		if _, _, _, err := engine.DefaultConditions(obj.GetAPIVersion(), obj.GetKind()); err != nil {
			return nil, fmt.Errorf("trialTemplate: %w", err)
		}
	}
	for field, c := range map[string]string{"successCondition": tt.SuccessCondition, "failureCondition": tt.FailureCondition} {
		if c != "" {
			if err := engine.ValidateCondition("trialTemplate."+field, c); err != nil {
				return nil, err
			}
		}
	}
	return tmpl, nil
}

// trialParams are the template's trial parameters in the engine's terms.
func trialParams(tt *tuningv1beta1.TrialTemplate) []engine.TrialParameter {
	out := make([]engine.TrialParameter, 0, len(tt.TrialParameters))
	for _, p := range tt.TrialParameters {
		out = append(out, engine.TrialParameter{Name: p.Name, Reference: p.Reference})
	}
	return out
}

// sampleAssignments gives every parameter a feasible value (to render the template once).
func sampleAssignments(space suggest.Space) map[string]string {
	out := map[string]string{}
	for _, p := range space {
		if p.Numeric() {
			out[p.Name] = p.Format(p.Min)
		} else {
			out[p.Name] = p.List[0]
		}
	}
	return out
}

// template is the trial template's source: trialSpec, or the config map's entry.
func (r *ExperimentReconciler) template(ctx context.Context, exp *tuningv1beta1.Experiment) ([]byte, error) {
	tt := exp.Spec.TrialTemplate
	if tt.TrialSpec != nil {
		return json.Marshal(tt.TrialSpec.Object)
	}
	cm := tt.ConfigMap
	if cm == nil {
		return nil, errors.New("trialTemplate: set trialSpec or configMap")
	}
	ns := cm.ConfigMapNamespace
	if ns == "" {
		ns = exp.Namespace
	}
	m := &corev1.ConfigMap{}
	if err := r.reader.Get(ctx, types.NamespacedName{Namespace: ns, Name: cm.ConfigMapName}, m); err != nil {
		return nil, fmt.Errorf("trialTemplate.configMap %s/%s: %w", ns, cm.ConfigMapName, err)
	}
	s, ok := m.Data[cm.TemplatePath]
	if !ok {
		return nil, fmt.Errorf("trialTemplate.configMap %s/%s has no key %q", ns, cm.ConfigMapName, cm.TemplatePath)
	}
	return yaml.YAMLToJSON([]byte(s))
}

// trials lists the experiment's own trials, oldest first.
func (r *ExperimentReconciler) trials(ctx context.Context, exp *tuningv1beta1.Experiment) ([]*tuningv1beta1.Trial, error) {
	list := &tuningv1beta1.TrialList{}
	if err := r.client.List(ctx, list, client.InNamespace(exp.Namespace), client.MatchingLabels{tuningv1beta1.LabelExperimentName: exp.Name}); err != nil {
		return nil, err
	}
	var out []*tuningv1beta1.Trial
	for i := range list.Items {
		if metav1.IsControlledBy(&list.Items[i], exp) {
			out = append(out, &list.Items[i])
		}
	}
	slices.SortFunc(out, func(a, b *tuningv1beta1.Trial) int {
		if c := a.CreationTimestamp.Compare(b.CreationTimestamp.Time); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out, nil
}

// suggestion gets, or creates, the experiment's Suggestion (same name).
func (r *ExperimentReconciler) suggestion(ctx context.Context, exp *tuningv1beta1.Experiment) (*tuningv1beta1.Suggestion, error) {
	sug := &tuningv1beta1.Suggestion{}
	err := r.client.Get(ctx, client.ObjectKeyFromObject(exp), sug)
	if err == nil {
		if !metav1.IsControlledBy(sug, exp) {
			return nil, fmt.Errorf("suggestion %s/%s exists and is not experiment %s's: delete it or rename the experiment", sug.Namespace, sug.Name, exp.Name)
		}
		return sug, nil
	}
	if !apierrors.IsNotFound(err) {
		return nil, err
	}
	if completed(exp) {
		return nil, nil
	}
	sug = &tuningv1beta1.Suggestion{
		ObjectMeta: metav1.ObjectMeta{Name: exp.Name, Namespace: exp.Namespace, Labels: map[string]string{
			tuningv1beta1.LabelExperimentName: exp.Name, apihost.LabelAPI: APIName,
		}},
		Spec: tuningv1beta1.SuggestionSpec{Algorithm: exp.Spec.Algorithm.DeepCopy(), EarlyStopping: exp.Spec.EarlyStopping.DeepCopy(), ResumePolicy: exp.Spec.ResumePolicy},
	}
	if err := controllerutil.SetControllerReference(exp, sug, r.client.Scheme()); err != nil {
		return nil, err
	}
	if err := r.client.Create(ctx, sug); err != nil {
		return nil, err
	}
	return sug, nil
}

// reconcileTrials asks for as many suggestions as may run and turns new ones into Trials.
func (r *ExperimentReconciler) reconcileTrials(ctx context.Context, exp *tuningv1beta1.Experiment, sug *tuningv1beta1.Suggestion, trials []*tuningv1beta1.Trial, tmpl []byte) error {
	st := &exp.Status
	parallel := ptr.Deref(exp.Spec.ParallelTrialCount, tuningv1beta1.DefaultTrialParallelCount)
	active := st.TrialsPending + st.TrialsRunning
	done := st.TrialsSucceeded + st.TrialsFailed + st.TrialsKilled + st.TrialsEarlyStopped + st.TrialMetricsUnavailable
	want := parallel
	if exp.Spec.MaxTrialCount != nil {
		want = min(parallel, *exp.Spec.MaxTrialCount-done)
	}
	add := want - active
	if add <= 0 {
		return nil
	}
	if requests := int32(len(trials)) + add; sug.Spec.Requests < requests {
		patch := client.MergeFrom(sug.DeepCopy())
		sug.Spec.Requests = requests
		if err := r.client.Patch(ctx, sug, patch); err != nil {
			return err
		}
	}
	have := map[string]bool{}
	for _, t := range trials {
		have[t.Name] = true
	}
	for _, a := range sug.Status.Suggestions {
		if add == 0 {
			break
		}
		if have[a.Name] {
			continue
		}
		t, err := r.newTrial(exp, tmpl, a)
		if err != nil {
			return err
		}
		if err := r.client.Create(ctx, t); err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
		add--
	}
	return nil
}

// newTrial is the Trial of one suggestion: its run rendered from the template.
func (r *ExperimentReconciler) newTrial(exp *tuningv1beta1.Experiment, tmpl []byte, a tuningv1beta1.TrialAssignment) (*tuningv1beta1.Trial, error) {
	tt := exp.Spec.TrialTemplate
	assign := map[string]string{}
	for _, p := range a.ParameterAssignments {
		assign[p.Name] = p.Value
	}
	run, err := engine.Render(tmpl, trialParams(tt), assign, engine.TrialMeta{Name: a.Name, Namespace: exp.Namespace})
	if err != nil {
		return nil, fmt.Errorf("render trial %s: %w", a.Name, err)
	}
	success, failure := tt.SuccessCondition, tt.FailureCondition
	primary := tt.PrimaryPodLabels
	if ds, df, dl, err := engine.DefaultConditions(run.GetAPIVersion(), run.GetKind()); err == nil {
		if success == "" {
			success = ds
		}
		if failure == "" {
			failure = df
		}
		if primary == nil {
			primary = dl
		}
	}
	labels := map[string]string{}
	for k, v := range a.Labels {
		labels[k] = v
	}
	labels[tuningv1beta1.LabelExperimentName] = exp.Name
	labels[apihost.LabelAPI] = APIName
	obj := exp.Spec.Objective.DeepCopy()
	for _, n := range obj.MetricNames() {
		if !slices.ContainsFunc(obj.MetricStrategies, func(s tuningv1beta1.MetricStrategy) bool { return s.Name == n }) {
			obj.MetricStrategies = append(obj.MetricStrategies, tuningv1beta1.MetricStrategy{Name: n, Value: tuningv1beta1.MetricStrategyType(strategyOf(obj, n))})
		}
	}
	mc := tuningv1beta1.MetricsCollectorSpec{Collector: &tuningv1beta1.CollectorSpec{Kind: exp.Spec.MetricsCollectorSpec.CollectorKind()}}
	if exp.Spec.MetricsCollectorSpec != nil {
		mc = *exp.Spec.MetricsCollectorSpec.DeepCopy()
		if mc.Collector == nil {
			mc.Collector = &tuningv1beta1.CollectorSpec{Kind: tuningv1beta1.StdOutCollector}
		}
	}
	t := &tuningv1beta1.Trial{
		ObjectMeta: metav1.ObjectMeta{Name: a.Name, Namespace: exp.Namespace, Labels: labels},
		Spec: tuningv1beta1.TrialSpec{
			Objective:            obj,
			ParameterAssignments: a.ParameterAssignments,
			EarlyStoppingRules:   a.EarlyStoppingRules,
			RunSpec:              run,
			RetainRun:            tt.Retain,
			MetricsCollector:     mc,
			PrimaryPodLabels:     primary,
			PrimaryContainerName: tt.PrimaryContainerName,
			SuccessCondition:     success,
			FailureCondition:     failure,
			Labels:               a.Labels,
		},
	}
	return t, controllerutil.SetControllerReference(exp, t, r.client.Scheme())
}

// finish kills the trials still active and, for resumePolicy Never, ends the suggestion.
func (r *ExperimentReconciler) finish(ctx context.Context, exp *tuningv1beta1.Experiment, sug *tuningv1beta1.Suggestion, trials []*tuningv1beta1.Trial, now metav1.Time) error {
	reason := ""
	for _, c := range exp.Status.Conditions {
		if (c.Type == tuningv1beta1.ExperimentSucceeded || c.Type == tuningv1beta1.ExperimentFailed) && c.Status == corev1.ConditionTrue {
			reason = c.Reason
		}
	}
	for _, t := range trials {
		if trialDone(t) {
			continue
		}
		before := t.Status.DeepCopy()
		setTrialCond(t, tuningv1beta1.TrialKilled, TrialKilledReason, "the experiment ended ("+reason+")", now)
		clearTrialCond(t, tuningv1beta1.TrialRunning, now)
		t.Status.CompletionTime = &now
		if !equality.Semantic.DeepEqual(before, &t.Status) {
			if err := r.client.Status().Update(ctx, t); err != nil {
				return err
			}
		}
	}
	if sug != nil && (exp.Spec.ResumePolicy == "" || exp.Spec.ResumePolicy == tuningv1beta1.NeverResume) && !suggestionCond(sug, tuningv1beta1.SuggestionSucceeded) && !suggestionCond(sug, tuningv1beta1.SuggestionFailed) {
		setSugCond(sug, tuningv1beta1.SuggestionSucceeded, SuggestionSucceededReason, "the experiment ended and its resumePolicy is Never: it cannot be restarted", now)
		clearSugCond(sug, tuningv1beta1.SuggestionRunning, now)
		sug.Status.CompletionTime = &now
		if err := r.client.Status().Update(ctx, sug); err != nil {
			return err
		}
	}
	return nil
}

func (r *ExperimentReconciler) writeStatus(ctx context.Context, exp *tuningv1beta1.Experiment, before *tuningv1beta1.ExperimentStatus) error {
	if equality.Semantic.DeepEqual(before, &exp.Status) {
		return nil
	}
	now := metav1.Now()
	exp.Status.LastReconcileTime = &now
	return r.client.Status().Update(ctx, exp)
}

// summarize computes the trial counters, lists and the current optimal trial as upstream;
// it reports whether the best trial reached the goal.
func summarize(exp *tuningv1beta1.Experiment, trials []*tuningv1beta1.Trial) bool {
	st := &exp.Status
	st.Trials = 0
	st.RunningTrialList, st.PendingTrialList, st.FailedTrialList, st.SucceededTrialList = nil, nil, nil, nil
	st.KilledTrialList, st.EarlyStoppedTrialList, st.MetricsUnavailableTrialList = nil, nil, nil
	var best *tuningv1beta1.Trial
	var bestValue float64
	maximize := exp.Spec.Objective != nil && exp.Spec.Objective.Type == tuningv1beta1.ObjectiveTypeMaximize
	for _, t := range trials {
		st.Trials++
		switch {
		case trialKilled(t):
			st.KilledTrialList = append(st.KilledTrialList, t.Name)
		case trialFailed(t):
			st.FailedTrialList = append(st.FailedTrialList, t.Name)
		case trialSucceeded(t):
			st.SucceededTrialList = append(st.SucceededTrialList, t.Name)
		case trialEarlyStopped(t):
			st.EarlyStoppedTrialList = append(st.EarlyStoppedTrialList, t.Name)
		case trialRunning(t):
			st.RunningTrialList = append(st.RunningTrialList, t.Name)
		case trialMetricsUnavailable(t):
			st.MetricsUnavailableTrialList = append(st.MetricsUnavailableTrialList, t.Name)
		default:
			st.PendingTrialList = append(st.PendingTrialList, t.Name)
		}
		v, ok := objectiveValue(t)
		if !ok {
			continue
		}
		if best == nil || (maximize && v > bestValue) || (!maximize && v < bestValue) {
			best, bestValue = t, v
		}
	}
	st.TrialsRunning = int32(len(st.RunningTrialList))
	st.TrialsPending = int32(len(st.PendingTrialList))
	st.TrialsSucceeded = int32(len(st.SucceededTrialList))
	st.TrialsFailed = int32(len(st.FailedTrialList))
	st.TrialsKilled = int32(len(st.KilledTrialList))
	st.TrialsEarlyStopped = int32(len(st.EarlyStoppedTrialList))
	st.TrialMetricsUnavailable = int32(len(st.MetricsUnavailableTrialList))
	if best == nil {
		return false
	}
	st.CurrentOptimalTrial = tuningv1beta1.OptimalTrial{
		BestTrialName:        best.Name,
		ParameterAssignments: append([]tuningv1beta1.ParameterAssignment{}, best.Spec.ParameterAssignments...),
		Observation:          *best.Status.Observation.DeepCopy(),
	}
	g := exp.Spec.Objective.Goal
	return g != nil && ((maximize && bestValue >= *g) || (!maximize && bestValue <= *g))
}

func completedCount(st *tuningv1beta1.ExperimentStatus) int32 {
	return st.TrialsSucceeded + st.TrialsFailed + st.TrialsKilled + st.TrialsEarlyStopped + st.TrialMetricsUnavailable
}

// decide ends the experiment as upstream does: goal, max failed trials, max trials, the
// algorithm's end with no trial active; else it is running.
func decide(exp *tuningv1beta1.Experiment, goal, suggestionEnd bool, now metav1.Time) {
	st := &exp.Status
	failed := st.TrialsFailed + st.TrialMetricsUnavailable
	active := st.TrialsPending + st.TrialsRunning
	end := func(typ tuningv1beta1.ExperimentConditionType, reason, msg string) {
		setExpCond(exp, typ, reason, msg, now)
		clearExpCond(exp, tuningv1beta1.ExperimentRunning, now)
		clearExpCond(exp, tuningv1beta1.ExperimentRestarting, now)
		st.CompletionTime = &now
	}
	switch {
	case goal:
		end(tuningv1beta1.ExperimentSucceeded, tuningv1beta1.ExperimentGoalReachedReason, "Experiment has succeeded because Objective goal has reached")
	case exp.Spec.MaxFailedTrialCount != nil && failed != 0 && failed >= *exp.Spec.MaxFailedTrialCount:
		end(tuningv1beta1.ExperimentFailed, tuningv1beta1.ExperimentFailedReason, "Experiment has failed because max failed count has reached")
	case exp.Spec.MaxTrialCount != nil && completedCount(st) >= *exp.Spec.MaxTrialCount:
		end(tuningv1beta1.ExperimentSucceeded, tuningv1beta1.ExperimentMaxTrialsReachedReason, "Experiment has succeeded because max trial count has reached")
	case suggestionEnd && active == 0:
		end(tuningv1beta1.ExperimentSucceeded, tuningv1beta1.ExperimentSuggestionEndReachedReason, "Experiment has succeeded because suggestion service has reached the end")
	default:
		setExpCond(exp, tuningv1beta1.ExperimentRunning, tuningv1beta1.ExperimentRunningReason, "Experiment is running", now)
		clearExpCond(exp, tuningv1beta1.ExperimentRestarting, now)
	}
}

func completed(exp *tuningv1beta1.Experiment) bool {
	return expCondTrue(exp, tuningv1beta1.ExperimentSucceeded) || expCondTrue(exp, tuningv1beta1.ExperimentFailed)
}

func restartable(exp *tuningv1beta1.Experiment) bool {
	c := expCondition(exp, tuningv1beta1.ExperimentSucceeded)
	return c != nil && c.Status == corev1.ConditionTrue && c.Reason == tuningv1beta1.ExperimentMaxTrialsReachedReason &&
		(exp.Spec.ResumePolicy == tuningv1beta1.LongRunning || exp.Spec.ResumePolicy == tuningv1beta1.FromVolume)
}
