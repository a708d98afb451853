package suggest

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

func init() { register("hyperband", func() Algorithm { return hyperband{} }) }

// The labels hyperband puts on its suggestions: its whole state. Every call rebuilds the
// schedule from them.
const (
	// HyperbandBracketLabel holds the trial's bracket s (s_max, s_max-1, … 0).
	HyperbandBracketLabel = "hyperband.kfup.dev/bracket"
	// HyperbandRungLabel holds the trial's rung i within its bracket (0 … s).
	HyperbandRungLabel = "hyperband.kfup.dev/rung"
	// HyperbandParentLabel holds, on a promoted trial (rung ≥ 1), the name of the trial of
	// the rung below whose configuration it continues.
	HyperbandParentLabel = "hyperband.kfup.dev/parent"
)

const (
	hyperbandEtaDefault = 3
	// hyperbandMaxBrackets bounds s_max (an eta close to 1 makes many brackets).
	hyperbandMaxBrackets = 100
	// hyperbandMaxRung bounds the configurations of one rung (the first rung of the first
	// bracket is the largest): more means an eta too close to 1 or an r_l far too large.
	hyperbandMaxRung = 100000
	// hyperbandEps absorbs floating-point error in the schedule's logarithms, powers and
	// truncations (log(1000)/log(10) is 2.9999999999999996).
	hyperbandEps = 1e-9
)

// hyperband is Katib's "hyperband" (Li et al., "Hyperband: A Novel Bandit-Based Approach
// to Hyperparameter Optimization", 2018). With R = r_l and s_max = ⌊log_eta R⌋ it runs the
// brackets s = s_max … 0 in turn; bracket s starts n = ⌈(s_max+1)/(s+1)·eta^s⌉ random
// configurations with resource r = R·eta^-s, and successive halving promotes the best
// n_{i+1} = ⌊n·eta^-(i+1)⌋ of each finished rung i to the next with eta times the
// resource, until rung s runs them with R. (Upstream rounds n_i up; kfup keeps the
// paper's table.) The resource is the parameter resource_name: hyperband sets its value
// (truncated to a whole number for an int parameter, as upstream) and ignores its
// feasibleSpace; the other parameters are drawn as random draws them.
//
// The algorithm keeps no state: each suggestion carries its bracket, rung and parent in
// labels (HyperbandBracketLabel, …), and every call rebuilds the schedule from the trials
// so far. A rung is promoted once each of its trials is done; failed trials and trials
// without a value rank last. While a rung runs nothing more is suggested, except that the
// next bracket starts as soon as the last rung of the current one is suggested (as
// upstream does). ErrExhausted follows the last rung of bracket 0.
type hyperband struct{}

// hyperbandRung is one rung of a bracket: n configurations, each with resource r.
type hyperbandRung struct {
	n int
	r float64
}

// hyperbandBracket is one bracket of the schedule: its s and its rungs 0 … s.
type hyperbandBracket struct {
	s     int
	rungs []hyperbandRung
}

type hyperbandConfig struct {
	resource Param
	eta, rl  float64
	brackets []hyperbandBracket
}

// Settings lists upstream's hyperband settings, and random_state.
func (hyperband) Settings() []Setting {
	return []Setting{
		{Name: "resource_name", Help: "the int or double parameter that is each trial's resource (epochs, steps); hyperband sets its value"},
		{Name: "eta", Default: "3", Help: "the factor each rung cuts the configurations by and multiplies their resource by (a number > 1)"},
		{Name: "r_l", Help: "the most resource one configuration gets, R (a number > 0; ≥ 1 for an int resource)"},
		{Name: "random_state", Help: "seed of the random configurations (a whole number ≥ 0); unset, the trial names seed them"},
	}
}

// Validate checks the settings against the space and the size of the schedule they make.
func (hyperband) Validate(space Space, settings map[string]string) error {
	_, err := hyperbandConfigOf(space, settings)
	return err
}

