package suggest

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// pbtSettings are upstream's simple-pbt settings with a population of 5.
func pbtSettings(more ...string) map[string]string {
	s := map[string]string{PBTTrialDirSetting: "/var/log/katib/checkpoints/", "n_population": "5", "truncation_threshold": "0.2", "random_state": "3"}
	for i := 0; i+1 < len(more); i += 2 {
		s[more[i]] = more[i+1]
	}
	return s
}

// pbtSim plays an experiment of total trials, parallel at once: each suggestion becomes
// a trial, the oldest running trial ends on each step with the value f gives it (from its
// parent's state, nil for generation 0, and its assignments) and fails when fail says so.
// It returns the trials and, per trial, its state.
func pbtSim(t *testing.T, space Space, settings map[string]string, goal Goal, total, parallel int,
	f func(parent *float64, asg map[string]string) float64, fail func(k int) bool) []Trial {
	t.Helper()
	a, err := Check("pbt", space, settings)
	if err != nil {
		t.Fatal(err)
	}
	var trials []Trial
	state := map[string]float64{}
	for len(trials) < total || slices.ContainsFunc(trials, func(tr Trial) bool { return !tr.Done }) {
		running := 0
		for _, tr := range trials {
			if !tr.Done {
				running++
			}
		}
		if n := min(parallel-running, total-len(trials)); n > 0 {
			got, err := a.Suggest(Request{Space: space, Goal: goal, Settings: settings, Trials: trials, Count: n})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != n {
				t.Fatalf("after %d trials: %d suggestions, want %d (pbt never waits)", len(trials), len(got), n)
			}
			checkSuggestions(t, space, got)
			for _, s := range got {
				trials = append(trials, Trial{Name: "exp-" + strconv.Itoa(len(trials)), Assignments: s.Assignments, Labels: s.Labels})
			}
		}
		k := slices.IndexFunc(trials, func(tr Trial) bool { return !tr.Done })
		tr := &trials[k]
		tr.Done = true
		if fail != nil && fail(k) {
			tr.Failed = true
			continue
		}
		var ps *float64
		if p, ok := tr.Labels[PBTParentLabel]; ok {
			s, found := state[p]
			if !found {
				t.Fatalf("trial %s: parent %q is no succeeded trial", tr.Name, p)
			}
			ps = &s
		}
		v := f(ps, tr.Assignments)
		state[tr.Name] = v
		tr.Value = &v
	}
	return trials
}

func generation(t *testing.T, tr Trial) int {
	t.Helper()
	g, err := strconv.Atoi(tr.Labels[PBTGenerationLabel])
	if err != nil {
		t.Fatalf("trial %s: labels %v: no generation", tr.Name, tr.Labels)
	}
	return g
}

// TestPBTGenerations runs pbt over every kind of parameter: every suggestion is feasible
// and of its type; generation 0 has no parent; a generation starts only once the one
// before has n_population succeeded members, and every parent is one of them; failed
// trials are no members; generations advance.
func TestPBTGenerations(t *testing.T) {
	space := testSpace
	fail := func(k int) bool { return k%7 == 3 }
	trials := pbtSim(t, space, pbtSettings(), Minimize, 60, 3, func(parent *float64, asg map[string]string) float64 {
		return quadratic(asg)
	}, fail)
	byName := map[string]int{}
	last := 0
	for k, tr := range trials {
		byName[tr.Name] = k
		g := generation(t, tr)
		if g < last {
			t.Errorf("trial %s: generation %d after generation %d", tr.Name, g, last)
		}
		last = max(last, g)
		p, hasParent := tr.Labels[PBTParentLabel]
		if g == 0 {
			if hasParent {
				t.Errorf("trial %s of generation 0 has parent %q", tr.Name, p)
			}
			continue
		}
		pk, ok := byName[p]
		if !ok || generation(t, trials[pk]) != g-1 || trials[pk].Failed {
			t.Errorf("trial %s of generation %d: parent %q is no succeeded member of generation %d", tr.Name, g, p, g-1)
		}
		// the generation before had n_population succeeded members when this one began
		members := 0
		for _, o := range trials[:k] {
			if generation(t, o) == g-1 && o.Done && !o.Failed {
				members++
			}
		}
		if members < 5 {
			t.Errorf("trial %s of generation %d: only %d members of generation %d had succeeded", tr.Name, g, members, g-1)
		}
	}
	if last < 5 {
		t.Errorf("60 trials of populations of 5 reached generation %d, want ≥ 5", last)
	}
}

