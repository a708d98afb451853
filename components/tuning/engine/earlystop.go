package engine

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// The median stopping rule's settings and their defaults, as in Katib's medianstop
// service.
const (
	// SettingMinTrialsRequired names the number of succeeded trials needed before any rule is made.
	SettingMinTrialsRequired = "min_trials_required"
	// SettingStartStep names the number of reports of the objective a rule waits for.
	SettingStartStep = "start_step"
	// DefaultMinTrialsRequired is min_trials_required when unset.
	DefaultMinTrialsRequired = 3
	// DefaultStartStep is start_step when unset.
	DefaultStartStep = 4
)

// ObjectiveType says whether the objective metric is to be maximized or minimized; the
// values are Katib's spec.objective.type.
type ObjectiveType string

const (
	// Maximize means larger objective values are better.
	Maximize ObjectiveType = "maximize"
	// Minimize means smaller objective values are better.
	Minimize ObjectiveType = "minimize"
)

// Comparison is how an early stopping rule compares a metric with its value; the values
// are Katib's EarlyStoppingRule comparison types.
type Comparison string

const (
	// Equal holds when the metric equals the rule's value.
	Equal Comparison = "equal"
	// Less holds when the metric is less than the rule's value.
	Less Comparison = "less"
	// Greater holds when the metric is greater than the rule's value.
	Greater Comparison = "greater"
)

// Rule is one early stopping rule, Katib's EarlyStoppingRule: the trial meets it when
// metric Name compares to Value as Comparison says, checked when the metric's
// StartStep-th report arrives (at every report when StartStep is 0). Value is a string
// as in Katib's Trial.spec.earlyStoppingRules.
type Rule struct {
	Name       string
	Value      string
	Comparison Comparison
	StartStep  int
}

// MedianStopSettings are the median stopping rule's settings after defaulting.
type MedianStopSettings struct {
	MinTrialsRequired int
	StartStep         int
}

// ParseMedianStopSettings validates the experiment's earlyStopping.algorithmSettings
// (name to value) for medianstop and fills the defaults. As Katib's medianstop service,
// it accepts only min_trials_required, an integer > 0, and start_step, an integer >= 1.
func ParseMedianStopSettings(settings map[string]string) (MedianStopSettings, error) {
	s := MedianStopSettings{MinTrialsRequired: DefaultMinTrialsRequired, StartStep: DefaultStartStep}
	for name, value := range settings {
		n, err := strconv.Atoi(strings.TrimSpace(value))
		switch name {
		case SettingMinTrialsRequired:
			if err != nil || n < 1 {
				return s, fmt.Errorf("medianstop setting %s=%q: want an integer greater than zero, e.g. %q", name, value, strconv.Itoa(DefaultMinTrialsRequired))
			}
			s.MinTrialsRequired = n
		case SettingStartStep:
			if err != nil || n < 1 {
				return s, fmt.Errorf("medianstop setting %s=%q: want an integer of at least one, e.g. %q", name, value, strconv.Itoa(DefaultStartStep))
			}
			s.StartStep = n
		default:
			return s, fmt.Errorf("medianstop has no setting %q: the settings are %s and %s", name, SettingMinTrialsRequired, SettingStartStep)
		}
	}
	return s, nil
}

// MedianStop computes the median stopping rule as Katib's medianstop service does.
// completed holds, for each succeeded trial, its objective metric's observations in the
// order reported. For each trial it averages the numeric values of the first
// settings.StartStep numeric reports (all of them when there are fewer; a trial with none
// is skipped, where Katib would fail on the non-number). Once at least settings.MinTrialsRequired trials have an average it
// returns one rule on objective whose value is the arithmetic mean of those averages;
// note that Katib calls this the median but computes the mean, and this function keeps
// Katib's arithmetic so experiments behave the same. The comparison is Less for
// Maximize and Greater for Minimize, and the rule waits for StartStep reports. It
// returns no rule while too few trials have succeeded.
func MedianStop(settings MedianStopSettings, objective string, objectiveType ObjectiveType, completed [][]Observation) ([]Rule, error) {
	var cmp Comparison
	switch objectiveType {
	case Maximize:
		cmp = Less
	case Minimize:
		cmp = Greater
	default:
		return nil, fmt.Errorf("objective type %q: want %s or %s", objectiveType, Maximize, Minimize)
	}
	if settings.MinTrialsRequired < 1 || settings.StartStep < 1 {
		return nil, fmt.Errorf("medianstop settings %+v: use ParseMedianStopSettings to get valid ones", settings)
	}
	var sum float64
	var trials int
	for _, series := range completed {
		var total float64
		var n int
		for _, o := range series {
			if n == settings.StartStep {
				break
			}
			if v, ok := o.Float(); ok && o.Name == objective {
				total += v
				n++
			}
		}
		if n == 0 {
			continue
		}
		sum += total / float64(n)
		trials++
	}
	if trials < settings.MinTrialsRequired {
		return nil, nil
	}
	return []Rule{{
		Name:       objective,
		Value:      strconv.FormatFloat(sum/float64(trials), 'g', -1, 64),
		Comparison: cmp,
		StartStep:  settings.StartStep,
	}}, nil
}

// ShouldStop reports whether a running trial whose observations (in the order
// reported) are given meets all rules, so it is to be early stopped. It replays Katib's
// metrics collector: for each report of a rule's metric, the value compared is the
// report itself, except for the objective metric, where it is the best value reported
// so far (largest for Maximize, smallest for Minimize); a rule with StartStep n is
// checked only at the metric's n-th report, one with StartStep 0 at every report; a rule
// once met stays met. Non-numeric reports (such as "unavailable") neither count nor
// compare. With no rules it returns false.
func ShouldStop(rules []Rule, observations []Observation, objective string, objectiveType ObjectiveType) (bool, error) {
	if len(rules) == 0 {
		return false, nil
	}
	if objectiveType != Maximize && objectiveType != Minimize {
		return false, fmt.Errorf("objective type %q: want %s or %s", objectiveType, Maximize, Minimize)
	}
	limits := make([]float64, len(rules))
	for i, r := range rules {
		v, err := strconv.ParseFloat(strings.TrimSpace(r.Value), 64)
		if err != nil || math.IsNaN(v) {
			return false, fmt.Errorf("early stopping rule on %s: value %q is not a number", r.Name, r.Value)
		}
		if r.Comparison != Equal && r.Comparison != Less && r.Comparison != Greater {
			return false, fmt.Errorf("early stopping rule on %s: comparison %q: want %s, %s or %s", r.Name, r.Comparison, Equal, Less, Greater)
		}
		if r.StartStep < 0 {
			return false, fmt.Errorf("early stopping rule on %s: start step %d is negative", r.Name, r.StartStep)
		}
		limits[i] = v
	}
	met := make([]bool, len(rules))
	reports := map[string]int{}
	best, haveBest := 0.0, false
	for _, o := range observations {
		v, ok := o.Float()
		if !ok {
			continue
		}
		reports[o.Name]++
		if o.Name == objective {
			if !haveBest || (objectiveType == Maximize && v > best) || (objectiveType == Minimize && v < best) {
				best, haveBest = v, true
			}
			v = best
		}
		for i, r := range rules {
			if met[i] || r.Name != o.Name || (r.StartStep != 0 && reports[o.Name] != r.StartStep) {
				continue
			}
			switch r.Comparison {
			case Equal:
				met[i] = v == limits[i]
			case Less:
				met[i] = v < limits[i]
			case Greater:
				met[i] = v > limits[i]
			}
		}
	}
	for _, m := range met {
		if !m {
			return false, nil
		}
	}
	return true, nil
}
