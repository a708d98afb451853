// Command bench-run measures kfup run's edit-and-rerun latency: on a fresh kind cluster
// (`kfup create --profile minimal`, the python-ml image loaded into the node) it edits a
// file of a small project (so the tree, and its digest, change) and times, from the edit
// to the first log line of the new run on kfup run's stdout, and to kfup run's exit,
//
//   - kfup run (the default: the archive sent in ConfigMaps and unpacked by an init
//     container), and
//   - kfup run --bake (a layer appended onto the image with go-containerregistry and
//     loaded into the node),
//
// ROUNDS times each, after one warm-up run of each, and prints them side by side with the
// target (≤ 5 s to the first log line). The cluster is deleted afterwards. Run it with
// `make bench-run` (ROUNDS=3 by default).
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/kfup/kfup/bootstrap"
	"github.com/kfup/kfup/hack/internal/benchcluster"
	"github.com/kfup/kfup/internal/ui"
)

const (
	cluster = "bench-run"
	image   = "kfup-offline/python-ml:bookworm"
	target  = 5.0 // seconds from the edit to the first log line (issue 19)
)

func main() {
	kfupBin := flag.String("kfup", "bin/kfup", "kfup binary")
	nodeImage := flag.String("node-image", "", "node image (default: as kfup create)")
	rounds := flag.Int("rounds", 3, "timed runs of each mode")
	keep := flag.Bool("keep", false, "keep the cluster")
	flag.Parse()
	if err := run(*kfupBin, *nodeImage, *rounds, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "bench-run:", err)
		os.Exit(1)
	}
}

// timing is one run: edit → first log line, edit → exit.
type timing struct{ first, exit time.Duration }

func run(kfupBin, nodeImage string, rounds int, keep bool) error {
	c, err := benchcluster.Create(kfupBin, cluster, nodeImage, keep)
	if err != nil {
		return err
	}
	defer c.Close()
	home, kfupBin := c.Dir, c.Bin()
	if _, err := bootstrap.NewKindClusters(ui.Discard()).LoadImages(context.Background(), cluster, image); err != nil {
		return fmt.Errorf("load %s: %w", image, err)
	}
	project := filepath.Join(home, "project")
	if err := os.MkdirAll(project, 0o755); err != nil {
		return err
	}
	write := func(name, body string) error { return os.WriteFile(filepath.Join(project, name), []byte(body), 0o644) }
	if err := write("train.py", "import helper\nprint('FIRST-LINE', helper.VERSION, flush=True)\n"); err != nil {
		return err
	}
	edit := 0
	one := func(bake bool) (timing, error) {
		edit++
		if err := write("helper.py", fmt.Sprintf("VERSION = %d\n", edit)); err != nil {
			return timing{}, err
		}
		start := time.Now()
		args := []string{"run", "--name", cluster, "--image", image, "--dir", project, "--output-dir", filepath.Join(home, "kfup-runs"), "--rm"}
		if bake {
			args = append(args, "--bake")
		}
		cmd := exec.Command(kfupBin, append(args, "train.py")...)
		out, err := cmd.StdoutPipe()
		if err != nil {
			return timing{}, err
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			return timing{}, err
		}
		var t timing
		want := fmt.Sprintf("FIRST-LINE %d", edit)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if t.first == 0 && strings.Contains(sc.Text(), want) {
				t.first = time.Since(start)
			}
		}
		_, _ = io.Copy(io.Discard, out)
		if err := cmd.Wait(); err != nil {
			return t, fmt.Errorf("kfup %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
		}
		t.exit = time.Since(start)
		if t.first == 0 {
			return t, fmt.Errorf("no %q in the run's output\n%s", want, stderr.String())
		}
		return t, nil
	}
	results := map[bool][]timing{}
	for _, bake := range []bool{false, true} { // warm-up: the first bake loads the base layers
		t, err := one(bake)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "warm-up (bake=%v): first line %.2fs, exit %.2fs\n", bake, t.first.Seconds(), t.exit.Seconds())
	}
	for range rounds {
		for _, bake := range []bool{false, true} {
			t, err := one(bake)
			if err != nil {
				return err
			}
			results[bake] = append(results[bake], t)
		}
	}
	med := func(ts []timing, f func(timing) time.Duration) float64 {
		v := make([]float64, len(ts))
		for i, t := range ts {
			v[i] = f(t).Seconds()
		}
		sort.Float64s(v)
		if len(v)%2 == 1 {
			return v[len(v)/2]
		}
		return (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	first := func(t timing) time.Duration { return t.first }
	exit := func(t timing) time.Duration { return t.exit }
	a, b := results[false], results[true]
	fmt.Printf("edit a file, rerun: kfup run on kind (%s, single-replica PyTorchJob, %d rounds after a warm-up, medians)\n", image, rounds)
	fmt.Printf("  %-40s %16s %16s\n", "", "kfup run", "kfup run --bake")
	fmt.Printf("  %-40s %15.2fs %15.2fs   (target <= %.0fs: %s)\n", "edit -> first log line of the new run", med(a, first), med(b, first), target, verdict(med(a, first) <= target))
	fmt.Printf("  %-40s %15.2fs %15.2fs\n", "edit -> kfup run exits (outputs back)", med(a, exit), med(b, exit))
	for i := range a {
		fmt.Printf("  round %d: %.2fs / %.2fs to the first line, %.2fs / %.2fs to exit\n", i+1, a[i].first.Seconds(), b[i].first.Seconds(), a[i].exit.Seconds(), b[i].exit.Seconds())
	}
	return nil
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "missed"
}
