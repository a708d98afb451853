package suggest

import (
	"math"
	"math/rand/v2"
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

// TestTPEParzenMatchesOptuna checks the estimators against Optuna 3.1's _ParzenEstimator
// (consider_prior, prior_weight 1, consider_magic_clip, no consider_endpoints,
// default_weights) built from the same observations: the want values are what Optuna
// computed for each case — kernel centres, bandwidths (neighbour gaps, the outermost
// looking inwards, magic clip, the prior's the whole range), weights (the ramp past 25
// observations) and log_pdf (the score, see parzen.logPDF) at a few points.
func TestTPEParzenMatchesOptuna(t *testing.T) {
	ln := math.Log
	obsB := make([]float64, 30)
	for i := range obsB {
		obsB[i] = float64(i*7919%97) / 97
	}
	for _, tc := range []struct {
		name     string
		space    Space
		obs      [][]float64 // one row per observation, in the axes' space
		multi    bool
		sd       [][]float64 // want: per dimension, the observations' then the prior's
		w        []float64   // want, when not all equal
		at       [][]float64
		wantLogP []float64
	}{
		{
			name:  "double, 6 observations",
			space: Space{{Name: "x", Kind: Double, Min: -5, Max: 10}},
			obs:   [][]float64{{-0.3}, {4.1}, {-4.9}, {7.25}, {2.0}, {3.5}},
			sd:    [][]float64{{4.6, 3.15, 4.6, 3.15, 2.3, 1.875, 15}},
			at:    [][]float64{{-5}, {-1}, {0.5}, {3}, {9.9}},
			wantLogP: []float64{-1.2533714353969365, -1.0893428693358391, -0.9918607856054917,
				-0.8723243521042547, -1.615081416139303},
		},
		{
			name:  "double, 30 observations: old ones ramp down, bandwidths clipped",
			space: Space{{Name: "x", Kind: Double, Min: 0, Max: 1}},
			obs:   rowsOfValues(obsB),
			w: []float64{0.0011661807580174927, 0.009620991253644314, 0.018075801749271137,
				0.026530612244897955, 0.034985422740524776},
			at:       [][]float64{{0}, {0.2}, {0.55}, {0.999}},
			wantLogP: []float64{-2.946639375617535, -2.612492764615295, -2.5073483124575953, -2.955664757128277},
		},
		{
			name:  "double with a step: masses of the grid cells",
			space: Space{{Name: "x", Kind: Double, Min: 0, Max: 1, Step: 0.25}},
			obs:   [][]float64{{0.25}, {0.75}, {0.75}, {1}},
			sd:    [][]float64{{0.25, 0.25, 0.25, 0.25, 1.25}},
			at:    [][]float64{{0}, {0.25}, {0.5}, {0.75}, {1}},
			wantLogP: []float64{-2.376615177837335, -1.8932577731946099, -1.5390191620304046,
				-1.2452520935740068, -1.37004562735818},
		},
		{
			name:     "log int: log space from log(min−½) to log(max+½)",
			space:    Space{{Name: "x", Kind: Int, Min: 1, Max: 10000, Distribution: LogUniform}},
			obs:      [][]float64{{ln(3)}, {ln(100)}, {ln(120)}, {ln(5000)}},
			sd:       [][]float64{{3.1600093064150294, 1.650589591881028, 3.7297014486341906, 3.7297014486341906, 9.903537551286169}},
			at:       [][]float64{{0}, {ln(10)}, {ln(100)}, {ln(9999)}},
			wantLogP: []float64{-1.0470198016768673, -0.7917204519692242, -0.6377812880409706, -0.9763162847684598},
		},
		{
			name:     "categorical",
			space:    Space{{Name: "c", Kind: Categorical, List: []string{"a", "b", "c", "d"}}},
			obs:      [][]float64{{1}, {1}, {3}},
			at:       [][]float64{{0}, {1}, {2}, {3}},
			wantLogP: []float64{-1.856297990365626, -0.9007865453381898, -1.856297990365626, -1.2685113254635072},
		},
		{
			name: "multivariate: Scott's rule, clipped",
			space: Space{
				{Name: "x", Kind: Double, Min: 0, Max: 1},
				{Name: "y", Kind: Double, Min: 1e-3, Max: 1, Distribution: LogUniform},
			},
			obs:      [][]float64{{0.1, ln(0.01)}, {0.5, ln(0.2)}, {0.52, ln(0.3)}},
			multi:    true,
			sd:       [][]float64{{0.2, 0.2, 0.2, 1}, {1.3815510557964275, 1.3815510557964275, 1.3815510557964275, 6.907755278982137}},
			at:       [][]float64{{0.1, ln(0.01)}, {0.5, ln(0.25)}, {0.9, ln(0.001)}},
			wantLogP: []float64{-1.1765193393107676, -1.03705852802964, -1.5092905154151395},
		},
		{
			name:     "no observations: the prior alone",
			space:    Space{{Name: "x", Kind: Double, Min: -5, Max: 10}},
			at:       [][]float64{{-5}, {2.5}, {10}},
			wantLogP: []float64{-0.08402219950905043, 0.04097780049094957, -0.08402219950905043},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			axes := axesOf(tc.space)
			dims := make([]int, len(axes))
			for i := range dims {
				dims[i] = i
			}
			pz := newParzen(axes, dims, tc.obs, tc.multi)
			close := func(got, want float64) bool { return math.Abs(got-want) <= 1e-9*math.Max(1, math.Abs(want)) }
			for j, want := range tc.sd {
				for k, w := range want {
					if !close(pz.sd[j][k], w) {
						t.Errorf("dimension %d: sigmas %v, want %v", j, pz.sd[j], want)
						break
					}
				}
			}
			for k, want := range tc.w {
				if got := math.Exp(pz.logW[k]); !close(got, want) {
					t.Errorf("weight %d = %v, want %v", k, got, want)
				}
			}
			scratch := make([]float64, len(pz.logW))
			for i, x := range tc.at {
				if got := pz.logPDF(x, scratch); !close(got, tc.wantLogP[i]) {
					t.Errorf("logPDF(%v) = %.15g, want %.15g", x, got, tc.wantLogP[i])
				}
			}
		})
	}
}

