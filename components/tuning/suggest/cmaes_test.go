package suggest

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"
)

// cmaesTestSpace has every kind of parameter cmaes takes: linear and log doubles, a
// stepped double, a normal prior (searched as its range), ints linear and log, a fixed one.
var cmaesTestSpace = Space{
	{Name: "lr", Kind: Double, Min: 1e-5, Max: 1e-1, Distribution: LogUniform},
	{Name: "momentum", Kind: Double, Min: 0.5, Max: 0.99},
	{Name: "dropout", Kind: Double, Min: 0.1, Max: 0.5, Step: 0.1},
	{Name: "layers", Kind: Int, Min: 1, Max: 8},
	{Name: "units", Kind: Int, Min: 16, Max: 1024, Distribution: LogUniform},
	{Name: "wd", Kind: Double, Min: 0, Max: 1, Distribution: Normal},
	{Name: "fixed", Kind: Double, Min: 3, Max: 3},
}

// cmaesSim plays an experiment of total trials with parallel slots: each call asks for the
// free slots, then one running trial (picked by finish, the oldest when nil) ends with
// f's value (failed when f says so). It checks each answer against what was asked and
// the generation rules, calls check (when set) after each call, and returns the trials.
func cmaesSim(t *testing.T, space Space, settings map[string]string, parallel, total int,
	f func(map[string]string) (float64, bool), finish *rand.Rand, check func(trials []Trial, got []Suggestion)) []Trial {
	t.Helper()
	a, err := Check("cmaes", space, settings)
	if err != nil {
		t.Fatal(err)
	}
	var trials []Trial
	for step := 0; len(trials) < total || slices.ContainsFunc(trials, func(tr Trial) bool { return !tr.Done }); step++ {
		if step > 100*total {
			t.Fatal("the experiment did not end")
		}
		var running []int
		for i, tr := range trials {
			if !tr.Done {
				running = append(running, i)
			}
		}
		count := min(parallel-len(running), total-len(trials))
		got, err := a.Suggest(Request{Space: space, Settings: settings, Trials: trials, Count: count})
		if err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		if len(got) > max(count, 0) {
			t.Fatalf("step %d: %d suggestions, asked for %d", step, len(got), count)
		}
		if len(got) == 0 && count > 0 && len(running) == 0 {
			t.Fatalf("step %d: no suggestion and nothing runs: stalled", step)
		}
		checkSuggestions(t, space, got)
		if check != nil {
			check(trials, got)
		}
		for _, s := range got {
			checkLabels(t, s.Labels)
			trials = append(trials, Trial{Name: fmt.Sprintf("t%03d", len(trials)), Assignments: s.Assignments, Labels: s.Labels})
			running = append(running, len(trials)-1)
		}
		if len(running) > 0 {
			k := running[0]
			if finish != nil {
				k = running[finish.IntN(len(running))]
			}
			if v, ok := f(trials[k].Assignments); ok {
				trials[k].Value = &v
			} else {
				trials[k].Failed = true
			}
			trials[k].Done = true
		}
	}
	return trials
}

func checkLabels(t *testing.T, labels map[string]string) {
	t.Helper()
	for _, k := range []string{CMAESRestartLabel, CMAESGenerationLabel} {
		if _, err := strconv.Atoi(labels[k]); err != nil {
			t.Fatalf("labels %v: %s is not a number", labels, k)
		}
	}
	for k, v := range labels {
		if errs := validation.IsQualifiedName(k); len(errs) > 0 {
			t.Fatalf("label key %q: %v", k, errs)
		}
		if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
			t.Fatalf("label %s=%q: %v", k, v, errs)
		}
	}
}

// generations counts the trials of each run and generation, "r/g" → count.
func generations(trials []Trial) map[string]int {
	out := map[string]int{}
	for _, tr := range trials {
		out[tr.Labels[CMAESRestartLabel]+"/"+tr.Labels[CMAESGenerationLabel]]++
	}
	return out
}

