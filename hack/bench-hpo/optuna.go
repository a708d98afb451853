package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// optunaResult is what optuna_bench.py prints.
type optunaResult struct {
	Optuna  string                          `json:"optuna"`
	Python  string                          `json:"python"`
	Probe   map[string]float64              `json:"probe"`
	Best    map[string]map[string][]float64 `json:"best"`
	Latency map[string][]float64            `json:"latency_ms"`
}

// findPython returns the first interpreter that imports optuna: the --python flag when
// given, else python3 on PATH, then Debian's /usr/bin/python3 (where python3-optuna
// installs; a pyenv or venv python3 earlier on PATH often lacks it).
func findPython(ctx context.Context, flagValue string) (string, error) {
	candidates := []string{"python3", "/usr/bin/python3"}
	if flagValue != "" {
		candidates = []string{flagValue}
	}
	var tried []string
	for _, py := range candidates {
		out, err := exec.CommandContext(ctx, py, "-c", "import optuna").CombinedOutput()
		if err == nil {
			return py, nil
		}
		tried = append(tried, fmt.Sprintf("%s: %s", py, firstLine(string(out), err)))
	}
	return "", fmt.Errorf("no python3 with optuna (%s); install it with 'apt-get install -y python3-optuna' or pass --python", strings.Join(tried, "; "))
}

func firstLine(out string, err error) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if l := strings.TrimSpace(lines[len(lines)-1]); l != "" {
		return l
	}
	return err.Error()
}

// runOptuna runs optuna_bench.py once for every Optuna sampler asked for (names without
// the "optuna-" prefix) and checks that its functions agree with ours.
func runOptuna(ctx context.Context, py, script string, samplers []string, fns []function, o options) (*optunaResult, error) {
	names := make([]string, len(fns))
	for i, fn := range fns {
		names[i] = fn.name
	}
	args := []string{script,
		"--seeds", strconv.Itoa(o.seeds), "--evals", strconv.Itoa(o.evals),
		"--functions", strings.Join(names, ","), "--methods", strings.Join(samplers, ","),
		"--latency-history", strconv.Itoa(o.latencyHistory), "--latency-calls", strconv.Itoa(o.latencyCalls),
		"--jobs", strconv.Itoa(runtime.GOMAXPROCS(0)),
	}
	cmd := exec.CommandContext(ctx, py, args...)
	// On Ctrl-C, interrupt python (its pool then stops its workers) rather than kill it.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s %s: %w", py, filepath.Base(script), err)
	}
	var res optunaResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		return nil, fmt.Errorf("read the output of %s: %w", filepath.Base(script), err)
	}
	for _, fn := range fns {
		want, got := fn.f(fn.probe()), res.Probe[fn.name]
		if math.Abs(want-got) > 1e-9*math.Max(1, math.Abs(want)) {
			return nil, fmt.Errorf("%s: %s differs between the Go and Python sides (%v vs %v at the probe point): fix one of them", filepath.Base(script), fn.name, want, got)
		}
	}
	return &res, nil
}
