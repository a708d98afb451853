package suggest

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"
)

// hbRungs writes a schedule as "s: n_i/r_i …" lines, one bracket each.
func hbRungs(bs []hyperbandBracket) string {
	var lines []string
	for _, b := range bs {
		var rs []string
		for _, r := range b.rungs {
			rs = append(rs, fmt.Sprintf("%d/%s", r.n, fmtNum(math.Round(r.r*1000)/1000)))
		}
		lines = append(lines, fmt.Sprintf("%d: %s", b.s, strings.Join(rs, " ")))
	}
	return strings.Join(lines, "\n")
}

func TestHyperbandSchedule(t *testing.T) {
	for _, tc := range []struct {
		name    string
		rl, eta float64
		want    string
	}{
		// Table 1 of Li et al. (R = 81, eta = 3).
		{"the paper's table", 81, 3, `4: 81/1 27/3 9/9 3/27 1/81
3: 34/3 11/9 3/27 1/81
2: 15/9 5/27 1/81
1: 8/27 2/81
0: 5/81`},
		{"R=8, eta=2", 8, 2, `3: 8/1 4/2 2/4 1/8
2: 6/2 3/4 1/8
1: 4/4 2/8
0: 4/8`},
		// log(1000)/log(10) is 2.9999999999999996 in floating point: still four brackets.
		{"R=1000, eta=10", 1000, 10, `3: 1000/1 100/10 10/100 1/1000
2: 134/10 13/100 1/1000
1: 20/100 2/1000
0: 4/1000`},
		{"the conformance file's", 2, 2, `1: 2/1 1/2
0: 2/2`},
		{"R below eta: one bracket", 2, 3, `0: 1/2`},
	} {
		if got := hbRungs(hyperbandSchedule(tc.rl, tc.eta)); got != tc.want {
			t.Errorf("%s: schedule\n%s\nwant\n%s", tc.name, got, tc.want)
		}
	}
}

func TestHyperbandResourceValues(t *testing.T) {
	for _, tc := range []struct {
		kind Kind
		rl   string
		want string
	}{
		// R = 10, eta = 3, bracket 2: r_i = 10/9, 10/3, 10. An int is truncated, as
		// upstream's int(), not rounded: R = 8 gives 8/3 = 2.67 → 2.
		{Int, "10", "1 3 10"},
		{Int, "8", "2 8"},
		{Double, "10", "1.11111111111 3.33333333333 10"},
	} {
		space := Space{{Name: "epochs", Kind: tc.kind, Min: 1, Max: 1}}
		c, err := hyperbandConfigOf(space, map[string]string{"resource_name": "epochs", "r_l": tc.rl})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range c.brackets[0].rungs {
			got = append(got, c.resourceValue(r.r))
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("%s resource, r_l %s: values %v, want %s", tc.kind, tc.rl, got, tc.want)
		}
	}
}

// hbSpace is the simulations' space: epochs is the resource.
var hbSpace = Space{
	{Name: "lr", Kind: Double, Min: 1e-4, Max: 1, Distribution: LogUniform},
	{Name: "layers", Kind: Int, Min: 1, Max: 8},
	{Name: "optimizer", Kind: Categorical, List: []string{"sgd", "adam", "rmsprop"}},
	{Name: "epochs", Kind: Int, Min: 1, Max: 1},
}

var hbSettings = map[string]string{"resource_name": "epochs", "r_l": "9", "eta": "3", "random_state": "5"}

// hbObjective depends on the parameters and the resource; ok is false for the runs that
// fail (rmsprop with one epoch), so failures meet the promotions.
func hbObjective(a map[string]string) (v float64, ok bool) {
	e, _ := strconv.ParseFloat(a["epochs"], 64)
	if a["optimizer"] == "rmsprop" && e == 1 {
		return 0, false
	}
	return quadratic(a) + 1/e, true
}