// sphereOf is the squared distance of the numeric assignments to centre (keyed by name).
func sphereOf(centre map[string]float64) func(map[string]string) (float64, bool) {
	return func(a map[string]string) (float64, bool) {
		v := 0.0
		for name, c := range centre {
			x, _ := strconv.ParseFloat(a[name], 64)
			v += (x - c) * (x - c)
		}
		return v, true
	}
}

func TestCMAESFeasibleAndGenerations(t *testing.T) {
	lambda := cmaesDefaultLambda(6) // "fixed" is no coordinate
	f := func(a map[string]string) (float64, bool) {
		if a["layers"] == "8" {
			return 0, false // failures meet the ranking
		}
		return quadratic(a), true
	}
	trials := cmaesSim(t, cmaesTestSpace, map[string]string{"random_state": "7"}, 4, 60, f, rand.New(rand.NewPCG(1, 2)), nil)
	gens := generations(trials)
	for g := range 60 / lambda {
		if n := gens["0/"+strconv.Itoa(g)]; n != lambda {
			t.Errorf("generation %d has %d trials, want λ = %d (%v)", g, n, lambda, gens)
		}
	}
	for k, n := range gens {
		if n > lambda {
			t.Errorf("generation %s has %d trials, more than λ = %d", k, n, lambda)
		}
	}
	for _, tr := range trials {
		if tr.Assignments["fixed"] != "3" {
			t.Fatalf("fixed = %q", tr.Assignments["fixed"])
		}
	}
}

// Ints and a stepped double stay on their grids, every value reachable at the corners.
func TestCMAESIntsOnTheirGrid(t *testing.T) {
	space := Space{
		{Name: "a", Kind: Int, Min: -3, Max: 3},
		{Name: "b", Kind: Int, Min: 0, Max: 1},
		{Name: "c", Kind: Double, Min: 0, Max: 1, Step: 0.25},
	}
	seen := map[string]bool{}
	f := func(a map[string]string) (float64, bool) {
		seen["a="+a["a"]] = true
		x, _ := strconv.ParseFloat(a["a"], 64)
		return -x, true // drives a to its max, 3
	}
	trials := cmaesSim(t, space, map[string]string{"random_state": "1", "sigma": "0.5"}, 3, 60, f, nil, nil)
	if !seen["a=3"] {
		t.Errorf("a never reached its max 3: %v", seen)
	}
	last := trials[len(trials)-1].Assignments["a"]
	if last != "3" && last != "2" {
		t.Errorf("after 60 trials a = %s, want it near its max 3", last)
	}
}

func TestCMAESDeterministic(t *testing.T) {
	play := func(seed string) []Trial {
		return cmaesSim(t, cmaesTestSpace, map[string]string{"random_state": seed, "restart_strategy": "bipop"}, 3, 40,
			func(a map[string]string) (float64, bool) { return quadratic(a), true }, nil, nil)
	}
	a, b, c := play("11"), play("11"), play("12")
	for i := range a {
		if !maps.Equal(a[i].Assignments, b[i].Assignments) || !maps.Equal(a[i].Labels, b[i].Labels) {
			t.Fatalf("trial %d: %v then %v with the same random_state", i, a[i], b[i])
		}
	}
	if maps.Equal(a[0].Assignments, c[0].Assignments) {
		t.Errorf("random_state 11 and 12 start alike: %v", a[0].Assignments)
	}
	// Without random_state the trial names seed the draws: still the same history, the
	// same answer.
	req := Request{Space: cmaesTestSpace, Trials: a[:20], Count: 3}
	x, err1 := cmaes{}.Suggest(req)
	y, err2 := cmaes{}.Suggest(req)
	if err1 != nil || err2 != nil || len(x) != len(y) {
		t.Fatalf("%v %v", err1, err2)
	}
	for i := range x {
		if !maps.Equal(x[i].Assignments, y[i].Assignments) {
			t.Errorf("suggestion %d: %v then %v", i, x[i].Assignments, y[i].Assignments)
		}
	}
}

