package suggest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
)

// unit.go maps parameters to and from the unit interval [0,1], the space the model-based
// algorithms (bayesianoptimization, cmaes) search in: numeric ranges linearly (in log space
// for log distributions), discrete and categorical lists by index (the centre of each
// value's 1/len slot).

// paramToUnit maps an assignment of p into [0,1].
func paramToUnit(p Param, s string) (float64, error) {
	switch p.Kind {
	case Discrete, Categorical:
		i := p.Index(s)
		if i < 0 {
			return 0, fmt.Errorf("parameter %q: assignment %q is not in feasibleSpace.list", p.Name, s)
		}
		return (float64(i) + 0.5) / float64(len(p.List)), nil
	}
	x, err := p.Number(s)
	if err != nil {
		return 0, err
	}
	lo, hi, v := p.Min, p.Max, x
	if p.Log() && x > 0 {
		lo, hi, v = math.Log(lo), math.Log(hi), math.Log(x)
	}
	if hi <= lo {
		return 0.5, nil
	}
	return math.Max(0, math.Min(1, (v-lo)/(hi-lo))), nil
}

// paramFromUnit maps u in [0,1] (clamped) to a feasible assignment of p.
func paramFromUnit(p Param, u float64) string {
	if math.IsNaN(u) {
		u = 0.5
	}
	u = math.Max(0, math.Min(1, u))
	switch p.Kind {
	case Discrete, Categorical:
		i := int(u * float64(len(p.List)))
		if i >= len(p.List) {
			i = len(p.List) - 1
		}
		return p.List[i]
	}
	if p.Log() {
		return p.Format(math.Exp(math.Log(p.Min) + u*(math.Log(p.Max)-math.Log(p.Min))))
	}
	return p.Format(p.Min + u*(p.Max-p.Min))
}

// unitPoint maps a trial's assignments into the unit cube of the space (ok false when an
// assignment is missing or outside the space: such a trial is left out of the model).
func unitPoint(space Space, a map[string]string) ([]float64, bool) {
	u := make([]float64, len(space))
	for i, p := range space {
		s, ok := a[p.Name]
		if !ok {
			return nil, false
		}
		v, err := paramToUnit(p, s)
		if err != nil {
			return nil, false
		}
		u[i] = v
	}
	return u, true
}

// unitAssign turns a unit point into assignments.
func unitAssign(space Space, u []float64) map[string]string {
	a := make(map[string]string, len(space))
	for i, p := range space {
		a[p.Name] = paramFromUnit(p, u[i])
	}
	return a
}

// unitRandom draws a point uniformly in the unit cube (uniform over each range, log-uniform
// for log distributions, each list value equally likely).
func unitRandom(space Space, rng *rand.Rand) []float64 {
	u := make([]float64, len(space))
	for i := range u {
		u[i] = rng.Float64()
	}
	return u
}

// wholeSetting parses a whole-number setting with a default and a lower bound.
func wholeSetting(settings map[string]string, name string, def, lo int) (int, error) {
	v, ok := settings[name]
	if !ok || v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo {
		return 0, fmt.Errorf("algorithmSettings %s %q: use a whole number ≥ %d", name, v, lo)
	}
	return n, nil
}

// numSetting parses a number setting with a default, checked by ok (which says what is
// expected when it fails).
func numSetting(settings map[string]string, name string, def float64, ok func(float64) bool, want string) (float64, error) {
	v, set := settings[name]
	if !set || v == "" {
		return def, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || !ok(f) {
		return 0, fmt.Errorf("algorithmSettings %s %q: use %s", name, v, want)
	}
	return f, nil
}

// lossOf returns a trial's value as a loss (lower is better), ok false when it has none.
func lossOf(t Trial, goal Goal) (float64, bool) {
	if t.Value == nil || t.Failed || math.IsNaN(*t.Value) || math.IsInf(*t.Value, 0) {
		return 0, false
	}
	if goal == Maximize {
		return -*t.Value, true
	}
	return *t.Value, true
}
