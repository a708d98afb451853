package suggest

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"

	"gonum.org/v1/gonum/mat"
)

func init() { register("cmaes", func() Algorithm { return cmaes{} }) }

// The labels cmaes puts on its suggestions: with the trials' assignments and values, its
// whole state. Every call replays the runs and generations from them.
const (
	// CMAESRestartLabel holds the trial's run: 0 for the first, k after the k-th restart.
	CMAESRestartLabel = "cmaes.kfup.dev/restart"
	// CMAESGenerationLabel holds the trial's generation within its run (0, 1, …).
	CMAESGenerationLabel = "cmaes.kfup.dev/generation"
)

// The values of restart_strategy.
const (
	cmaesNoRestart = "none"
	cmaesIPOP      = "ipop"
	cmaesBIPOP     = "bipop"
)

// The regimes of BIPOP's restarts.
const (
	cmaesLarge = "large"
	cmaesSmall = "small"
)

const (
	// cmaesSigmaDefault is upstream's initial step size, the smallest range / 6, in a space
	// where every range is 1.
	cmaesSigmaDefault = 1.0 / 6
	// cmaesResample bounds the draws of one sample that fall outside the unit cube (or on
	// an assignment the generation already has); the last one is clipped to the cube.
	cmaesResample = 100
	// cmaesMaxPopulation bounds the population that IPOP and BIPOP restarts double.
	cmaesMaxPopulation = 4096
	// cmaesSigmaMin and cmaesSigmaMax keep the step size a positive finite number when a
	// run converges or diverges with no restart to stop it.
	cmaesSigmaMin = 1e-100
	cmaesSigmaMax = 1e6
	// The termination criteria of Hansen's tutorial (Appendix B.3), their usual values.
	cmaesTolX         = 1e-12 // TolX, times the run's initial step size
	cmaesTolXUp       = 1e4   // TolXUp, times the run's initial step size
	cmaesTolFun       = 1e-12 // TolFun, in the objective's units
	cmaesMaxCondition = 1e14  // ConditionCov
)

// cmaes is Katib's "cmaes": the covariance matrix adaptation evolution strategy (Hansen,
// "The CMA Evolution Strategy: A Tutorial", 2016), with upstream's IPOP and BIPOP restarts.
// It searches the unit cube of the int and double parameters: each range mapped onto
// [0, 1] (its logarithm for log distributions; a normal prior searched as its range), ints
// and stepped doubles rounded onto their grid, each grid point owning an equal share.
// Parameters with min = max are no coordinates; one coordinate is enough (upstream asks
// for two). A run starts at the centre with step size sigma and samples generations of
// λ = 4 + ⌊3 ln n⌋ points from N(m, σ²C) (redrawn while outside the cube, clipped after
// cmaesResample draws). Once a generation is done its best μ = ⌊λ/2⌋ make the new mean by
// weighted recombination, and cumulative step-size adaptation and the rank-one and rank-μ
// updates adapt σ and C, with the tutorial's default constants. The update uses the
// points as evaluated (read back from the assignments: a rounded int counts where it ran).
//
// The algorithm keeps no state: each suggestion carries its run and generation in labels
// (CMAESRestartLabel, CMAESGenerationLabel), and every call replays every run from the
// trials so far, so a manager restart resumes exactly where it was. A generation is told
// once all its λ trials are done; failed trials and trials without a value rank last (a
// generation without any value leaves the distribution as it was). While a generation has
// fewer than λ trials, suggestions fill it; once it has λ, nothing is suggested until
// they are done.
//
// A run has converged when the tutorial's criteria say so (TolFun, TolX, TolXUp,
// ConditionCov, NoEffectAxis, NoEffectCoord) or its fitness is flat (the best value
// equals the ⌈0.7λ⌉-th, as in Hansen's cmaes.m). restart_strategy none keeps going (a flat
// fitness widens σ by exp(0.2 + c_σ/d_σ)); ipop restarts at a uniform random mean with σ0
// and twice the population (Auger & Hansen 2005); bipop (Hansen 2009) starts either a
// large run (the population doubled again, σ0) or a small one (λ_s = ⌊λ(½λ_l/λ)^(U²)⌋ for
// the last large population λ_l, σ0·10^(-2U')), whichever regime has spent fewer
// evaluations (the first restart is large).
type cmaes struct{}

type cmaesConfig struct {
	sigma   float64
	restart string
}

