package suggest

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/kfup/kfup/internal/conformance"
)

// testSpace has every kind of parameter kfup's samplers handle.
var testSpace = Space{
	{Name: "lr", Kind: Double, Min: 1e-5, Max: 1e-1, Distribution: LogUniform},
	{Name: "momentum", Kind: Double, Min: 0.5, Max: 0.99},
	{Name: "dropout", Kind: Double, Min: 0.1, Max: 0.5, Step: 0.1},
	{Name: "layers", Kind: Int, Min: 1, Max: 8},
	{Name: "units", Kind: Int, Min: 16, Max: 1024, Distribution: LogUniform},
	{Name: "batch", Kind: Discrete, List: []string{"16", "32", "64"}},
	{Name: "optimizer", Kind: Categorical, List: []string{"sgd", "adam", "rmsprop"}},
	{Name: "wd", Kind: Double, Min: 0, Max: 1, Distribution: Normal},
	{Name: "scale", Kind: Double, Min: 0.01, Max: 100, Distribution: LogNormal},
	{Name: "fixed", Kind: Double, Min: 3, Max: 3},
}

// feasible reports why an assignment is outside its parameter's feasible space ("" if it is
// inside).
func feasible(p Param, s string) string {
	switch p.Kind {
	case Discrete, Categorical:
		if !slices.Contains(p.List, s) {
			return "not in the list"
		}
		return ""
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return "not a number"
	}
	if x < p.Min || x > p.Max {
		return "outside [min, max]"
	}
	if p.Kind == Int && (strings.Contains(s, ".") || x != math.Trunc(x)) {
		return "not whole"
	}
	if p.Step > 0 {
		k := (x - p.Min) / p.Step
		if math.Abs(k-math.Round(k)) > 1e-6 {
			return "off the step grid"
		}
	}
	return ""
}

func checkSuggestions(t *testing.T, space Space, got []Suggestion) {
	t.Helper()
	for _, s := range got {
		if len(s.Assignments) != len(space) {
			t.Fatalf("suggestion %v: want %d assignments", s.Assignments, len(space))
		}
		for _, p := range space {
			v, ok := s.Assignments[p.Name]
			if !ok {
				t.Fatalf("suggestion %v lacks %s", s.Assignments, p.Name)
			}
			if why := feasible(p, v); why != "" {
				t.Fatalf("parameter %s = %q: %s", p.Name, v, why)
			}
		}
	}
}

// quadratic is the test objective: its minimum 0 is at lr = 1e-3, momentum = 0.9, layers =
// 4 and optimizer = adam.
func quadratic(a map[string]string) float64 {
	lr, _ := strconv.ParseFloat(a["lr"], 64)
	m, _ := strconv.ParseFloat(a["momentum"], 64)
	l, _ := strconv.ParseFloat(a["layers"], 64)
	v := math.Pow(math.Log10(lr)+3, 2) + 25*math.Pow(m-0.9, 2) + 0.25*math.Pow(l-4, 2)
	if a["optimizer"] != "adam" {
		v += 1
	}
	return v
}

// run asks the algorithm for n suggestions one at a time, finishing each trial with its
// objective value, and returns the trials.
func run(t testing.TB, name string, space Space, settings map[string]string, goal Goal, n int, f func(map[string]string) float64) []Trial {
	t.Helper()
	a, err := Check(name, space, settings)
	if err != nil {
		t.Fatal(err)
	}
	var trials []Trial
	for i := range n {
		got, err := a.Suggest(Request{Space: space, Goal: goal, Settings: settings, Trials: trials, Count: 1})
		if err != nil || len(got) != 1 {
			t.Fatalf("%s: trial %d: %d suggestions, %v", name, i, len(got), err)
		}
		v := f(got[0].Assignments)
		trials = append(trials, Trial{Name: "t" + strconv.Itoa(i), Assignments: got[0].Assignments, Value: &v, Done: true})
	}
	return trials
}

var samplers = []string{"random", "sobol", "tpe", "multivariate-tpe"}

func TestSuggestionsFeasible(t *testing.T) {
	for _, name := range append(samplers, "grid") {
		t.Run(name, func(t *testing.T) {
			space := testSpace
			if name == "grid" {
				space = Space{testSpace[2], testSpace[3], testSpace[5], testSpace[6], testSpace[9]}
			}
			a, err := Check(name, space, nil)
			if err != nil {
				t.Fatal(err)
			}
			trials := run(t, name, space, nil, Minimize, 30, quadratic)
			var got []Suggestion
			for _, tr := range trials {
				got = append(got, Suggestion{Assignments: tr.Assignments})
			}
			more, err := a.Suggest(Request{Space: space, Trials: trials, Count: 8})
			if err != nil {
				t.Fatal(err)
			}
			if len(more) != 8 {
				t.Fatalf("got %d suggestions, want 8", len(more))
			}
			keys := map[string]bool{}
			for _, s := range more {
				k := assignmentKey(axesOf(space), s.Assignments)
				if keys[k] {
					t.Errorf("suggestion %v repeated within one call", s.Assignments)
				}
				keys[k] = true
			}
			checkSuggestions(t, space, append(got, more...))
		})
	}
}

func TestDeterminism(t *testing.T) {
	for _, name := range []string{"random", "tpe", "multivariate-tpe", "grid"} {
		t.Run(name, func(t *testing.T) {
			space := testSpace[:7]
			if name == "grid" {
				space = Space{testSpace[2], testSpace[3], testSpace[5], testSpace[6]}
			}
			a, _ := Lookup(name)
			trials := run(t, "random", space, map[string]string{"random_state": "1"}, Minimize, 15, quadratic)
			ask := func(seed string) []Suggestion {
				got, err := a.Suggest(Request{Space: space, Settings: map[string]string{"random_state": seed}, Trials: trials, Count: 3})
				if err != nil {
					t.Fatal(err)
				}
				return got
			}
			same, other := ask("7"), ask("8")
			if !equalSuggestions(ask("7"), same) {
				t.Error("the same request and random_state gave different suggestions")
			}
			if equalSuggestions(same, other) {
				t.Error("random_state 7 and 8 gave the same suggestions")
			}
		})
	}
}