// hbSim plays an experiment with parallel slots to its end: after each call the oldest
// running trial finishes. It checks each call's answer against what was asked and the
// rule that a rung is promoted only once it is done, and returns the trials and how many
// calls returned nothing while trials ran.
func hbSim(t *testing.T, settings map[string]string, goal Goal, parallel int, f func(map[string]string) (float64, bool)) (trials []Trial, waits int) {
	t.Helper()
	a, err := Check("hyperband", hbSpace, settings)
	if err != nil {
		t.Fatal(err)
	}
	exhausted := false
	for step := 0; step < 1000; step++ {
		running := 0
		for _, tr := range trials {
			if !tr.Done {
				running++
			}
		}
		if exhausted && running == 0 {
			return trials, waits
		}
		count := parallel - running
		got, err := a.Suggest(Request{Space: hbSpace, Goal: goal, Settings: settings, Trials: trials, Count: count})
		switch {
		case errors.Is(err, ErrExhausted):
			if len(got) != 0 {
				t.Fatalf("step %d: ErrExhausted with %d suggestions", step, len(got))
			}
			exhausted = true
		case err != nil:
			t.Fatalf("step %d: %v", step, err)
		case exhausted && count > 0:
			t.Fatalf("step %d: %d suggestions after ErrExhausted", step, len(got))
		case len(got) > count:
			t.Fatalf("step %d: %d suggestions, asked for %d", step, len(got), count)
		case len(got) == 0 && count > 0:
			if running == 0 {
				t.Fatalf("step %d: no suggestion and nothing runs: stalled", step)
			}
			waits++
		}
		checkSuggestions(t, hbSpace[:3], stripResource(got))
		for _, s := range got {
			checkHBPromotion(t, trials, s)
			trials = append(trials, Trial{Name: fmt.Sprintf("t%03d", len(trials)), Assignments: s.Assignments, Labels: s.Labels})
		}
		for i := range trials {
			if !trials[i].Done {
				if v, ok := f(trials[i].Assignments); ok {
					trials[i].Value = &v
				} else {
					trials[i].Failed = true
				}
				trials[i].Done = true
				break
			}
		}
	}
	t.Fatal("the experiment did not end")
	return nil, 0
}

func stripResource(got []Suggestion) []Suggestion {
	out := make([]Suggestion, len(got))
	for i, s := range got {
		a := maps.Clone(s.Assignments)
		delete(a, "epochs")
		out[i] = Suggestion{Assignments: a}
	}
	return out
}

// checkHBPromotion checks a suggestion's labels, and for a promotion that its parent is in
// the rung below of the same bracket, that this whole rung is done, and that it keeps the
// parent's configuration.
func checkHBPromotion(t *testing.T, trials []Trial, s Suggestion) {
	t.Helper()
	for k, v := range s.Labels {
		if errs := validation.IsQualifiedName(k); len(errs) > 0 {
			t.Fatalf("label key %q: %v", k, errs)
		}
		if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
			t.Fatalf("label %s=%q: %v", k, v, errs)
		}
	}
	rung := s.Labels[HyperbandRungLabel]
	if rung == "0" {
		if _, ok := s.Labels[HyperbandParentLabel]; ok {
			t.Fatalf("a rung-0 suggestion has a parent: %v", s.Labels)
		}
		return
	}
	i, _ := strconv.Atoi(rung)
	below := strconv.Itoa(i - 1)
	var parent *Trial
	for k, tr := range trials {
		if tr.Labels[HyperbandBracketLabel] == s.Labels[HyperbandBracketLabel] && tr.Labels[HyperbandRungLabel] == below {
			if !tr.Done {
				t.Fatalf("promotion %v while %s of the rung below runs", s.Labels, tr.Name)
			}
			if tr.Name == s.Labels[HyperbandParentLabel] {
				parent = &trials[k]
			}
		}
	}
	if parent == nil {
		t.Fatalf("promotion %v: its parent is not in the rung below", s.Labels)
	}
	for k, v := range parent.Assignments {
		if k != "epochs" && s.Assignments[k] != v {
			t.Fatalf("promotion of %s changed %s from %s to %s", parent.Name, k, v, s.Assignments[k])
		}
	}
}

