// Command bench-hpo compares kfup's search algorithms (components/tuning/suggest) with
// Optuna 3.1's TPESampler and RandomSampler on three standard test functions — Branin
// (2-D), Hartmann6 (6-D) and Rosenbrock (4-D, on [-5, 10]^4) — and times one suggestion.
//
// Every run is a sequential search: one suggestion per call, each trial finished with its
// value before the next call, --evals trials, with random_state (Optuna: the sampler's
// seed) set to the run's seed, for seeds 0…--seeds-1. It prints the best regret (best
// value found − the known minimum) as median, Q1 and Q3 over the seeds per function and
// method, a verdict per function (kfup tpe's median against Optuna TPE's), and the
// latency of one suggestion with --latency-history finished Hartmann6 trials (each
// method's own trajectory), median of --latency-calls calls, next to the 10 ms target.
//
// Optuna's side is optuna_bench.py, run once with python3; the functions, seeds and
// budget are the same. kfup algorithms missing from this build show as "not available".
// Run it with `make bench-hpo`; it exits non-zero only when something fails to run.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/kfup/kfup/components/tuning/suggest"
)

// latencyTarget is the most one suggestion may take.
const latencyTarget = 10 * time.Millisecond

const optunaPrefix = "optuna-"

// options are the command's flags.
type options struct {
	seeds, evals                 int
	functions, methods           []string
	latencyHistory, latencyCalls int
	python, script               string
}

// method is one row label: a kfup algorithm name or an "optuna-" sampler.
type method string

func (m method) optuna() bool { return strings.HasPrefix(string(m), optunaPrefix) }

func (m method) sampler() string { return strings.TrimPrefix(string(m), optunaPrefix) }

func (m method) String() string {
	if m.optuna() {
		return "optuna " + m.sampler()
	}
	return "kfup " + string(m)
}

// cell is what one method did on one function.
type cell struct {
	regrets []float64 // one per seed
	missing string    // why the method is not available, if it is not
	err     error
}

// latency is one method's suggestion timings.
type latency struct {
	ms      []float64
	missing string
	err     error
}

func main() {
	var o options
	var fns, methods string
	flag.IntVar(&o.seeds, "seeds", 20, "seeds per function and method (random_state 0…N-1)")
	flag.IntVar(&o.evals, "evals", 50, "sequential evaluations per run")
	flag.StringVar(&fns, "functions", "branin,hartmann6,rosenbrock4", "test functions, comma-separated")
	flag.StringVar(&methods, "methods", "random,tpe,multivariate-tpe,cmaes,bayesianoptimization,optuna-tpe,optuna-random",
		"kfup algorithm names and optuna-tpe, optuna-random, comma-separated")
	flag.IntVar(&o.latencyHistory, "latency-history", 100, "finished trials before the timed suggestion")
	flag.IntVar(&o.latencyCalls, "latency-calls", 20, "timed suggestions per method (0: skip the latency table)")
	flag.StringVar(&o.python, "python", "", "python interpreter with optuna 3.1 (default: python3 on PATH, then /usr/bin/python3)")
	flag.StringVar(&o.script, "script", "hack/bench-hpo/optuna_bench.py", "Optuna's side of the benchmark")
	flag.Parse()
	o.functions, o.methods = split(fns), split(methods)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, o); err != nil {
		if ctx.Err() != nil {
			fmt.Fprintln(os.Stderr, "bench-hpo: interrupted")
			os.Exit(130)
		}
		fmt.Fprintln(os.Stderr, "ERROR:", err)
		os.Exit(1)
	}
}

