#!/usr/bin/env python3
"""Optuna's side of `make bench-hpo`: the reference samplers on kfup's test functions.

For each requested sampler (tpe: TPESampler with Optuna's defaults; random: RandomSampler),
function and seed it runs one study of --evals sequential trials (the sampler's seed is
the run's seed) and records the best value found. Then, per sampler, it times one
study.ask() -- with the search space passed as fixed_distributions, so that ask() samples
every parameter as kfup's Suggest does -- on a study holding --latency-history completed
Hartmann6 trials (the sampler's own trajectory with seed 0), on a fresh copy of that study
each time.

It prints one JSON object on stdout (progress goes to stderr); bench-hpo's Go main runs
it, reads the object and computes the regrets against its own optima. The functions here
must match hack/bench-hpo/functions.go: "probe" carries each function's value at a fixed
point, which the Go side checks against its own.
"""

import argparse
import json
import math
import multiprocessing
import os
import platform
import signal
import sys
import time
import warnings

import optuna

# The test functions: (dimension names, bounds per dimension, function of a list).
_BRANIN_B = 5.1 / (4 * math.pi**2)
_BRANIN_C = 5 / math.pi
_BRANIN_T = 1 / (8 * math.pi)


def branin(x):
    x1, x2 = x
    return (x2 - _BRANIN_B * x1**2 + _BRANIN_C * x1 - 6) ** 2 + 10 * (1 - _BRANIN_T) * math.cos(x1) + 10


_H6_ALPHA = [1.0, 1.2, 3.0, 3.2]
_H6_A = [
    [10, 3, 17, 3.5, 1.7, 8],
    [0.05, 10, 17, 0.1, 8, 14],
    [3, 3.5, 1.7, 10, 17, 8],
    [17, 8, 0.05, 10, 0.1, 14],
]
_H6_P = [
    [1312, 1696, 5569, 124, 8283, 5886],
    [2329, 4135, 8307, 3736, 1004, 9991],
    [2348, 1451, 3522, 2883, 3047, 6650],
    [4047, 8828, 8732, 5743, 1091, 381],
]


def hartmann6(x):
    total = 0.0
    for i in range(4):
        inner = 0.0
        for j in range(6):
            d = x[j] - _H6_P[i][j] * 1e-4
            inner += _H6_A[i][j] * d * d
        total += _H6_ALPHA[i] * math.exp(-inner)
    return -total


def rosenbrock(x):
    return sum(100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2 for i in range(len(x) - 1))


FUNCTIONS = {
    "branin": ([(-5.0, 10.0), (0.0, 15.0)], branin),
    "hartmann6": ([(0.0, 1.0)] * 6, hartmann6),
    "rosenbrock4": ([(-5.0, 10.0)] * 4, rosenbrock),
}


def sampler(method, seed):
    if method == "tpe":
        return optuna.samplers.TPESampler(seed=seed)  # Optuna's defaults otherwise
    if method == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    raise SystemExit(f"optuna_bench.py: unknown method {method!r}: use tpe or random")


def distributions(fn):
    bounds, _ = FUNCTIONS[fn]
    return {f"x{i + 1}": optuna.distributions.FloatDistribution(lo, hi) for i, (lo, hi) in enumerate(bounds)}


def run(method, fn, seed, evals):
    """One study of evals sequential trials; returns the study."""
    bounds, f = FUNCTIONS[fn]
    study = optuna.create_study(direction="minimize", sampler=sampler(method, seed))

    def objective(trial):
        return f([trial.suggest_float(f"x{i + 1}", lo, hi) for i, (lo, hi) in enumerate(bounds)])

    study.optimize(objective, n_trials=evals)
    return study


def best_of(task):
    method, fn, seed, evals = task
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops the pool
    quiet()
    t0 = time.perf_counter()
    study = run(method, fn, seed, evals)
    return method, fn, seed, study.best_value, time.perf_counter() - t0


def latency(method, history, calls):
    """Milliseconds of one ask() on a study of `history` completed Hartmann6 trials, calls times."""
    trials = run(method, "hartmann6", 0, history).trials
    dists = distributions("hartmann6")
    out = []
    for i in range(calls + 1):  # the first call warms caches and is not counted
        study = optuna.create_study(direction="minimize", sampler=sampler(method, 0))
        study.add_trials(trials)
        t0 = time.perf_counter()
        study.ask(fixed_distributions=dists)
        dt = (time.perf_counter() - t0) * 1e3
        if i > 0:
            out.append(dt)
    return out


def quiet():
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=20, help="seeds 0..N-1")
    ap.add_argument("--evals", type=int, default=50, help="trials per study")
    ap.add_argument("--functions", default="branin,hartmann6,rosenbrock4")
    ap.add_argument("--methods", default="tpe,random", help="optuna samplers: tpe, random")
    ap.add_argument("--latency-history", type=int, default=100, help="completed trials before the timed ask()")
    ap.add_argument("--latency-calls", type=int, default=20, help="timed ask() calls per sampler (0: none)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="studies run in parallel")
    args = ap.parse_args()
    quiet()

    fns = [f for f in args.functions.split(",") if f]
    methods = [m for m in args.methods.split(",") if m]
    for fn in fns:
        if fn not in FUNCTIONS:
            raise SystemExit(f"optuna_bench.py: unknown function {fn!r}: use {', '.join(FUNCTIONS)}")
    for m in methods:
        sampler(m, 0)

    tasks = [(m, fn, s, args.evals) for m in methods for fn in fns for s in range(args.seeds)]
    best = {m: {fn: [None] * args.seeds for fn in fns} for m in methods}
    seconds = {m: {fn: 0.0 for fn in fns} for m in methods}
    done = {(m, fn): 0 for m in methods for fn in fns}
    with multiprocessing.get_context("fork").Pool(max(1, args.jobs)) as pool:
        for m, fn, s, value, dt in pool.imap_unordered(best_of, tasks):
            best[m][fn][s] = value
            seconds[m][fn] += dt
            done[(m, fn)] += 1
            if done[(m, fn)] == args.seeds:
                print(f"  optuna {m} on {fn}: {args.seeds} seeds, {seconds[m][fn]:.1f}s of study time", file=sys.stderr)

    lat = {}
    if args.latency_calls > 0:
        for m in methods:
            lat[m] = latency(m, args.latency_history, args.latency_calls)

    probe = {}
    for fn, (bounds, f) in FUNCTIONS.items():
        probe[fn] = f([lo + 0.3 * (hi - lo) for lo, hi in bounds])

    json.dump(
        {
            "optuna": optuna.__version__,
            "python": platform.python_version(),
            "probe": probe,
            "best": best,
            "seconds": seconds,
            "latency_ms": lat,
        },
        sys.stdout,
    )
    sys.stdout.write("\n")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
