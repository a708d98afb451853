package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"
)

// printRegrets writes the regret table and one verdict line per function.
func printRegrets(w io.Writer, o options, ms []method, fns []function, cells map[method]map[string]*cell) {
	fmt.Fprintf(w, "\nbest regret after %d evaluations (best found − known minimum), %d seeds; lower is better\n", o.evals, o.seeds)
	fmt.Fprintf(w, "%-12s %-28s %12s %12s %12s\n", "function", "method", "median", "Q1", "Q3")
	for _, fn := range fns {
		for _, m := range ms {
			c := cells[m][fn.name]
			fmt.Fprintf(w, "%-12s %-28s ", fn.name, m)
			switch {
			case c.missing != "":
				fmt.Fprintln(w, c.missing)
			case c.err != nil:
				fmt.Fprintln(w, "failed (see below)")
			default:
				fmt.Fprintf(w, "%12s %12s %12s\n", num(quantile(c.regrets, 0.5)), num(quantile(c.regrets, 0.25)), num(quantile(c.regrets, 0.75)))
			}
		}
		fmt.Fprintf(w, "%-12s %s\n", "", verdict(fn, cells))
	}
}

// verdict compares kfup tpe's median with Optuna TPE's on one function.
func verdict(fn function, cells map[method]map[string]*cell) string {
	const q = "kfup tpe median ≤ optuna tpe median: "
	ours, theirs := cells["tpe"][fn.name], cells["optuna-tpe"][fn.name]
	if !usable(ours) || !usable(theirs) {
		return q + "n/a (kfup tpe or optuna tpe has no figures in this run)"
	}
	a, b := quantile(ours.regrets, 0.5), quantile(theirs.regrets, 0.5)
	ans := "no"
	if a <= b {
		ans = "yes"
	}
	return fmt.Sprintf("%s%s (%s vs %s)", q, ans, num(a), num(b))
}

func usable(c *cell) bool { return c != nil && c.missing == "" && c.err == nil && len(c.regrets) > 0 }

// printLatency writes the latency table beside the target.
func printLatency(w io.Writer, o options, ms []method, lat map[method]*latency) {
	fmt.Fprintf(w, "\nsuggestion latency: one suggestion on hartmann6 after %d finished trials, median of %d calls (Optuna: study.ask())\n",
		o.latencyHistory, o.latencyCalls)
	fmt.Fprintf(w, "%-28s %12s %12s %10s\n", "method", "median", "max", "target")
	target := "≤ " + latencyTarget.String()
	for _, m := range ms {
		l := lat[m]
		fmt.Fprintf(w, "%-28s ", m)
		switch {
		case l.missing != "":
			fmt.Fprintln(w, l.missing)
		case l.err != nil:
			fmt.Fprintln(w, "failed (see below)")
		case len(l.ms) == 0:
			fmt.Fprintln(w, "no timings")
		default:
			med := quantile(l.ms, 0.5)
			mark := "(reference)"
			if !m.optuna() {
				mark = "meets"
				if med > float64(latencyTarget)/float64(time.Millisecond) {
					mark = "MISSES"
				}
			}
			fmt.Fprintf(w, "%12s %12s %10s  %s\n", fmtMs(med), fmtMs(slices.Max(l.ms)), target, mark)
		}
	}
}

func fmtMs(ms float64) string {
	switch {
	case ms < 1:
		return fmt.Sprintf("%.3f ms", ms)
	case ms < 100:
		return fmt.Sprintf("%.2f ms", ms)
	}
	return fmt.Sprintf("%.0f ms", ms)
}

// num formats a regret: four significant digits, which keeps 3e-05 and 4123 readable.
func num(x float64) string {
	s := fmt.Sprintf("%.4g", x)
	if strings.Contains(s, "e") || math.Abs(x) >= 1e4 {
		return fmt.Sprintf("%.3e", x)
	}
	return s
}

// quantile is the q-quantile of xs with linear interpolation between order statistics
// (NumPy's default, R's type 7).
func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	h := q * float64(len(s)-1)
	lo := int(math.Floor(h))
	if lo+1 >= len(s) {
		return s[len(s)-1]
	}
	return s[lo] + (h-float64(lo))*(s[lo+1]-s[lo])
}