// The state replayed from the history each call equals the state of one run that lives
// on and is told each generation as it completes (what a manager that never restarts
// would hold), bit for bit; and asking again, as after a restart, gives the same answer.
func TestCMAESReplayEqualsContinuing(t *testing.T) {
	space := Space{
		{Name: "x", Kind: Double, Min: -5, Max: 5},
		{Name: "y", Kind: Double, Min: 1e-3, Max: 10, Distribution: LogUniform},
		{Name: "n", Kind: Int, Min: 1, Max: 20},
	}
	settings := map[string]string{"random_state": "3", "sigma": "0.3"}
	c, err := cmaesConfigOf(space, settings)
	if err != nil {
		t.Fatal(err)
	}
	s := newCMAESSpace(space)
	lambda := cmaesDefaultLambda(3)
	cont := newCMAESRun(lambda, []float64{0.5, 0.5, 0.5}, 0.3)
	told := 0
	f := func(a map[string]string) (float64, bool) {
		if a["n"] == "13" {
			return 0, false
		}
		x, _ := strconv.ParseFloat(a["x"], 64)
		y, _ := strconv.ParseFloat(a["y"], 64)
		n, _ := strconv.ParseFloat(a["n"], 64)
		return (x-1)*(x-1) + math.Pow(math.Log10(y), 2) + 0.1*(n-5)*(n-5), true
	}
	check := func(trials []Trial, got []Suggestion) {
		t.Helper()
		// The continuing run: tell it every generation that completed since.
		for {
			var gen []Trial
			for _, tr := range trials {
				if tr.Labels[CMAESGenerationLabel] == strconv.Itoa(told) {
					gen = append(gen, tr)
				}
			}
			if len(gen) < lambda || slices.ContainsFunc(gen, func(tr Trial) bool { return !tr.Done }) {
				break
			}
			slices.SortStableFunc(gen, func(a, b Trial) int {
				switch {
				case a.Failed && b.Failed:
					return 0
				case a.Failed:
					return 1
				case b.Failed:
					return -1
				}
				return cmp.Compare(*a.Value, *b.Value)
			})
			var xs [][]float64
			var ls []float64
			for _, tr := range gen {
				xs = append(xs, s.point(tr.Assignments, cont.mean))
				l := math.Inf(1)
				if !tr.Failed {
					l = *tr.Value
				}
				ls = append(ls, l)
			}
			cont.tell(xs, ls, false)
			told++
		}
		rep := c.replay(s, Request{Space: space, Settings: settings, Trials: trials})
		r := rep.run
		if r.gen != cont.gen || !slices.Equal(r.mean, cont.mean) || r.sigma != cont.sigma ||
			!slices.Equal(r.cov.RawSymmetric().Data, cont.cov.RawSymmetric().Data) || !slices.Equal(r.ps, cont.ps) || !slices.Equal(r.pc, cont.pc) {
			t.Fatalf("after %d trials: replayed generation %d mean %v sigma %v, continuing generation %d mean %v sigma %v",
				len(trials), r.gen, r.mean, r.sigma, cont.gen, cont.mean, cont.sigma)
		}
		// A fresh manager (a new value, a copy of the history) answers the same.
		again, err := cmaes{}.Suggest(Request{Space: space, Settings: maps.Clone(settings), Trials: slices.Clone(trials), Count: len(got)})
		if err != nil || len(again) != len(got) {
			t.Fatalf("asked again: %d suggestions (%v), first %d", len(again), err, len(got))
		}
		for i := range got {
			if !maps.Equal(got[i].Assignments, again[i].Assignments) || !maps.Equal(got[i].Labels, again[i].Labels) {
				t.Fatalf("asked again: %v, first %v", again[i], got[i])
			}
		}
	}
	cmaesSim(t, space, settings, 4, 80, f, rand.New(rand.NewPCG(5, 6)), check)
	if told < 80/lambda-1 {
		t.Errorf("only %d generations told in 80 trials (λ = %d)", told, lambda)
	}
	if cont.sigma == 0.3 || slices.Equal(cont.mean, []float64{0.5, 0.5, 0.5}) {
		t.Errorf("the distribution never moved: mean %v sigma %v", cont.mean, cont.sigma)
	}
}

