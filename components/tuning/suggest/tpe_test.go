package suggest

import (
	"math"
	"slices"
	"strconv"
	"testing"
)

// quadSpace is the space quadratic is defined on.
var quadSpace = Space{
	{Name: "lr", Kind: Double, Min: 1e-6, Max: 1, Distribution: LogUniform},
	{Name: "momentum", Kind: Double, Min: 0, Max: 1},
	{Name: "layers", Kind: Int, Min: 1, Max: 16},
	{Name: "optimizer", Kind: Categorical, List: []string{"sgd", "adam", "rmsprop", "adagrad"}},
}

func best(trials []Trial) float64 {
	b := math.Inf(1)
	for _, t := range trials {
		b = math.Min(b, *t.Value)
	}
	return b
}

func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	return (s[(len(s)-1)/2] + s[len(s)/2]) / 2
}

// TestTPEBeatsRandom runs each algorithm for 50 evaluations of quadratic from 20 seeds:
// the model's median best must be clearly below random search's.
func TestTPEBeatsRandom(t *testing.T) {
	medians := map[string]float64{}
	for _, name := range []string{"random", "tpe", "multivariate-tpe"} {
		var bests []float64
		for seed := range 20 {
			trials := run(t, name, quadSpace, map[string]string{"random_state": strconv.Itoa(seed)}, Minimize, 50, quadratic)
			bests = append(bests, best(trials))
		}
		medians[name] = median(bests)
	}
	t.Logf("median best after 50 evaluations: %v", medians)
	for _, name := range []string{"tpe", "multivariate-tpe"} {
		if medians[name] > 0.7*medians["random"] {
			t.Errorf("%s: median best %.3g, not clearly better than random's %.3g", name, medians[name], medians["random"])
		}
	}
}

// TestTPEMaximize checks the goal's direction: maximizing −quadratic finds what minimizing
// quadratic does, and maximizing quadratic itself does not.
func TestTPEMaximize(t *testing.T) {
	neg := func(a map[string]string) float64 { return -quadratic(a) }
	var up, down []float64
	for seed := range 5 {
		s := map[string]string{"random_state": strconv.Itoa(seed)}
		up = append(up, -bestMax(run(t, "tpe", quadSpace, s, Maximize, 40, neg)))
		down = append(down, -bestMax(run(t, "tpe", quadSpace, s, Maximize, 40, quadratic)))
	}
	if median(up) > 1 {
		t.Errorf("maximizing −quadratic: median best quadratic %.3g, want < 1", median(up))
	}
	if median(down) > -10 {
		t.Errorf("maximizing quadratic: median best %.3g, want a large value", -median(down))
	}
}

func bestMax(trials []Trial) float64 {
	b := math.Inf(-1)
	for _, t := range trials {
		b = math.Max(b, *t.Value)
	}
	return b
}

// TestTPEStartupAndIgnored checks what counts as an observation: until n_startup_trials
// trials finished with a value the draws are random; failed and valueless trials never
// count, though they look best.
func TestTPEStartupAndIgnored(t *testing.T) {
	space := Space{{Name: "x", Kind: Double, Min: 0, Max: 1}}
	a, _ := Lookup("tpe")
	v := func(f float64) *float64 { return &f }
	var trials []Trial
	// Nine observations on the right, one short of the startup: better the further left.
	for i := range 9 {
		x := strconv.FormatFloat(0.4+0.07*float64(i), 'f', -1, 64)
		trials = append(trials, Trial{Name: "o" + strconv.Itoa(i), Assignments: map[string]string{"x": x}, Value: v(float64(i)), Done: true})
	}
	// Failed trials with a value and finished trials without one, around 0.95.
	for i := range 20 {
		x := strconv.FormatFloat(0.9+0.004*float64(i), 'f', -1, 64)
		trials = append(trials,
			Trial{Name: "f" + strconv.Itoa(i), Assignments: map[string]string{"x": x}, Value: v(-100), Done: true, Failed: true},
			Trial{Name: "n" + strconv.Itoa(i), Assignments: map[string]string{"x": x}, Done: true})
	}
	left := func() int {
		n := 0
		for seed := range 40 {
			got, err := a.Suggest(Request{Space: space, Settings: map[string]string{"random_state": strconv.Itoa(seed)}, Trials: trials, Count: 1})
			if err != nil {
				t.Fatal(err)
			}
			if x, _ := strconv.ParseFloat(got[0].Assignments["x"], 64); x < 0.35 {
				n++
			}
		}
		return n
	}
	// Random draws fall left of 0.35 about 14 times in 40.
	if n := left(); n < 6 || n > 24 {
		t.Errorf("before the startup trials finished, %d of 40 suggestions fell left of 0.35; random draws would give about 14", n)
	}
	// The tenth observation, the best, starts the model: suggestions move left.
	trials = append(trials, Trial{Name: "o9", Assignments: map[string]string{"x": "0.2"}, Value: v(-1), Done: true})
	if n := left(); n < 32 {
		t.Errorf("with 10 observations only %d of 40 suggestions fell left of 0.35, near the best", n)
	}
}

