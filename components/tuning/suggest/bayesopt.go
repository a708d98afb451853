package suggest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat/distuv"
)

func init() { register("bayesianoptimization", func() Algorithm { return bayesOpt{} }) }

// bayesOpt is Bayesian optimization with a Gaussian process, kfup's take on Katib's
// skopt-based bayesianoptimization service.
//
// The model: every parameter mapped to [0,1] (log ranges in log space, discrete and
// categorical values by list index), objective losses standardized, a Matérn 5/2 kernel
// whose length scale and noise level are chosen by marginal likelihood over a small grid
// (the signal variance in closed form), plus jitter. The acquisition function (EI, PI or
// LCB; gp_hedge, skopt's default portfolio, is answered with EI) is maximized over random
// candidates and Gaussian perturbations of the best of them and of the best trials so far.
// acq_optimizer sampling does one round of perturbation, lbfgs and auto three rounds with
// shrinking steps (a gradient-free local refinement standing in for L-BFGS).
//
// The first n_initial_points trials are random. Running trials and the other points of one
// batch enter the model as a "constant liar" at the best loss so far, so parallel
// suggestions spread out instead of piling on one spot. Failed trials are left out.
type bayesOpt struct{}

var (
	boAcqFuncs      = []string{"gp_hedge", "EI", "PI", "LCB"}
	boAcqOptimizers = []string{"auto", "sampling", "lbfgs"}
)

const (
	boCandidates = 600
	boXi         = 0.01 // EI/PI improvement margin (skopt's default), in standardized units
	boKappa      = 1.96 // LCB exploration weight (skopt's default)
)

// Settings lists upstream's keys.
func (bayesOpt) Settings() []Setting {
	return []Setting{
		{Name: "base_estimator", Default: "GP", Help: "surrogate model; kfup has the Gaussian process (GP) only"},
		{Name: "n_initial_points", Default: "10", Help: "random trials before the model takes over"},
		{Name: "acq_func", Default: "gp_hedge", Help: "acquisition function: EI, PI, LCB, or gp_hedge (= EI)"},
		{Name: "acq_optimizer", Default: "auto", Help: "sampling (random candidates + one local round) or lbfgs/auto (three local rounds)"},
		{Name: "random_state", Help: "seed: same seed and history, same suggestions"},
	}
}

type boConfig struct {
	initial int
	acq     string
	rounds  int
}

func boParse(settings map[string]string) (boConfig, error) {
	c := boConfig{acq: "EI", rounds: 3}
	switch v := settings["base_estimator"]; v {
	case "", "GP":
	case "RF", "ET", "GBRT":
		return c, fmt.Errorf("algorithmSettings base_estimator %q: kfup's bayesianoptimization has the Gaussian process only; use GP (or remove the setting)", v)
	default:
		return c, fmt.Errorf("algorithmSettings base_estimator %q: unknown; use GP", v)
	}
	n, err := wholeSetting(settings, "n_initial_points", 10, 0)
	if err != nil {
		return c, err
	}
	c.initial = n
	switch v := settings["acq_func"]; {
	case v == "" || v == "gp_hedge":
	case v == "EIps" || v == "PIps":
		return c, fmt.Errorf("algorithmSettings acq_func %q: the per-second variants need trial durations kfup does not model; use EI or PI", v)
	case slices.Contains(boAcqFuncs, v):
		c.acq = v
	default:
		return c, fmt.Errorf("algorithmSettings acq_func %q: use one of gp_hedge, EI, PI, LCB", v)
	}
	switch v := settings["acq_optimizer"]; v {
	case "", "auto", "lbfgs":
	case "sampling":
		c.rounds = 1
	default:
		return c, fmt.Errorf("algorithmSettings acq_optimizer %q: use one of auto, sampling, lbfgs", v)
	}
	if _, _, err := Seed(settings); err != nil {
		return c, err
	}
	return c, nil
}