// While a generation's λ trials run nothing is suggested; asked for more than its rest, a
// generation gets only its rest.
func TestCMAESWaitsForItsGeneration(t *testing.T) {
	space := Space{{Name: "x", Kind: Double, Min: 0, Max: 1}, {Name: "y", Kind: Double, Min: 0, Max: 1}}
	lambda := cmaesDefaultLambda(2)
	a := cmaes{}
	got, err := a.Suggest(Request{Space: space, Count: 100})
	if err != nil || len(got) != lambda {
		t.Fatalf("first call: %d suggestions (%v), want λ = %d", len(got), err, lambda)
	}
	var trials []Trial
	for i, s := range got {
		trials = append(trials, Trial{Name: "t" + strconv.Itoa(i), Assignments: s.Assignments, Labels: s.Labels})
	}
	for i := range trials {
		if more, err := a.Suggest(Request{Space: space, Trials: trials, Count: 3}); err != nil || len(more) != 0 {
			t.Fatalf("%d of %d done: %d suggestions (%v), want none", i, lambda, len(more), err)
		}
		v := float64(i)
		trials[i].Value, trials[i].Done = &v, true
	}
	more, err := a.Suggest(Request{Space: space, Trials: trials, Count: 2})
	if err != nil || len(more) != 2 || more[0].Labels[CMAESGenerationLabel] != "1" {
		t.Fatalf("generation 0 done: %v (%v), want 2 suggestions of generation 1", more, err)
	}
}

// cmaesBest is the best value of a sequential run of evals trials.
func cmaesBest(t *testing.T, name string, space Space, seed, evals int, f func(map[string]string) (float64, bool)) float64 {
	t.Helper()
	settings := map[string]string{"random_state": strconv.Itoa(seed)}
	a, err := Check(name, space, settings)
	if err != nil {
		t.Fatal(err)
	}
	var trials []Trial
	best := math.Inf(1)
	for i := range evals {
		got, err := a.Suggest(Request{Space: space, Settings: settings, Trials: trials, Count: 1})
		if err != nil || len(got) != 1 {
			t.Fatalf("%s: trial %d: %d suggestions, %v", name, i, len(got), err)
		}
		v, _ := f(got[0].Assignments)
		best = math.Min(best, v)
		trials = append(trials, Trial{Name: "t" + strconv.Itoa(i), Assignments: got[0].Assignments, Labels: got[0].Labels, Value: &v, Done: true})
	}
	return best
}

func TestCMAESBeatsRandom(t *testing.T) {
	rosenbrock := func(a map[string]string) (float64, bool) {
		x, _ := strconv.ParseFloat(a["x1"], 64)
		y, _ := strconv.ParseFloat(a["x2"], 64)
		return 100*(y-x*x)*(y-x*x) + (1-x)*(1-x), true
	}
	square := Space{{Name: "x1", Kind: Double, Min: -5, Max: 5}, {Name: "x2", Kind: Double, Min: -5, Max: 5}}
	for _, tc := range []struct {
		name   string
		space  Space
		f      func(map[string]string) (float64, bool)
		evals  int
		factor float64 // cmaes's median best must be below random's times this
	}{
		{"sphere-4D", Space{
			{Name: "a", Kind: Double, Min: -5, Max: 5}, {Name: "b", Kind: Double, Min: -5, Max: 5},
			{Name: "c", Kind: Double, Min: 0, Max: 10}, {Name: "d", Kind: Double, Min: -1, Max: 1},
		}, sphereOf(map[string]float64{"a": 1.3, "b": -2.1, "c": 7, "d": 0.25}), 120, 0.1},
		{"rosenbrock-2D", square, rosenbrock, 150, 0.1},
	} {
		var cma, rnd []float64
		for seed := range 9 {
			cma = append(cma, cmaesBest(t, "cmaes", tc.space, seed, tc.evals, tc.f))
			rnd = append(rnd, cmaesBest(t, "random", tc.space, seed, tc.evals, tc.f))
		}
		if median(cma) >= tc.factor*median(rnd) {
			t.Errorf("%s, %d evaluations: median best cmaes %.4g, random %.4g: want cmaes below %g × random",
				tc.name, tc.evals, median(cma), median(rnd), tc.factor)
		}
		t.Logf("%s: median best cmaes %.3g, random %.3g", tc.name, median(cma), median(rnd))
	}
}

