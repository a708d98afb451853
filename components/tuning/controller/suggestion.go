package controller

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"hash/fnv"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	tuningv1beta1 "github.com/kfup/kfup/components/tuning/api/v1beta1"
	"github.com/kfup/kfup/components/tuning/suggest"
)

// SuggestionReconciler runs each Suggestion's search algorithm in the manager: when the
// experiment requests more than the suggestions so far, it asks the algorithm for the
// rest, given every trial so far.
type SuggestionReconciler struct {
	cfg    Config
	client client.Client
}

// Name is "suggestion-controller".
func (r *SuggestionReconciler) Name() string { return "suggestion-controller" }

// SetupWithManager watches Suggestions, and Trials (an algorithm waiting for a
// generation to finish asks again when one ends).
func (r *SuggestionReconciler) SetupWithManager(mgr manager.Manager) error {
	r.client = mgr.GetClient()
	return ctrl.NewControllerManagedBy(mgr).
		Named(r.Name()).
		For(&tuningv1beta1.Suggestion{}).
		Watches(&tuningv1beta1.Trial{}, handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
			if exp := o.GetLabels()[tuningv1beta1.LabelExperimentName]; exp != "" {
				return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: o.GetNamespace(), Name: exp}}}
			}
			return nil
		})).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(r.cfg.Workers, 1), SkipNameValidation: ptr.To(r.cfg.SkipNameValidation)}).
		Complete(r)
}

// Reconcile tops a Suggestion up to its requests.
func (r *SuggestionReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	sug := &tuningv1beta1.Suggestion{}
	if err := r.client.Get(ctx, req.NamespacedName, sug); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !sug.DeletionTimestamp.IsZero() || suggestionCond(sug, tuningv1beta1.SuggestionSucceeded) || suggestionCond(sug, tuningv1beta1.SuggestionFailed) {
		return ctrl.Result{}, nil
	}
	exp := &tuningv1beta1.Experiment{}
	if err := r.client.Get(ctx, req.NamespacedName, exp); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !metav1.IsControlledBy(sug, exp) {
		return ctrl.Result{}, nil
	}
	before := sug.Status.DeepCopy()
	now := metav1.Now()
	if sug.Status.StartTime == nil {
		sug.Status.StartTime = &now
		setSugCond(sug, tuningv1beta1.SuggestionCreated, tuningv1beta1.SuggestionCreatedReason, "Suggestion is created", now)
		setSugCond(sug, tuningv1beta1.SuggestionRunning, tuningv1beta1.SuggestionRunningReason, "kfup's manager runs the "+exp.Spec.Algorithm.AlgorithmName+" algorithm in-process", now)
	}
	if n := int(sug.Spec.Requests) - len(sug.Status.Suggestions); n > 0 {
		if err := r.suggest(ctx, exp, sug, n, now); err != nil {
			setSugCond(sug, tuningv1beta1.SuggestionFailed, tuningv1beta1.SuggestionFailedReason, err.Error(), now)
			clearSugCond(sug, tuningv1beta1.SuggestionRunning, now)
			sug.Status.CompletionTime = &now
		}
	}
	if equality.Semantic.DeepEqual(before, &sug.Status) {
		return ctrl.Result{}, nil
	}
	sug.Status.LastReconcileTime = &now
	return ctrl.Result{}, r.client.Status().Update(ctx, sug)
}

