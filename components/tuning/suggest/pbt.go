package suggest

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"path"
	"slices"
	"strconv"
	"strings"
)

func init() { register("pbt", func() Algorithm { return pbt{} }) }

// The labels pbt puts on its suggestions, upstream Katib's keys: the whole state of the
// population. Every call rebuilds the generations from them.
const (
	// PBTGenerationLabel holds the trial's generation (0 for the first population).
	PBTGenerationLabel = "pbt.suggestion.katib.kubeflow.org/generation"
	// PBTParentLabel holds, on a trial of generation ≥ 1, the name of the trial whose
	// checkpoint it continues from (the checkpoint directory the trial starts with is a
	// copy of the parent's).
	PBTParentLabel = "pbt.suggestion.katib.kubeflow.org/parent"
)

// PBTTrialDirSetting is the algorithmSettings key of the directory where a pbt trial's
// primary container finds its checkpoint (upstream's suggestion_trial_dir).
const PBTTrialDirSetting = "suggestion_trial_dir"

const (
	pbtPopulationDefault = 40 // the Katib UI's default; upstream requires the setting
	pbtPopulationMin     = 5  // upstream's lower bound
	pbtPopulationMax     = 10000
	pbtThresholdDefault  = 0.2 // the Katib UI's default and the paper's truncation
)

// pbtFactors are the explore step's perturbation factors (upstream's, Jaderberg et al.'s).
var pbtFactors = [2]float64{0.8, 1.2}

// pbt is Katib's "pbt", Population Based Training (Jaderberg et al., "Population Based
// Training of Neural Networks", 2017) as Katib runs it: each trial trains for a while from
// a checkpoint and reports its objective; the trials of a generation form a population,
// and once n_population of them succeeded the next generation is bred from it.
//
// Truncation selection: the population is ranked by objective; each member owns one
// child. A member of the bottom truncation_threshold fraction is replaced (exploit): its
// child continues from the checkpoint of a member of the top fraction drawn at random,
// with that member's hyperparameters. Every other member's child continues from its own
// checkpoint and hyperparameters. Then every child explores: without
// resample_probability each parameter is perturbed (a number times 0.8 or 1.2, a list
// value moved to a neighbour); with it, each parameter is drawn afresh from its prior
// with that probability and kept otherwise. Every value stays feasible.
//
// The algorithm keeps no state: each suggestion carries its generation and parent in
// upstream's labels (PBTGenerationLabel, PBTParentLabel), and every call rebuilds the
// population from the trials so far. It never waits: while the current generation has
// fewer than n_population succeeded members, more members of it are suggested (random
// ones in generation 0, further children of the previous generation after), as upstream
// does. A failed trial is no member; its slot is filled by the next child.
type pbt struct{}

type pbtConfig struct {
	n         int
	threshold float64
	// resample is resample_probability; negative when unset (perturb).
	resample float64
}

// Settings lists upstream's pbt settings, and random_state.
func (pbt) Settings() []Setting {
	return []Setting{
		{Name: PBTTrialDirSetting, Help: "the absolute directory where each trial's primary container reads and writes its checkpoint (e.g. /var/log/katib/checkpoints/); kfup mounts the trial's own directory of the experiment's volume there"},
		{Name: "n_population", Default: strconv.Itoa(pbtPopulationDefault), Help: "the trials per generation (a whole number ≥ 5)"},
		{Name: "truncation_threshold", Default: fmtNum(pbtThresholdDefault), Help: "the fraction of each generation replaced by copies of its best (a number between 0 and 1)"},
		{Name: "resample_probability", Help: "unset: perturb every parameter by 0.8 or 1.2; a probability in [0, 1]: draw each parameter afresh with it, else keep it"},
		{Name: "random_state", Help: "seed of the random draws (a whole number ≥ 0); unset, the trial names seed them"},
	}
}

// Validate checks the settings.
func (pbt) Validate(_ Space, settings map[string]string) error {
	_, err := pbtConfigOf(settings)
	return err
}