func hyperbandConfigOf(space Space, settings map[string]string) (hyperbandConfig, error) {
	var c hyperbandConfig
	if _, _, err := Seed(settings); err != nil {
		return c, err
	}
	name := settings["resource_name"]
	if name == "" {
		return c, fmt.Errorf("algorithmSettings resource_name is not set: name the int or double parameter that is each trial's resource (e.g. num-epochs)")
	}
	i := slices.IndexFunc(space, func(p Param) bool { return p.Name == name })
	if i < 0 {
		names := make([]string, len(space))
		for j, p := range space {
			names[j] = p.Name
		}
		return c, fmt.Errorf("algorithmSettings resource_name %q is not a parameter: use one of %s", name, strings.Join(names, ", "))
	}
	c.resource = space[i]
	if !c.resource.Numeric() {
		return c, fmt.Errorf("algorithmSettings resource_name %q: the parameter is %s, and hyperband's resource must be an int or double parameter (epochs, steps)", name, c.resource.Kind)
	}
	if v, ok := settings["r_l"]; !ok || v == "" {
		return c, fmt.Errorf("algorithmSettings r_l is not set: set the most resource one configuration gets (e.g. the most epochs of %s)", name)
	}
	var err error
	if c.rl, err = numSetting(settings, "r_l", 0, func(f float64) bool { return f > 0 }, "a number > 0: the most resource one configuration gets"); err != nil {
		return c, err
	}
	if c.resource.Kind == Int && c.rl < 1 {
		return c, fmt.Errorf("algorithmSettings r_l %q: the resource %q is an int parameter, so r_l must be ≥ 1", settings["r_l"], name)
	}
	if c.eta, err = numSetting(settings, "eta", hyperbandEtaDefault, func(f float64) bool { return f > 1 }, "a number > 1 (each rung keeps the best 1/eta)"); err != nil {
		return c, err
	}
	if s := math.Log(c.rl) / math.Log(c.eta); s > hyperbandMaxBrackets {
		return c, fmt.Errorf("algorithmSettings eta %s and r_l %s make more than %d brackets; raise eta or lower r_l",
			fmtNum(c.eta), fmtNum(c.rl), hyperbandMaxBrackets+1)
	}
	c.brackets = hyperbandSchedule(c.rl, c.eta)
	for _, b := range c.brackets {
		if b.rungs[0].n > hyperbandMaxRung {
			return c, fmt.Errorf("algorithmSettings eta %s and r_l %s: bracket %d would start more than %d configurations; raise eta or lower r_l",
				fmtNum(c.eta), fmtNum(c.rl), b.s, hyperbandMaxRung)
		}
	}
	return c, nil
}

// hyperbandSMax is ⌊log_eta R⌋ (0 for R < eta).
func hyperbandSMax(rl, eta float64) int {
	s := math.Floor(math.Log(rl)/math.Log(eta) + hyperbandEps)
	if s < 0 || math.IsNaN(s) {
		return 0
	}
	return int(math.Min(s, hyperbandMaxBrackets))
}

// hyperbandSchedule is the paper's schedule for R = rl: the brackets s_max … 0, rung i of
// bracket s holding n_i = ⌊n·eta^-i⌋ configurations with resource r_i = R·eta^(i-s).
func hyperbandSchedule(rl, eta float64) []hyperbandBracket {
	sMax := hyperbandSMax(rl, eta)
	var out []hyperbandBracket
	for s := sMax; s >= 0; s-- {
		n := math.Ceil(float64(sMax+1)/float64(s+1)*math.Pow(eta, float64(s)) - hyperbandEps)
		b := hyperbandBracket{s: s}
		for i := 0; i <= s; i++ {
			ni := math.Max(1, math.Floor(n*math.Pow(eta, -float64(i))+hyperbandEps))
			ni = math.Min(ni, 2*hyperbandMaxRung) // Validate refuses more; keep int() defined
			b.rungs = append(b.rungs, hyperbandRung{n: int(ni), r: rl * math.Pow(eta, float64(i-s))})
		}
		out = append(out, b)
	}
	return out
}