// hbRungOf returns the trials of one rung, in order.
func hbRungOf(trials []Trial, s, i int) []Trial {
	var out []Trial
	for _, tr := range trials {
		if tr.Labels[HyperbandBracketLabel] == strconv.Itoa(s) && tr.Labels[HyperbandRungLabel] == strconv.Itoa(i) {
			out = append(out, tr)
		}
	}
	return out
}

// hbBest names the n best trials by value (failed ones last, ties in trial order).
func hbBest(trials []Trial, goal Goal, n int) []string {
	sorted := slices.Clone(trials)
	slices.SortStableFunc(sorted, func(a, b Trial) int {
		if a.Failed != b.Failed {
			if a.Failed {
				return 1
			}
			return -1
		}
		if a.Failed {
			return 0
		}
		if goal == Maximize {
			return cmp.Compare(*b.Value, *a.Value)
		}
		return cmp.Compare(*a.Value, *b.Value)
	})
	var out []string
	for _, tr := range sorted[:n] {
		out = append(out, tr.Name)
	}
	slices.Sort(out)
	return out
}

func TestHyperbandRunsAllBrackets(t *testing.T) {
	// R = 9, eta = 3: rungs n_i/r_i of brackets 2, 1, 0.
	want := map[[2]int][2]int{
		{2, 0}: {9, 1}, {2, 1}: {3, 3}, {2, 2}: {1, 9},
		{1, 0}: {5, 3}, {1, 1}: {1, 9},
		{0, 0}: {3, 9},
	}
	for _, parallel := range []int{1, 4, 10} {
		t.Run(fmt.Sprintf("parallel %d", parallel), func(t *testing.T) {
			trials, waits := hbSim(t, hbSettings, Minimize, parallel, hbObjective)
			if len(trials) != 22 {
				t.Errorf("%d trials, want 9+3+1 + 5+1 + 3 = 22", len(trials))
			}
			if parallel > 1 && waits == 0 {
				t.Error("never waited for a running rung")
			}
			failed := 0
			for key, nr := range want {
				rung := hbRungOf(trials, key[0], key[1])
				if len(rung) != nr[0] {
					t.Errorf("bracket %d rung %d: %d trials, want %d", key[0], key[1], len(rung), nr[0])
				}
				for _, tr := range rung {
					if tr.Assignments["epochs"] != strconv.Itoa(nr[1]) {
						t.Errorf("bracket %d rung %d: %s has epochs %s, want %d", key[0], key[1], tr.Name, tr.Assignments["epochs"], nr[1])
					}
					if tr.Failed {
						failed++
					}
				}
				if key[1] == 0 {
					continue
				}
				var parents []string
				for _, tr := range rung {
					parents = append(parents, tr.Labels[HyperbandParentLabel])
				}
				slices.Sort(parents)
				if best := hbBest(hbRungOf(trials, key[0], key[1]-1), Minimize, nr[0]); !slices.Equal(parents, best) {
					t.Errorf("bracket %d rung %d promoted %v, want the best of the rung below %v", key[0], key[1], parents, best)
				}
			}
			if failed == 0 {
				t.Error("no trial failed: the objective does not exercise failures")
			}
			// The brackets run in turn, the most exploratory first.
			var order []string
			for _, tr := range trials {
				if b := tr.Labels[HyperbandBracketLabel]; len(order) == 0 || order[len(order)-1] != b {
					order = append(order, b)
				}
			}
			if parallel == 1 && strings.Join(order, " ") != "2 1 0" {
				t.Errorf("brackets in the order %v, want 2 1 0", order)
			}
		})
	}
}

// hbFinished builds a done rung 0 of bracket 2 (R = 9, eta = 3) with these values (NaN:
// failed).
func hbFinished(values ...float64) []Trial {
	var trials []Trial
	for i, v := range values {
		tr := Trial{
			Name:        fmt.Sprintf("t%d", i),
			Assignments: map[string]string{"lr": "0.01", "layers": strconv.Itoa(i%8 + 1), "optimizer": "adam", "epochs": "1"},
			Labels:      map[string]string{HyperbandBracketLabel: "2", HyperbandRungLabel: "0"},
			Done:        true,
		}
		if math.IsNaN(v) {
			tr.Failed = true
		} else {
			tr.Value = &v
		}
		trials = append(trials, tr)
	}
	return trials
}

