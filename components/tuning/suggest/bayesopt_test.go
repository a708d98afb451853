package suggest

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

func TestBayesOptFeasibleAndDeterministic(t *testing.T) {
	space := testSpace
	settings := map[string]string{"random_state": "3", "n_initial_points": "5"}
	trials := run(t, "bayesianoptimization", space, settings, Minimize, 20, quadratic)
	var got []Suggestion
	for _, tr := range trials {
		got = append(got, Suggestion{Assignments: tr.Assignments})
	}
	a, _ := Lookup("bayesianoptimization")
	ask := func(seed string) []Suggestion {
		s := map[string]string{"random_state": seed, "n_initial_points": "5"}
		out, err := a.Suggest(Request{Space: space, Settings: s, Trials: trials, Count: 4})
		if err != nil || len(out) != 4 {
			t.Fatalf("%d suggestions, %v", len(out), err)
		}
		return out
	}
	first := ask("3")
	checkSuggestions(t, space, append(got, first...))
	if !equalSuggestions(first, ask("3")) {
		t.Error("the same history and random_state gave different suggestions")
	}
	if equalSuggestions(first, ask("4")) {
		t.Error("random_state 3 and 4 gave the same suggestions")
	}
	keys := map[string]bool{}
	for _, s := range first {
		k := strings.Join(sortedPairs(s.Assignments), ",")
		if keys[k] {
			t.Errorf("batch repeats %v: the constant liar should spread a batch", s.Assignments)
		}
		keys[k] = true
	}
}

func TestBayesOptBeatsRandom(t *testing.T) {
	if testing.Short() {
		t.Log("(short: 5 seeds)")
	}
	seeds := 10
	if testing.Short() {
		seeds = 5
	}
	for _, acq := range []string{"EI", "PI", "LCB"} {
		bo := medianBest(t, "bayesianoptimization", map[string]string{"acq_func": acq}, seeds, 40)
		rnd := medianBest(t, "random", nil, seeds, 40)
		t.Logf("Branin median best after 40: %s %.4f, random %.4f (optimum 0.3979)", acq, bo, rnd)
		if bo >= rnd || bo > 0.6 {
			t.Errorf("%s: median best %.4f, random %.4f: want below random and 0.6", acq, bo, rnd)
		}
	}
}

func TestBayesOptMaximizes(t *testing.T) {
	a, _ := Lookup("bayesianoptimization")
	settings := map[string]string{"random_state": "1", "n_initial_points": "8"}
	var trials []Trial
	best := -1e9
	for i := 0; i < 30; i++ {
		got, err := a.Suggest(Request{Space: braninSpace, Goal: Maximize, Settings: settings, Trials: trials, Count: 1})
		if err != nil {
			t.Fatal(err)
		}
		v := -branin(got[0].Assignments)
		best = max(best, v)
		trials = append(trials, Trial{Name: "t" + strconv.Itoa(i), Assignments: got[0].Assignments, Value: &v, Done: true})
	}
	if best < -1 {
		t.Errorf("maximizing -branin: best %.3f, want ≥ -1", best)
	}
}

func TestBayesOptSettingsRefused(t *testing.T) {
	for _, tc := range []struct {
		settings map[string]string
		want     string
	}{
		{map[string]string{"base_estimator": "RF"}, "Gaussian process only"},
		{map[string]string{"base_estimator": "SVM"}, "use GP"},
		{map[string]string{"acq_func": "UCB"}, "gp_hedge, EI, PI, LCB"},
		{map[string]string{"acq_func": "EIps"}, "use EI or PI"},
		{map[string]string{"acq_optimizer": "adam"}, "auto, sampling, lbfgs"},
		{map[string]string{"n_initial_points": "-1"}, "≥ 0"},
		{map[string]string{"random_state": "x"}, "random_state"},
		{map[string]string{"kappa": "2"}, "valid settings are base_estimator"},
	} {
		_, err := Check("bayesianoptimization", braninSpace, tc.settings)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want it to say %q", tc.settings, err, tc.want)
		}
	}
	for _, ok := range []map[string]string{nil, {"base_estimator": "GP", "acq_func": "gp_hedge", "acq_optimizer": "lbfgs", "n_initial_points": "0"}} {
		if _, err := Check("bayesianoptimization", braninSpace, ok); err != nil {
			t.Errorf("%v refused: %v", ok, err)
		}
	}
}

// BenchmarkBayesOptSuggest measures one suggestion at 100 observations of 6 parameters.
func BenchmarkBayesOptSuggest(b *testing.B) {
	space := testSpace[:7]
	trials := run(b, "random", space, map[string]string{"random_state": "1"}, Minimize, 100, quadratic)
	a, _ := Lookup("bayesianoptimization")
	req := Request{Space: space[:6], Settings: map[string]string{"random_state": "1"}, Trials: trials, Count: 1}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := a.Suggest(req); err != nil {
			b.Fatal(err)
		}
	}
}

// TestGPPredictBatch checks the batched posterior against the textbook one, point by
// point: μ = kᵀR⁻¹y and σ² = sig2·(1 − kᵀR⁻¹k) with R factorized afresh by gonum/mat, over
// more candidates than one batch holds, with pending points among the data.
func TestGPPredictBatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	point := func() []float64 { return []float64{rng.Float64(), rng.Float64(), rng.Float64()} }
	var xs [][]float64
	var ys []float64
	for range 40 {
		x := point()
		xs, ys = append(xs, x), append(ys, sqDist(x, []float64{0.3, 0.6, 0.2})+0.1*rng.Float64())
	}
	g := fitGP(xs, ys, [][]float64{point(), point()})
	n := len(g.x)
	r := mat.NewSymDense(n, nil)
	for i := range n {
		for j := 0; j <= i; j++ {
			v := matern52(sqDist(g.x[i], g.x[j]), g.ell)
			if i == j {
				v += g.noise + 1e-8
			}
			r.SetSym(i, j, v)
		}
	}
	var ch mat.Cholesky
	if !ch.Factorize(r) {
		t.Fatal("R is not positive definite")
	}
	var alpha mat.VecDense
	if err := ch.SolveVecTo(&alpha, mat.NewVecDense(n, g.y)); err != nil {
		t.Fatal(err)
	}
	us := make([][]float64, gpBatchSize+50)
	for i := range us {
		us[i] = point()
	}
	us[0] = g.x[3] // an observed point: σ about √noise of the prior's at most
	mu, sd := make([]float64, len(us)), make([]float64, len(us))
	g.predictBatch(us, mu, sd, &gpBatch{})
	for c, u := range us {
		k := mat.NewVecDense(n, nil)
		for i := range n {
			k.SetVec(i, matern52(sqDist(u, g.x[i]), g.ell))
		}
		var rk mat.VecDense
		if err := ch.SolveVecTo(&rk, k); err != nil {
			t.Fatal(err)
		}
		wantMu := mat.Dot(k, &alpha)
		wantSD := math.Sqrt(g.sig2 * math.Max(1-mat.Dot(k, &rk), 1e-12))
		if math.Abs(mu[c]-wantMu) > 1e-9 || math.Abs(sd[c]-wantSD) > 1e-6*math.Max(1, wantSD) {
			t.Fatalf("candidate %d: μ %v σ %v, want %v %v", c, mu[c], sd[c], wantMu, wantSD)
		}
	}
	if sd[0] > 2*math.Sqrt(g.noise*g.sig2) {
		t.Errorf("σ at an observed point is %v of the prior's %v", sd[0], math.Sqrt(g.sig2))
	}
}