// IPOP restarts a converged run with twice the population, at a new mean: after a sphere
// converges (a tutorial criterion), and at once on a flat fitness.
func TestCMAESIPOPRestarts(t *testing.T) {
	space := Space{{Name: "x", Kind: Double, Min: -5, Max: 5}, {Name: "y", Kind: Double, Min: -5, Max: 5}}
	lambda := cmaesDefaultLambda(2)
	settings := map[string]string{"random_state": "2", "restart_strategy": "ipop"}
	trials := cmaesSim(t, space, settings, lambda, 900, sphereOf(map[string]float64{"x": 0.5, "y": -1}), nil, nil)
	c, _ := cmaesConfigOf(space, settings)
	rep := c.replay(newCMAESSpace(space), Request{Space: space, Settings: settings, Trials: trials})
	if len(rep.runs) < 2 {
		t.Fatalf("no restart in %d trials: run 0 at generation %d, sigma %g", len(trials), rep.runs[0].gen, rep.runs[0].sigma)
	}
	first := rep.runs[0]
	if !slices.Contains([]string{"TolFun", "TolX", "NoEffectCoord", "NoEffectAxis"}, first.stop) {
		t.Errorf("run 0 stopped by %q, want a convergence criterion", first.stop)
	}
	for i, r := range rep.runs {
		if want := lambda << i; r.lambda != want {
			t.Errorf("run %d: population %d, want %d", i, r.lambda, want)
		}
	}
	if n := generations(trials)["1/0"]; n != 2*lambda {
		t.Errorf("run 1's first generation has %d trials, want %d", n, 2*lambda)
	}
	if rep.runs[1].sigma0 != cmaesSigmaDefault || slices.Equal(rep.runs[1].mean, first.mean) {
		t.Errorf("run 1 starts with sigma %g at %v", rep.runs[1].sigma0, rep.runs[1].mean)
	}
	t.Logf("run 0: %d generations, stopped by %s; %d runs in %d trials", first.gen, first.stop, len(rep.runs), len(trials))

	flat := func(map[string]string) (float64, bool) { return 1, true }
	trials = cmaesSim(t, space, settings, 100, 3*lambda+6*lambda, flat, nil, nil)
	gens := generations(trials)
	if gens["0/0"] != lambda || gens["1/0"] != 2*lambda || gens["2/0"] != 4*lambda || gens["0/1"] != 0 {
		t.Errorf("flat fitness: generations %v, want each run to stop after one, its population doubled", gens)
	}
}

// Without restarts a flat fitness widens the step size, and the run goes on.
func TestCMAESNoRestartWidensOnFlatFitness(t *testing.T) {
	space := Space{{Name: "x", Kind: Int, Min: 0, Max: 100}, {Name: "y", Kind: Int, Min: 0, Max: 100}}
	trials := cmaesSim(t, space, map[string]string{"sigma": "0.01"}, 6, 36, func(map[string]string) (float64, bool) { return 1, true }, nil, nil)
	c, _ := cmaesConfigOf(space, map[string]string{"sigma": "0.01"})
	rep := c.replay(newCMAESSpace(space), Request{Space: space, Trials: trials})
	if len(rep.runs) != 1 || rep.run.gen != 6 || rep.run.sigma <= 0.01 {
		t.Errorf("%d runs, generation %d, sigma %g: want one run, 6 generations, sigma above 0.01", len(rep.runs), rep.run.gen, rep.run.sigma)
	}
}