func parentsOf(got []Suggestion) []string {
	var out []string
	for _, s := range got {
		out = append(out, s.Labels[HyperbandParentLabel]+"@"+s.Assignments["epochs"])
	}
	return out
}

func TestHyperbandPromotesByGoal(t *testing.T) {
	nan := math.NaN()
	a, _ := Lookup("hyperband")
	for _, tc := range []struct {
		name   string
		goal   Goal
		values []float64
		want   string
	}{
		{"minimize", Minimize, []float64{5, 3, 8, 1, nan, 7, 2, 6, 4}, "t3@3 t6@3 t1@3"},
		{"maximize", Maximize, []float64{5, 3, 8, 1, nan, 7, 2, 6, 4}, "t2@3 t5@3 t7@3"},
		{"failed rank last, in order", Minimize, []float64{nan, 9, nan, nan, nan, nan, 4, nan, nan}, "t6@3 t1@3 t0@3"},
		{"failed rank last when maximizing", Maximize, []float64{nan, 9, nan, nan, nan, nan, 4, nan, nan}, "t1@3 t6@3 t0@3"},
	} {
		got, err := a.Suggest(Request{Space: hbSpace, Goal: tc.goal, Settings: hbSettings, Trials: hbFinished(tc.values...), Count: 10})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		// The three promotions are all rung 1 has: nothing more until they finish.
		if p := strings.Join(parentsOf(got), " "); p != tc.want {
			t.Errorf("%s: promoted %s, want %s", tc.name, p, tc.want)
		}
		for _, s := range got {
			if s.Labels[HyperbandBracketLabel] != "2" || s.Labels[HyperbandRungLabel] != "1" {
				t.Errorf("%s: promotion labelled %v, want bracket 2 rung 1", tc.name, s.Labels)
			}
		}
	}
}

func TestHyperbandWaitsAndCounts(t *testing.T) {
	a, _ := Lookup("hyperband")
	ask := func(trials []Trial, count int) []Suggestion {
		t.Helper()
		got, err := a.Suggest(Request{Space: hbSpace, Settings: hbSettings, Trials: trials, Count: count})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) > count {
			t.Fatalf("%d suggestions, asked for %d", len(got), count)
		}
		return got
	}
	if got := ask(nil, 4); len(got) != 4 {
		t.Fatalf("first call: %d suggestions, want 4 of rung 0's 9", len(got))
	}
	// Rung 0 is done but one trial: wait.
	trials := hbFinished(5, 3, 8, 1, 0, 7, 2, 6, 4)
	trials[4].Done, trials[4].Value = false, nil
	if got := ask(trials, 5); len(got) != 0 {
		t.Fatalf("rung 0 runs: got %v, want to wait", parentsOf(got))
	}
	trials = hbFinished(5, 3, 8, 1, 0, 7, 2, 6, 4)
	// Two of the three promotions, then the third: the one not yet promoted.
	first := ask(trials, 2)
	if p := strings.Join(parentsOf(first), " "); p != "t4@3 t3@3" {
		t.Fatalf("promoted %s, want t4@3 t3@3", p)
	}
	for _, s := range first {
		trials = append(trials, Trial{Name: "p" + s.Labels[HyperbandParentLabel], Assignments: s.Assignments, Labels: s.Labels})
	}
	if p := strings.Join(parentsOf(ask(trials, 5)), " "); p != "t6@3" {
		t.Fatalf("then promoted %s, want only t6@3", p)
	}
}

