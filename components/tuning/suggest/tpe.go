package suggest

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
)

func init() {
	register("tpe", func() Algorithm { return tpe{name: "tpe"} })
	register("multivariate-tpe", func() Algorithm { return tpe{name: "multivariate-tpe", multivariate: true} })
}

// The defaults of Optuna's TPESampler, which upstream Katib runs for tpe and
// multivariate-tpe.
const (
	tpeStartupDefault    = 10
	tpeCandidatesDefault = 24
	// tpePriorWeight is the weight of the prior kernel next to each observation's.
	tpePriorWeight = 1.0
	// tpeMaxBelow caps the good group (Optuna's default gamma: min(⌈0.1·n⌉, 25)).
	tpeMaxBelow = 25
	// tpeFlatWeights is how many of the newest observations keep full weight; older ones
	// ramp down linearly (Optuna's default_weights).
	tpeFlatWeights = 25
)

// tpe is Katib's "tpe" and "multivariate-tpe": Optuna 3.1's Tree-structured Parzen
// Estimator (TPESampler, as upstream configures it). After n_startup_trials random trials,
// the finished trials split into the best ⌈10%⌉ (at most 25) and the rest; a Parzen
// estimator — a mixture of truncated normals, one per observation plus the prior — models
// each group, l(x) for the good and g(x) for the rest; n_ei_candidates points are drawn
// from l and the one maximizing log l(x) − log g(x) is suggested. "tpe" models each
// parameter on its own (sigma from the gaps to the neighbouring observations);
// "multivariate-tpe" models them jointly (Optuna's multivariate=True, with Scott's-rule
// bandwidths). Log distributions are modelled in log space, grids (int, step) as discrete
// cells, categorical and discrete lists by weighted counts.
//
// The score is Optuna 3.1's: a continuous kernel counts with its height profile
// exp(−z²/2) over its mass inside the bounds, not divided by its sigma (see
// parzen.logPDF). Candidates are still drawn from l as the mixture it is.
//
// Failed trials and trials without a value are ignored. Running trials, and the
// suggestions made earlier in the same call, count as bad observations (upstream sets
// Optuna's constant_liar), so parallel trials spread out rather than pile onto one point.
type tpe struct {
	name         string
	multivariate bool
}

type tpeConfig struct {
	startup, candidates int
}

// Settings lists upstream's TPE settings.
func (t tpe) Settings() []Setting {
	return []Setting{
		{Name: "n_startup_trials", Default: "10", Help: "trials drawn at random before the model is used (a whole number ≥ 0)"},
		{Name: "n_ei_candidates", Default: "24", Help: "candidates drawn from the good trials' model per suggestion (a whole number ≥ 1)"},
		{Name: "random_state", Help: "seed of the random draws (a whole number ≥ 0); unset, the trial names seed them"},
	}
}

// Validate checks the settings' values.
func (t tpe) Validate(_ Space, settings map[string]string) error {
	_, err := t.config(settings)
	return err
}

func (t tpe) config(settings map[string]string) (tpeConfig, error) {
	var c tpeConfig
	var err error
	if _, _, err = Seed(settings); err != nil {
		return c, err
	}
	if c.startup, err = intSetting(settings, "n_startup_trials", tpeStartupDefault, 0); err != nil {
		return c, err
	}
	if c.candidates, err = intSetting(settings, "n_ei_candidates", tpeCandidatesDefault, 1); err != nil {
		return c, err
	}
	return c, nil
}

// tpeObs is one trial as the estimators see it: x holds each parameter's search-space value
// (NaN where the assignment is not feasible), order its position among the trials.
type tpeObs struct {
	order int
	score float64 // lower is better
	x     []float64
}

