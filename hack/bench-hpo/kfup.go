package main

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"strconv"
	"time"

	"github.com/kfup/kfup/components/tuning/suggest"
)

// settingsFor is the algorithmSettings of one run: random_state = seed where the algorithm
// takes it, every other setting at its default.
func settingsFor(a suggest.Algorithm, seed int) map[string]string {
	for _, s := range a.Settings() {
		if s.Name == "random_state" {
			return map[string]string{"random_state": strconv.Itoa(seed)}
		}
	}
	return map[string]string{}
}

// runKfup runs one sequential search of evals trials with the named algorithm: one
// suggestion per call, each trial finished with its value before the next call. It returns
// every trial (oldest first) and the best value found.
func runKfup(ctx context.Context, name string, fn function, seed, evals int) (trials []suggest.Trial, best float64, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
		}
	}()
	a, err := suggest.Lookup(name)
	if err != nil {
		return nil, 0, err
	}
	space := fn.space()
	settings := settingsFor(a, seed)
	if _, err := suggest.Check(name, space, settings); err != nil {
		return nil, 0, err
	}
	best = 0
	x := make([]float64, len(space))
	for i := range evals {
		if err := ctx.Err(); err != nil {
			return nil, 0, err
		}
		got, err := a.Suggest(suggest.Request{Space: space, Goal: suggest.Minimize, Settings: settings, Trials: trials, Count: 1})
		switch {
		case errors.Is(err, suggest.ErrExhausted) || (err == nil && len(got) == 0):
			return nil, 0, fmt.Errorf("trial %d: no suggestion (%v) with every trial finished", i+1, err)
		case err != nil:
			return nil, 0, fmt.Errorf("trial %d: %w", i+1, err)
		}
		for j, p := range space {
			v, err := p.Number(got[0].Assignments[p.Name])
			if err != nil {
				return nil, 0, fmt.Errorf("trial %d: %w", i+1, err)
			}
			if v < p.Min || v > p.Max {
				return nil, 0, fmt.Errorf("trial %d: parameter %q = %v is outside [%v, %v]", i+1, p.Name, v, p.Min, p.Max)
			}
			x[j] = v
		}
		y := fn.f(x)
		if i == 0 || y < best {
			best = y
		}
		trials = append(trials, suggest.Trial{
			Name:        fmt.Sprintf("%s-s%d-%03d", fn.name, seed, i),
			Assignments: got[0].Assignments,
			Labels:      got[0].Labels,
			Value:       &y,
			Done:        true,
		})
	}
	return trials, best, nil
}

// kfupLatency times one Suggest call (Count 1) on the algorithm's own history of `history`
// finished trials on fn (seed 0), calls times after one untimed warm-up call.
func kfupLatency(ctx context.Context, name string, fn function, history, calls int) ([]time.Duration, error) {
	trials, _, err := runKfup(ctx, name, fn, 0, history)
	if err != nil {
		return nil, err
	}
	a, err := suggest.Lookup(name)
	if err != nil {
		return nil, err
	}
	req := suggest.Request{Space: fn.space(), Goal: suggest.Minimize, Settings: settingsFor(a, 0), Trials: trials, Count: 1}
	out := make([]time.Duration, 0, calls)
	for i := range calls + 1 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		t0 := time.Now()
		if _, err := a.Suggest(req); err != nil {
			return nil, fmt.Errorf("suggest after %d trials: %w", history, err)
		}
		if i > 0 {
			out = append(out, time.Since(t0))
		}
	}
	return out, nil
}

// registered reports whether kfup has an algorithm of that name in this build.
func registered(name string) bool { return slices.Contains(suggest.Names(), name) }