// TestHyperbandNextBracketStarts checks upstream's overlap: once the last rung of a
// bracket is suggested, the next bracket starts while it runs.
func TestHyperbandNextBracketStarts(t *testing.T) {
	a, _ := Lookup("hyperband")
	trials := hbFinished(5, 3, 8, 1, 0, 7, 2, 6, 4)
	for i, parent := range []string{"t4", "t3", "t6"} {
		v := float64(i)
		trials = append(trials, Trial{Name: "r1-" + parent, Done: true, Value: &v,
			Assignments: map[string]string{"lr": "0.01", "layers": "1", "optimizer": "adam", "epochs": "3"},
			Labels:      map[string]string{HyperbandBracketLabel: "2", HyperbandRungLabel: "1", HyperbandParentLabel: parent}})
	}
	trials = append(trials, Trial{Name: "r2", // running
		Assignments: map[string]string{"lr": "0.01", "layers": "1", "optimizer": "adam", "epochs": "9"},
		Labels:      map[string]string{HyperbandBracketLabel: "2", HyperbandRungLabel: "2", HyperbandParentLabel: "r1-t4"}})
	got, err := a.Suggest(Request{Space: hbSpace, Settings: hbSettings, Trials: trials, Count: 10})
	if err != nil {
		t.Fatal(err)
	}
	// Bracket 1: five configurations with 3 epochs; then its rung 1 waits for them.
	if len(got) != 5 {
		t.Fatalf("%d suggestions, want bracket 1's 5", len(got))
	}
	for _, s := range got {
		if s.Labels[HyperbandBracketLabel] != "1" || s.Labels[HyperbandRungLabel] != "0" || s.Assignments["epochs"] != "3" {
			t.Errorf("suggestion %v %v, want bracket 1 rung 0 with epochs 3", s.Labels, s.Assignments)
		}
	}
}

func TestHyperbandMaximizeMirrorsMinimize(t *testing.T) {
	neg := func(a map[string]string) (float64, bool) {
		v, ok := hbObjective(a)
		return -v, ok
	}
	key := func(trials []Trial) string {
		var b strings.Builder
		for _, tr := range trials {
			fmt.Fprintln(&b, sortedPairs(tr.Assignments), sortedPairs(tr.Labels))
		}
		return b.String()
	}
	minimized, _ := hbSim(t, hbSettings, Minimize, 3, hbObjective)
	maximized, _ := hbSim(t, hbSettings, Maximize, 3, neg)
	wrong, _ := hbSim(t, hbSettings, Maximize, 3, hbObjective)
	if key(minimized) != key(maximized) {
		t.Error("maximizing −f made other trials than minimizing f")
	}
	if key(minimized) == key(wrong) {
		t.Error("maximizing f made the same trials as minimizing f")
	}
}

func TestHyperbandDeterminism(t *testing.T) {
	a, _ := Lookup("hyperband")
	history, _ := hbSim(t, hbSettings, Minimize, 4, hbObjective)
	history = history[:7] // inside rung 0 of bracket 2
	ask := func(seed string) []Suggestion {
		s := maps.Clone(hbSettings)
		s["random_state"] = seed
		got, err := a.Suggest(Request{Space: hbSpace, Settings: s, Trials: history, Count: 2})
		if err != nil || len(got) != 2 {
			t.Fatalf("random_state %s: %d suggestions, %v", seed, len(got), err)
		}
		return got
	}
	same := ask("7")
	if !equalSuggestions(ask("7"), same) {
		t.Error("the same history and random_state gave different suggestions")
	}
	if equalSuggestions(same, ask("8")) {
		t.Error("random_state 7 and 8 gave the same suggestions")
	}
	again, _ := hbSim(t, hbSettings, Minimize, 4, hbObjective)
	if !slices.EqualFunc(again[:7], history, func(x, y Trial) bool { return x.Name == y.Name && sameAssignments(x.Assignments, y.Assignments) }) {
		t.Error("the same experiment replayed gave other trials")
	}
}

func sameAssignments(a, b map[string]string) bool {
	return strings.Join(sortedPairs(a), ",") == strings.Join(sortedPairs(b), ",")
}

