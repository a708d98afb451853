package suggest

import (
	"math"
	"strconv"
	"testing"
)

// draws returns n random suggestions of one parameter, as numbers (list positions for lists).
func draws(t *testing.T, p Param, n int) []float64 {
	t.Helper()
	a, _ := Lookup("random")
	// One draw per seed: one call's draws avoid each other, which would skew the counts.
	var got []Suggestion
	for i := range n {
		s, err := a.Suggest(Request{Space: Space{p}, Settings: map[string]string{"random_state": strconv.Itoa(i)}, Count: 1})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, s...)
	}
	checkSuggestions(t, Space{p}, got)
	out := make([]float64, len(got))
	for i, s := range got {
		v := s.Assignments[p.Name]
		if !p.Numeric() {
			out[i] = float64(p.Index(v))
			continue
		}
		out[i], _ = strconv.ParseFloat(v, 64)
	}
	return out
}

func TestRandomPriors(t *testing.T) {
	const n = 4000
	for _, tc := range []struct {
		name string
		p    Param
		// bin maps a draw to one of bins equally likely bins under the prior.
		bin  func(x float64) int
		bins int
	}{
		{"uniform double", Param{Name: "x", Kind: Double, Min: -2, Max: 2}, func(x float64) int { return int((x + 2) / 0.4) }, 10},
		{"log-uniform double: log uniform", Param{Name: "x", Kind: Double, Min: 1e-4, Max: 1, Distribution: LogUniform},
			func(x float64) int { return int(math.Log10(x) + 4) }, 4},
		{"int: ends as likely as the middle", Param{Name: "x", Kind: Int, Min: 0, Max: 4}, func(x float64) int { return int(x) }, 5},
		{"stepped double", Param{Name: "x", Kind: Double, Min: 0.5, Max: 2, Step: 0.5}, func(x float64) int { return int(x/0.5) - 1 }, 4},
		{"log-uniform int: each decade alike", Param{Name: "x", Kind: Int, Min: 1, Max: 999, Distribution: LogUniform},
			// the draws are log-uniform on [0.5, 999.5], rounded
			func(x float64) int { return int(3 * math.Log(x/0.5) / math.Log(999.5/0.5)) }, 3},
		{"categorical", Param{Name: "x", Kind: Categorical, List: []string{"a", "b", "c"}}, func(x float64) int { return int(x) }, 3},
		{"discrete", Param{Name: "x", Kind: Discrete, List: []string{"1", "10", "100", "1000"}}, func(x float64) int { return int(x) }, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			counts := make([]int, tc.bins)
			for _, x := range draws(t, tc.p, n) {
				b := min(tc.bins-1, max(0, tc.bin(x)))
				counts[b]++
			}
			want := float64(n) / float64(tc.bins)
			for b, c := range counts {
				if math.Abs(float64(c)-want) > 0.15*want {
					t.Errorf("bin %d holds %d draws, want about %.0f (all bins %v)", b, c, want, counts)
				}
			}
		})
	}
}

func TestRandomNormalPriors(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    Param
		// centre and sd of the prior, in log space for logNormal
		centre, sd float64
		log        bool
	}{
		{"normal", Param{Name: "x", Kind: Double, Min: 0, Max: 6, Distribution: Normal}, 3, 1, false},
		{"logNormal", Param{Name: "x", Kind: Double, Min: 1, Max: math.Exp(6), Distribution: LogNormal}, 3, 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			xs := draws(t, tc.p, 4000)
			within := 0
			var sum float64
			for _, x := range xs {
				if tc.log {
					x = math.Log(x)
				}
				sum += x
				if math.Abs(x-tc.centre) <= tc.sd {
					within++
				}
			}
			mean := sum / float64(len(xs))
			// A normal truncated at ±3 sd has 68.4% of its mass within ±1 sd.
			if frac := float64(within) / float64(len(xs)); math.Abs(frac-0.684) > 0.03 {
				t.Errorf("%.3f of the draws within one sd of the centre, want about 0.684", frac)
			}
			if math.Abs(mean-tc.centre) > 0.06 {
				t.Errorf("mean %.3f, want about %g", mean, tc.centre)
			}
		})
	}
}

func TestTruncNormQuantile(t *testing.T) {
	for _, tc := range []struct{ a, b, u, want float64 }{
		{-1, 1, 0.5, 0},
		{-40, 40, 0.5, 0},
		{-40, 40, normCDF(1), 1},
		{8, 9, 0, 8},
		{8, 9, 1, 9},
		{-9, -8, 0.5, -8.084888899018168},
	} {
		got := truncNormQuantile(tc.a, tc.b, tc.u)
		if math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("truncNormQuantile(%g, %g, %g) = %g, want %g", tc.a, tc.b, tc.u, got, tc.want)
		}
	}
	// Far in a tail the quantile stays inside the interval and increasing.
	prev := 30.0
	for u := 0.05; u < 1; u += 0.1 {
		z := truncNormQuantile(30, 31, u)
		if z < prev || z > 31 {
			t.Fatalf("truncNormQuantile(30, 31, %g) = %g after %g", u, z, prev)
		}
		prev = z
	}
}

func TestLogNormMass(t *testing.T) {
	for _, tc := range []struct{ a, b, want float64 }{
		{-1, 1, math.Log(0.6826894921370859)},
		{0, math.Inf(1), math.Log(0.5)},
		{5, 6, math.Log(normCDF(-5) - normCDF(-6))},
		{-6, -5, math.Log(normCDF(-5) - normCDF(-6))},
	} {
		if got := logNormMass(tc.a, tc.b); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("logNormMass(%g, %g) = %g, want %g", tc.a, tc.b, got, tc.want)
		}
	}
	// Past underflow the mass stays finite and falls with distance.
	if far, farther := logNormMass(40, 41), logNormMass(50, 51); math.IsInf(far, 0) || !(farther < far) {
		t.Errorf("logNormMass in the far tail: %g then %g", far, farther)
	}
}