// resourceValue writes a rung's resource as the resource parameter's assignment: an int
// truncated (upstream's int()), a double in its shortest form at 12 significant digits.
func (c hyperbandConfig) resourceValue(r float64) string {
	if c.resource.Kind == Int {
		return strconv.FormatInt(int64(math.Max(1, math.Floor(r+hyperbandEps))), 10)
	}
	f, _ := strconv.ParseFloat(strconv.FormatFloat(r, 'g', 12, 64), 64)
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// labelValueRE is what a Kubernetes label value may be (besides at most 63 characters).
var labelValueRE = regexp.MustCompile(`^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$`)

// Suggest walks the schedule against the trials so far and returns what comes next: the
// missing configurations of the current rung 0, or the promotions of a finished rung;
// nothing while a rung runs; ErrExhausted once every rung is suggested.
func (hyperband) Suggest(req Request) ([]Suggestion, error) {
	c, err := hyperbandConfigOf(req.Space, req.Settings)
	if err != nil {
		return nil, err
	}
	if req.Count <= 0 {
		return nil, nil
	}
	// The trials of each rung, by their labels; trials without them (or outside the
	// schedule) are not hyperband's and are left alone.
	type rungKey struct{ s, i int }
	byRung := map[rungKey][]int{}
	for k, t := range req.Trials {
		s, err1 := strconv.Atoi(t.Labels[HyperbandBracketLabel])
		i, err2 := strconv.Atoi(t.Labels[HyperbandRungLabel])
		if err1 != nil || err2 != nil || s < 0 || s >= len(c.brackets) || i < 0 || i > s {
			continue
		}
		byRung[rungKey{s, i}] = append(byRung[rungKey{s, i}], k)
	}
	var others []axis
	for _, p := range req.Space {
		if p.Name != c.resource.Name {
			others = append(others, newAxis(p))
		}
	}
	r := RNG(req, "hyperband")
	seen := map[string]bool{}
	var out []Suggestion
	for _, b := range c.brackets {
		var below []int // the trials of the finished rung below
		for i, rung := range b.rungs {
			have := byRung[rungKey{b.s, i}]
			missing := rung.n - len(have)
			if missing > 0 {
				k := min(missing, req.Count-len(out))
				var next []Suggestion
				if i == 0 {
					next = hyperbandDraw(c, b.s, others, r, seen, k)
				} else if next, err = hyperbandPromote(c, req, b.s, i, below, have, k); err != nil {
					return nil, err
				}
				out = append(out, next...)
				switch {
				case len(next) < k:
					// Nothing left to promote (a rung edited by hand): the rung is as
					// full as it gets.
					missing = len(next)
				case k < missing:
					return out, nil // no room left in this call
				}
			}
			if i == b.s {
				break // the bracket is fully suggested: the next one may start
			}
			if missing > 0 || slices.ContainsFunc(have, func(k int) bool { return !req.Trials[k].Done }) {
				return out, nil // the rung runs: its promotions wait
			}
			below = have
		}
	}
	if len(out) == 0 {
		return nil, ErrExhausted
	}
	return out, nil
}

// hyperbandDraw draws k new configurations for rung 0 of bracket s, distinct within the
// call where the space allows.
func hyperbandDraw(c hyperbandConfig, s int, others []axis, r *rand.Rand, seen map[string]bool, k int) []Suggestion {
	out := make([]Suggestion, 0, k)
	for range k {
		var asg map[string]string
		for range maxRedraws {
			asg = make(map[string]string, len(others)+1)
			for _, a := range others {
				asg[a.p.Name] = a.fromUnit(r.Float64())
			}
			if !seen[assignmentKey(others, asg)] {
				break
			}
		}
		seen[assignmentKey(others, asg)] = true
		asg[c.resource.Name] = c.resourceValue(c.brackets[len(c.brackets)-1-s].rungs[0].r)
		out = append(out, Suggestion{Assignments: asg, Labels: map[string]string{
			HyperbandBracketLabel: strconv.Itoa(s),
			HyperbandRungLabel:    "0",
		}})
	}
	return out
}

// hyperbandPromote returns up to k promotions into rung i of bracket s: the best trials of
// the finished rung below (below) not yet promoted (the parents of have), with rung i's
// resource.
func hyperbandPromote(c hyperbandConfig, req Request, s, i int, below, have []int, k int) ([]Suggestion, error) {
	promoted := map[string]bool{}
	for _, h := range have {
		promoted[req.Trials[h].Labels[HyperbandParentLabel]] = true
	}
	ranked := slices.Clone(below)
	slices.SortStableFunc(ranked, func(a, b int) int {
		la, oka := lossOf(req.Trials[a], req.Goal)
		lb, okb := lossOf(req.Trials[b], req.Goal)
		switch {
		case oka && okb:
			return cmp.Compare(la, lb)
		case oka:
			return -1
		case okb:
			return 1
		}
		return 0
	})
	rung := c.brackets[len(c.brackets)-1-s].rungs[i]
	ranked = ranked[:min(len(ranked), rung.n)] // the top n_i of the rung below
	var out []Suggestion
	for _, p := range ranked {
		if len(out) == k {
			break
		}
		parent := req.Trials[p]
		if promoted[parent.Name] {
			continue
		}
		if len(parent.Name) > 63 || !labelValueRE.MatchString(parent.Name) {
			return nil, fmt.Errorf("trial %q: its name is no valid label value, so hyperband cannot record it as the parent of its promotion", parent.Name)
		}
		asg := make(map[string]string, len(req.Space))
		for _, q := range req.Space {
			if v, ok := parent.Assignments[q.Name]; ok {
				asg[q.Name] = v
			}
		}
		asg[c.resource.Name] = c.resourceValue(rung.r)
		out = append(out, Suggestion{Assignments: asg, Labels: map[string]string{
			HyperbandBracketLabel: strconv.Itoa(s),
			HyperbandRungLabel:    strconv.Itoa(i),
			HyperbandParentLabel:  parent.Name,
		}})
	}
	return out, nil
}