// BIPOP: the first restart is large; then the regime that spent fewer evaluations; large
// runs double the population, small ones draw theirs between λ and half the last large
// one, with a smaller sigma.
func TestCMAESBIPOPRegimes(t *testing.T) {
	space := Space{{Name: "x", Kind: Double, Min: 0, Max: 1}, {Name: "y", Kind: Double, Min: 0, Max: 1},
		{Name: "z", Kind: Double, Min: 0, Max: 1}, {Name: "w", Kind: Double, Min: 0, Max: 1}}
	lambda := cmaesDefaultLambda(4)
	settings := map[string]string{"random_state": "4", "restart_strategy": "bipop"}
	flat := func(map[string]string) (float64, bool) { return 1, true }
	trials := cmaesSim(t, space, settings, 1000, 400, flat, nil, nil)
	c, _ := cmaesConfigOf(space, settings)
	rep := c.replay(newCMAESSpace(space), Request{Space: space, Settings: settings, Trials: trials})
	if len(rep.runs) < 6 {
		t.Fatalf("%d runs in %d trials", len(rep.runs), len(trials))
	}
	budget := map[string]int{}
	large, small := 0, 0
	for i, r := range rep.runs[:len(rep.runs)-1] {
		next := rep.runs[i+1]
		budget[r.regime] += r.evals
		want := cmaesSmall
		if i == 0 || budget[cmaesSmall] >= budget[cmaesLarge] {
			want = cmaesLarge
		}
		if next.regime != want {
			t.Fatalf("run %d is %s, want %s (budgets %v)", i+1, next.regime, want, budget)
		}
		if want == cmaesLarge {
			large++
			if next.lambda != lambda<<large || next.sigma0 != cmaesSigmaDefault {
				t.Errorf("large run %d: population %d sigma %g, want %d and %g", i+1, next.lambda, next.sigma0, lambda<<large, cmaesSigmaDefault)
			}
			continue
		}
		small++
		if next.lambda < lambda || next.lambda > (lambda<<large)/2 || next.sigma0 > cmaesSigmaDefault || next.sigma0 < cmaesSigmaDefault/100 {
			t.Errorf("small run %d: population %d, sigma %g: want %d…%d and sigma0·10^-2…sigma0", i+1, next.lambda, next.sigma0, lambda, (lambda<<large)/2)
		}
	}
	if large < 2 || small < 2 {
		t.Errorf("%d large and %d small runs: want both regimes, twice", large, small)
	}
}

func TestCMAESSettingsAndSpace(t *testing.T) {
	space := Space{{Name: "x", Kind: Double, Min: 0, Max: 1}, {Name: "n", Kind: Int, Min: 1, Max: 9}}
	for _, tc := range []struct {
		name     string
		space    Space
		settings map[string]string
		want     []string
	}{
		{"sigma zero", space, map[string]string{"sigma": "0"}, []string{"sigma", "(0, 1]"}},
		{"sigma negative", space, map[string]string{"sigma": "-0.2"}, []string{"sigma"}},
		{"sigma above the range", space, map[string]string{"sigma": "2"}, []string{"sigma", "units of each parameter's range"}},
		{"sigma not a number", space, map[string]string{"sigma": "big"}, []string{"sigma"}},
		{"unknown strategy", space, map[string]string{"restart_strategy": "lpop"}, []string{"restart_strategy", "none, ipop or bipop"}},
		{"bad seed", space, map[string]string{"random_state": "-1"}, []string{"random_state"}},
		{"unknown setting", space, map[string]string{"popsize": "10"}, []string{"popsize", "random_state, sigma, restart_strategy"}},
		{"categorical", append(slices.Clone(space), Param{Name: "opt", Kind: Categorical, List: []string{"sgd", "adam"}}),
			nil, []string{`"opt"`, "categorical", "cmaes supports only int and double parameters"}},
		{"discrete", append(slices.Clone(space), Param{Name: "batch", Kind: Discrete, List: []string{"16", "32"}}),
			nil, []string{`"batch"`, "discrete", "cmaes supports only int and double parameters"}},
	} {
		_, err := Check("cmaes", tc.space, tc.settings)
		if err == nil {
			t.Errorf("%s %v: accepted", tc.name, tc.settings)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", tc.name, err, w)
			}
		}
		// Suggest refuses the same (the manager checks first; nothing must slip through).
		if _, err := (cmaes{}).Suggest(Request{Space: tc.space, Settings: tc.settings, Count: 1}); err == nil && tc.name != "unknown setting" {
			t.Errorf("%s: Suggest accepted", tc.name)
		}
	}
	for _, ok := range []map[string]string{
		nil,
		{"sigma": "1"}, {"sigma": "0.05", "restart_strategy": "none"},
		{"restart_strategy": "ipop", "random_state": "0"}, {"restart_strategy": "bipop"},
	} {
		if _, err := Check("cmaes", space, ok); err != nil {
			t.Errorf("%v: %v", ok, err)
		}
	}
	// One coordinate (upstream asks for two) and a space of one point work too.
	one := cmaesSim(t, Space{{Name: "x", Kind: Double, Min: 0, Max: 1}}, nil, 2, 12, sphereOf(map[string]float64{"x": 0.2}), nil, nil)
	if len(one) != 12 {
		t.Errorf("one coordinate: %d trials", len(one))
	}
	got, err := cmaes{}.Suggest(Request{Space: Space{{Name: "x", Kind: Int, Min: 4, Max: 4}}, Count: 2})
	if err != nil || len(got) != 2 || got[0].Assignments["x"] != "4" {
		t.Errorf("a fixed space: %v, %v", got, err)
	}
}

