package suggest

import (
	"errors"
	"strings"
	"testing"
)

func TestGridCoverage(t *testing.T) {
	space := Space{
		{Name: "a", Kind: Int, Min: 1, Max: 3},
		{Name: "b", Kind: Double, Min: 0.1, Max: 0.3, Step: 0.1},
		{Name: "c", Kind: Categorical, List: []string{"x", "y"}},
		{Name: "d", Kind: Double, Min: 2, Max: 2},
	}
	want := map[string]bool{}
	for _, a := range []string{"1", "2", "3"} {
		for _, b := range []string{"0.1", "0.2", "0.3"} {
			for _, c := range []string{"x", "y"} {
				want["a="+a+",b="+b+",c="+c+",d=2"] = true
			}
		}
	}
	for _, tc := range []struct {
		name     string
		settings map[string]string
		count    int
	}{
		{"in order, one at a time", nil, 1},
		{"in order, batches of 5", nil, 5},
		{"shuffled, batches of 4", map[string]string{"random_state": "3"}, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := Check("grid", space, tc.settings)
			if err != nil {
				t.Fatal(err)
			}
			var trials []Trial
			seen := map[string]bool{}
			for len(trials) < 100 {
				got, err := a.Suggest(Request{Space: space, Settings: tc.settings, Trials: trials, Count: tc.count})
				if errors.Is(err, ErrExhausted) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				for _, s := range got {
					k := strings.Join(sortedPairs(s.Assignments), ",")
					if !want[k] {
						t.Fatalf("suggested %s, not a grid point", k)
					}
					if seen[k] {
						t.Fatalf("suggested %s twice", k)
					}
					seen[k] = true
					trials = append(trials, Trial{Name: k, Assignments: s.Assignments})
				}
			}
			if len(seen) != len(want) {
				t.Errorf("covered %d of %d grid points", len(seen), len(want))
			}
		})
	}
}

func TestGridOrderAndSpellings(t *testing.T) {
	space := Space{
		{Name: "a", Kind: Int, Min: 1, Max: 2},
		{Name: "b", Kind: Discrete, List: []string{"1", "2.5"}},
	}
	a, _ := Lookup("grid")
	// "1.0" is a's 1 and "1.00" b's 1: those points are tried; a=1.5 is no grid point.
	trials := []Trial{
		{Name: "t0", Assignments: map[string]string{"a": "1.0", "b": "1.00"}},
		{Name: "t1", Assignments: map[string]string{"a": "1.5", "b": "2.5"}},
	}
	got, err := a.Suggest(Request{Space: space, Trials: trials, Count: 10})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, s := range got {
		keys = append(keys, s.Assignments["a"]+"/"+s.Assignments["b"])
	}
	if want := "1/2.5 2/1 2/2.5"; strings.Join(keys, " ") != want {
		t.Errorf("got %v, want %s (first parameter slowest, tried points skipped)", keys, want)
	}
}

func TestGridRefused(t *testing.T) {
	for _, tc := range []struct {
		name  string
		space Space
		want  string
	}{
		{"continuous double", Space{{Name: "lr", Kind: Double, Min: 0, Max: 1}}, `parameter "lr"`},
		{"continuous double says step", Space{{Name: "lr", Kind: Double, Min: 0, Max: 1}}, "add feasibleSpace.step"},
		{"one huge parameter", Space{{Name: "n", Kind: Int, Min: 0, Max: 1e6}}, "larger feasibleSpace.step"},
		{"huge product", Space{
			{Name: "a", Kind: Int, Min: 1, Max: 1000},
			{Name: "b", Kind: Int, Min: 1, Max: 1000},
		}, "more than 100000 combinations"},
	} {
		_, err := Check("grid", tc.space, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}