// Settings lists upstream's cmaes settings.
func (cmaes) Settings() []Setting {
	return []Setting{
		{Name: "random_state", Help: "seed of the samples (a whole number ≥ 0); unset, the trial names seed them"},
		{Name: "sigma", Default: "1/6", Help: "initial step size in units of each parameter's range (a number in (0, 1]); upstream's goptuna takes the smallest range / 6 in the parameters' own units"},
		{Name: "restart_strategy", Default: "none", Help: "what happens when a run converges: none (it goes on), ipop (restart with twice the population) or bipop (restarts alternating large and small populations)"},
	}
}

// Validate checks that every parameter is an int or double, and the settings.
func (cmaes) Validate(space Space, settings map[string]string) error {
	_, err := cmaesConfigOf(space, settings)
	return err
}

func cmaesConfigOf(space Space, settings map[string]string) (cmaesConfig, error) {
	c := cmaesConfig{restart: cmaesNoRestart}
	for _, p := range space {
		if !p.Numeric() {
			return c, fmt.Errorf("parameter %q is %s: cmaes supports only int and double parameters; give it an int or double range, or use tpe, multivariate-tpe or random", p.Name, p.Kind)
		}
	}
	if _, _, err := Seed(settings); err != nil {
		return c, err
	}
	var err error
	if c.sigma, err = numSetting(settings, "sigma", cmaesSigmaDefault, func(f float64) bool { return f > 0 && f <= 1 },
		"a number in (0, 1]: the initial step size in units of each parameter's range (default 1/6)"); err != nil {
		return c, err
	}
	switch v := settings["restart_strategy"]; v {
	case "", cmaesNoRestart:
	case cmaesIPOP, cmaesBIPOP:
		c.restart = v
	default:
		return c, fmt.Errorf("algorithmSettings restart_strategy %q: use none, ipop or bipop", v)
	}
	return c, nil
}

// cmaesSpace is the search space as CMA-ES sees it: the free parameters (min < max) are
// its coordinates, each in [0, 1].
type cmaesSpace struct {
	axes []axis
	free []int // the axes that are coordinates
}

func newCMAESSpace(space Space) cmaesSpace {
	s := cmaesSpace{axes: axesOf(space)}
	for i, a := range s.axes {
		if !a.fixed {
			s.free = append(s.free, i)
		}
	}
	return s
}

// point maps a trial's assignments into the cube; a coordinate whose assignment is
// missing or infeasible takes fallback's (the mean's: it pulls the update nowhere).
func (s cmaesSpace) point(asg map[string]string, fallback []float64) []float64 {
	x := make([]float64, len(s.free))
	for j, i := range s.free {
		a := s.axes[i]
		x[j] = fallback[j]
		if v, ok := a.internal(asg[a.p.Name]); ok {
			x[j] = math.Max(0, math.Min(1, (v-a.lo)/(a.hi-a.lo)))
		}
	}
	return x
}

// assign writes a point of the cube as assignments of every parameter.
func (s cmaesSpace) assign(x []float64) map[string]string {
	out := make(map[string]string, len(s.axes))
	for _, a := range s.axes {
		if a.fixed {
			out[a.p.Name] = a.format(0)
		}
	}
	for j, i := range s.free {
		a := s.axes[i]
		v := a.lo + math.Max(0, math.Min(1, x[j]))*(a.hi-a.lo)
		if a.step > 0 {
			v = a.snap(v)
		}
		out[a.p.Name] = a.format(v)
	}
	return out
}

// cmaesRun is one run of CMA-ES: its constants and, after gen generations, its state.
type cmaesRun struct {
	restart int
	// regime is bipop's regime of the run ("" for the first run and for ipop).
	regime                           string
	lambda, mu                       int
	weights                          []float64
	mueff, cs, ds, cc, c1, cmu, chiN float64
	sigma0                           float64

	gen          int // generations told
	evals        int // trials told
	mean, ps, pc []float64
	sigma        float64
	cov          *mat.SymDense
	b            *mat.Dense // C's eigenvectors (columns)
	d            []float64  // the square roots of C's eigenvalues
	best         []float64  // the best loss of each generation told
	// stop says why the run converged ("" while it has not).
	stop string
}

// cmaesDefaultLambda is the tutorial's population size for n coordinates.
func cmaesDefaultLambda(n int) int { return 4 + int(math.Floor(3*math.Log(float64(n)))) }

