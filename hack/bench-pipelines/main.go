// Command bench-pipelines measures kfup's per-step overhead running Kubeflow Pipelines:
// on a fresh kind cluster (`kfup create --profile minimal`, busybox loaded into the node)
// it runs a linear pipeline of N no-op container steps (`true`, caching off) and reports,
// from the pods' own timestamps,
//
//   - per step, the gap from the previous step's main container ending to the next one's
//     main container starting (the controller noticing, planning, creating the pod, the
//     kubelet starting it, and, with components.pipelines.launcher initContainer, the
//     init container copying kfup in), plus the launcher's own time (the main
//     container's run: the user's command is `true`), from the status' timestamps (whole
//     seconds) and, to the millisecond, from a watch on the pods, split into its parts;
//   - the median and worst of those, and the whole run's wall time,
//
// beside the target (≤ 1.5 s per step). The cluster is deleted afterwards. Run it with
// `make bench-pipelines` (STEPS=20 by default).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfup/kfup/apis"
	"github.com/kfup/kfup/bootstrap"
	pipelinesv1alpha1 "github.com/kfup/kfup/components/pipelines/api/v1alpha1"
	"github.com/kfup/kfup/hack/internal/benchcluster"
	"github.com/kfup/kfup/internal/apihost"
	"github.com/kfup/kfup/internal/ui"
)

const (
	cluster = "bench-pipelines"
	image   = "kfup-offline/busybox:1"
	target  = 1.5 // seconds per step (issue 15)
)

func main() {
	kfupBin := flag.String("kfup", "bin/kfup", "kfup binary")
	nodeImage := flag.String("node-image", "", "node image (default: as kfup create)")
	steps := flag.Int("steps", 20, "steps of the linear pipeline")
	keep := flag.Bool("keep", false, "keep the cluster")
	flag.Parse()
	if err := run(*kfupBin, *nodeImage, *steps, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "bench-pipelines:", err)
		os.Exit(1)
	}
}

// linear is the IR of n no-op steps, each after the one before.
func linear(n int) map[string]any {
	tasks := map[string]any{}
	for i := 1; i <= n; i++ {
		t := map[string]any{
			"taskInfo":     map[string]any{"name": fmt.Sprintf("step-%02d", i)},
			"componentRef": map[string]any{"name": "comp-noop"},
		}
		if i > 1 {
			t["dependentTasks"] = []any{fmt.Sprintf("step-%02d", i-1)}
		}
		tasks[fmt.Sprintf("step-%02d", i)] = t
	}
	return map[string]any{
		"pipelineInfo":  map[string]any{"name": "bench-linear"},
		"schemaVersion": "2.1.0",
		"sdkVersion":    "kfp-2.14.6",
		"root":          map[string]any{"dag": map[string]any{"tasks": tasks}},
		"components":    map[string]any{"comp-noop": map[string]any{"executorLabel": "exec-noop"}},
		"deploymentSpec": map[string]any{"executors": map[string]any{"exec-noop": map[string]any{
			"container": map[string]any{"image": image, "command": []any{"true"}},
		}}},
	}
}