// Validate checks the settings.
func (bayesOpt) Validate(_ Space, settings map[string]string) error {
	_, err := boParse(settings)
	return err
}

// Suggest returns random points until n_initial_points, then the acquisition maxima.
func (bayesOpt) Suggest(req Request) ([]Suggestion, error) {
	c, err := boParse(req.Settings)
	if err != nil {
		return nil, err
	}
	rng := RNG(req, "bayesianoptimization")
	var xs [][]float64
	var ys []float64
	var pending [][]float64
	for _, t := range req.Trials {
		u, ok := unitPoint(req.Space, t.Assignments)
		if !ok {
			continue
		}
		if y, ok := lossOf(t, req.Goal); ok && t.Done || ok && t.EarlyStopped {
			xs, ys = append(xs, u), append(ys, y)
		} else if !t.Done {
			pending = append(pending, u)
		}
	}
	var out []Suggestion
	var gp *gaussProc
	for i := 0; i < req.Count; i++ {
		var u []float64
		if len(req.Trials)+i < c.initial || len(ys) < 2 {
			u = unitRandom(req.Space, rng)
		} else {
			if gp == nil {
				gp = fitGP(xs, ys, pending)
			}
			u = gp.maximize(c, len(req.Space), rng)
			gp.addLie(u)
		}
		out = append(out, Suggestion{Assignments: unitAssign(req.Space, u)})
	}
	return out, nil
}

// gaussProc is a fitted GP on standardized losses. Lies (pending points) are appended to
// the data at the best loss so far and the factorization redone with the same kernel.
type gaussProc struct {
	x     [][]float64
	y     []float64 // standardized
	ell   float64
	noise float64 // relative to the signal variance
	sig2  float64 // signal variance
	best  float64 // best standardized loss observed
	n     int
	l     []float64 // lower Cholesky factor, n×n row-major
	alpha []float64
}

func matern52(r2, ell float64) float64 {
	r := math.Sqrt(r2) / ell
	s5 := math.Sqrt(5) * r
	return (1 + s5 + 5*r*r/3) * math.Exp(-s5)
}

func sqDist(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		d := a[i] - b[i]
		s += d * d
	}
	return s
}

// factor builds R = K + (noise+jitter)·I, factorizes it and solves α = R⁻¹y; it returns the
// log marginal likelihood with the signal variance profiled out (-Inf when R is singular).
func (g *gaussProc) factor() float64 {
	n := len(g.x)
	r := mat.NewSymDense(n, nil)
	for i := 0; i < n; i++ {
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
		return math.Inf(-1)
	}
	var alpha mat.VecDense
	if err := ch.SolveVecTo(&alpha, mat.NewVecDense(n, append([]float64(nil), g.y...))); err != nil {
		return math.Inf(-1)
	}
	var lt mat.TriDense
	ch.LTo(&lt)
	g.n = n
	g.l = make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j <= i; j++ {
			g.l[i*n+j] = lt.At(i, j)
		}
	}
	g.alpha = alpha.RawVector().Data
	q := 0.0
	for i, a := range g.alpha {
		q += a * g.y[i]
	}
	g.sig2 = math.Max(q/float64(n), 1e-6)
	return -0.5*float64(n)*math.Log(g.sig2) - 0.5*ch.LogDet()
}

