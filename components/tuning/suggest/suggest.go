// Package suggest holds kfup's search algorithms for Katib Experiments: pure Go, run inside
// the manager (no suggestion Deployment, no database). An algorithm is a function of the
// search space, its algorithmSettings and the trials so far (in creation order): it keeps
// no state of its own between calls, so the manager can restart, an Experiment can resume,
// and the same history and random_state always give the same suggestions. The neural
// architecture search algorithms (NASAlgorithm: enas, darts) take the nasConfig instead
// of a parameter space; enas's controller is returned to the caller as NASResult.State
// and handed back in the next request, which the manager keeps in the Suggestion.
//
// Names and algorithmSettings keys are upstream Katib's (v0.19).
package suggest

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Kind is a parameter's type: Katib's parameterType.
type Kind string

// Katib's parameter types.
const (
	Double      Kind = "double"
	Int         Kind = "int"
	Discrete    Kind = "discrete"
	Categorical Kind = "categorical"
)

// Distribution is a parameter's prior: Katib's feasibleSpace.distribution.
type Distribution string

// Katib's distributions; the empty one is Uniform.
const (
	Uniform    Distribution = "uniform"
	LogUniform Distribution = "logUniform"
	Normal     Distribution = "normal"
	LogNormal  Distribution = "logNormal"
)

// Param is one parameter of the search space, parsed from the Experiment.
type Param struct {
	Name string
	Kind Kind
	// Min and Max bound Double and Int parameters (inclusive).
	Min, Max float64
	// Step, when > 0, makes a Double or Int parameter a grid Min, Min+Step, … ≤ Max.
	Step float64
	// List holds the values of Discrete (numbers) and Categorical parameters.
	List []string
	// Distribution is the prior of Double and Int parameters ("" = Uniform).
	Distribution Distribution
}

// Space is the search space, in the Experiment's parameter order.
type Space []Param

// Goal says which way the objective is better.
type Goal int

// The two objective types.
const (
	Minimize Goal = iota
	Maximize
)

// Trial is one trial so far, as the algorithm sees it.
type Trial struct {
	Name string
	// Assignments are the parameter values the trial ran with (Katib's strings).
	Assignments map[string]string
	// Labels are those the algorithm put on the trial's suggestion.
	Labels map[string]string
	// Value is the objective metric's value the trial reported (per the metric strategy);
	// nil while it runs or when it reported none.
	Value *float64
	// Done is true once the trial ended (succeeded, failed, early stopped, killed).
	Done bool
	// Failed is true for a trial that failed or reported no objective metric.
	Failed bool
	// EarlyStopped is true for a trial the early stopping rule stopped (Value is its last).
	EarlyStopped bool
}

// Request asks an algorithm for Count new suggestions.
type Request struct {
	Space    Space
	Goal     Goal
	Settings map[string]string
	// Trials are every trial so far, oldest first (the Suggestion's order).
	Trials []Trial
	Count  int
}

// Suggestion is one new parameter assignment.
type Suggestion struct {
	Assignments map[string]string
	// Labels go onto the trial and come back in Trial.Labels (algorithms that keep
	// bookkeeping per trial: hyperband's bracket, pbt's generation and parent).
	Labels map[string]string
}

// Setting is one algorithmSettings key an algorithm accepts.
type Setting struct {
	Name    string
	Default string
	Help    string
}

// Algorithm is one search algorithm.
type Algorithm interface {
	// Settings lists every algorithmSettings key the algorithm accepts.
	Settings() []Setting
	// Validate checks the space and settings (unknown keys are already refused by
	// ValidateSettings); it answers in the user's terms: which parameter or setting is
	// wrong, and how to fix it.
	Validate(space Space, settings map[string]string) error
	// Suggest returns up to req.Count suggestions. Fewer (or none, with ErrExhausted)
	// mean the algorithm has nothing more to try; none with a nil error means it waits
	// for running trials to finish first.
	Suggest(req Request) ([]Suggestion, error)
}

// ErrExhausted says the algorithm has nothing more to suggest (a grid fully tried, the
// last hyperband bracket done): the Experiment ends with ExperimentSuggestionEndReached.
var ErrExhausted = errors.New("the search space is exhausted")

// ErrUnknown is the error of Lookup for a name kfup has no algorithm for.
var ErrUnknown = errors.New("unknown algorithm")

var algorithms = map[string]func() Algorithm{}

// register adds an algorithm under its upstream name (each algorithm's file calls it).
func register(name string, f func() Algorithm) {
	if _, dup := algorithms[name]; dup {
		panic("suggest: algorithm " + name + " registered twice")
	}
	algorithms[name] = f
}