func run(kfupBin, nodeImage string, steps int, keep bool) error {
	bc, err := benchcluster.Create(kfupBin, cluster, nodeImage, keep)
	if err != nil {
		return err
	}
	defer bc.Close()
	ctx := context.Background()
	if _, err := bootstrap.NewKindClusters(ui.Discard()).LoadImages(ctx, cluster, image); err != nil {
		return fmt.Errorf("load %s (build it with shared/tools/offline-kind/build-workload-images.sh): %w", image, err)
	}
	cfg, err := bootstrap.RESTConfig(bootstrap.ContextName(cluster), "")
	if err != nil {
		return err
	}
	scheme, err := apihost.NewScheme(apis.InCluster()...)
	if err != nil {
		return err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return err
	}
	raw, _ := json.Marshal(linear(steps)) // a literal: cannot fail
	r := &pipelinesv1alpha1.PipelineRun{
		ObjectMeta: metav1.ObjectMeta{Name: "bench", Namespace: "default"},
		Spec:       pipelinesv1alpha1.PipelineRunSpec{PipelineSpec: &runtime.RawExtension{Raw: raw}, DisableCache: true},
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	seen, err := watchPods(wctx, cs, "default", "pipelines.kfup.dev/run=bench")
	if err != nil {
		return err
	}
	t0 := time.Now()
	if err := c.Create(ctx, r); err != nil {
		return err
	}
	deadline := time.Now().Add(time.Duration(steps)*20*time.Second + time.Minute)
	for {
		if err := c.Get(ctx, client.ObjectKeyFromObject(r), r); err != nil {
			return err
		}
		if r.Status.Phase.Final() {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the run did not finish in time: %d tasks, phase %s", len(r.Status.Tasks), r.Status.Phase)
		}
		time.Sleep(200 * time.Millisecond)
	}
	wall := time.Since(t0)
	if r.Status.Phase != pipelinesv1alpha1.PhaseSucceeded {
		return fmt.Errorf("the run failed: %s", r.Status.Error)
	}
	pods := &corev1.PodList{}
	if err := c.List(ctx, pods, client.InNamespace("default"), client.MatchingLabels{"pipelines.kfup.dev/run": "bench"}); err != nil {
		return err
	}
	type times struct{ start, end time.Time }
	byTask := map[string]times{}
	for _, p := range pods.Items {
		for _, cs := range p.Status.ContainerStatuses {
			if t := cs.State.Terminated; cs.Name == "main" && t != nil {
				byTask[p.Annotations["pipelines.kfup.dev/task-id"]] = times{t.StartedAt.Time, t.FinishedAt.Time}
			}
		}
	}
	var gaps, launcher []float64
	for i := 2; i <= steps; i++ {
		prev, ok1 := byTask[fmt.Sprintf("step-%02d", i-1)]
		cur, ok2 := byTask[fmt.Sprintf("step-%02d", i)]
		if !ok1 || !ok2 {
			return fmt.Errorf("step %d or %d has no finished main container", i-1, i)
		}
		gaps = append(gaps, cur.start.Sub(prev.end).Seconds())
		launcher = append(launcher, cur.end.Sub(cur.start).Seconds())
	}
	over := make([]float64, len(gaps))
	for i := range gaps {
		over[i] = gaps[i] + launcher[i]
	}
	fmt.Printf("linear pipeline of %d no-op steps on kind (kfup create --profile minimal)\n", steps)
	fmt.Printf("  per-step overhead, median:  %5.2fs   (target <= %.1fs: %s)\n", median(over), target, verdict(median(over) <= target))
	fmt.Printf("    dependency done -> next container started, median: %5.2fs\n", median(gaps))
	fmt.Printf("    launcher (container start -> exit; command is true), median: %5.2fs\n", median(launcher))
	stopWatch()
	ms := <-seen
	var segs [5][]float64
	var watched []float64
	for i := 2; i <= steps; i++ {
		prev, cur := ms[fmt.Sprintf("step-%02d", i-1)], ms[fmt.Sprintf("step-%02d", i)]
		if prev == nil || cur == nil {
			continue
		}
		for j, d := range []time.Duration{
			cur[seenCreated].Sub(prev[seenMainDone]), cur[seenScheduled].Sub(cur[seenCreated]),
			cur[seenMainStarted].Sub(cur[seenScheduled]), prev[seenSucceeded].Sub(prev[seenMainDone]),
		} {
			segs[j] = append(segs[j], d.Seconds())
		}
		watched = append(watched, cur[seenMainStarted].Sub(prev[seenMainDone]).Seconds())
		if !cur[seenInitStarted].IsZero() {
			segs[4] = append(segs[4], cur[seenInitDone].Sub(cur[seenInitStarted]).Seconds())
		}
	}
	fmt.Printf("    the same gap as a watch on the pods saw it (ms, not whole seconds), median: %5.2fs\n", median(watched))
	fmt.Printf("    where it goes (medians):\n")
	for j, what := range []string{
		"previous main container ended -> next pod created (the controller)",
		"next pod created -> bound to the node (the scheduler)",
		"bound -> main container started (the kubelet)",
		"(not waited for: previous main container ended -> its pod Succeeded)",
		"of the kubelet's part, the launcher's init container",
	} {
		if len(segs[j]) == 0 {
			fmt.Printf("      %-62s  none (the launcher is an image volume)\n", what)
			continue
		}
		fmt.Printf("      %-62s %5.2fs\n", what, median(segs[j]))
	}
	fmt.Printf("  per-step overhead, worst:   %5.2fs\n", maxOf(over))
	fmt.Printf("  whole run, wall time:       %5.1fs (%.2fs per step)\n", wall.Seconds(), wall.Seconds()/float64(steps))
	fmt.Printf("  anchor: upstream KFP v2 runs a driver pod and an executor pod per step on Argo Workflows; kfup's target is %.1fs per step\n", target)
	return nil
}

// The milestones of a task pod, as first seen by a watch.
const (
	seenCreated = iota
	seenScheduled
	seenInitStarted
	seenInitDone
	seenMainStarted
	seenMainDone
	seenSucceeded
	seenCount
)

// watchPods records, per task ID, when a watch on the pods matching selector first saw
// each milestone; the map arrives on the channel once ctx ends. Status timestamps are
// whole seconds, the watch's are not.
func watchPods(ctx context.Context, cs kubernetes.Interface, ns, selector string) (<-chan map[string]*[seenCount]time.Time, error) {
	w, err := cs.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, err
	}
	out := make(chan map[string]*[seenCount]time.Time, 1)
	go func() {
		defer w.Stop()
		m := map[string]*[seenCount]time.Time{}
		mark := func(ts *[seenCount]time.Time, i int, now time.Time) {
			if ts[i].IsZero() {
				ts[i] = now
			}
		}
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			now := time.Now()
			id := p.Annotations["pipelines.kfup.dev/task-id"]
			ts := m[id]
			if ts == nil {
				ts = &[seenCount]time.Time{}
				m[id] = ts
			}
			mark(ts, seenCreated, now)
			if p.Spec.NodeName != "" {
				mark(ts, seenScheduled, now)
			}
			for _, c := range p.Status.InitContainerStatuses {
				if c.State.Running != nil || c.State.Terminated != nil {
					mark(ts, seenInitStarted, now)
				}
				if c.State.Terminated != nil {
					mark(ts, seenInitDone, now)
				}
			}
			for _, c := range p.Status.ContainerStatuses {
				if c.Name != "main" {
					continue
				}
				if c.State.Running != nil || c.State.Terminated != nil {
					mark(ts, seenMainStarted, now)
				}
				if c.State.Terminated != nil {
					mark(ts, seenMainDone, now)
				}
			}
			if p.Status.Phase == corev1.PodSucceeded {
				mark(ts, seenSucceeded, now)
			}
		}
		out <- m
	}()
	return out, nil
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func maxOf(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = max(m, x)
	}
	return m
}

func verdict(ok bool) string {
	if ok {
		return "meets"
	}
	return "MISSES"
}