// newCMAESRun starts a run at mean with step size sigma, C = I, and the tutorial's
// constants for population lambda (Table 1, positive weights only).
func newCMAESRun(lambda int, mean []float64, sigma float64) *cmaesRun {
	n := len(mean)
	fn := float64(n)
	r := &cmaesRun{lambda: lambda, mu: lambda / 2, sigma0: sigma, sigma: sigma, mean: mean,
		ps: make([]float64, n), pc: make([]float64, n), d: make([]float64, n)}
	r.weights = make([]float64, r.mu)
	var sum, sum2 float64
	for i := range r.weights {
		r.weights[i] = math.Log(float64(lambda+1)/2) - math.Log(float64(i+1))
		sum += r.weights[i]
	}
	for i := range r.weights {
		r.weights[i] /= sum
		sum2 += r.weights[i] * r.weights[i]
	}
	r.mueff = 1 / sum2
	r.cs = (r.mueff + 2) / (fn + r.mueff + 5)
	r.ds = 1 + 2*math.Max(0, math.Sqrt((r.mueff-1)/(fn+1))-1) + r.cs
	r.cc = (4 + r.mueff/fn) / (fn + 4 + 2*r.mueff/fn)
	r.c1 = 2 / ((fn+1.3)*(fn+1.3) + r.mueff)
	r.cmu = math.Min(1-r.c1, 2*(r.mueff-2+1/r.mueff)/((fn+2)*(fn+2)+r.mueff))
	r.chiN = math.Sqrt(fn) * (1 - 1/(4*fn) + 1/(21*fn*fn))
	r.cov = mat.NewSymDense(n, nil)
	r.b = mat.NewDense(n, n, nil)
	for i := range n {
		r.cov.SetSym(i, i, 1)
		r.b.Set(i, i, 1)
		r.d[i] = 1
	}
	return r
}

// sample draws one point of N(m, σ²C) in the cube: redrawn while outside it or on an
// assignment seen already, clipped after cmaesResample draws.
func (r *cmaesRun) sample(rng *rand.Rand, s cmaesSpace, seen map[string]bool) map[string]string {
	n := len(r.mean)
	z := mat.NewVecDense(n, nil)
	y := mat.NewVecDense(n, nil)
	x := make([]float64, n)
	var asg map[string]string
	for try := range cmaesResample {
		last := try == cmaesResample-1
		for i := range n {
			z.SetVec(i, r.d[i]*rng.NormFloat64())
		}
		y.MulVec(r.b, z)
		inside := true
		for j := range x {
			x[j] = r.mean[j] + r.sigma*y.AtVec(j)
			if !(x[j] >= 0 && x[j] <= 1) {
				inside = false
			}
		}
		if !inside && !last {
			continue
		}
		for j := range x {
			x[j] = math.Max(0, math.Min(1, x[j]))
			if math.IsNaN(x[j]) {
				x[j] = r.mean[j]
			}
		}
		asg = s.assign(x)
		if !seen[assignmentKey(s.axes, asg)] || last {
			break
		}
	}
	return asg
}

// tell updates the run with a generation's points, best first, and their losses (+Inf for
// the trials without a value), then checks whether it converged. restart says whether a
// converged run is restarted (otherwise a flat fitness widens σ).
func (r *cmaesRun) tell(ranked [][]float64, losses []float64, restart bool) {
	r.gen++
	r.evals += len(ranked)
	if math.IsInf(losses[0], 1) {
		return // no trial of the generation has a value: nothing to learn from
	}
	n := len(r.mean)
	old := slices.Clone(r.mean)
	ys := make([]*mat.VecDense, r.mu)
	yw := mat.NewVecDense(n, nil)
	for i := range r.mu {
		y := mat.NewVecDense(n, nil)
		for j := range n {
			y.SetVec(j, (ranked[i][j]-old[j])/r.sigma)
		}
		ys[i] = y
		yw.AddScaledVec(yw, r.weights[i], y)
	}
	for j := range n {
		r.mean[j] = old[j] + r.sigma*yw.AtVec(j)
	}

	// Step-size path: p_σ ← (1-c_σ)p_σ + √(c_σ(2-c_σ)μ_eff) C^-½ y_w, C^-½ = B D⁻¹ Bᵀ.
	var t, invSqrt mat.VecDense
	t.MulVec(r.b.T(), yw)
	for i := range n {
		t.SetVec(i, t.AtVec(i)/r.d[i])
	}
	invSqrt.MulVec(r.b, &t)
	kc := math.Sqrt(r.cs * (2 - r.cs) * r.mueff)
	psNorm := 0.0
	for j := range n {
		r.ps[j] = (1-r.cs)*r.ps[j] + kc*invSqrt.AtVec(j)
		psNorm += r.ps[j] * r.ps[j]
	}
	psNorm = math.Sqrt(psNorm)
	hs := 0.0
	if psNorm/math.Sqrt(1-math.Pow(1-r.cs, 2*float64(r.gen))) < (1.4+2/float64(n+1))*r.chiN {
		hs = 1
	}
	// Covariance path and the rank-one and rank-μ updates.
	kcc := hs * math.Sqrt(r.cc*(2-r.cc)*r.mueff)
	for j := range n {
		r.pc[j] = (1-r.cc)*r.pc[j] + kcc*yw.AtVec(j)
	}
	dh := (1 - hs) * r.cc * (2 - r.cc)
	r.cov.ScaleSym(1+r.c1*dh-r.c1-r.cmu, r.cov)
	r.cov.SymRankOne(r.cov, r.c1, mat.NewVecDense(n, slices.Clone(r.pc)))
	for i, y := range ys {
		r.cov.SymRankOne(r.cov, r.cmu*r.weights[i], y)
	}
	r.sigma *= math.Exp((r.cs / r.ds) * (psNorm/r.chiN - 1))
	r.decompose()

	finite := slices.DeleteFunc(slices.Clone(losses), func(v float64) bool { return math.IsInf(v, 1) })
	r.best = append(r.best, finite[0])
	if k := int(math.Ceil(0.7 * float64(r.lambda))); k <= len(losses) && losses[0] == losses[k-1] {
		if restart {
			r.stop = "flat fitness"
			return
		}
		r.sigma *= math.Exp(0.2 + r.cs/r.ds)
	}
	r.sigma = math.Max(cmaesSigmaMin, math.Min(r.sigma, cmaesSigmaMax))
	if restart && r.stop == "" {
		r.stop = r.converged(finite)
	}
}

