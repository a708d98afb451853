package suggest

import "testing"

// TestSobolPolynomialsPrimitive checks each table row: its polynomial x^s + a…x + 1 is
// primitive over GF(2) (x has order 2^s − 1 modulo it) and its m_i are odd and below 2^i.
func TestSobolPolynomialsPrimitive(t *testing.T) {
	if maxSobolDims < 21 {
		t.Fatalf("%d Sobol dimensions, want at least 21", maxSobolDims)
	}
	for d, jk := range joeKuo {
		poly := uint64(1)<<jk.s | uint64(jk.a)<<1 | 1
		order, x := 0, uint64(1)
		for {
			x <<= 1
			if x>>jk.s&1 == 1 {
				x ^= poly
			}
			order++
			if x == 1 || order > 1<<jk.s {
				break
			}
		}
		if order != 1<<jk.s-1 {
			t.Errorf("dimension %d: polynomial %b is not primitive (x has order %d)", d+2, poly, order)
		}
		if len(jk.m) != jk.s {
			t.Errorf("dimension %d: %d initial numbers for degree %d", d+2, len(jk.m), jk.s)
		}
		for i, m := range jk.m {
			if m%2 == 0 || m >= 1<<(i+1) {
				t.Errorf("dimension %d: m_%d = %d must be odd and below %d", d+2, i+1, m, 1<<(i+1))
			}
		}
	}
}

// TestSobolStratified checks the net property: the first 2^k points put exactly one point
// in each interval [j/2^k, (j+1)/2^k) of every coordinate, and every pair of coordinates
// fills a 4×4 grid evenly.
func TestSobolStratified(t *testing.T) {
	const k = 10
	n := 1 << k
	pts := make([][]float64, n)
	for i := range n {
		pts[i] = sobolPoint(uint64(i), maxSobolDims)
	}
	for d := range maxSobolDims {
		bins := make([]int, n)
		for _, p := range pts {
			bins[int(p[d]*float64(n))]++
		}
		for j, c := range bins {
			if c != 1 {
				t.Fatalf("dimension %d: interval %d holds %d of the first %d points", d+1, j, c, n)
			}
		}
	}
	// Every pair of coordinates of 1024 points fills a 4×4 grid evenly (64 per cell): Joe
	// and Kuo chose their numbers for good two-dimensional projections.
	for d1 := range maxSobolDims {
		for d2 := d1 + 1; d2 < maxSobolDims; d2++ {
			var cells [16]int
			for _, p := range pts {
				cells[int(p[d1]*4)*4+int(p[d2]*4)]++
			}
			for c, v := range cells {
				if v != n/16 {
					t.Fatalf("dimensions %d and %d: cell %d holds %d points, want %d", d1+1, d2+1, c, v, n/16)
				}
			}
		}
	}
	if got := sobolPoint(1, 3); got[0] != 0.5 || got[1] != 0.5 || got[2] != 0.5 {
		t.Errorf("point 1 = %v, want the cube's centre", got)
	}
}

func TestSobolStateless(t *testing.T) {
	space := Space{{Name: "x", Kind: Double, Min: 0, Max: 8}, {Name: "y", Kind: Double, Min: -1, Max: 1}}
	a, _ := Lookup("sobol")
	all, err := a.Suggest(Request{Space: space, Count: 6})
	if err != nil {
		t.Fatal(err)
	}
	if all[0].Assignments["x"] != "4" || all[0].Assignments["y"] != "0" {
		t.Errorf("first suggestion %v, want the centre x=4 y=0", all[0].Assignments)
	}
	trials := []Trial{{Name: "a", Assignments: all[0].Assignments}, {Name: "b", Assignments: all[1].Assignments}}
	rest, err := a.Suggest(Request{Space: space, Trials: trials, Count: 4})
	if err != nil {
		t.Fatal(err)
	}
	if !equalSuggestions(rest, all[2:]) {
		t.Errorf("after 2 trials got %v, want the sequence's points 3..6 %v", rest, all[2:])
	}
}

func TestSobolTooManyDimensions(t *testing.T) {
	var space Space
	for i := range maxSobolDims + 1 {
		space = append(space, Param{Name: "p" + string(rune('a'+i%26)) + string(rune('a'+i/26)), Kind: Double, Max: 1})
	}
	if _, err := Check("sobol", space, nil); err == nil {
		t.Error("accepted more parameters than the Sobol table has dimensions")
	}
	if _, err := Check("sobol", space[:maxSobolDims], nil); err != nil {
		t.Error(err)
	}
}
