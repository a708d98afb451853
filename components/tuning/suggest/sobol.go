package suggest

import "fmt"

func init() { register("sobol", func() Algorithm { return sobol{} }) }

// sobolBits is the precision of a Sobol coordinate (and the log2 of the longest sequence).
const sobolBits = 32

// sobol is Katib's "sobol": the Sobol low-discrepancy sequence (plain, as upstream's
// goptuna sampler) over the unit cube, one dimension per parameter, mapped through each
// parameter's prior. Suggestion k of an Experiment is point k+1 of the sequence (point 0 is
// the cube's corner), so the algorithm needs no state: the number of trials so far says
// where the sequence stands.
type sobol struct{}

// Settings is empty: upstream's sobol takes no settings.
func (sobol) Settings() []Setting { return nil }

// Validate refuses more parameters than the direction numbers kfup carries.
func (sobol) Validate(space Space, _ map[string]string) error {
	if len(space) > maxSobolDims {
		return fmt.Errorf("sobol: %d parameters, but kfup's Sobol sequence has %d dimensions; use fewer parameters or random/tpe", len(space), maxSobolDims)
	}
	return nil
}

// Suggest returns the next req.Count points of the sequence.
func (s sobol) Suggest(req Request) ([]Suggestion, error) {
	if err := s.Validate(req.Space, req.Settings); err != nil {
		return nil, err
	}
	axes := axesOf(req.Space)
	var out []Suggestion
	for i := range req.Count {
		u := sobolPoint(uint64(len(req.Trials)+i+1), len(axes))
		asg := make(map[string]string, len(axes))
		for d, a := range axes {
			asg[a.p.Name] = a.fromUnit(u[d])
		}
		out = append(out, Suggestion{Assignments: asg})
	}
	return out, nil
}

// sobolPoint is point n of the Sobol sequence in dims dimensions (n's bits past sobolBits
// wrap around: 4 billion points is more than any Experiment runs).
func sobolPoint(n uint64, dims int) []float64 {
	out := make([]float64, dims)
	for d := range dims {
		var x uint32
		for j, m := 0, n; m != 0 && j < sobolBits; j, m = j+1, m>>1 {
			if m&1 == 1 {
				x ^= sobolDirections[d][j]
			}
		}
		out[d] = float64(x) / (1 << sobolBits)
	}
	return out
}

// sobolDirections holds each dimension's direction numbers v_1…v_32 (as fractions of 2^32).
var sobolDirections = func() [][sobolBits]uint32 {
	out := make([][sobolBits]uint32, maxSobolDims)
	for j := range sobolBits {
		out[0][j] = 1 << (sobolBits - 1 - j) // dimension 1: van der Corput
	}
	for d, jk := range joeKuo {
		v := &out[d+1]
		s := jk.s
		for j := range s {
			v[j] = jk.m[j] << (sobolBits - 1 - j)
		}
		for j := s; j < sobolBits; j++ {
			x := v[j-s] ^ (v[j-s] >> uint(s))
			for k := 1; k < s; k++ {
				if (jk.a>>(s-1-k))&1 == 1 {
					x ^= v[j-k]
				}
			}
			v[j] = x
		}
	}
	return out
}()

// maxSobolDims is the number of dimensions the direction numbers cover.
var maxSobolDims = len(joeKuo) + 1