// decompose refreshes B and D from C (C kept symmetric positive definite: an eigenvalue
// at or below zero, from rounding, is raised to a tiny share of the largest).
func (r *cmaesRun) decompose() {
	var es mat.EigenSym
	if !es.Factorize(r.cov, true) {
		r.stop = "numerical error" // B and D stay as they were
		return
	}
	vals := es.Values(nil)
	es.VectorsTo(r.b)
	top := slices.Max(vals)
	for i, v := range vals {
		if !(v > 0) || math.IsNaN(v) {
			v = math.Max(top, 1) * 1e-20
		}
		r.d[i] = math.Sqrt(v)
	}
}

// converged applies the tutorial's termination criteria after an update; finite are the
// generation's values, best first.
func (r *cmaesRun) converged(finite []float64) string {
	n := len(r.mean)
	if w := 10 + int(math.Ceil(30*float64(n)/float64(r.lambda))); len(r.best) >= w {
		lo, hi := slices.Min(r.best[len(r.best)-w:]), slices.Max(r.best[len(r.best)-w:])
		lo, hi = math.Min(lo, slices.Min(finite)), math.Max(hi, slices.Max(finite))
		if hi-lo < cmaesTolFun {
			return "TolFun"
		}
	}
	tolX, small := cmaesTolX*r.sigma0, true
	for j := range n {
		if r.sigma*math.Sqrt(r.cov.At(j, j)) >= tolX || r.sigma*math.Abs(r.pc[j]) >= tolX {
			small = false
		}
	}
	if small {
		return "TolX"
	}
	dMax, dMin := slices.Max(r.d), slices.Min(r.d)
	if r.sigma*dMax > cmaesTolXUp*r.sigma0 {
		return "TolXUp"
	}
	if (dMax/dMin)*(dMax/dMin) > cmaesMaxCondition {
		return "ConditionCov"
	}
	i := r.gen % n
	axis := true
	for j := range n {
		if r.mean[j]+0.1*r.sigma*r.d[i]*r.b.At(j, i) != r.mean[j] {
			axis = false
		}
		if r.mean[j]+0.2*r.sigma*math.Sqrt(r.cov.At(j, j)) == r.mean[j] {
			return "NoEffectCoord"
		}
	}
	if axis {
		return "NoEffectAxis"
	}
	return ""
}

// cmaesReplay is the state the trials so far lead to: the run the next suggestions belong
// to and its current generation's trials.
type cmaesReplay struct {
	run *cmaesRun
	// have are the trials of run's generation run.gen (at most λ), oldest first.
	have []int
	// runs are every run so far, oldest first (run is the last).
	runs []*cmaesRun
}

