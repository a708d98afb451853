package suggest

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/lapack/gonum"
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
			if i+1 < req.Count {
				gp.addLie(u)
			}
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

// gpFit is one factorization of R = K + (noise+jitter)·I for the data's standardized
// losses y: R's upper Cholesky factor U (R = UᵀU, n×n row-major, LAPACK's layout), α =
// R⁻¹y and the log marginal likelihood with the signal variance profiled out.
type gpFit struct {
	u, alpha []float64
	sig2, ll float64
}

// factorGP factorizes the kernel matrix k (its upper triangle, n×n row-major, without
// noise) plus noise+jitter on the diagonal, into u (reused when large enough); ok is false
// when R is not positive definite.
func factorGP(k []float64, n int, noise float64, y, u []float64) (f gpFit, ok bool) {
	if cap(u) < n*n {
		u = make([]float64, n*n)
	}
	u = u[:n*n]
	copy(u, k)
	for i := range n {
		u[i*n+i] += noise + 1e-8
	}
	if !lapackGo.Dpotrf(blas.Upper, n, u, max(1, n)) {
		return gpFit{u: u}, false
	}
	alpha := append([]float64(nil), y...)
	lapackGo.Dpotrs(blas.Upper, n, 1, u, max(1, n), alpha, 1)
	q := 0.0
	for i, a := range alpha {
		q += a * y[i]
	}
	logDet := 0.0
	for i := range n {
		logDet += 2 * math.Log(u[i*n+i])
	}
	sig2 := math.Max(q/float64(n), 1e-6)
	return gpFit{u: u, alpha: alpha, sig2: sig2, ll: -0.5*float64(n)*math.Log(sig2) - 0.5*logDet}, true
}

// kernelMatrix fills k (n×n row-major, upper triangle) with the Matérn kernel of the
// squared distances d2 (upper triangle).
func kernelMatrix(d2 []float64, n int, ell float64, k []float64) {
	for i := range n {
		for j := i; j < n; j++ {
			k[i*n+j] = matern52(d2[i*n+j], ell)
		}
	}
}

// factor builds and factorizes R for the current data, kernel and noise, keeping L = Uᵀ
// and α; it returns the log marginal likelihood (-Inf when R is singular).
func (g *gaussProc) factor() float64 {
	n := len(g.x)
	k := make([]float64, n*n)
	for i := range n {
		for j := i; j < n; j++ {
			k[i*n+j] = matern52(sqDist(g.x[j], g.x[i]), g.ell)
		}
	}
	f, ok := factorGP(k, n, g.noise, g.y, k)
	if !ok {
		return math.Inf(-1)
	}
	g.keep(f)
	return f.ll
}

// keep makes f the GP's factorization.
func (g *gaussProc) keep(f gpFit) {
	n := len(f.alpha)
	g.n = n
	g.l = make([]float64, n*n)
	for i := range n {
		for j := 0; j <= i; j++ {
			g.l[i*n+j] = f.u[j*n+i]
		}
	}
	g.alpha, g.sig2 = f.alpha, f.sig2
}

// fitGP standardizes the losses, picks the kernel by marginal likelihood and adds the
// pending points as lies. The squared distances are computed once and each length
// scale's kernel matrix serves both noise levels.
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
	n := len(g.x)
	d2 := make([]float64, n*n)
	for i := range n {
		for j := i; j < n; j++ {
			d2[i*n+j] = sqDist(g.x[j], g.x[i])
		}
	}
	k := make([]float64, n*n)
	var bestFit gpFit
	var spare []float64
	bestLL, bestEll, bestNoise := math.Inf(-1), 0.3, 1e-4
	for _, ell := range []float64{0.1, 0.25, 0.5, 1} {
		kernelMatrix(d2, n, ell, k)
		for _, noise := range []float64{1e-4, 1e-2} {
			f, ok := factorGP(k, n, noise, g.y, spare)
			if ok && f.ll > bestLL {
				bestLL, bestEll, bestNoise = f.ll, ell, noise
				spare, bestFit = bestFit.u, f
			} else {
				spare = f.u
			}
		}
	}
	g.ell, g.noise = bestEll, bestNoise
	if len(pending) == 0 && bestFit.u != nil {
		g.keep(bestFit)
		return g
	}
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

// gpBatch is the scratch space of predictBatch.
type gpBatch struct {
	k      []float64 // n×m: kernel of each observation with each candidate, then L⁻¹ of it
	mu, vv []float64
}