// Suggest returns req.Count suggestions, each drawn knowing the ones before it.
func (t tpe) Suggest(req Request) ([]Suggestion, error) {
	cfg, err := t.config(req.Settings)
	if err != nil {
		return nil, err
	}
	axes := axesOf(req.Space)
	r := RNG(req, t.name)
	parse := func(asg map[string]string) []float64 {
		x := make([]float64, len(axes))
		for i, a := range axes {
			x[i] = math.NaN()
			if s, ok := asg[a.p.Name]; ok {
				if v, ok := a.internal(s); ok {
					x[i] = v
				}
			}
		}
		return x
	}
	var complete, pruned, running []tpeObs
	for i, tr := range req.Trials {
		switch {
		case tr.Failed:
		case tr.Value == nil:
			if !tr.Done {
				running = append(running, tpeObs{order: i, x: parse(tr.Assignments)})
			}
		case math.IsNaN(*tr.Value):
		default:
			score := *tr.Value
			if req.Goal == Maximize {
				score = -score
			}
			o := tpeObs{order: i, score: score, x: parse(tr.Assignments)}
			if tr.EarlyStopped {
				pruned = append(pruned, o)
			} else {
				complete = append(complete, o)
			}
		}
	}
	finished := len(complete) + len(pruned)
	var below, above []tpeObs
	if finished >= cfg.startup {
		below, above = tpeSplit(complete, pruned)
	}
	seen := map[string]bool{}
	var out []Suggestion
	for i := range req.Count {
		var asg map[string]string
		for range maxRedraws {
			if finished < cfg.startup {
				asg = sampleAssignment(axes, r)
			} else {
				bad := slices.SortedFunc(slices.Values(slices.Concat(above, running)), byOrder)
				asg = t.sample(axes, below, bad, cfg.candidates, r)
			}
			if !seen[assignmentKey(axes, asg)] {
				break
			}
		}
		seen[assignmentKey(axes, asg)] = true
		running = append(running, tpeObs{order: len(req.Trials) + i, x: parse(asg)})
		out = append(out, Suggestion{Assignments: asg})
	}
	return out, nil
}

func byOrder(a, b tpeObs) int { return cmp.Compare(a.order, b.order) }

// tpeSplit splits the finished trials into the good group (the best ⌈10%⌉, at most 25,
// early-stopped trials only when too few completed) and the rest, each in trial order.
func tpeSplit(complete, pruned []tpeObs) (below, above []tpeObs) {
	n := len(complete) + len(pruned)
	nBelow := min(int(math.Ceil(0.1*float64(n))), tpeMaxBelow)
	byScore := func(a, b tpeObs) int { return cmp.Or(cmp.Compare(a.score, b.score), cmp.Compare(a.order, b.order)) }
	for _, group := range [][]tpeObs{complete, pruned} {
		sorted := slices.SortedFunc(slices.Values(group), byScore)
		k := min(nBelow, len(sorted))
		below = append(below, sorted[:k]...)
		above = append(above, sorted[k:]...)
		nBelow -= k
	}
	slices.SortFunc(below, byOrder)
	slices.SortFunc(above, byOrder)
	return below, above
}

// sample draws one assignment from the estimators of the two groups (above includes the
// running trials).
func (t tpe) sample(axes []axis, below, above []tpeObs, candidates int, r *rand.Rand) map[string]string {
	asg := make(map[string]string, len(axes))
	if t.multivariate {
		dims := make([]int, 0, len(axes))
		for d, a := range axes {
			if a.fixed {
				asg[a.p.Name] = a.format(0)
				continue
			}
			dims = append(dims, d)
		}
		if len(dims) == 0 {
			return asg
		}
		l := newParzen(axes, dims, rowsOf(below, dims), true)
		g := newParzen(axes, dims, rowsOf(above, dims), true)
		best := argmaxRatio(l, g, candidates, r)
		for j, d := range dims {
			asg[axes[d].p.Name] = axes[d].format(best[j])
		}
		return asg
	}
	for d, a := range axes {
		if a.fixed {
			asg[a.p.Name] = a.format(0)
			continue
		}
		dims := []int{d}
		l := newParzen(axes, dims, rowsOf(below, dims), false)
		g := newParzen(axes, dims, rowsOf(above, dims), false)
		asg[a.p.Name] = a.format(argmaxRatio(l, g, candidates, r)[0])
	}
	return asg
}

// rowsOf keeps the observations feasible in every one of dims, as rows of those values.
func rowsOf(obs []tpeObs, dims []int) [][]float64 {
	var out [][]float64
next:
	for _, o := range obs {
		row := make([]float64, len(dims))
		for j, d := range dims {
			if math.IsNaN(o.x[d]) {
				continue next
			}
			row[j] = o.x[d]
		}
		out = append(out, row)
	}
	return out
}

