package controller

import (
	"context"
	"errors"
	"strconv"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tuningv1beta1 "github.com/kfup/kfup/components/tuning/api/v1beta1"
	"github.com/kfup/kfup/components/tuning/engine"
)

// MedianStop is the early stopping algorithm kfup serves (Katib's name).
const MedianStop = "medianstop"

// AnnotationStartStepMean records, on a succeeded trial of a median-stopping experiment,
// the mean of its objective's first start_step reports: what the median rule reads of
// completed trials (Katib keeps every report in its database; kfup keeps this one number).
const AnnotationStartStepMean = "tuning.kfup.dev/start-step-mean"

// medianStopSettings returns the experiment's median stopping settings; ok is false when
// it has no early stopping.
func medianStopSettings(exp *tuningv1beta1.Experiment) (engine.MedianStopSettings, bool, error) {
	es := exp.Spec.EarlyStopping
	if es == nil || es.AlgorithmName == "" {
		return engine.MedianStopSettings{}, false, nil
	}
	settings, err := earlyStoppingSettings(es.AlgorithmSettings)
	if err != nil {
		return engine.MedianStopSettings{}, false, err
	}
	s, err := engine.ParseMedianStopSettings(settings)
	return s, err == nil, err
}

// medianRules are the rules a new suggestion gets: the median stopping rule over the
// succeeded trials so far (none while too few have).
func medianRules(exp *tuningv1beta1.Experiment, trials map[string]*tuningv1beta1.Trial) ([]tuningv1beta1.EarlyStoppingRule, error) {
	s, ok, err := medianStopSettings(exp)
	if !ok || err != nil {
		return nil, err
	}
	objective := exp.Spec.Objective.ObjectiveMetricName
	var completed [][]engine.Observation
	for _, t := range trials {
		if !trialSucceeded(t) {
			continue
		}
		if m, ok := t.Annotations[AnnotationStartStepMean]; ok {
			completed = append(completed, []engine.Observation{{Name: objective, Value: m, Step: 1}})
		}
	}
	rules, err := engine.MedianStop(s, objective, engine.ObjectiveType(exp.Spec.Objective.Type), completed)
	if err != nil {
		return nil, err
	}
	var out []tuningv1beta1.EarlyStoppingRule
	for _, r := range rules {
		out = append(out, tuningv1beta1.EarlyStoppingRule{Name: r.Name, Value: r.Value, Comparison: tuningv1beta1.ComparisonType(r.Comparison), StartStep: r.StartStep})
	}
	return out, nil
}

// earlyStop applies the trial's rules to what it reported so far; a trial that meets
// them is EarlyStopped and its run stopped.
func (r *TrialReconciler) earlyStop(ctx context.Context, t *tuningv1beta1.Trial, run *unstructured.Unstructured, now metav1.Time) (bool, error) {
	obs, raw, err := r.observe(ctx, t)
	if errors.As(err, new(badMetrics)) {
		return true, nil // not judged while unreadable; the end of the run says why
	}
	if err != nil {
		return false, err
	}
	var rules []engine.Rule
	for _, rl := range t.Spec.EarlyStoppingRules {
		rules = append(rules, engine.Rule{Name: rl.Name, Value: rl.Value, Comparison: engine.Comparison(rl.Comparison), StartStep: rl.StartStep})
	}
	o := t.Spec.Objective
	stop, err := engine.ShouldStop(rules, raw, o.ObjectiveMetricName, engine.ObjectiveType(o.Type))
	if err != nil {
		r.fail(t, tuningv1beta1.TrialFailedReason, "early stopping: "+err.Error(), now)
		return false, nil
	}
	if !stop {
		return true, nil
	}
	t.Status.Observation = obs
	setTrialCond(t, tuningv1beta1.TrialEarlyStopped, tuningv1beta1.TrialEarlyStoppedReason, "Trial is early stopped: its "+o.ObjectiveMetricName+" is worse than the median rule's "+rules[0].Value, now)
	clearTrialCond(t, tuningv1beta1.TrialRunning, now)
	t.Status.CompletionTime = &now
	return false, r.stopRun(ctx, t, run)
}

// stopRun stops an early-stopped trial's run: a retained batch Job or training job is
// suspended (its pods go, the object stays), anything else deleted.
func (r *TrialReconciler) stopRun(ctx context.Context, t *tuningv1beta1.Trial, run *unstructured.Unstructured) error {
	if t.Spec.RetainRun {
		var patch string
		switch {
		case run.GetKind() == "Job" && run.GroupVersionKind().Group == "batch":
			patch = `{"spec":{"suspend":true}}`
		case run.GroupVersionKind().Group == "kubeflow.org":
			patch = `{"spec":{"runPolicy":{"suspend":true}}}`
		}
		if patch != "" {
			return client.IgnoreNotFound(r.client.Patch(ctx, run, client.RawPatch(types.MergePatchType, []byte(patch))))
		}
	}
	return client.IgnoreNotFound(r.client.Delete(ctx, run, client.PropagationPolicy(metav1.DeletePropagationBackground)))
}

// recordStartStepMean annotates a succeeding trial of a median-stopping experiment with
// the mean of its first start_step objective reports (AnnotationStartStepMean), before
// its status says Succeeded, so the median rule never misses it.
func (r *TrialReconciler) recordStartStepMean(ctx context.Context, t *tuningv1beta1.Trial, raw []engine.Observation) error {
	exp := &tuningv1beta1.Experiment{}
	if err := r.client.Get(ctx, types.NamespacedName{Namespace: t.Namespace, Name: t.Labels[tuningv1beta1.LabelExperimentName]}, exp); err != nil {
		return client.IgnoreNotFound(err)
	}
	s, ok, err := medianStopSettings(exp)
	if !ok || err != nil {
		return nil
	}
	objective := t.Spec.Objective.ObjectiveMetricName
	var total float64
	n := 0
	for _, o := range raw {
		if n == s.StartStep {
			break
		}
		if v, ok := o.Float(); ok && o.Name == objective {
			total += v
			n++
		}
	}
	if n == 0 {
		return nil
	}
	status := t.Status.DeepCopy()
	patch := client.MergeFrom(t.DeepCopy())
	if t.Annotations == nil {
		t.Annotations = map[string]string{}
	}
	t.Annotations[AnnotationStartStepMean] = strconv.FormatFloat(total/float64(n), 'g', -1, 64)
	if err := r.client.Patch(ctx, t, patch); err != nil {
		return err
	}
	t.Status = *status
	return nil
}