func TestHyperbandRefused(t *testing.T) {
	space := Space{
		{Name: "lr", Kind: Double, Min: 0.01, Max: 0.1},
		{Name: "epochs", Kind: Int, Min: 1, Max: 10},
		{Name: "fraction", Kind: Double, Min: 0.1, Max: 1},
		{Name: "optimizer", Kind: Categorical, List: []string{"sgd", "adam"}},
		{Name: "batch", Kind: Discrete, List: []string{"16", "32"}},
	}
	with := func(kv ...string) map[string]string {
		s := map[string]string{"resource_name": "epochs", "r_l": "9"}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "-" {
				delete(s, kv[i])
				continue
			}
			s[kv[i]] = kv[i+1]
		}
		return s
	}
	for _, tc := range []struct {
		name     string
		settings map[string]string
		want     []string
	}{
		{"no resource_name", with("resource_name", "-"), []string{"resource_name is not set", "int or double parameter"}},
		{"unknown resource", with("resource_name", "steps"), []string{`resource_name "steps" is not a parameter`, "lr, epochs, fraction"}},
		{"categorical resource", with("resource_name", "optimizer"), []string{`resource_name "optimizer"`, "categorical", "int or double"}},
		{"discrete resource", with("resource_name", "batch"), []string{`resource_name "batch"`, "discrete"}},
		{"no r_l", with("r_l", "-"), []string{"r_l is not set", "epochs"}},
		{"r_l zero", with("r_l", "0"), []string{`r_l "0"`, "> 0"}},
		{"r_l negative", with("r_l", "-3"), []string{`r_l "-3"`, "> 0"}},
		{"r_l not a number", with("r_l", "ten"), []string{`r_l "ten"`, "number"}},
		{"r_l below 1 for an int", with("r_l", "0.5"), []string{`r_l "0.5"`, "int parameter", "≥ 1"}},
		{"eta 1", with("eta", "1"), []string{`eta "1"`, "> 1"}},
		{"eta below 1", with("eta", "0.5"), []string{`eta "0.5"`, "> 1"}},
		{"eta not a number", with("eta", "three"), []string{`eta "three"`}},
		{"too many brackets", with("eta", "1.0001", "r_l", "1e6"), []string{"brackets", "raise eta"}},
		{"too many configurations", with("eta", "1.5", "r_l", "1e12"), []string{"more than 100000 configurations", "raise eta or lower r_l"}},
		{"bad random_state", with("random_state", "-1"), []string{"random_state"}},
		{"upstream's state is no setting", with("current_s", "2"), []string{"unknown algorithmSettings current_s", "resource_name, eta, r_l, random_state"}},
	} {
		_, err := Check("hyperband", space, tc.settings)
		if err == nil {
			t.Errorf("%s %v: accepted", tc.name, tc.settings)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", tc.name, err, w)
			}
		}
	}
	for _, ok := range []map[string]string{
		with(),
		with("eta", "2.5", "random_state", "3"),
		with("resource_name", "fraction", "r_l", "0.5"), // a double resource below 1
		with("r_l", "1"),
	} {
		if _, err := Check("hyperband", space, ok); err != nil {
			t.Errorf("%v: %v", ok, err)
		}
	}
}

// TestHyperbandConformance checks the upstream example kfup must accept unchanged: its
// settings pass, and its first parallelTrialCount suggestions are bracket 1's rung 0.
func TestHyperbandConformance(t *testing.T) {
	space, settings, parallel, _ := example(t, "hp-tuning_hyperband.yaml", "hyperband")
	a, err := Check("hyperband", space, settings)
	if err != nil {
		t.Fatalf("the conformance file's settings %v: %v", settings, err)
	}
	got, err := a.Suggest(Request{Space: space, Settings: settings, Count: parallel})
	if err != nil || len(got) != parallel {
		t.Fatalf("%d suggestions, %v; want %d", len(got), err, parallel)
	}
	// r_l = 2, eta = 2: bracket 1 starts two configurations with one epoch, inside the
	// file's feasibleSpace (min = max = 1).
	checkSuggestions(t, space, got)
	for _, s := range got {
		if s.Labels[HyperbandBracketLabel] != "1" || s.Labels[HyperbandRungLabel] != "0" {
			t.Errorf("labels %v, want bracket 1 rung 0", s.Labels)
		}
	}
}