// TestTPEParallelSpread checks the constant liar: a batch from one call spreads out
// instead of repeating the model's favourite.
func TestTPEParallelSpread(t *testing.T) {
	for _, name := range []string{"tpe", "multivariate-tpe"} {
		trials := run(t, "random", quadSpace, map[string]string{"random_state": "3"}, Minimize, 30, quadratic)
		a, _ := Lookup(name)
		got, err := a.Suggest(Request{Space: quadSpace, Settings: map[string]string{"random_state": "1"}, Trials: trials, Count: 6})
		if err != nil {
			t.Fatal(err)
		}
		checkSuggestions(t, quadSpace, got)
		momenta := map[string]bool{}
		for _, s := range got {
			momenta[s.Assignments["momentum"]] = true
		}
		if len(momenta) != 6 {
			t.Errorf("%s: 6 parallel suggestions share momentum values: %v", name, got)
		}
	}
}

// TestTPEDiscreteModels checks the discretized axes: with a clear best value of a stepped,
// an int and a categorical parameter, the model suggests it most of the time.
func TestTPEDiscreteModels(t *testing.T) {
	space := Space{
		{Name: "s", Kind: Double, Min: 0, Max: 1, Step: 0.25},
		{Name: "i", Kind: Int, Min: 10, Max: 20},
		{Name: "c", Kind: Categorical, List: []string{"a", "b", "c", "d", "e"}},
		{Name: "u", Kind: Int, Min: 1, Max: 10000, Distribution: LogUniform},
	}
	f := func(a map[string]string) float64 {
		s, _ := strconv.ParseFloat(a["s"], 64)
		i, _ := strconv.ParseFloat(a["i"], 64)
		u, _ := strconv.ParseFloat(a["u"], 64)
		v := 4*math.Abs(s-0.75) + math.Abs(i-13) + math.Abs(math.Log10(u)-2)
		if a["c"] != "d" {
			v += 2
		}
		return v
	}
	for _, name := range []string{"tpe", "multivariate-tpe"} {
		trials := run(t, name, space, map[string]string{"random_state": "5"}, Minimize, 60, f)
		checkSuggestions(t, space, suggestionsOf(trials))
		hits := map[string]int{}
		for _, tr := range trials[40:] {
			for k, v := range map[string]string{"s": "0.75", "c": "d"} {
				if tr.Assignments[k] == v {
					hits[k]++
				}
			}
			if i, _ := strconv.Atoi(tr.Assignments["i"]); i >= 12 && i <= 14 {
				hits["i"]++ // within one of the best
			}
		}
		for _, k := range []string{"s", "i", "c"} {
			if hits[k] < 8 {
				t.Errorf("%s: of the last 20 suggestions only %d took the best %s", name, hits[k], k)
			}
		}
		if b := best(trials); b > 1.5 {
			t.Errorf("%s: best %.3g after 60 evaluations", name, b)
		}
	}
}

func suggestionsOf(trials []Trial) []Suggestion {
	var out []Suggestion
	for _, t := range trials {
		out = append(out, Suggestion{Assignments: t.Assignments})
	}
	return out
}

func TestTPEWeights(t *testing.T) {
	for _, tc := range []struct {
		n     int
		first float64
	}{{0, 0}, {1, 1}, {25, 1}, {26, 1.0 / 26}, {100, 0.01}} {
		w := tpeWeights(tc.n)
		if len(w) != tc.n {
			t.Fatalf("tpeWeights(%d) has %d weights", tc.n, len(w))
		}
		if tc.n == 0 {
			continue
		}
		if math.Abs(w[0]-tc.first) > 1e-12 || w[tc.n-1] != 1 {
			t.Errorf("tpeWeights(%d) = %v…%v, want %v…1", tc.n, w[0], w[tc.n-1], tc.first)
		}
		for i := 1; i < tc.n; i++ {
			if w[i] < w[i-1] {
				t.Fatalf("tpeWeights(%d) falls at %d", tc.n, i)
			}
		}
	}
}

// benchTrials is a history of n finished trials over six parameters.
func benchTrials(n int) (Space, []Trial) {
	space := append(Space{}, quadSpace...)
	space = append(space,
		Param{Name: "dropout", Kind: Double, Min: 0, Max: 0.5, Step: 0.05},
		Param{Name: "batch", Kind: Discrete, List: []string{"16", "32", "64", "128"}})
	a, _ := Lookup("random")
	var trials []Trial
	for i := range n {
		got, _ := a.Suggest(Request{Space: space, Settings: map[string]string{"random_state": "9"}, Trials: trials, Count: 1})
		v := quadratic(got[0].Assignments)
		trials = append(trials, Trial{Name: "t" + strconv.Itoa(i), Assignments: got[0].Assignments, Value: &v, Done: true})
	}
	return space, trials
}

// BenchmarkTPESuggest100 times one suggestion from 100 observations of six parameters.
func BenchmarkTPESuggest100(b *testing.B) {
	for _, name := range []string{"tpe", "multivariate-tpe"} {
		b.Run(name, func(b *testing.B) {
			space, trials := benchTrials(100)
			a, _ := Lookup(name)
			req := Request{Space: space, Settings: map[string]string{"random_state": "1"}, Trials: trials, Count: 1}
			b.ResetTimer()
			for b.Loop() {
				if _, err := a.Suggest(req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