// Names lists the algorithms kfup has, sorted.
func Names() []string {
	out := make([]string, 0, len(algorithms))
	for n := range algorithms {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Lookup returns the named algorithm; for an unknown name the error names the ones kfup has.
func Lookup(name string) (Algorithm, error) {
	f, ok := algorithms[name]
	if !ok && IsNAS(name) {
		return nil, fmt.Errorf("%s is a neural architecture search algorithm: give its search space in spec.nasConfig, not spec.parameters", name)
	}
	if !ok {
		return nil, fmt.Errorf("%w %q: kfup has %s", ErrUnknown, name, strings.Join(Names(), ", "))
	}
	return f(), nil
}

// ValidateSettings refuses settings keys the algorithm does not accept, naming those it does.
func ValidateSettings(a interface{ Settings() []Setting }, settings map[string]string) error {
	var valid []string
	for _, s := range a.Settings() {
		valid = append(valid, s.Name)
	}
	var unknown []string
	for k := range settings {
		if !slices.Contains(valid, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	sort.Strings(unknown)
	if len(valid) == 0 {
		return fmt.Errorf("unknown algorithmSettings %s: this algorithm takes no settings; remove them", strings.Join(unknown, ", "))
	}
	return fmt.Errorf("unknown algorithmSettings %s: valid settings are %s", strings.Join(unknown, ", "), strings.Join(valid, ", "))
}

// Check validates a request's algorithm name, settings and space the way the manager does
// before anything is created: the space itself, unknown settings, then the algorithm's own
// checks.
func Check(name string, space Space, settings map[string]string) (Algorithm, error) {
	a, err := Lookup(name)
	if err != nil {
		return nil, err
	}
	if err := space.Validate(); err != nil {
		return nil, err
	}
	if err := ValidateSettings(a, settings); err != nil {
		return nil, err
	}
	if err := a.Validate(space, settings); err != nil {
		return nil, err
	}
	return a, nil
}

// Validate checks the space: names unique, min ≤ max, a step no larger than the range, lists
// not empty, discrete values numbers, log distributions on positive ranges.
func (s Space) Validate() error {
	if len(s) == 0 {
		return errors.New("parameters: the search space is empty; add at least one parameter")
	}
	seen := map[string]bool{}
	for _, p := range s {
		if p.Name == "" {
			return errors.New("parameters: a parameter has no name")
		}
		if seen[p.Name] {
			return fmt.Errorf("parameter %q is defined twice; give each parameter its own name", p.Name)
		}
		seen[p.Name] = true
		if err := p.Validate(); err != nil {
			return err
		}
	}
	return nil
}

// Validate checks one parameter.
func (p Param) Validate() error {
	switch p.Kind {
	case Double, Int:
		if math.IsNaN(p.Min) || math.IsNaN(p.Max) || math.IsInf(p.Min, 0) || math.IsInf(p.Max, 0) {
			return fmt.Errorf("parameter %q: min and max must be finite numbers", p.Name)
		}
		if p.Min > p.Max {
			return fmt.Errorf("parameter %q: min %s is greater than max %s; swap them", p.Name, fmtNum(p.Min), fmtNum(p.Max))
		}
		if p.Kind == Int && (p.Min != math.Trunc(p.Min) || p.Max != math.Trunc(p.Max)) {
			return fmt.Errorf("parameter %q: an int parameter needs whole min and max", p.Name)
		}
		if p.Step < 0 {
			return fmt.Errorf("parameter %q: step %s is negative; use a positive step", p.Name, fmtNum(p.Step))
		}
		if p.Step > 0 && p.Step > p.Max-p.Min && p.Max > p.Min {
			return fmt.Errorf("parameter %q: step %s is larger than the range %s..%s; use a step ≤ %s", p.Name,
				fmtNum(p.Step), fmtNum(p.Min), fmtNum(p.Max), fmtNum(p.Max-p.Min))
		}
		if p.Kind == Int && p.Step > 0 && p.Step != math.Trunc(p.Step) {
			return fmt.Errorf("parameter %q: an int parameter needs a whole step", p.Name)
		}
		switch p.Distribution {
		case "", Uniform, Normal:
		case LogUniform, LogNormal:
			if p.Min <= 0 {
				return fmt.Errorf("parameter %q: distribution %s needs min > 0 (got %s)", p.Name, p.Distribution, fmtNum(p.Min))
			}
		default:
			return fmt.Errorf("parameter %q: unknown distribution %q: use uniform, logUniform, normal or logNormal", p.Name, p.Distribution)
		}
	case Discrete, Categorical:
		if len(p.List) == 0 {
			return fmt.Errorf("parameter %q: feasibleSpace.list is empty; list the values to try", p.Name)
		}
		seen := map[string]bool{}
		for _, v := range p.List {
			if seen[v] {
				return fmt.Errorf("parameter %q: value %q is listed twice", p.Name, v)
			}
			seen[v] = true
			if p.Kind == Discrete {
				if _, err := strconv.ParseFloat(v, 64); err != nil {
					return fmt.Errorf("parameter %q: discrete value %q is not a number; use categorical for names", p.Name, v)
				}
			}
		}
	default:
		return fmt.Errorf("parameter %q: unknown parameterType %q: use double, int, discrete or categorical", p.Name, p.Kind)
	}
	return nil
}

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