// TestPBTDeterminism: the same history and random_state give the same suggestions and
// labels; another random_state others.
func TestPBTDeterminism(t *testing.T) {
	space := testSpace[:7]
	trials := pbtSim(t, space, pbtSettings(), Minimize, 17, 3, func(_ *float64, asg map[string]string) float64 { return quadratic(asg) }, nil)
	a, _ := Lookup("pbt")
	ask := func(seed string) []Suggestion {
		got, err := a.Suggest(Request{Space: space, Settings: pbtSettings("random_state", seed), Trials: trials, Count: 4})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	same := ask("7")
	if d := cmp.Diff(same, ask("7")); d != "" {
		t.Errorf("the same request and random_state gave different suggestions (-first +second):\n%s", d)
	}
	if cmp.Equal(same, ask("8")) {
		t.Error("random_state 7 and 8 gave the same suggestions")
	}
}

// TestPBTExploit: in a population of 5 ranked by loss, the worst member's child continues
// from the best member (truncation 0.2: one replaced by a copy of one), with the best's
// hyperparameters perturbed; every other member's child continues from itself.
func TestPBTExploit(t *testing.T) {
	space := Space{{Name: "lr", Kind: Double, Min: 0.0001, Max: 1}}
	lrs := []string{"0.1", "0.2", "0.3", "0.4", "0.5"}
	var trials []Trial
	for i, lr := range lrs {
		v := float64(i) // exp-0 is the best, exp-4 the worst
		trials = append(trials, Trial{Name: "exp-" + strconv.Itoa(i), Assignments: map[string]string{"lr": lr},
			Labels: map[string]string{PBTGenerationLabel: "0"}, Value: &v, Done: true})
	}
	a, _ := Lookup("pbt")
	for _, goal := range []Goal{Minimize, Maximize} {
		got, err := a.Suggest(Request{Space: space, Goal: goal, Settings: pbtSettings(), Trials: trials, Count: 5})
		if err != nil {
			t.Fatal(err)
		}
		best, worst := "exp-0", "exp-4"
		if goal == Maximize {
			best, worst = worst, best
		}
		for k, s := range got {
			member := "exp-" + strconv.Itoa(k)
			want := member
			if member == worst {
				want = best
			}
			if s.Labels[PBTGenerationLabel] != "1" || s.Labels[PBTParentLabel] != want {
				t.Errorf("goal %v: child %d of %s: labels %v, want generation 1 and parent %s", goal, k, member, s.Labels, want)
			}
			parentLR, _ := strconv.ParseFloat(lrs[slices.Index([]string{"exp-0", "exp-1", "exp-2", "exp-3", "exp-4"}, want)], 64)
			lr, _ := strconv.ParseFloat(s.Assignments["lr"], 64)
			if r := lr / parentLR; math.Abs(r-0.8) > 1e-9 && math.Abs(r-1.2) > 1e-9 {
				t.Errorf("goal %v: child %d: lr %v is not 0.8 or 1.2 times its parent's %v", goal, k, lr, parentLR)
			}
		}
	}
}

// TestPBTWaitsForNoOne: while generation 0 has fewer than n_population succeeded
// members, pbt suggests more of generation 0 (running and failed trials are no members).
func TestPBTWaitsForNoOne(t *testing.T) {
	space := Space{{Name: "lr", Kind: Double, Min: 0.01, Max: 0.1}}
	var trials []Trial
	for i := range 9 {
		tr := Trial{Name: "exp-" + strconv.Itoa(i), Assignments: map[string]string{"lr": "0.05"}, Labels: map[string]string{PBTGenerationLabel: "0"}}
		switch {
		case i < 4: // four succeeded
			v := 0.5
			tr.Value, tr.Done = &v, true
		case i < 7: // three failed
			tr.Done, tr.Failed = true, true
		}
		trials = append(trials, tr)
	}
	a, _ := Lookup("pbt")
	got, err := a.Suggest(Request{Space: space, Settings: pbtSettings(), Trials: trials, Count: 2})
	if err != nil || len(got) != 2 {
		t.Fatalf("%d suggestions, %v: want 2", len(got), err)
	}
	for _, s := range got {
		if s.Labels[PBTGenerationLabel] != "0" || s.Labels[PBTParentLabel] != "" {
			t.Errorf("labels %v: want more of generation 0, without parent", s.Labels)
		}
	}
	v := 0.25
	trials[7].Value, trials[7].Done = &v, true // the fifth member
	got, _ = a.Suggest(Request{Space: space, Settings: pbtSettings(), Trials: trials, Count: 1})
	if got[0].Labels[PBTGenerationLabel] != "1" || got[0].Labels[PBTParentLabel] == "" {
		t.Errorf("labels %v: want generation 1 with a parent", got[0].Labels)
	}
}

// TestPBTResample: resample_probability 0 keeps the parent's values, 1 draws them afresh.
func TestPBTResample(t *testing.T) {
	space := testSpace[:7]
	for _, p := range []string{"0", "1"} {
		settings := pbtSettings("resample_probability", p)
		trials := pbtSim(t, space, settings, Minimize, 25, 5, func(_ *float64, asg map[string]string) float64 { return quadratic(asg) }, nil)
		byName := map[string]Trial{}
		kept, changed := 0, 0
		for _, tr := range trials {
			byName[tr.Name] = tr
			parent, ok := byName[tr.Labels[PBTParentLabel]]
			if !ok {
				continue
			}
			for _, q := range space {
				if tr.Assignments[q.Name] == parent.Assignments[q.Name] {
					kept++
				} else {
					changed++
				}
			}
		}
		switch {
		case p == "0" && changed != 0:
			t.Errorf("resample_probability 0: %d values changed from their parent's", changed)
		case p == "1" && changed < 3*kept:
			t.Errorf("resample_probability 1: %d values kept, %d changed: want nearly all changed", kept, changed)
		case kept+changed == 0:
			t.Errorf("resample_probability %s: no child", p)
		}
	}
}

func TestPBTPerturb(t *testing.T) {
	for _, tc := range []struct {
		p        Param
		v        string
		down, up string
	}{
		{Param{Name: "lr", Kind: Double, Min: 0.0001, Max: 0.02, Step: 0.0001}, "0.01", "0.008", "0.012"},
		{Param{Name: "lr", Kind: Double, Min: 0.0001, Max: 0.02, Step: 0.0001}, "0.0001", "0.0001", "0.0002"},
		{Param{Name: "lr", Kind: Double, Min: 0.0001, Max: 0.02, Step: 0.0001}, "0.02", "0.016", "0.02"},
		{Param{Name: "m", Kind: Double, Min: 0.5, Max: 0.99}, "0.9", "0.72", "0.99"},
		{Param{Name: "d", Kind: Double, Min: -1, Max: 1}, "-0.5", "-0.4", "-0.6"},
		{Param{Name: "layers", Kind: Int, Min: 1, Max: 8}, "1", "1", "2"},
		{Param{Name: "layers", Kind: Int, Min: 1, Max: 8}, "4", "3", "5"},
		{Param{Name: "layers", Kind: Int, Min: 1, Max: 8}, "8", "6", "8"},
		{Param{Name: "units", Kind: Int, Min: 16, Max: 1024, Step: 16}, "64", "48", "80"},
		{Param{Name: "batch", Kind: Discrete, List: []string{"64", "16", "32"}}, "32", "16", "64"},
		{Param{Name: "batch", Kind: Discrete, List: []string{"64", "16", "32"}}, "16", "32", "32"},
		{Param{Name: "batch", Kind: Discrete, List: []string{"64", "16", "32"}}, "64", "32", "32"},
		{Param{Name: "opt", Kind: Categorical, List: []string{"sgd", "adam", "rmsprop"}}, "sgd", "rmsprop", "adam"},
		{Param{Name: "opt", Kind: Categorical, List: []string{"sgd", "adam", "rmsprop"}}, "rmsprop", "adam", "sgd"},
		{Param{Name: "opt", Kind: Categorical, List: []string{"only"}}, "only", "only", "only"},
	} {
		if down, up := pbtPerturb(tc.p, tc.v, true), pbtPerturb(tc.p, tc.v, false); !sameValue(down, tc.down) || !sameValue(up, tc.up) {
			t.Errorf("%s %s %v: down %s up %s, want %s and %s", tc.p.Kind, tc.p.Name, tc.v, down, up, tc.down, tc.up)
		}
	}
}

// sameValue compares assignments as numbers where both are (0.9·0.8 is 0.7200000000000001).
func sameValue(a, b string) bool {
	x, err1 := strconv.ParseFloat(a, 64)
	y, err2 := strconv.ParseFloat(b, 64)
	if err1 != nil || err2 != nil {
		return a == b
	}
	return math.Abs(x-y) <= 1e-12*math.Max(1, math.Abs(y))
}

// TestPBTSettingsRefused: missing and malformed settings are refused, each naming the
// setting and what to use; upstream's simple-pbt settings pass.
func TestPBTSettingsRefused(t *testing.T) {
	space := Space{{Name: "lr", Kind: Double, Min: 0.0001, Max: 0.02, Step: 0.0001}}
	without := pbtSettings()
	delete(without, PBTTrialDirSetting)
	for _, tc := range []struct {
		settings map[string]string
		want     []string
	}{
		{without, []string{PBTTrialDirSetting, "not set"}},
		{pbtSettings(PBTTrialDirSetting, "checkpoints"), []string{PBTTrialDirSetting, "absolute"}},
		{pbtSettings(PBTTrialDirSetting, "//"), []string{PBTTrialDirSetting, "root"}},
		{pbtSettings("n_population", "4"), []string{"n_population", "≥ 5"}},
		{pbtSettings("n_population", "forty"), []string{"n_population", "whole number"}},
		{pbtSettings("n_population", "20000"), []string{"n_population", "at most 10000"}},
		{pbtSettings("truncation_threshold", "0"), []string{"truncation_threshold", "between 0 and 1"}},
		{pbtSettings("truncation_threshold", "1"), []string{"truncation_threshold", "between 0 and 1"}},
		{pbtSettings("truncation_threshold", "-0.2"), []string{"truncation_threshold"}},
		{pbtSettings("resample_probability", "1.5"), []string{"resample_probability", "between 0 and 1"}},
		{pbtSettings("resample_probability", "often"), []string{"resample_probability"}},
		{pbtSettings("random_state", "-1"), []string{"random_state"}},
		{pbtSettings("population", "5"), []string{"unknown algorithmSettings population", "n_population", "suggestion_trial_dir"}},
	} {
		_, err := Check("pbt", space, tc.settings)
		if err == nil {
			t.Errorf("%v: accepted", tc.settings)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v: error %q lacks %q", tc.settings, err, w)
			}
		}
	}
	upstream := map[string]string{PBTTrialDirSetting: "/var/log/katib/checkpoints/", "n_population": "40", "truncation_threshold": "0.2"}
	for _, ok := range []map[string]string{upstream, {PBTTrialDirSetting: "/ckpt"}, pbtSettings("resample_probability", "0.25")} {
		if _, err := Check("pbt", space, ok); err != nil {
			t.Errorf("%v: %v", ok, err)
		}
	}
}