// TestCMAESConformance runs the upstream example kfup must serve unchanged, as the
// lifecycle test does: its settings pass, and its maxTrialCount trials run to the end
// within parallelTrialCount with loss = lr, never stalling.
func TestCMAESConformance(t *testing.T) {
	space, settings, parallel, total := example(t, "hp-tuning_cma-es.yaml", "cmaes")
	loss := func(a map[string]string) (float64, bool) {
		v, _ := strconv.ParseFloat(a["lr"], 64)
		return v, true
	}
	trials := cmaesSim(t, space, settings, parallel, total, loss, nil, nil)
	if len(trials) != total {
		t.Fatalf("%d trials, want %d", len(trials), total)
	}
}

// On a rotated ellipsoid the covariance learns the landscape: its long axis turns to the
// valley's direction (1, 1), its condition grows, and the step size shrinks as the mean
// closes in.
func TestCMAESLearnsTheCovariance(t *testing.T) {
	space := Space{{Name: "x", Kind: Double, Min: -1, Max: 1}, {Name: "y", Kind: Double, Min: -1, Max: 1}}
	f := func(a map[string]string) (float64, bool) {
		x, _ := strconv.ParseFloat(a["x"], 64)
		y, _ := strconv.ParseFloat(a["y"], 64)
		u, v := (x+y)/math.Sqrt2, (x-y)/math.Sqrt2
		return u*u + 1000*v*v, true
	}
	settings := map[string]string{"random_state": "8"}
	lambda := cmaesDefaultLambda(2)
	trials := cmaesSim(t, space, settings, lambda, 40*lambda, f, nil, nil)
	c, _ := cmaesConfigOf(space, settings)
	r := c.replay(newCMAESSpace(space), Request{Space: space, Settings: settings, Trials: trials}).run
	long := slices.Index(r.d, slices.Max(r.d))
	cos := math.Abs(r.b.At(0, long)+r.b.At(1, long)) / math.Sqrt2
	cond := math.Pow(slices.Max(r.d)/slices.Min(r.d), 2)
	if cos < 0.95 || cond < 100 || r.sigma >= cmaesSigmaDefault {
		t.Errorf("after %d generations: long axis %v (cos %.3f to (1,1)), condition %.3g, sigma %.3g: want cos ≥ 0.95, condition ≥ 100, sigma < %.3g",
			r.gen, []float64{r.b.At(0, long), r.b.At(1, long)}, cos, cond, r.sigma, cmaesSigmaDefault)
	}
	t.Logf("generation %d: cos %.4f, condition %.3g, sigma %.3g", r.gen, cos, cond, r.sigma)
}