// suggest appends up to n suggestions; an exhausted algorithm ends the Suggestion.
func (r *SuggestionReconciler) suggest(ctx context.Context, exp *tuningv1beta1.Experiment, sug *tuningv1beta1.Suggestion, n int, now metav1.Time) error {
	settings, err := algorithmSettings(sug.Spec.Algorithm.AlgorithmSettings)
	if err != nil {
		return err
	}
	list := &tuningv1beta1.TrialList{}
	if err := r.client.List(ctx, list, client.InNamespace(exp.Namespace), client.MatchingLabels{tuningv1beta1.LabelExperimentName: exp.Name}); err != nil {
		return err
	}
	trials := map[string]*tuningv1beta1.Trial{}
	for i := range list.Items {
		trials[list.Items[i].Name] = &list.Items[i]
	}
	var out []suggest.Suggestion
	var order []string // the assignments' names, in the experiment's order
	exhausted := false
	if exp.Spec.NasConfig != nil {
		if out, order, err = r.suggestNAS(ctx, exp, sug, settings, trials, n); err != nil {
			return err
		}
	} else {
		space, err := spaceOf(&exp.Spec)
		if err != nil {
			return err
		}
		alg, err := suggest.Check(sug.Spec.Algorithm.AlgorithmName, space, settings)
		if err != nil {
			return err
		}
		out, err = alg.Suggest(suggest.Request{Space: space, Goal: goalOf(exp.Spec.Objective), Settings: settings, Trials: historyOf(sug, trials), Count: n})
		exhausted = errors.Is(err, suggest.ErrExhausted)
		if err != nil && !exhausted {
			return fmt.Errorf("%s: %w", sug.Spec.Algorithm.AlgorithmName, err)
		}
		for _, p := range space {
			order = append(order, p.Name)
		}
	}
	rules, err := medianRules(exp, trials)
	if err != nil {
		return fmt.Errorf("early stopping: %w", err)
	}
	for _, s := range out {
		a := tuningv1beta1.TrialAssignment{Name: trialName(exp, len(sug.Status.Suggestions)), Labels: s.Labels, EarlyStoppingRules: rules}
		for _, name := range order {
			if v, ok := s.Assignments[name]; ok {
				a.ParameterAssignments = append(a.ParameterAssignments, tuningv1beta1.ParameterAssignment{Name: name, Value: v})
			}
		}
		sug.Status.Suggestions = append(sug.Status.Suggestions, a)
	}
	sug.Status.SuggestionCount = int32(len(sug.Status.Suggestions))
	if exhausted {
		setSugCond(sug, tuningv1beta1.SuggestionSucceeded, SuggestionEndReachedReason, "the "+sug.Spec.Algorithm.AlgorithmName+" algorithm has nothing more to try", now)
		clearSugCond(sug, tuningv1beta1.SuggestionRunning, now)
		sug.Status.CompletionTime = &now
	}
	return nil
}

// trialName is the i-th trial's name: the experiment's name and 8 characters derived
// from its UID and i (stable across restarts; Katib's are random).
func trialName(exp *tuningv1beta1.Experiment, i int) string {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s/%d", exp.UID, i)
	v := h.Sum64()
	const alphabet = "bcdfghjklmnpqrstvwxz2456789"
	b := make([]byte, 8)
	for j := range b {
		b[j] = alphabet[v%uint64(len(alphabet))]
		v /= uint64(len(alphabet))
	}
	return exp.Name + "-" + string(b)
}

// suggestNAS asks a neural architecture search algorithm for n suggestions, handing it
// the state it left in the Suggestion (status.algorithmState) and keeping the new one
// there, written with the suggestions in one status update: a manager that restarts
// before the update asks again from the same state and history.
func (r *SuggestionReconciler) suggestNAS(ctx context.Context, exp *tuningv1beta1.Experiment, sug *tuningv1beta1.Suggestion, settings map[string]string, trials map[string]*tuningv1beta1.Trial, n int) ([]suggest.Suggestion, []string, error) {
	name := sug.Spec.Algorithm.AlgorithmName
	nas, err := nasOf(exp.Spec.NasConfig)
	if err != nil {
		return nil, nil, err
	}
	alg, err := suggest.CheckNAS(name, nas, settings)
	if err != nil {
		return nil, nil, err
	}
	var state []byte
	if s := sug.Status.AlgorithmState; s != "" {
		if state, err = base64.StdEncoding.DecodeString(s); err != nil {
			return nil, nil, fmt.Errorf("%s: status.algorithmState is not base64: %w", name, err)
		}
	}
	seed := fnv.New64a()
	fmt.Fprintf(seed, "%s/%s", exp.UID, name)
	res, err := alg.Suggest(suggest.NASRequest{NAS: nas, Goal: goalOf(exp.Spec.Objective), Settings: settings,
		Trials: historyOf(sug, trials), Count: n, Seed: seed.Sum64(), State: state})
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	if res.State != nil {
		enc := base64.StdEncoding.EncodeToString(res.State)
		if len(enc) > tuningv1beta1.MaxAlgorithmStateLength {
			return nil, nil, fmt.Errorf("%s: its state is %d bytes, over the Suggestion's %d", name, len(enc), tuningv1beta1.MaxAlgorithmStateLength)
		}
		sug.Status.AlgorithmState = enc
	}
	log := ctrl.LoggerFrom(ctx)
	for _, line := range res.Log {
		log.Info(line, "algorithm", name)
	}
	return res.Suggestions, alg.Assignments(), nil
}