func rowsOfValues(xs []float64) [][]float64 {
	out := make([][]float64, len(xs))
	for i, x := range xs {
		out[i] = []float64{x}
	}
	return out
}

// TestTPESplit checks Optuna's default gamma, min(⌈0.1·n⌉, 25) good trials, the best
// completed ones first, then early-stopped ones when too few completed, each group in
// trial order.
func TestTPESplit(t *testing.T) {
	obs := func(scores ...float64) []tpeObs {
		out := make([]tpeObs, len(scores))
		for i, s := range scores {
			out[i] = tpeObs{order: i, score: s}
		}
		return out
	}
	orders := func(os []tpeObs) []int {
		var out []int
		for _, o := range os {
			out = append(out, o.order)
		}
		return out
	}
	many := func(n int) []tpeObs {
		s := make([]float64, n)
		for i := range s {
			s[i] = float64(n - i) // the newest is best
		}
		return obs(s...)
	}
	for _, tc := range []struct {
		n, below int
	}{{1, 1}, {10, 1}, {11, 2}, {100, 10}, {249, 25}, {400, 25}} {
		below, above := tpeSplit(many(tc.n), nil)
		if len(below) != tc.below || len(above) != tc.n-tc.below {
			t.Errorf("%d trials: %d good, %d bad; want %d good", tc.n, len(below), len(above), tc.below)
		}
		if !slices.IsSorted(orders(below)) || !slices.IsSorted(orders(above)) {
			t.Errorf("%d trials: groups not in trial order", tc.n)
		}
		if len(below) > 0 && below[len(below)-1].order != tc.n-1 {
			t.Errorf("%d trials: the best trial is not in the good group", tc.n)
		}
	}
	complete := obs(5, 1, 3, 4, 2, 6, 7, 8, 9, 10, 11)                // orders 0…10
	pruned := []tpeObs{{order: 11, score: -5}, {order: 12, score: 0}} // better, but stopped
	below, above := tpeSplit(complete, pruned)
	if got := orders(below); !slices.Equal(got, []int{1, 4}) {
		t.Errorf("good group %v, want the two best completed trials [1 4]", got)
	}
	if len(above) != 11 {
		t.Errorf("%d bad trials, want 11", len(above))
	}
	below, _ = tpeSplit(obs(3), []tpeObs{{order: 1, score: 1}, {order: 2, score: 2}, {order: 3, score: 0}, {order: 4, score: 9}, {order: 5, score: 9}, {order: 6, score: 9}, {order: 7, score: 9}, {order: 8, score: 9}, {order: 9, score: 9}, {order: 10, score: 9}})
	if got := orders(below); !slices.Equal(got, []int{0, 3}) {
		t.Errorf("good group %v, want the completed trial, then the best stopped one [0 3]", got)
	}
}

// TestTPESampleFollowsMixture checks that candidates come from l as the mixture it is
// (kernels by weight, each a normal truncated to the bounds): the empirical distribution
// function of many draws against the mixture's.
func TestTPESampleFollowsMixture(t *testing.T) {
	axes := axesOf(Space{{Name: "x", Kind: Double, Min: -5, Max: 10}})
	pz := newParzen(axes, []int{0}, [][]float64{{-0.3}, {4.1}, {-4.9}, {7.25}, {2.0}, {3.5}}, false)
	cdf := func(x float64) float64 {
		var p float64
		for k := range pz.logW {
			mu, sd := pz.mu[0][k], pz.sd[0][k]
			lo, z := normCDF((axes[0].lo-mu)/sd), normCDF((x-mu)/sd)
			p += math.Exp(pz.logW[k]) * (z - lo) / math.Exp(pz.logZ[0][k])
		}
		return p
	}
	r := rand.New(rand.NewPCG(3, 4))
	const draws = 20000
	xs := make([]float64, draws)
	for i := range xs {
		xs[i] = pz.sample(r)[0]
		if xs[i] < -5 || xs[i] > 10 {
			t.Fatalf("draw %v outside the bounds", xs[i])
		}
	}
	slices.Sort(xs)
	worst := 0.0
	for i, x := range xs {
		worst = math.Max(worst, math.Abs(float64(i+1)/draws-cdf(x)))
	}
	if worst > 0.015 { // ≈ 2× the Kolmogorov–Smirnov 1% critical value for 20000 draws
		t.Errorf("largest gap between the draws' and the mixture's distribution functions: %.4f", worst)
	}
}