// fitGP standardizes the losses, picks the kernel by marginal likelihood and adds the
// pending points as lies.
func fitGP(xs [][]float64, ys []float64, pending [][]float64) *gaussProc {
	mean, sd := 0.0, 0.0
	for _, y := range ys {
		mean += y
	}
	mean /= float64(len(ys))
	for _, y := range ys {
		sd += (y - mean) * (y - mean)
	}
	sd = math.Sqrt(sd / float64(len(ys)))
	if sd < 1e-12 {
		sd = 1
	}
	g := &gaussProc{x: append([][]float64(nil), xs...), best: math.Inf(1)}
	for _, y := range ys {
		z := (y - mean) / sd
		g.y = append(g.y, z)
		g.best = math.Min(g.best, z)
	}
	bestLL, bestEll, bestNoise := math.Inf(-1), 0.3, 1e-4
	for _, ell := range []float64{0.1, 0.25, 0.5, 1} {
		for _, noise := range []float64{1e-4, 1e-2} {
			g.ell, g.noise = ell, noise
			if ll := g.factor(); ll > bestLL {
				bestLL, bestEll, bestNoise = ll, ell, noise
			}
		}
	}
	g.ell, g.noise = bestEll, bestNoise
	for _, p := range pending {
		g.x = append(g.x, p)
		g.y = append(g.y, g.best)
	}
	g.factor()
	return g
}

func (g *gaussProc) addLie(u []float64) {
	g.x = append(g.x, u)
	g.y = append(g.y, g.best)
	g.factor()
}

// predict returns the posterior mean and standard deviation (standardized units) at u.
func (g *gaussProc) predict(u []float64, k []float64) (mu, sd float64) {
	n := g.n
	for i := 0; i < n; i++ {
		k[i] = matern52(sqDist(u, g.x[i]), g.ell)
		mu += k[i] * g.alpha[i]
	}
	// Forward substitution L v = k in place; var = 1 - |v|².
	vv := 0.0
	for i := 0; i < n; i++ {
		s := k[i]
		row := g.l[i*n : i*n+i]
		for j, lij := range row {
			s -= lij * k[j]
		}
		s /= g.l[i*n+i]
		k[i] = s
		vv += s * s
	}
	v := g.sig2 * math.Max(1-vv, 1e-12)
	return mu, math.Sqrt(v)
}

var stdNormal = distuv.UnitNormal

// acquire scores a candidate: larger is better.
func (g *gaussProc) acquire(acq string, u, k []float64) float64 {
	mu, sd := g.predict(u, k)
	switch acq {
	case "LCB":
		return -(mu - boKappa*sd)
	case "PI":
		return stdNormal.CDF((g.best - boXi - mu) / sd)
	default:
		imp := g.best - boXi - mu
		z := imp / sd
		return imp*stdNormal.CDF(z) + sd*stdNormal.Prob(z)
	}
}

// maximize searches the acquisition: random candidates, then rounds of perturbations
// around the best few candidates and the best observed points.
func (g *gaussProc) maximize(c boConfig, d int, rng *rand.Rand) []float64 {
	type cand struct {
		u []float64
		a float64
	}
	k := make([]float64, g.n)
	cands := make([]cand, 0, boCandidates+64)
	for i := 0; i < boCandidates; i++ {
		u := make([]float64, d)
		for j := range u {
			u[j] = rng.Float64()
		}
		cands = append(cands, cand{u, g.acquire(c.acq, u, k)})
	}
	// Seeds: the observed points with the lowest losses.
	idx := make([]int, len(g.y))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return g.y[idx[a]] < g.y[idx[b]] })
	for _, i := range idx[:min(3, len(idx))] {
		cands = append(cands, cand{g.x[i], g.acquire(c.acq, g.x[i], k)})
	}
	step := 0.08
	for round := 0; round < c.rounds; round++ {
		sort.SliceStable(cands, func(a, b int) bool { return cands[a].a > cands[b].a })
		top := cands[:min(5, len(cands))]
		var next []cand
		for _, t := range top {
			for p := 0; p < 20; p++ {
				u := make([]float64, d)
				for j := range u {
					u[j] = math.Max(0, math.Min(1, t.u[j]+step*rng.NormFloat64()))
				}
				next = append(next, cand{u, g.acquire(c.acq, u, k)})
			}
		}
		cands = append(append([]cand(nil), top...), next...)
		step /= 3
	}
	sort.SliceStable(cands, func(a, b int) bool { return cands[a].a > cands[b].a })
	return cands[0].u
}
