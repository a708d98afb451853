package main

import (
	"math"
	"strconv"

	"github.com/kfup/kfup/components/tuning/suggest"
)

// function is one test function: a box domain, the objective and its known global minimum.
// optuna_bench.py defines the same ones (the probe check keeps the two in step).
type function struct {
	name    string
	bounds  [][2]float64
	f       func(x []float64) float64
	optimum float64
}

// functions are the benchmark's test functions, in table order. Optima from Surjanovic &
// Bingham's Virtual Library of Simulation Experiments (Branin's is exactly 5/(4π)).
var functions = []function{
	{name: "branin", bounds: [][2]float64{{-5, 10}, {0, 15}}, f: branin, optimum: 5 / (4 * math.Pi)},
	{name: "hartmann6", bounds: repeat([2]float64{0, 1}, 6), f: hartmann6, optimum: -3.32236801141551},
	{name: "rosenbrock4", bounds: repeat([2]float64{-5, 10}, 4), f: rosenbrock, optimum: 0},
}

func repeat(b [2]float64, n int) [][2]float64 {
	out := make([][2]float64, n)
	for i := range out {
		out[i] = b
	}
	return out
}

// space is the function's domain as a Katib search space: doubles x1…xd.
func (fn function) space() suggest.Space {
	s := make(suggest.Space, len(fn.bounds))
	for i, b := range fn.bounds {
		s[i] = suggest.Param{Name: "x" + strconv.Itoa(i+1), Kind: suggest.Double, Min: b[0], Max: b[1]}
	}
	return s
}

// probe is the point the Go and Python sides both evaluate: 30% of the way along each axis.
func (fn function) probe() []float64 {
	x := make([]float64, len(fn.bounds))
	for i, b := range fn.bounds {
		x[i] = b[0] + 0.3*(b[1]-b[0])
	}
	return x
}

func branin(x []float64) float64 {
	const (
		a = 1.0
		r = 6.0
		s = 10.0
	)
	b := 5.1 / (4 * math.Pi * math.Pi)
	c := 5 / math.Pi
	t := 1 / (8 * math.Pi)
	d := x[1] - b*x[0]*x[0] + c*x[0] - r
	return a*d*d + s*(1-t)*math.Cos(x[0]) + s
}

var (
	h6Alpha = [4]float64{1.0, 1.2, 3.0, 3.2}
	h6A     = [4][6]float64{
		{10, 3, 17, 3.5, 1.7, 8},
		{0.05, 10, 17, 0.1, 8, 14},
		{3, 3.5, 1.7, 10, 17, 8},
		{17, 8, 0.05, 10, 0.1, 14},
	}
	h6P = [4][6]float64{
		{1312, 1696, 5569, 124, 8283, 5886},
		{2329, 4135, 8307, 3736, 1004, 9991},
		{2348, 1451, 3522, 2883, 3047, 6650},
		{4047, 8828, 8732, 5743, 1091, 381},
	}
)

func hartmann6(x []float64) float64 {
	total := 0.0
	for i := range h6Alpha {
		inner := 0.0
		for j := range 6 {
			d := x[j] - h6P[i][j]*1e-4
			inner += h6A[i][j] * d * d
		}
		total += h6Alpha[i] * math.Exp(-inner)
	}
	return -total
}

func rosenbrock(x []float64) float64 {
	sum := 0.0
	for i := 0; i+1 < len(x); i++ {
		a, b := x[i+1]-x[i]*x[i], 1-x[i]
		sum += 100*a*a + b*b
	}
	return sum
}
