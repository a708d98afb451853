package suggest

import (
	"math"
	"sort"
	"strconv"
	"testing"
)

func TestUnitRoundTrip(t *testing.T) {
	for _, p := range testSpace {
		for _, u := range []float64{0, 0.13, 0.5, 0.77, 1} {
			s := paramFromUnit(p, u)
			if why := feasible(p, s); why != "" {
				t.Fatalf("%s at %v = %q: %s", p.Name, u, s, why)
			}
			v, err := paramToUnit(p, s)
			if err != nil || v < 0 || v > 1 {
				t.Fatalf("%s: %q maps back to %v, %v", p.Name, s, v, err)
			}
			if again := paramFromUnit(p, v); again != s {
				t.Errorf("%s: %q → %v → %q, want a fixed point", p.Name, s, v, again)
			}
		}
	}
	if _, err := paramToUnit(testSpace[6], "nadam"); err == nil {
		t.Error("an assignment outside the list was accepted")
	}
}

// branin is the Branin–Hoo function on x1 ∈ [-5, 10], x2 ∈ [0, 15]; its minimum is 0.397887.
func branin(a map[string]string) float64 {
	x, _ := strconv.ParseFloat(a["x1"], 64)
	y, _ := strconv.ParseFloat(a["x2"], 64)
	b, c := 5.1/(4*math.Pi*math.Pi), 5/math.Pi
	return math.Pow(y-b*x*x+c*x-6, 2) + 10*(1-1/(8*math.Pi))*math.Cos(x) + 10
}

var braninSpace = Space{
	{Name: "x1", Kind: Double, Min: -5, Max: 10},
	{Name: "x2", Kind: Double, Min: 0, Max: 15},
}

// medianBest runs name for n evaluations per seed and returns the median best value.
func medianBest(t *testing.T, name string, settings map[string]string, seeds, n int) float64 {
	t.Helper()
	var bests []float64
	for s := 0; s < seeds; s++ {
		st := map[string]string{"random_state": strconv.Itoa(s)}
		for k, v := range settings {
			st[k] = v
		}
		best := math.Inf(1)
		for _, tr := range drive(t, name, braninSpace, st, n, branin) {
			best = math.Min(best, *tr.Value)
		}
		bests = append(bests, best)
	}
	sort.Float64s(bests)
	return bests[len(bests)/2]
}

// drive asks the algorithm for one suggestion at a time, finishing each with f, until n
// trials ran.
func drive(t testing.TB, name string, space Space, settings map[string]string, n int, f func(map[string]string) float64) []Trial {
	t.Helper()
	a, err := Check(name, space, settings)
	if err != nil {
		t.Fatal(err)
	}
	var trials []Trial
	for len(trials) < n {
		got, err := a.Suggest(Request{Space: space, Settings: settings, Trials: trials, Count: 1})
		if err != nil || len(got) == 0 {
			t.Fatalf("%s: after %d trials: %d suggestions, %v", name, len(trials), len(got), err)
		}
		for _, s := range got {
			v := f(s.Assignments)
			trials = append(trials, Trial{Name: "t" + strconv.Itoa(len(trials)), Assignments: s.Assignments, Labels: s.Labels, Value: &v, Done: true})
		}
	}
	return trials[:n]
}