// argmaxRatio draws candidates from l and returns the one with the largest l(x)/g(x).
func argmaxRatio(l, g *parzen, candidates int, r *rand.Rand) []float64 {
	var best []float64
	bestScore := math.Inf(-1)
	scratch := make([]float64, max(len(l.logW), len(g.logW)))
	for range candidates {
		x := l.sample(r)
		s := l.logPDF(x, scratch) - g.logPDF(x, scratch)
		if best == nil || s > bestScore {
			best, bestScore = x, s
		}
	}
	return best
}

// parzen is a Parzen estimator: a weighted mixture of kernels, each a product over the
// modelled dimensions of a truncated normal (numbers) or a categorical distribution.
type parzen struct {
	axes []axis // the modelled dimensions
	logW []float64
	cumW []float64
	mu   [][]float64 // [dim][kernel]; numeric dimensions
	sd   [][]float64
	logZ [][]float64   // log of each kernel's mass inside the bounds
	cat  [][][]float64 // [dim][kernel][choice] probabilities; categorical dimensions
	lcat [][][]float64 // their logarithms
}

// newParzen builds the estimator of observations rows (values of dims, oldest first): one
// kernel per observation, weighted by recency, and the prior.
func newParzen(all []axis, dims []int, rows [][]float64, multivariate bool) *parzen {
	n := len(rows)
	k := n + 1
	pz := &parzen{
		mu: make([][]float64, len(dims)), sd: make([][]float64, len(dims)), logZ: make([][]float64, len(dims)),
		cat: make([][][]float64, len(dims)), lcat: make([][][]float64, len(dims)),
	}
	w := tpeWeights(n)
	w = append(w, tpePriorWeight)
	var sum float64
	for _, v := range w {
		sum += v
	}
	pz.logW = make([]float64, k)
	pz.cumW = make([]float64, k)
	acc := 0.0
	for i, v := range w {
		pz.logW[i] = math.Log(v / sum)
		acc += v / sum
		pz.cumW[i] = acc
	}
	for j, d := range dims {
		a := all[d]
		pz.axes = append(pz.axes, a)
		obs := make([]float64, n)
		for i, row := range rows {
			obs[i] = row[j]
		}
		if a.categorical() {
			pz.cat[j], pz.lcat[j] = categoricalKernels(a.n, obs)
			continue
		}
		pz.mu[j], pz.sd[j] = numericKernels(a, obs, multivariate, len(dims))
		pz.logZ[j] = make([]float64, k)
		for i := range k {
			pz.logZ[j][i] = logNormMass((a.lo-pz.mu[j][i])/pz.sd[j][i], (a.hi-pz.mu[j][i])/pz.sd[j][i])
		}
	}
	return pz
}

// tpeWeights is Optuna's default_weights: the 25 newest observations weigh 1, older ones
// ramp linearly from 1/n.
func tpeWeights(n int) []float64 {
	w := make([]float64, n, n+1)
	ramp := n - tpeFlatWeights
	for i := range n {
		w[i] = 1
		if i < ramp {
			if ramp == 1 {
				w[i] = 1 / float64(n)
			} else {
				w[i] = 1/float64(n) + float64(i)*(1-1/float64(n))/float64(ramp-1)
			}
		}
	}
	return w
}

// categoricalKernels gives each observation a kernel with its category's probability raised
// by one over the prior's share, and the prior a uniform kernel.
func categoricalKernels(choices int, obs []float64) (p, lp [][]float64) {
	k := len(obs) + 1
	base := tpePriorWeight / float64(k)
	p = make([][]float64, k)
	lp = make([][]float64, k)
	for i := range k {
		row := make([]float64, choices)
		lrow := make([]float64, choices)
		total := base * float64(choices)
		if i < len(obs) {
			total++
		}
		for c := range choices {
			v := base
			if i < len(obs) && int(obs[i]) == c {
				v++
			}
			row[c] = v / total
			lrow[c] = math.Log(row[c])
		}
		p[i], lp[i] = row, lrow
	}
	return p, lp
}

