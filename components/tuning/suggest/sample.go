package suggest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
)

// sdPerRange is how many standard deviations of a normal or logNormal prior span the
// parameter's range: upstream Katib centres the prior on the range and takes
// sigma = (max-min)/6, so ±3 sigma covers it. kfup truncates the prior to the range, so
// every sample is feasible.
const sdPerRange = 6

// axis is one parameter as the samplers see it: a category index, or a number in its search
// space (the logarithm for log distributions), bounded by lo and hi. Those bounds are
// widened by half a step on either side of a grid (Int, or Double with a step), so each grid
// point owns an equal share of the range, as Optuna does.
type axis struct {
	p Param
	// n is the number of categories of a Discrete or Categorical parameter (0 otherwise).
	n int
	// log says the search space is the logarithm of the value.
	log bool
	// step discretizes a linear axis (0: continuous); a log axis is searched continuously
	// and snapped onto its grid when formatted.
	step float64
	// lo and hi bound the search space (logarithms for a log axis).
	lo, hi float64
	// fixed marks a numeric parameter with a single value (min = max).
	fixed bool
}

func newAxis(p Param) axis {
	a := axis{p: p}
	if !p.Numeric() {
		a.n = len(p.List)
		return a
	}
	a.log = p.Log()
	step := p.Step
	if step <= 0 && p.Kind == Int {
		step = 1
	}
	lo, hi := p.Min, p.Max
	if step > 0 {
		last := p.Min + math.Floor((p.Max-p.Min)/step+1e-9)*step
		lo, hi = p.Min-step/2, last+step/2
		if a.log && lo <= 0 {
			lo = p.Min
		}
	}
	if !a.log {
		a.step = step
	}
	if p.Min == p.Max {
		a.fixed = true
	}
	if a.log {
		lo, hi = math.Log(lo), math.Log(hi)
	}
	a.lo, a.hi = lo, hi
	return a
}

func (a axis) categorical() bool { return a.n > 0 }

// internal maps an assignment to the axis's search space (a category index, or the number,
// or its logarithm); ok is false for a value that is not feasible (the space changed since
// the trial ran, or the trial was created by hand).
func (a axis) internal(s string) (x float64, ok bool) {
	if a.categorical() {
		i := a.p.Index(s)
		return float64(i), i >= 0
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) {
		return 0, false
	}
	tol := 1e-9 * math.Max(1, math.Max(math.Abs(a.p.Min), math.Abs(a.p.Max)))
	if v < a.p.Min-tol || v > a.p.Max+tol {
		return 0, false
	}
	v = a.p.Snap(v)
	if a.log {
		return math.Log(v), true
	}
	return v, true
}

// format writes a point of the search space as the parameter's assignment.
func (a axis) format(x float64) string {
	if a.categorical() {
		i := int(x)
		i = max(0, min(a.n-1, i))
		return a.p.List[i]
	}
	if a.fixed {
		return a.p.Format(a.p.Min)
	}
	if a.log {
		x = math.Exp(x)
	}
	return a.p.Format(x)
}

// snap puts a point of a discretized linear axis onto its grid (the points Min + k·step).
func (a axis) snap(x float64) float64 {
	if a.step <= 0 {
		return math.Max(a.lo, math.Min(a.hi, x))
	}
	k := math.Round((x - a.p.Min) / a.step)
	kmax := math.Floor((a.p.Max-a.p.Min)/a.step + 1e-9)
	return a.p.Min + math.Max(0, math.Min(kmax, k))*a.step
}

// fromUnit maps u in [0, 1) to an assignment through the parameter's prior: its quantile
// function, so uniform u gives samples from the prior and a low-discrepancy u (sobol) keeps
// its spread. Categories and grid points each get an equal share.
func (a axis) fromUnit(u float64) string {
	u = math.Max(0, math.Min(math.Nextafter(1, 0), u))
	if a.categorical() {
		return a.p.List[min(a.n-1, int(u*float64(a.n)))]
	}
	if a.fixed {
		return a.p.Format(a.p.Min)
	}
	var x float64
	switch a.p.Distribution {
	case Normal, LogNormal:
		cLo, cHi := a.p.Min, a.p.Max
		if a.log {
			cLo, cHi = math.Log(cLo), math.Log(cHi)
		}
		mu, sd := (cLo+cHi)/2, (cHi-cLo)/sdPerRange
		x = mu + sd*truncNormQuantile((a.lo-mu)/sd, (a.hi-mu)/sd, u)
	default:
		x = a.lo + u*(a.hi-a.lo)
	}
	x = math.Max(a.lo, math.Min(a.hi, x))
	if a.step > 0 {
		x = a.snap(x)
	}
	return a.format(x)
}