func pbtConfigOf(settings map[string]string) (pbtConfig, error) {
	c := pbtConfig{resample: -1}
	if _, _, err := Seed(settings); err != nil {
		return c, err
	}
	dir, ok := settings[PBTTrialDirSetting]
	switch {
	case !ok || dir == "":
		return c, fmt.Errorf("algorithmSettings %s is not set: set the directory where the trial code reads and writes its checkpoint (e.g. /var/log/katib/checkpoints/)", PBTTrialDirSetting)
	case !path.IsAbs(dir):
		return c, fmt.Errorf("algorithmSettings %s %q is not an absolute path: use one such as /var/log/katib/checkpoints/", PBTTrialDirSetting, dir)
	case path.Clean(dir) == "/":
		return c, fmt.Errorf("algorithmSettings %s %q is the root: kfup mounts the trial's checkpoint volume there, so use a directory such as /var/log/katib/checkpoints/", PBTTrialDirSetting, dir)
	case strings.ContainsAny(dir, ":\n"):
		return c, fmt.Errorf("algorithmSettings %s %q: a mount path holds no ':' or newline", PBTTrialDirSetting, dir)
	}
	var err error
	if c.n, err = wholeSetting(settings, "n_population", pbtPopulationDefault, pbtPopulationMin); err != nil {
		return c, fmt.Errorf("%w (upstream's bound: a generation needs 5 members to rank)", err)
	}
	if c.n > pbtPopulationMax {
		return c, fmt.Errorf("algorithmSettings n_population %d: use at most %d", c.n, pbtPopulationMax)
	}
	if c.threshold, err = numSetting(settings, "truncation_threshold", pbtThresholdDefault, func(f float64) bool { return f > 0 && f < 1 },
		"a number between 0 and 1 (exclusive): the fraction of each generation replaced by copies of its best, such as 0.2"); err != nil {
		return c, err
	}
	if v, ok := settings["resample_probability"]; ok && v != "" {
		if c.resample, err = numSetting(settings, "resample_probability", 0, func(f float64) bool { return f >= 0 && f <= 1 },
			"a probability between 0 and 1, or leave it unset to perturb by 0.8 or 1.2"); err != nil {
			return c, err
		}
	}
	return c, nil
}

// Suggest returns req.Count members of the current generation, or of the next one once
// the current has n_population succeeded members.
func (pbt) Suggest(req Request) ([]Suggestion, error) {
	c, err := pbtConfigOf(req.Settings)
	if err != nil {
		return nil, err
	}
	if req.Count <= 0 {
		return nil, nil
	}
	// The trials of each generation, by their labels; trials without one are not pbt's.
	gens := map[int][]int{}
	current := 0
	for k, t := range req.Trials {
		g, err := strconv.Atoi(t.Labels[PBTGenerationLabel])
		if err != nil || g < 0 {
			continue
		}
		gens[g] = append(gens[g], k)
		current = max(current, g)
	}
	members := func(g int) []int {
		var out []int
		for _, k := range gens[g] {
			if _, ok := lossOf(req.Trials[k], req.Goal); ok && req.Trials[k].Done {
				out = append(out, k)
			}
		}
		return out
	}
	if len(members(current)) >= c.n {
		current++
	}
	var parents []int // the population the current generation is bred from
	if current > 0 {
		parents = members(current - 1)
	}
	axes := axesOf(req.Space)
	r := RNG(req, "pbt")
	out := make([]Suggestion, 0, req.Count)
	for i := range req.Count {
		labels := map[string]string{PBTGenerationLabel: strconv.Itoa(current)}
		var asg map[string]string
		if len(parents) == 0 {
			asg = sampleAssignment(axes, r)
		} else {
			parent, base := pbtBreed(req, c, parents, len(gens[current])+i, r)
			p := req.Trials[parent].Name
			if len(p) > 63 || !labelValueRE.MatchString(p) {
				return nil, fmt.Errorf("trial %q: its name is no valid label value, so pbt cannot record it as a parent", p)
			}
			labels[PBTParentLabel] = p
			asg = pbtExplore(axes, c, base, r)
		}
		out = append(out, Suggestion{Assignments: asg, Labels: labels})
	}
	return out, nil
}