func equalSuggestions(a, b []Suggestion) bool {
	return slices.EqualFunc(a, b, func(x, y Suggestion) bool {
		return strings.Join(sortedPairs(x.Assignments), ",") == strings.Join(sortedPairs(y.Assignments), ",")
	})
}

func sortedPairs(m map[string]string) []string {
	var out []string
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out
}

func TestSettingsRefused(t *testing.T) {
	space := Space{{Name: "x", Kind: Double, Min: 0, Max: 1, Step: 0.5}}
	for _, tc := range []struct {
		algorithm string
		settings  map[string]string
		want      []string // substrings of the error
	}{
		{"random", map[string]string{"seed": "1"}, []string{"unknown algorithmSettings seed", "random_state"}},
		{"grid", map[string]string{"foo": "1"}, []string{"unknown algorithmSettings foo", "random_state"}},
		{"sobol", map[string]string{"random_state": "1"}, []string{"takes no settings"}},
		{"tpe", map[string]string{"gamma": "0.1"}, []string{"unknown algorithmSettings gamma", "n_startup_trials, n_ei_candidates, random_state"}},
		{"multivariate-tpe", map[string]string{"multivariate": "true"}, []string{"unknown algorithmSettings multivariate", "n_ei_candidates"}},
		{"random", map[string]string{"random_state": "-1"}, []string{"random_state", "≥ 0"}},
		{"tpe", map[string]string{"random_state": "x"}, []string{"random_state"}},
		{"tpe", map[string]string{"n_startup_trials": "-3"}, []string{"n_startup_trials", "≥ 0"}},
		{"tpe", map[string]string{"n_ei_candidates": "0"}, []string{"n_ei_candidates", "≥ 1"}},
		{"multivariate-tpe", map[string]string{"n_ei_candidates": "2.5"}, []string{"n_ei_candidates", "whole number"}},
		{"grid", map[string]string{"random_state": "1.5"}, []string{"random_state"}},
	} {
		_, err := Check(tc.algorithm, space, tc.settings)
		if err == nil {
			t.Errorf("%s %v: accepted", tc.algorithm, tc.settings)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s %v: error %q lacks %q", tc.algorithm, tc.settings, err, w)
			}
		}
	}
	for _, name := range []string{"tpe", "multivariate-tpe"} {
		ok := map[string]string{"n_startup_trials": "0", "n_ei_candidates": "1", "random_state": "42"}
		if _, err := Check(name, space, ok); err != nil {
			t.Errorf("%s %v: %v", name, ok, err)
		}
	}
}

func TestLookup(t *testing.T) {
	for _, name := range append(samplers, "grid") {
		if _, err := Lookup(name); err != nil {
			t.Errorf("Lookup(%q): %v", name, err)
		}
		if !slices.Contains(Names(), name) {
			t.Errorf("Names() lacks %q", name)
		}
	}
	_, err := Lookup("annealing")
	if !errors.Is(err, ErrUnknown) || !strings.Contains(err.Error(), "tpe") {
		t.Errorf("Lookup(annealing) = %v; want ErrUnknown naming the algorithms", err)
	}
}

func TestNoCountNoSuggestions(t *testing.T) {
	for _, name := range append(samplers, "grid") {
		a, _ := Lookup(name)
		got, err := a.Suggest(Request{Space: Space{testSpace[3]}, Count: 0})
		if err != nil || len(got) != 0 {
			t.Errorf("%s: Count 0 gave %d suggestions, %v", name, len(got), err)
		}
	}
}

// example is an upstream Katib example of ../shared/conformance/tuning/ read as an
// algorithm sees it: its algorithm's name must be alg; it returns the search space (int
// and double parameters), the algorithmSettings and the parallel and max trial counts.
func example(t *testing.T, file, alg string) (space Space, settings map[string]string, parallel, total int) {
	t.Helper()
	obj := conformance.Objects(t, filepath.Join(conformance.Dir(t), "tuning", file))[0]
	spec, _ := obj.Object["spec"].(map[string]any)
	a, _ := spec["algorithm"].(map[string]any)
	if a["algorithmName"] != alg {
		t.Fatalf("%s: algorithmName %v, want %s", file, a["algorithmName"], alg)
	}
	settings = map[string]string{}
	for _, s := range a["algorithmSettings"].([]any) {
		m := s.(map[string]any)
		settings[m["name"].(string)] = m["value"].(string)
	}
	for _, p := range spec["parameters"].([]any) {
		m := p.(map[string]any)
		fs, _ := m["feasibleSpace"].(map[string]any)
		lo, err1 := strconv.ParseFloat(fmt.Sprint(fs["min"]), 64)
		hi, err2 := strconv.ParseFloat(fmt.Sprint(fs["max"]), 64)
		if err := errors.Join(err1, err2); err != nil {
			t.Fatalf("%s: parameter %v: %v", file, m["name"], err)
		}
		space = append(space, Param{Name: m["name"].(string), Kind: Kind(m["parameterType"].(string)), Min: lo, Max: hi})
	}
	parallel, err1 := strconv.Atoi(fmt.Sprint(spec["parallelTrialCount"]))
	total, err2 := strconv.Atoi(fmt.Sprint(spec["maxTrialCount"]))
	if err := errors.Join(err1, err2); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return space, settings, parallel, total
}
