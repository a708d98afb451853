package suggest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
)

func init() { register("grid", func() Algorithm { return grid{} }) }

// grid is Katib's "grid": every combination of the parameters' values (the Cartesian
// product of Param.Values), each tried once. Without random_state it walks the product in
// order, the first parameter slowest; with random_state it walks a fixed shuffle of it (as
// upstream's Optuna GridSampler picks among the untried points at random).
type grid struct{}

// Settings lists grid's one setting, upstream's random_state.
func (grid) Settings() []Setting {
	return []Setting{{Name: "random_state", Help: "when set (a whole number ≥ 0), try the grid points in an order shuffled by this seed; unset, in order"}}
}

// Validate refuses a parameter without a finite set of values and a grid larger than
// MaxGridPoints.
func (grid) Validate(space Space, settings map[string]string) error {
	if _, _, err := Seed(settings); err != nil {
		return err
	}
	_, err := gridValues(space)
	return err
}

// gridValues lists each parameter's values, refusing what grid cannot enumerate.
func gridValues(space Space) ([][]string, error) {
	values := make([][]string, len(space))
	total := 1
	for i, p := range space {
		v, ok := p.Values()
		if !ok {
			if p.Kind == Double && p.Step <= 0 {
				return nil, fmt.Errorf("parameter %q: grid needs a finite set of values, and a double without a step has infinitely many; add feasibleSpace.step", p.Name)
			}
			return nil, fmt.Errorf("parameter %q: more than %d grid points; use a larger feasibleSpace.step or a narrower range", p.Name, MaxGridPoints)
		}
		values[i] = v
		total *= len(v)
		if total > MaxGridPoints {
			return nil, fmt.Errorf("grid: the parameters have more than %d combinations; use larger steps, fewer values or another algorithm (random, sobol, tpe)", MaxGridPoints)
		}
	}
	return values, nil
}

// Suggest returns the next req.Count untried grid points; ErrExhausted when every point has
// a trial.
func (grid) Suggest(req Request) ([]Suggestion, error) {
	seed, shuffled, err := Seed(req.Settings)
	if err != nil {
		return nil, err
	}
	values, err := gridValues(req.Space)
	if err != nil {
		return nil, err
	}
	total := 1
	index := make([]map[string]int, len(values))
	for i, v := range values {
		total *= len(v)
		index[i] = make(map[string]int, len(v))
		for j, s := range v {
			index[i][s] = j
		}
	}
	tried := map[int]bool{}
	for _, t := range req.Trials {
		if n, ok := gridPoint(req.Space, values, index, t.Assignments); ok {
			tried[n] = true
		}
	}
	var order []int
	if shuffled {
		order = rand.New(rand.NewPCG(seed, 0x6772696400000000)).Perm(total)
	}
	var out []Suggestion
	for k := 0; k < total && len(out) < req.Count; k++ {
		n := k
		if order != nil {
			n = order[k]
		}
		if tried[n] {
			continue
		}
		asg := make(map[string]string, len(values))
		rest := n
		for i := len(values) - 1; i >= 0; i-- {
			asg[req.Space[i].Name] = values[i][rest%len(values[i])]
			rest /= len(values[i])
		}
		out = append(out, Suggestion{Assignments: asg})
	}
	if len(out) == 0 && req.Count > 0 {
		return nil, ErrExhausted
	}
	return out, nil
}

// gridPoint is the position in the product of a trial's assignments (ok false when one of
// them is not a grid value, as after a change of the space).
func gridPoint(space Space, values [][]string, index []map[string]int, asg map[string]string) (int, bool) {
	n := 0
	for i, p := range space {
		s, ok := asg[p.Name]
		if !ok {
			return 0, false
		}
		j, ok := index[i][s]
		if !ok {
			j, ok = gridIndexOf(p, index[i], s)
			if !ok {
				return 0, false
			}
		}
		n = n*len(values[i]) + j
	}
	return n, true
}

// gridIndexOf finds a value written differently from the grid's spelling ("1.0" for "1",
// "0.30000000000000004" for "0.3").
func gridIndexOf(p Param, index map[string]int, s string) (int, bool) {
	if !p.Numeric() {
		j := p.Index(strings.TrimSpace(s))
		return j, j >= 0
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.Abs(p.Snap(f)-f) > 1e-9*math.Max(1, math.Abs(f)) {
		return 0, false // not a grid point
	}
	j, ok := index[p.Format(f)]
	return j, ok
}