// sampleAssignment draws one assignment of every parameter from its prior.
func sampleAssignment(axes []axis, r *rand.Rand) map[string]string {
	out := make(map[string]string, len(axes))
	for _, a := range axes {
		out[a.p.Name] = a.fromUnit(r.Float64())
	}
	return out
}

func axesOf(space Space) []axis {
	out := make([]axis, len(space))
	for i, p := range space {
		out[i] = newAxis(p)
	}
	return out
}

// assignmentKey identifies an assignment of the space's parameters (distinct suggestions
// have distinct keys).
func assignmentKey(axes []axis, asg map[string]string) string {
	var b strings.Builder
	for _, a := range axes {
		b.WriteString(asg[a.p.Name])
		b.WriteByte(0)
	}
	return b.String()
}

// normCDF is the standard normal distribution function.
func normCDF(z float64) float64 { return 0.5 * math.Erfc(-z/math.Sqrt2) }

// normQuantile is the inverse of normCDF. math.Erfcinv loses the far tails (it computes
// Erfinv(1-x)), so Newton steps on log normCDF, which keeps them, polish its answer.
func normQuantile(p float64) float64 {
	if p <= 0 {
		return math.Inf(-1)
	}
	if p >= 1 {
		return math.Inf(1)
	}
	if p > 0.5 {
		return -normQuantile(1 - p)
	}
	z := -math.Sqrt2 * math.Erfcinv(2*p)
	if p > 1e-8 {
		return z
	}
	if math.IsInf(z, 0) || math.IsNaN(z) {
		z = -math.Sqrt(-2 * math.Log(p)) // the tail's leading term
	}
	const invSqrt2Pi = 0.3989422804014327
	lp := math.Log(p)
	for range 8 {
		cdf := normCDF(z)
		pdf := invSqrt2Pi * math.Exp(-0.5*z*z)
		if cdf == 0 || pdf == 0 {
			break
		}
		step := (math.Log(cdf) - lp) * cdf / pdf
		z -= step
		if math.Abs(step) < 1e-12*math.Abs(z) {
			break
		}
	}
	return z
}

// truncNormQuantile is the u-quantile of the standard normal truncated to [a, b]; it works
// in the upper tail's complement when the interval lies right of the mean, so a far tail
// keeps its precision.
func truncNormQuantile(a, b, u float64) float64 {
	var z float64
	if a > 0 {
		qa, qb := normCDF(-a), normCDF(-b)
		z = -normQuantile(qa - u*(qa-qb))
	} else {
		pa, pb := normCDF(a), normCDF(b)
		z = normQuantile(pa + u*(pb-pa))
	}
	if math.IsNaN(z) || math.IsInf(z, 0) {
		z = a + u*(b-a)
	}
	return math.Max(a, math.Min(b, z))
}

// logNormMass is log(Φ(b) − Φ(a)) for a < b, taken in the tail that keeps precision; an
// interval whose mass underflows gets the density at its nearer end times its width.
func logNormMass(a, b float64) float64 {
	var m float64
	switch {
	case a >= 0:
		m = normCDF(-a) - normCDF(-b)
	case b <= 0:
		m = normCDF(b) - normCDF(a)
	default:
		m = 1 - normCDF(a) - normCDF(-b)
	}
	if m > 0 {
		return math.Log(m)
	}
	near := a
	if b < 0 {
		near = b
	}
	return -0.5*near*near - 0.5*math.Log(2*math.Pi) + math.Log(b-a)
}

// intSetting reads a whole-number algorithmSettings value ≥ lo (def when unset).
func intSetting(settings map[string]string, name string, def, lo int) (int, error) {
	v, ok := settings[name]
	if !ok || v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < lo {
		return 0, fmt.Errorf("algorithmSettings %s %q: use a whole number ≥ %d", name, v, lo)
	}
	return n, nil
}