// numericKernels centres a kernel on each observation and the prior's on the range's
// middle. Univariate bandwidths are the larger gap to the neighbouring observations (the
// prior's centre among them, the bounds not); multivariate ones Optuna's
// 0.2·n^(−1/(d+4))·range. All are clipped to [range/min(100, kernels+1), range] (the
// "magic clip"); the prior's is the range.
func numericKernels(a axis, obs []float64, multivariate bool, nDims int) (mu, sd []float64) {
	n := len(obs)
	width := a.hi - a.lo
	prior := 0.5 * (a.lo + a.hi)
	mu = append(append(make([]float64, 0, n+1), obs...), prior)
	sd = make([]float64, n+1)
	if multivariate {
		s := 0.2 * math.Pow(math.Max(float64(n), 1), -1/float64(nDims+4)) * width
		for i := range n {
			sd[i] = s
		}
	} else {
		idx := make([]int, n+1)
		for i := range idx {
			idx[i] = i
		}
		slices.SortStableFunc(idx, func(x, y int) int { return cmp.Compare(mu[x], mu[y]) })
		at := func(p int) float64 { // sorted centres with the bounds at either end
			switch {
			case p < 0:
				return a.lo
			case p > n:
				return a.hi
			}
			return mu[idx[p]]
		}
		for p := 0; p <= n; p++ {
			s := math.Max(at(p)-at(p-1), at(p+1)-at(p))
			if n >= 1 { // consider_endpoints=False: the outermost look inwards only
				if p == 0 {
					s = at(1) - at(0)
				} else if p == n {
					s = at(n) - at(n-1)
				}
			}
			sd[idx[p]] = s
		}
	}
	minSD := width / math.Min(100, float64(n+2))
	for i := range n {
		sd[i] = math.Max(minSD, math.Min(width, sd[i]))
	}
	sd[n] = width
	return mu, sd
}

// sample draws a point: a kernel by weight, then each dimension from that kernel.
func (pz *parzen) sample(r *rand.Rand) []float64 {
	k, _ := slices.BinarySearch(pz.cumW, r.Float64())
	k = min(k, len(pz.cumW)-1)
	x := make([]float64, len(pz.axes))
	for j, a := range pz.axes {
		if a.categorical() {
			u, acc := r.Float64(), 0.0
			row := pz.cat[j][k]
			x[j] = float64(len(row) - 1)
			for c, p := range row {
				acc += p
				if u < acc {
					x[j] = float64(c)
					break
				}
			}
			continue
		}
		mu, sd := pz.mu[j][k], pz.sd[j][k]
		v := mu + sd*truncNormQuantile((a.lo-mu)/sd, (a.hi-mu)/sd, r.Float64())
		x[j] = a.snap(v)
	}
	return x
}

// logPDF is the score of the mixture at x, log Σ_k w_k Π_j p_kj(x_j); scratch holds one
// term per kernel. For categories and grid cells p_kj is the kernel's probability. For
// continuous dimensions it is Optuna 3.1's truncated-normal log density, which leaves out
// the −log σ of a normal density: p_kj = φ(z)/mass, z = (x−μ)/σ. The mixture is then no
// longer normalized; in effect each kernel weighs w_k·σ_k in the score, so wide kernels
// (the prior, isolated observations) smooth l and g where narrow ones would make them
// spiky in the densely sampled spots, and the normalizing constants cancel in argmax
// log l − log g. Optuna 3.5 divided by σ (optuna#5110); kfup keeps 3.1's score, the one
// its benchmark compares with and the one that did better there (docs/tuning.md).
func (pz *parzen) logPDF(x []float64, scratch []float64) float64 {
	terms := scratch[:len(pz.logW)]
	copy(terms, pz.logW)
	const logSqrt2Pi = 0.9189385332046727
	for j, a := range pz.axes {
		if a.categorical() {
			c := int(x[j])
			for k := range terms {
				terms[k] += pz.lcat[j][k][c]
			}
			continue
		}
		mus, sds, lz := pz.mu[j], pz.sd[j], pz.logZ[j]
		if a.step > 0 {
			h := a.step / 2
			for k := range terms {
				terms[k] += logNormMass((x[j]-h-mus[k])/sds[k], (x[j]+h-mus[k])/sds[k]) - lz[k]
			}
			continue
		}
		for k := range terms {
			z := (x[j] - mus[k]) / sds[k]
			terms[k] += -0.5*z*z - logSqrt2Pi - lz[k]
		}
	}
	m := math.Inf(-1)
	for _, v := range terms {
		m = math.Max(m, v)
	}
	if math.IsInf(m, -1) {
		return m
	}
	var s float64
	for _, v := range terms {
		s += math.Exp(v - m)
	}
	return m + math.Log(s)
}