// joeKuo is the head of S. Joe and F. Y. Kuo's table new-joe-kuo-6.21201 ("Constructing
// Sobol sequences with better two-dimensional projections", SIAM J. Sci. Comput. 30, 2008),
// the one SciPy and Optuna use: for dimensions 2 on, the degree s of a primitive polynomial
// over GF(2), its inner coefficients a (as bits, highest degree first) and the initial
// direction numbers m_1…m_s.
var joeKuo = []struct {
	s int
	a uint32
	m []uint32
}{
	{s: 1, a: 0, m: []uint32{1}},                             // dimension 2
	{s: 2, a: 1, m: []uint32{1, 3}},                          // dimension 3
	{s: 3, a: 1, m: []uint32{1, 3, 1}},                       // dimension 4
	{s: 3, a: 2, m: []uint32{1, 1, 1}},                       // dimension 5
	{s: 4, a: 1, m: []uint32{1, 1, 3, 3}},                    // dimension 6
	{s: 4, a: 4, m: []uint32{1, 3, 5, 13}},                   // dimension 7
	{s: 5, a: 2, m: []uint32{1, 1, 5, 5, 17}},                // dimension 8
	{s: 5, a: 4, m: []uint32{1, 1, 5, 5, 5}},                 // dimension 9
	{s: 5, a: 7, m: []uint32{1, 1, 7, 11, 19}},               // dimension 10
	{s: 5, a: 11, m: []uint32{1, 1, 5, 1, 1}},                // dimension 11
	{s: 5, a: 13, m: []uint32{1, 1, 1, 3, 11}},               // dimension 12
	{s: 5, a: 14, m: []uint32{1, 3, 5, 5, 31}},               // dimension 13
	{s: 6, a: 1, m: []uint32{1, 3, 3, 9, 7, 49}},             // dimension 14
	{s: 6, a: 13, m: []uint32{1, 1, 1, 15, 21, 21}},          // dimension 15
	{s: 6, a: 16, m: []uint32{1, 3, 1, 13, 27, 49}},          // dimension 16
	{s: 6, a: 19, m: []uint32{1, 1, 1, 15, 7, 5}},            // dimension 17
	{s: 6, a: 22, m: []uint32{1, 3, 1, 15, 13, 25}},          // dimension 18
	{s: 6, a: 25, m: []uint32{1, 1, 5, 5, 19, 61}},           // dimension 19
	{s: 7, a: 1, m: []uint32{1, 3, 7, 11, 23, 15, 103}},      // dimension 20
	{s: 7, a: 4, m: []uint32{1, 3, 7, 13, 13, 15, 69}},       // dimension 21
	{s: 7, a: 7, m: []uint32{1, 1, 3, 13, 7, 35, 63}},        // dimension 22
	{s: 7, a: 8, m: []uint32{1, 3, 5, 9, 1, 25, 53}},         // dimension 23
	{s: 7, a: 14, m: []uint32{1, 3, 1, 13, 9, 35, 107}},      // dimension 24
	{s: 7, a: 19, m: []uint32{1, 3, 1, 5, 27, 61, 31}},       // dimension 25
	{s: 7, a: 21, m: []uint32{1, 1, 5, 11, 19, 41, 61}},      // dimension 26
	{s: 7, a: 28, m: []uint32{1, 3, 5, 3, 3, 13, 69}},        // dimension 27
	{s: 7, a: 31, m: []uint32{1, 1, 7, 13, 1, 19, 1}},        // dimension 28
	{s: 7, a: 32, m: []uint32{1, 3, 7, 5, 13, 19, 59}},       // dimension 29
	{s: 7, a: 37, m: []uint32{1, 1, 3, 9, 25, 29, 41}},       // dimension 30
	{s: 7, a: 41, m: []uint32{1, 3, 5, 13, 23, 1, 55}},       // dimension 31
	{s: 7, a: 42, m: []uint32{1, 3, 7, 3, 13, 59, 17}},       // dimension 32
	{s: 7, a: 50, m: []uint32{1, 3, 1, 3, 5, 53, 69}},        // dimension 33
	{s: 7, a: 55, m: []uint32{1, 1, 5, 5, 23, 33, 13}},       // dimension 34
	{s: 7, a: 56, m: []uint32{1, 1, 7, 7, 1, 61, 123}},       // dimension 35
	{s: 7, a: 59, m: []uint32{1, 1, 7, 9, 13, 61, 49}},       // dimension 36
	{s: 7, a: 62, m: []uint32{1, 3, 3, 5, 3, 55, 33}},        // dimension 37
	{s: 8, a: 14, m: []uint32{1, 3, 1, 15, 31, 13, 49, 245}}, // dimension 38
	{s: 8, a: 21, m: []uint32{1, 3, 5, 15, 31, 59, 63, 97}},  // dimension 39
	{s: 8, a: 22, m: []uint32{1, 3, 1, 11, 11, 11, 77, 249}}, // dimension 40
	{s: 8, a: 38, m: []uint32{1, 3, 1, 11, 27, 43, 71, 9}},   // dimension 41
	{s: 8, a: 47, m: []uint32{1, 1, 7, 15, 21, 11, 81, 45}},  // dimension 42
	{s: 8, a: 49, m: []uint32{1, 3, 7, 3, 25, 31, 65, 79}},   // dimension 43
	{s: 8, a: 50, m: []uint32{1, 3, 1, 1, 19, 11, 3, 205}},   // dimension 44
	{s: 8, a: 52, m: []uint32{1, 1, 5, 9, 19, 21, 29, 157}},  // dimension 45
	{s: 8, a: 56, m: []uint32{1, 3, 7, 11, 1, 33, 89, 185}},  // dimension 46
}