func split(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

func run(ctx context.Context, o options) error {
	if o.seeds < 1 || o.evals < 1 || o.latencyHistory < 0 || o.latencyCalls < 0 {
		return errors.New("--seeds and --evals must be ≥ 1, --latency-history and --latency-calls ≥ 0")
	}
	var fns []function
	for _, name := range o.functions {
		i := slices.IndexFunc(functions, func(f function) bool { return f.name == name })
		if i < 0 {
			return fmt.Errorf("unknown function %q: use %s", name, strings.Join(functionNames(), ", "))
		}
		fns = append(fns, functions[i])
	}
	var ms []method
	var samplers []string
	for _, m := range o.methods {
		ms = append(ms, method(m))
		if method(m).optuna() {
			if s := method(m).sampler(); s != "tpe" && s != "random" {
				return fmt.Errorf("unknown method %q: Optuna's are optuna-tpe and optuna-random", m)
			}
			samplers = append(samplers, method(m).sampler())
		}
	}
	if len(fns) == 0 || len(ms) == 0 {
		return errors.New("no functions or no methods to run")
	}

	cells := map[method]map[string]*cell{}
	for _, m := range ms {
		cells[m] = map[string]*cell{}
		for _, fn := range fns {
			cells[m][fn.name] = &cell{}
		}
	}
	lat := map[method]*latency{}
	for _, m := range ms {
		lat[m] = &latency{}
	}

	fmt.Printf("kfup algorithms in this build: %s\n", strings.Join(suggest.Names(), ", "))

	// kfup's runs: every (method, function, seed) on a pool of GOMAXPROCS goroutines.
	if err := runKfupCells(ctx, o, ms, fns, cells); err != nil {
		return err
	}

	// Optuna's runs: one python process for every sampler (after kfup's, so that neither
	// side's timings share the CPUs with the other).
	if len(samplers) > 0 {
		status(ctx, "running Optuna's side (%s)", strings.Join(samplers, ", "))
		res, why, err := optunaSide(ctx, o, samplers, fns)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		for _, m := range ms {
			if !m.optuna() {
				continue
			}
			for _, fn := range fns {
				c := cells[m][fn.name]
				switch {
				case err != nil:
					c.err = err
				case why != "":
					c.missing = why
				default:
					for _, b := range res.Best[m.sampler()][fn.name] {
						c.regrets = append(c.regrets, b-fn.optimum)
					}
				}
			}
			l := lat[m]
			switch {
			case err != nil:
				l.err = err
			case why != "":
				l.missing = why
			default:
				l.ms = res.Latency[m.sampler()]
			}
		}
		if res != nil {
			fmt.Printf("Optuna %s on Python %s (TPESampler and RandomSampler with their defaults)\n", res.Optuna, res.Python)
			if !strings.HasPrefix(res.Optuna, "3.1.") {
				fmt.Printf("note: the reference is Optuna 3.1; this is %s\n", res.Optuna)
			}
		}
	}

	// kfup's latencies, one method at a time on otherwise idle CPUs.
	if o.latencyCalls > 0 {
		h6 := functions[slices.IndexFunc(functions, func(f function) bool { return f.name == "hartmann6" })]
		for _, m := range ms {
			if m.optuna() {
				continue
			}
			l := lat[m]
			if !registered(string(m)) {
				l.missing = "not available"
				continue
			}
			status(ctx, "timing %s with %d finished trials", m, o.latencyHistory)
			d, err := kfupLatency(ctx, string(m), h6, o.latencyHistory, o.latencyCalls)
			if ctx.Err() != nil {
				return ctx.Err()
			}
			l.err = err
			for _, x := range d {
				l.ms = append(l.ms, float64(x)/float64(time.Millisecond))
			}
		}
	}

	printRegrets(os.Stdout, o, ms, fns, cells)
	if o.latencyCalls > 0 {
		printLatency(os.Stdout, o, ms, lat)
	}
	return failures(ms, fns, cells, lat)
}

func functionNames() []string {
	var out []string
	for _, f := range functions {
		out = append(out, f.name)
	}
	return out
}

// runKfupCells fills the kfup methods' cells.
func runKfupCells(ctx context.Context, o options, ms []method, fns []function, cells map[method]map[string]*cell) error {
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for _, m := range ms {
		if m.optuna() {
			continue
		}
		if !registered(string(m)) {
			for _, fn := range fns {
				cells[m][fn.name].missing = "not available"
			}
			continue
		}
		for _, fn := range fns {
			c := cells[m][fn.name]
			c.regrets = make([]float64, o.seeds)
			left, t0 := o.seeds, time.Now()
			for seed := range o.seeds {
				g.Go(func() error {
					_, best, err := runKfup(gctx, string(m), fn, seed, o.evals)
					if gctx.Err() != nil {
						return gctx.Err()
					}
					mu.Lock()
					defer mu.Unlock()
					c.regrets[seed] = best - fn.optimum
					if err != nil && c.err == nil {
						c.err = fmt.Errorf("seed %d: %w", seed, err)
					}
					if left--; left == 0 {
						status(gctx, "%s on %s: %d seeds in %.1fs", m, fn.name, o.seeds, time.Since(t0).Seconds())
					}
					return nil
				})
			}
		}
	}
	return g.Wait()
}

// optunaSide runs optuna_bench.py; why says why Optuna is not available (no python with
// optuna), err that it failed to run.
func optunaSide(ctx context.Context, o options, samplers []string, fns []function) (res *optunaResult, why string, err error) {
	py, err := findPython(ctx, o.python)
	if err != nil {
		fmt.Fprintln(os.Stderr, "WARNING: Optuna's rows are not available:", err)
		return nil, "not available (no python3 with optuna)", nil
	}
	res, err = runOptuna(ctx, py, o.script, samplers, fns, o)
	return res, "", err
}

// failures is the error of the run: every method that failed to run.
func failures(ms []method, fns []function, cells map[method]map[string]*cell, lat map[method]*latency) error {
	var errs []error
	for _, m := range ms {
		for _, fn := range fns {
			if err := cells[m][fn.name].err; err != nil {
				errs = append(errs, fmt.Errorf("%s on %s: %w", m, fn.name, err))
			}
		}
		if err := lat[m].err; err != nil {
			errs = append(errs, fmt.Errorf("%s latency: %w", m, err))
		}
	}
	return errors.Join(errs...)
}

// status writes one progress line on stderr.
func status(ctx context.Context, format string, args ...any) {
	if ctx.Err() == nil {
		fmt.Fprintf(os.Stderr, "bench-hpo: "+format+"\n", args...)
	}
}