// replay rebuilds every run from the trials: the labels say which run and generation a
// trial belongs to; each generation whose λ trials are all done is told, in order, and a
// converged run is followed by its restart. Trials without the labels, or of runs and
// generations the replay does not reach, are left alone.
func (c cmaesConfig) replay(s cmaesSpace, req Request) cmaesReplay {
	type key struct{ r, g int }
	groups := map[key][]int{}
	for k, t := range req.Trials {
		r, err1 := strconv.Atoi(t.Labels[CMAESRestartLabel])
		g, err2 := strconv.Atoi(t.Labels[CMAESGenerationLabel])
		if err1 != nil || err2 != nil || r < 0 || g < 0 {
			continue
		}
		groups[key{r, g}] = append(groups[key{r, g}], k)
	}
	n := len(s.free)
	lambda0 := cmaesDefaultLambda(n)
	centre := make([]float64, n)
	for j := range centre {
		centre[j] = 0.5
	}
	run := newCMAESRun(lambda0, centre, c.sigma)
	out := cmaesReplay{runs: []*cmaesRun{run}}
	budget := map[string]int{}
	large := 0 // bipop's large runs so far
	for {
		have := groups[key{run.restart, run.gen}]
		have = have[:min(len(have), run.lambda)]
		if len(have) < run.lambda || slices.ContainsFunc(have, func(k int) bool { return !req.Trials[k].Done }) {
			out.run, out.have = run, have
			return out
		}
		order := slices.Clone(have)
		losses := map[int]float64{}
		for _, k := range have {
			losses[k] = math.Inf(1)
			if v, ok := lossOf(req.Trials[k], req.Goal); ok {
				losses[k] = v
			}
		}
		slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(losses[a], losses[b]) })
		ranked := make([][]float64, len(order))
		ls := make([]float64, len(order))
		for i, k := range order {
			ranked[i] = s.point(req.Trials[k].Assignments, run.mean)
			ls[i] = losses[k]
		}
		run.tell(ranked, ls, c.restart != cmaesNoRestart)
		if run.stop == "" || c.restart == cmaesNoRestart {
			continue
		}
		// The restart's draws depend only on the trials up to the converged generation.
		rng := RNG(Request{Settings: req.Settings, Trials: req.Trials[:have[len(have)-1]+1]}, "cmaes restart")
		mean := make([]float64, n)
		for j := range mean {
			mean[j] = rng.Float64()
		}
		lambda, sigma, regime := 0, c.sigma, ""
		switch c.restart {
		case cmaesIPOP:
			lambda = cmaesDoubled(lambda0, run.restart+1)
		case cmaesBIPOP:
			budget[run.regime] += run.evals
			if large == 0 || budget[cmaesSmall] >= budget[cmaesLarge] {
				large++
				lambda, regime = cmaesDoubled(lambda0, large), cmaesLarge
			} else {
				u, v := rng.Float64(), rng.Float64()
				ratio := 0.5 * float64(cmaesDoubled(lambda0, large)) / float64(lambda0)
				lambda = max(lambda0, int(math.Floor(float64(lambda0)*math.Pow(ratio, u*u))))
				sigma, regime = c.sigma*math.Pow(10, -2*v), cmaesSmall
			}
		}
		next := newCMAESRun(lambda, mean, sigma)
		next.restart, next.regime = run.restart+1, regime
		run = next
		out.runs = append(out.runs, run)
	}
}

// cmaesDoubled is lambda doubled k times, at most cmaesMaxPopulation.
func cmaesDoubled(lambda, k int) int {
	for range k {
		if lambda >= cmaesMaxPopulation/2 {
			return cmaesMaxPopulation
		}
		lambda *= 2
	}
	return lambda
}

// Suggest replays the runs and fills the current generation: up to λ minus the trials it
// has, none while its λ trials run.
func (cmaes) Suggest(req Request) ([]Suggestion, error) {
	c, err := cmaesConfigOf(req.Space, req.Settings)
	if err != nil {
		return nil, err
	}
	if req.Count <= 0 {
		return nil, nil
	}
	s := newCMAESSpace(req.Space)
	if len(s.free) == 0 { // a single point: nothing to search
		out := make([]Suggestion, req.Count)
		for i := range out {
			out[i] = Suggestion{Assignments: s.assign(nil)}
		}
		return out, nil
	}
	rep := c.replay(s, req)
	run := rep.run
	seen := map[string]bool{}
	for _, k := range rep.have {
		seen[assignmentKey(s.axes, req.Trials[k].Assignments)] = true
	}
	rng := RNG(req, "cmaes")
	var out []Suggestion
	for range min(req.Count, run.lambda-len(rep.have)) {
		asg := run.sample(rng, s, seen)
		seen[assignmentKey(s.axes, asg)] = true
		out = append(out, Suggestion{Assignments: asg, Labels: map[string]string{
			CMAESRestartLabel:    strconv.Itoa(run.restart),
			CMAESGenerationLabel: strconv.Itoa(run.gen),
		}})
	}
	return out, nil
}