// TestPBTLearnsASchedule plays upstream's simple-pbt toy problem without its noise: a
// trial continues its parent's accuracy, which grows fastest at a learning rate that
// rises and falls with the accuracy. PBT's later generations are far better than its first.
func TestPBTLearnsASchedule(t *testing.T) {
	space := Space{{Name: "lr", Kind: Double, Min: 0.0001, Max: 0.02, Step: 0.0001}}
	step := func(acc, lr float64) float64 {
		opt := 0.01 * acc / 50
		if acc >= 50 {
			opt = 0.01 - 0.01*(acc-50)/50
		}
		opt = min(0.01, max(0.001, opt))
		q := max(lr, opt) / min(lr, opt)
		switch {
		case q < 3:
			acc += 1 / q
		case lr > opt:
			acc -= q - 3
		}
		return max(0, min(100, acc))
	}
	trials := pbtSim(t, space, pbtSettings("n_population", "8"), Maximize, 120, 4, func(parent *float64, asg map[string]string) float64 {
		acc := 0.0
		if parent != nil {
			acc = *parent
		}
		lr, _ := strconv.ParseFloat(asg["lr"], 64)
		for range 5 {
			acc = step(acc, lr)
		}
		return acc
	}, nil)
	best := map[int]float64{}
	last := 0
	for _, tr := range trials {
		g := generation(t, tr)
		best[g] = max(best[g], *tr.Value)
		last = max(last, g)
	}
	t.Logf("best accuracy per generation: %v", best)
	if best[last] < best[0]+10 {
		t.Errorf("best accuracy of generation 0 %.1f, of generation %d %.1f: want 10 more", best[0], last, best[last])
	}
}

