package controller

import (
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	tuningv1beta1 "github.com/kfup/kfup/components/tuning/api/v1beta1"
	"github.com/kfup/kfup/components/tuning/engine"
	"github.com/kfup/kfup/components/tuning/suggest"
)

// spaceOf is the experiment's search space in the algorithms' terms.
func spaceOf(spec *tuningv1beta1.ExperimentSpec) (suggest.Space, error) {
	out, err := paramsOf(spec.Parameters)
	if err != nil {
		return nil, err
	}
	return out, out.Validate()
}

func paramsOf(params []tuningv1beta1.ParameterSpec) (suggest.Space, error) {
	var out suggest.Space
	for _, p := range params {
		fs := p.FeasibleSpace
		sp := suggest.Param{Name: p.Name, Kind: suggest.Kind(p.ParameterType), List: fs.List,
			Distribution: suggest.Distribution(fs.Distribution)}
		if sp.Kind == suggest.Double || sp.Kind == suggest.Int {
			var err error
			if sp.Min, err = number(p.Name, "min", fs.Min); err != nil {
				return nil, err
			}
			if sp.Max, err = number(p.Name, "max", fs.Max); err != nil {
				return nil, err
			}
			if fs.Step != "" {
				if sp.Step, err = number(p.Name, "step", fs.Step); err != nil {
					return nil, err
				}
				if sp.Step == 0 {
					return nil, fmt.Errorf("parameter %q: step 0: use a positive step, or none", p.Name)
				}
			}
		}
		out = append(out, sp)
	}
	return out, nil
}

// nasOf is the experiment's neural architecture search space in the algorithms' terms.
func nasOf(nc *tuningv1beta1.NasConfig) (suggest.NAS, error) {
	g := nc.GraphConfig
	out := suggest.NAS{NumLayers: int(ptr.Deref(g.NumLayers, 0))}
	for _, s := range g.InputSizes {
		out.InputSizes = append(out.InputSizes, int(s))
	}
	for _, s := range g.OutputSizes {
		out.OutputSizes = append(out.OutputSizes, int(s))
	}
	for i, op := range nc.Operations {
		params, err := paramsOf(op.Parameters)
		if err != nil {
			return out, fmt.Errorf("nasConfig.operations[%d] (%s): %w", i, op.OperationType, err)
		}
		out.Operations = append(out.Operations, suggest.Operation{Type: op.OperationType, Params: params})
	}
	return out, nil
}

func number(param, field, s string) (float64, error) {
	if s == "" {
		return 0, fmt.Errorf("parameter %q: feasibleSpace.%s is missing", param, field)
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return 0, fmt.Errorf("parameter %q: feasibleSpace.%s %q is not a number", param, field, s)
	}
	return f, nil
}

// algorithmSettings is an algorithm's settings as a map; a name given twice is an error.
func algorithmSettings(settings []tuningv1beta1.AlgorithmSetting) (map[string]string, error) {
	out := make(map[string]string, len(settings))
	for _, s := range settings {
		if _, dup := out[s.Name]; dup {
			return nil, fmt.Errorf("algorithmSettings %q is given twice: keep one", s.Name)
		}
		out[s.Name] = s.Value
	}
	return out, nil
}

func earlyStoppingSettings(settings []tuningv1beta1.EarlyStoppingSetting) (map[string]string, error) {
	as := make([]tuningv1beta1.AlgorithmSetting, len(settings))
	for i, s := range settings {
		as[i] = tuningv1beta1.AlgorithmSetting{Name: s.Name, Value: s.Value}
	}
	return algorithmSettings(as)
}

// goalOf is the objective's direction.
func goalOf(o *tuningv1beta1.ObjectiveSpec) suggest.Goal {
	if o != nil && o.Type == tuningv1beta1.ObjectiveTypeMaximize {
		return suggest.Maximize
	}
	return suggest.Minimize
}

// strategyOf is the metric's strategy: the one given, else Katib's default (max when
// maximizing, min when minimizing, for every metric).
func strategyOf(o *tuningv1beta1.ObjectiveSpec, metric string) engine.Strategy {
	for _, s := range o.MetricStrategies {
		if s.Name == metric && s.Value != "" {
			return engine.Strategy(s.Value)
		}
	}
	if o.Type == tuningv1beta1.ObjectiveTypeMaximize {
		return engine.StrategyMax
	}
	return engine.StrategyMin
}

// objectiveValue is a trial's objective value per its strategy; false when it has none.
func objectiveValue(t *tuningv1beta1.Trial) (float64, bool) {
	o := t.Spec.Objective
	if o == nil || t.Status.Observation == nil {
		return 0, false
	}
	ms := make([]engine.Metric, len(t.Status.Observation.Metrics))
	for i, m := range t.Status.Observation.Metrics {
		ms[i] = engine.Metric{Name: m.Name, Min: m.Min, Max: m.Max, Latest: m.Latest}
	}
	return engine.ObjectiveValue(ms, o.ObjectiveMetricName, strategyOf(o, o.ObjectiveMetricName))
}

// Trial states, as upstream reads a trial's conditions.
func trialCond(t *tuningv1beta1.Trial, typ tuningv1beta1.TrialConditionType) bool {
	for _, c := range t.Status.Conditions {
		if c.Type == typ {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func trialKilled(t *tuningv1beta1.Trial) bool { return trialCond(t, tuningv1beta1.TrialKilled) }
func trialFailed(t *tuningv1beta1.Trial) bool { return trialCond(t, tuningv1beta1.TrialFailed) }
func trialSucceeded(t *tuningv1beta1.Trial) bool {
	return trialCond(t, tuningv1beta1.TrialSucceeded)
}
func trialEarlyStopped(t *tuningv1beta1.Trial) bool {
	return trialCond(t, tuningv1beta1.TrialEarlyStopped)
}
func trialMetricsUnavailable(t *tuningv1beta1.Trial) bool {
	return trialCond(t, tuningv1beta1.TrialMetricsUnavailable)
}
func trialRunning(t *tuningv1beta1.Trial) bool { return trialCond(t, tuningv1beta1.TrialRunning) }

// trialDone says the trial ended, one way or another.
func trialDone(t *tuningv1beta1.Trial) bool {
	return trialKilled(t) || trialFailed(t) || trialSucceeded(t) || trialEarlyStopped(t) || trialMetricsUnavailable(t)
}

// historyOf is the algorithms' view of the trials, in the order of the suggestions.
func historyOf(sug *tuningv1beta1.Suggestion, trials map[string]*tuningv1beta1.Trial) []suggest.Trial {
	out := make([]suggest.Trial, 0, len(sug.Status.Suggestions))
	for _, a := range sug.Status.Suggestions {
		h := suggest.Trial{Name: a.Name, Assignments: map[string]string{}, Labels: a.Labels}
		for _, p := range a.ParameterAssignments {
			h.Assignments[p.Name] = p.Value
		}
		if t, ok := trials[a.Name]; ok {
			if v, ok := objectiveValue(t); ok {
				h.Value = &v
			}
			h.Done = trialDone(t)
			h.Failed = trialFailed(t) || trialMetricsUnavailable(t) || (trialKilled(t) && h.Value == nil)
			h.EarlyStopped = trialEarlyStopped(t)
		}
		out = append(out, h)
	}
	return out
}