// pbtBreed picks the parent of the k-th child of the population pop (trial indices, in
// creation order): the member k mod |pop| itself, or, for a member of the bottom
// fraction, a member of the top fraction drawn at random. It returns the parent and the
// assignments the child starts from (the parent's).
func pbtBreed(req Request, c pbtConfig, pop []int, k int, r *rand.Rand) (int, map[string]string) {
	ranked := slices.Clone(pop)
	slices.SortStableFunc(ranked, func(a, b int) int {
		la, _ := lossOf(req.Trials[a], req.Goal)
		lb, _ := lossOf(req.Trials[b], req.Goal)
		return cmp.Compare(la, lb)
	})
	m := len(ranked)
	bottom := max(1, int(math.Floor(c.threshold*float64(m)+1e-9)))
	bottom = min(bottom, m-1)
	top := max(1, min(bottom, m-bottom)) // the top never overlaps the bottom
	member := pop[k%m]
	parent := member
	if slices.Index(ranked, member) >= m-bottom {
		parent = ranked[r.IntN(top)] // exploit
	}
	return parent, req.Trials[parent].Assignments
}

// pbtExplore perturbs or resamples each parameter of base; a value that is missing or
// outside the space is drawn afresh.
func pbtExplore(axes []axis, c pbtConfig, base map[string]string, r *rand.Rand) map[string]string {
	out := make(map[string]string, len(axes))
	for _, a := range axes {
		// one draw per parameter whatever happens, so a change to one parameter's value
		// leaves the others' draws alone
		u, coin := r.Float64(), r.Float64()
		v, ok := base[a.p.Name]
		if ok {
			_, ok = a.internal(v)
		}
		switch {
		case !ok:
			out[a.p.Name] = a.fromUnit(u)
		case c.resample >= 0:
			if coin < c.resample {
				out[a.p.Name] = a.fromUnit(u)
			} else {
				out[a.p.Name] = v
			}
		default:
			out[a.p.Name] = pbtPerturb(a.p, v, coin < 0.5)
		}
	}
	return out
}

// pbtPerturb moves a feasible value v of p down (0.8 times) or up (1.2 times). A number
// is scaled, clamped to the range and put onto its grid; an int or a grid point that the
// factor leaves where it was moves one step. A discrete value moves to its numeric
// neighbour (back from an end); a categorical one to its neighbour in the list, the list
// taken as a ring (upstream's).
func pbtPerturb(p Param, v string, down bool) string {
	dir := 1
	if down {
		dir = -1
	}
	switch p.Kind {
	case Categorical:
		if len(p.List) < 2 {
			return v
		}
		i := p.Index(v)
		return p.List[((i+dir)%len(p.List)+len(p.List))%len(p.List)]
	case Discrete:
		if len(p.List) < 2 {
			return v
		}
		sorted := slices.Clone(p.List)
		slices.SortStableFunc(sorted, func(a, b string) int {
			x, _ := strconv.ParseFloat(a, 64)
			y, _ := strconv.ParseFloat(b, 64)
			return cmp.Compare(x, y)
		})
		i := slices.Index(sorted, p.List[p.Index(v)]) + dir
		if i < 0 || i >= len(sorted) {
			i -= 2 * dir // back from an end
		}
		return sorted[i]
	}
	x, _ := strconv.ParseFloat(v, 64)
	x = p.Snap(x)
	f := pbtFactors[1]
	if down {
		f = pbtFactors[0]
	}
	y := p.Snap(x * f)
	if step := p.Step; y == x && (step > 0 || p.Kind == Int) {
		if step <= 0 {
			step = 1
		}
		// the factor was too small to leave the grid point: one step the way it points
		// (up or down as dir at 0), if the range has room
		d := float64(dir)
		if x*f != x {
			d = math.Copysign(1, x*f-x)
		}
		y = p.Snap(x + d*step)
	}
	return p.Format(y)
}