// FuzzPBTSuggest: whatever the trials' labels, values and assignments (users can edit
// trials), pbt neither panics nor suggests anything infeasible or more than asked.
func FuzzPBTSuggest(f *testing.F) {
	f.Add([]byte("0a0b0c0d0e1f"), uint8(3))
	f.Add([]byte("x9-1\x00\xff99999999999999999999"), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, count uint8) {
		space := testSpace[:7]
		var trials []Trial
		for i := 0; i+1 < len(data) && len(trials) < 64; i += 2 {
			g, v := data[i], data[i+1]
			tr := Trial{Name: "exp-" + strconv.Itoa(len(trials)), Labels: map[string]string{}, Assignments: map[string]string{}}
			switch g % 4 {
			case 0:
				tr.Labels[PBTGenerationLabel] = strconv.Itoa(int(g / 4 % 4))
			case 1:
				tr.Labels[PBTGenerationLabel] = string(data[i : i+2])
			case 2:
				tr.Labels[PBTGenerationLabel] = strconv.Itoa(int(g)) + "0000000000000000000"
			}
			if len(trials) > 0 {
				tr.Labels[PBTParentLabel] = trials[int(v)%len(trials)].Name
			}
			for j, p := range space {
				if (int(v)+j)%5 == 0 {
					tr.Assignments[p.Name] = string(data[i : i+2]) // garbage
				} else if p.Numeric() {
					tr.Assignments[p.Name] = fmtNum(p.Min + float64(v)/255*(p.Max-p.Min))
				} else {
					tr.Assignments[p.Name] = p.List[int(v)%len(p.List)]
				}
			}
			values := []float64{float64(v), math.NaN(), math.Inf(1), -float64(v)}
			x := values[v%4]
			tr.Value, tr.Done, tr.Failed = &x, v%3 != 0, v%7 == 0
			trials = append(trials, tr)
		}
		a, _ := Lookup("pbt")
		got, err := a.Suggest(Request{Space: space, Settings: pbtSettings(), Trials: trials, Count: int(count % 8)})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != int(count%8) {
			t.Fatalf("%d suggestions, asked for %d", len(got), count%8)
		}
		checkSuggestions(t, space, got)
	})
}
