package main

import (
	"context"
	"math"
	"testing"
)

// The functions reach their published minima at the published minimizers.
func TestFunctionsOptima(t *testing.T) {
	minimizers := map[string][][]float64{
		"branin":      {{-math.Pi, 12.275}, {math.Pi, 2.275}, {9.42478, 2.475}},
		"hartmann6":   {{0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573}},
		"rosenbrock4": {{1, 1, 1, 1}},
	}
	for _, fn := range functions {
		xs := minimizers[fn.name]
		if len(xs) == 0 {
			t.Fatalf("%s: no minimizer to check", fn.name)
		}
		for _, x := range xs {
			if got := fn.f(x); math.Abs(got-fn.optimum) > 1e-5 {
				t.Errorf("%s(%v) = %v, want %v", fn.name, x, got, fn.optimum)
			}
		}
		// Nothing in a coarse grid of the domain beats the optimum.
		x := make([]float64, len(fn.bounds))
		var walk func(d int)
		walk = func(d int) {
			if d == len(x) {
				if y := fn.f(x); y < fn.optimum-1e-9 {
					t.Errorf("%s(%v) = %v is below the optimum %v", fn.name, x, y, fn.optimum)
				}
				return
			}
			for k := 0; k <= 6; k++ {
				x[d] = fn.bounds[d][0] + float64(k)/6*(fn.bounds[d][1]-fn.bounds[d][0])
				walk(d + 1)
			}
		}
		walk(0)
	}
}

func TestQuantile(t *testing.T) {
	xs := []float64{7, 1, 3, 5} // sorted 1 3 5 7
	for _, c := range []struct{ q, want float64 }{{0, 1}, {0.25, 2.5}, {0.5, 4}, {0.75, 5.5}, {1, 7}} {
		if got := quantile(xs, c.q); got != c.want {
			t.Errorf("quantile(%v, %v) = %v, want %v", xs, c.q, got, c.want)
		}
	}
	if got := quantile([]float64{2}, 0.25); got != 2 {
		t.Errorf("quantile of one value = %v, want 2", got)
	}
}

// A run is sequential and deterministic: the same seed gives the same trials, each one
// finished, and the best is the minimum of their values.
func TestRunKfupRandom(t *testing.T) {
	if !registered("random") {
		t.Skip("no random algorithm in this build")
	}
	fn := functions[0]
	a, best, err := runKfup(context.Background(), "random", fn, 3, 12)
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := runKfup(context.Background(), "random", fn, 3, 12)
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != 12 {
		t.Fatalf("got %d trials, want 12", len(a))
	}
	low := math.Inf(1)
	for i, tr := range a {
		if !tr.Done || tr.Value == nil {
			t.Fatalf("trial %d not finished: %+v", i, tr)
		}
		low = math.Min(low, *tr.Value)
		for k, v := range tr.Assignments {
			if b[i].Assignments[k] != v {
				t.Fatalf("trial %d differs between two runs of seed 3: %v vs %v", i, tr.Assignments, b[i].Assignments)
			}
		}
	}
	if best != low {
		t.Errorf("best = %v, want the lowest value %v", best, low)
	}
}
