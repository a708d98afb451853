package suggest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
)

// Log reports whether the parameter is searched on a log scale.
func (p Param) Log() bool { return p.Distribution == LogUniform || p.Distribution == LogNormal }

// Numeric reports whether the parameter has a numeric range (Double or Int).
func (p Param) Numeric() bool { return p.Kind == Double || p.Kind == Int }

// Snap maps a number into the parameter's feasible values: clamped to [Min, Max], onto the
// step grid, and rounded for Int.
func (p Param) Snap(x float64) float64 {
	if math.IsNaN(x) {
		x = p.Min
	}
	x = math.Max(p.Min, math.Min(p.Max, x))
	if p.Step > 0 {
		n := math.Round((x - p.Min) / p.Step)
		x = p.Min + n*p.Step
		if x > p.Max+1e-12*math.Max(1, math.Abs(p.Max)) {
			x -= p.Step
		}
		// Keep the decimal places of the step and bounds (0.1 steps give 0.3, not
		// 0.30000000000000004).
		x = roundTo(x, decimals(p.Step, p.Min))
	}
	if p.Kind == Int {
		x = math.Round(x)
		x = math.Max(math.Ceil(p.Min), math.Min(math.Floor(p.Max), x))
	}
	return x
}

// Format writes a number as the parameter's assignment, snapped (ints without a decimal
// point, doubles in their shortest form).
func (p Param) Format(x float64) string {
	x = p.Snap(x)
	if p.Kind == Int {
		return strconv.FormatInt(int64(x), 10)
	}
	return strconv.FormatFloat(x, 'g', -1, 64)
}

// Number parses an assignment of a numeric or discrete parameter.
func (p Param) Number(s string) (float64, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("parameter %q: assignment %q is not a number", p.Name, s)
	}
	return f, nil
}

// Index returns the position of an assignment in a Discrete or Categorical list (-1 if absent).
func (p Param) Index(s string) int {
	for i, v := range p.List {
		if v == s {
			return i
		}
	}
	if p.Kind == Discrete { // "1" matches "1.0"
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			for i, v := range p.List {
				if g, err := strconv.ParseFloat(v, 64); err == nil && g == f {
					return i
				}
			}
		}
	}
	return -1
}

// MaxGridPoints bounds the grid of one parameter (and the grid algorithm's product).
const MaxGridPoints = 100000

// Values lists every feasible value of a parameter with finitely many (Int, a stepped
// Double, Discrete, Categorical); ok is false for a continuous Double or a grid larger
// than MaxGridPoints.
func (p Param) Values() (values []string, ok bool) {
	switch p.Kind {
	case Discrete, Categorical:
		return append([]string(nil), p.List...), true
	case Int, Double:
		step := p.Step
		if step <= 0 {
			if p.Kind == Double {
				if p.Min == p.Max {
					return []string{p.Format(p.Min)}, true
				}
				return nil, false
			}
			step = 1
		}
		n := math.Floor((p.Max-p.Min)/step+1e-9) + 1
		if n > MaxGridPoints {
			return nil, false
		}
		for i := 0; i < int(n); i++ {
			values = append(values, p.Format(p.Min+float64(i)*step))
		}
		return values, true
	}
	return nil, false
}

// Seed returns the random_state setting (ok false when it is not set).
func Seed(settings map[string]string) (seed uint64, ok bool, err error) {
	v, ok := settings["random_state"]
	if !ok || v == "" {
		return 0, false, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, false, fmt.Errorf("algorithmSettings random_state %q: use a whole number ≥ 0", v)
	}
	return uint64(n), true, nil
}

// RNG is the random source of one Suggest call: seeded by random_state (or the trial names,
// so a history without random_state still gives the same answer), the number of trials so
// far and a per-algorithm salt. Same history, same suggestions.
func RNG(req Request, salt string) *rand.Rand {
	seed, ok, _ := Seed(req.Settings)
	h := fnv64(salt)
	if !ok {
		for _, t := range req.Trials {
			h = h*1099511628211 ^ fnv64(t.Name)
		}
	}
	return rand.New(rand.NewPCG(seed^h, uint64(len(req.Trials))+0x9e3779b97f4a7c15))
}

func fnv64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

func decimals(fs ...float64) int {
	best := 0
	for _, f := range fs {
		s := strconv.FormatFloat(math.Abs(f), 'f', -1, 64)
		for i := 0; i < len(s); i++ {
			if s[i] == '.' {
				if d := len(s) - i - 1; d > best {
					best = d
				}
			}
		}
	}
	if best > 15 {
		best = 15
	}
	return best
}

func roundTo(x float64, d int) float64 {
	s := strconv.FormatFloat(x, 'f', d, 64)
	f, _ := strconv.ParseFloat(s, 64)
	return f
}