// gpBatchSize is how many candidates predictBatch takes at once (its n×m block stays in
// cache).
const gpBatchSize = 256

// predictBatch writes the posterior mean and standard deviation (standardized units) of
// each of us into mu and sd: μ = kᵀα and σ² = sig2·(1 − |v|²) with L v = k. The forward
// substitution runs over a whole batch of candidates row by row (one vector update per
// factor entry rather than a dot product per candidate), with each candidate's
// floating-point operations the same, in the same order, as one point at a time.
func (g *gaussProc) predictBatch(us [][]float64, mu, sd []float64, b *gpBatch) {
	n := g.n
	for lo := 0; lo < len(us); lo += gpBatchSize {
		batch := us[lo:min(lo+gpBatchSize, len(us))]
		m := len(batch)
		if cap(b.k) < n*m {
			b.k = make([]float64, n*gpBatchSize)
			b.mu = make([]float64, gpBatchSize)
			b.vv = make([]float64, gpBatchSize)
		}
		k, bm, vv := b.k[:n*m], b.mu[:m], b.vv[:m]
		clear(bm)
		clear(vv)
		for i := range n {
			row := k[i*m : (i+1)*m]
			for c, u := range batch {
				row[c] = matern52(sqDist(u, g.x[i]), g.ell)
			}
			blas64.Axpy(g.alpha[i], vec(row), vec(bm))
		}
		for i := range n {
			row := k[i*m : (i+1)*m]
			for j, lij := range g.l[i*n : i*n+i] {
				blas64.Axpy(-lij, vec(k[j*m:(j+1)*m]), vec(row))
			}
			lii := g.l[i*n+i]
			for c := range row {
				row[c] /= lii
				vv[c] += row[c] * row[c]
			}
		}
		for c := range m {
			mu[lo+c] = bm[c]
			sd[lo+c] = math.Sqrt(g.sig2 * math.Max(1-vv[c], 1e-12))
		}
	}
}

func vec(x []float64) blas64.Vector { return blas64.Vector{N: len(x), Inc: 1, Data: x} }

var (
	stdNormal = distuv.UnitNormal
	lapackGo  gonum.Implementation
)

// acquisition scores a candidate from its posterior: larger is better.
func (g *gaussProc) acquisition(acq string, mu, sd float64) float64 {
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

// boCand is a candidate point and its acquisition value.
type boCand struct {
	u []float64
	a float64
}

// byAcquisition sorts candidates best first.
func byAcquisition(x, y boCand) int { return cmp.Compare(y.a, x.a) }

// maximize searches the acquisition: random candidates, then rounds of perturbations
// around the best few candidates and the best observed points.
func (g *gaussProc) maximize(c boConfig, d int, rng *rand.Rand) []float64 {
	var b gpBatch
	var mu, sd []float64
	score := func(us [][]float64) []boCand {
		mu, sd = slices.Grow(mu[:0], len(us))[:len(us)], slices.Grow(sd[:0], len(us))[:len(us)]
		g.predictBatch(us, mu, sd, &b)
		out := make([]boCand, len(us))
		for i, u := range us {
			out[i] = boCand{u, g.acquisition(c.acq, mu[i], sd[i])}
		}
		return out
	}
	// Random candidates, then the observed points with the lowest losses as seeds.
	us := make([][]float64, boCandidates, boCandidates+3)
	flat := make([]float64, boCandidates*d)
	for i := range boCandidates {
		us[i] = flat[i*d : (i+1)*d : (i+1)*d]
		for j := range us[i] {
			us[i][j] = rng.Float64()
		}
	}
	idx := make([]int, len(g.y))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(g.y[a], g.y[b]) })
	for _, i := range idx[:min(3, len(idx))] {
		us = append(us, g.x[i])
	}
	cands := score(us)
	step := 0.08
	for range c.rounds {
		slices.SortStableFunc(cands, byAcquisition)
		top := cands[:min(5, len(cands))]
		next := make([][]float64, 0, 20*len(top))
		for _, t := range top {
			for range 20 {
				u := make([]float64, d)
				for j := range u {
					u[j] = math.Max(0, math.Min(1, t.u[j]+step*rng.NormFloat64()))
				}
				next = append(next, u)
			}
		}
		cands = append(slices.Clone(top), score(next)...)
		step /= 3
	}
	slices.SortStableFunc(cands, byAcquisition)
	return cands[0].u
}
