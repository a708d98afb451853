package controller_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pipelinesv1alpha1 "github.com/kfup/kfup/components/pipelines/api/v1alpha1"
	"github.com/kfup/kfup/components/pipelines/controller"
)

// fakeClock is the controllers' clock, moved by the test.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) Now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Set(t time.Time)     { c.ns.Store(t.UnixNano()) }
func (c *fakeClock) Add(d time.Duration) { c.Set(c.Now().Add(d)) }

// startClocked runs the pipelines controllers on clock.
func startClocked(t *testing.T, clock *fakeClock) {
	t.Helper()
	cfg := testConfig(t)
	cfg.Now = clock.Now
	env.StartManager(t, &controller.API{Config: cfg})
}

// touch makes the controller look at rr again (the test's clock moved; the controller's
// own requeue waits for the real one).
func touch(t *testing.T, rr *pipelinesv1alpha1.RecurringRun, n int) {
	t.Helper()
	update(t, rr, func(got *pipelinesv1alpha1.RecurringRun) {
		got.Annotations = map[string]string{"test/touch": strconv.Itoa(n)}
	})
}

// update changes rr with edit, retrying conflicts with the controller's status writes.
func update(t *testing.T, rr *pipelinesv1alpha1.RecurringRun, edit func(*pipelinesv1alpha1.RecurringRun)) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		got := &pipelinesv1alpha1.RecurringRun{}
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(rr), got); err != nil {
			return err
		}
		edit(got)
		return env.Client.Update(context.Background(), got)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// runsOf polls until rr's runs are exactly names (by name, oldest first).
func runsOf(t *testing.T, rr *pipelinesv1alpha1.RecurringRun, names ...string) []pipelinesv1alpha1.PipelineRun {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		list := &pipelinesv1alpha1.PipelineRunList{}
		if err := env.Client.List(context.Background(), list, client.InNamespace(rr.Namespace), client.MatchingLabels{controller.LabelRecurringRun: rr.Name}); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range list.Items {
			if r.DeletionTimestamp.IsZero() {
				got = append(got, r.Name)
			}
		}
		if equalSorted(got, names) {
			return list.Items
		}
		if time.Now().After(deadline) {
			t.Fatalf("runs of %s: %v, want %v", rr.Name, got, names)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func equalSorted(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[string]int{}
	for _, x := range a {
		seen[x]++
	}
	for _, x := range b {
		if seen[x]--; seen[x] < 0 {
			return false
		}
	}
	return true
}

func tickName(rr *pipelinesv1alpha1.RecurringRun, tick time.Time) string {
	return rr.Name + "-" + strconv.FormatInt(tick.Unix(), 10)
}

// A schedule starts one run per tick, named after it, only the latest of missed ticks,
// and keeps historyLimit final runs.
func TestRecurringRunSchedulesAndPrunes(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{}
	clock.Set(time.Now())
	startClocked(t, clock)
	ns := env.Namespace(t)
	// its runs name a version that does not exist: each fails at once, so is final
	rr := &pipelinesv1alpha1.RecurringRun{
		ObjectMeta: metav1.ObjectMeta{Name: "hourly", Namespace: ns},
		Spec: pipelinesv1alpha1.RecurringRunSpec{
			Schedule: "@every 1h", HistoryLimit: ptr.To[int32](2), MaxConcurrency: ptr.To[int32](1),
			RunSpec: pipelinesv1alpha1.PipelineRunSpec{PipelineVersionRef: &pipelinesv1alpha1.PipelineVersionRef{Name: "v-missing"}},
		},
	}
	if err := env.Client.Create(ctx, rr); err != nil {
		t.Fatal(err)
	}
	t0 := rr.CreationTimestamp.Time
	// two and a half hours later: ticks at +1h and +2h were missed; only +2h runs
	clock.Set(t0.Add(150 * time.Minute))
	touch(t, rr, 1)
	first := tickName(rr, t0.Add(2*time.Hour))
	runs := runsOf(t, rr, first)
	if !metav1.IsControlledBy(&runs[0], rr) || runs[0].Annotations[controller.AnnotationScheduledAt] != t0.Add(2*time.Hour).UTC().Format(time.RFC3339) {
		t.Errorf("run %s: owner %v, annotations %v", first, runs[0].OwnerReferences, runs[0].Annotations)
	}
	waitRun(t, client.ObjectKey{Namespace: ns, Name: first}, "the run to fail", final)
	all := []string{first}
	for i := 3; i <= 5; i++ {
		clock.Set(t0.Add(time.Duration(i)*time.Hour + time.Second))
		touch(t, rr, i)
		name := tickName(rr, t0.Add(time.Duration(i)*time.Hour))
		all = append(all, name)
		waitRun(t, client.ObjectKey{Namespace: ns, Name: name}, "the run to fail", final)
		// once it is final too, historyLimit 2 keeps the latest two final runs
		touch(t, rr, 10+i)
		runsOf(t, rr, all[max(0, len(all)-2):]...)
	}
	got := &pipelinesv1alpha1.RecurringRun{}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(rr), got); err != nil {
		t.Fatal(err)
	}
	if got.Status.LastScheduleTime == nil || !got.Status.LastScheduleTime.Time.Equal(t0.Add(5*time.Hour).Truncate(time.Second)) {
		t.Errorf("lastScheduleTime %v, want %v", got.Status.LastScheduleTime, t0.Add(5*time.Hour))
	}
}

// While maxConcurrency runs are active a tick is skipped, not queued; a suspended
// schedule starts nothing and has no next time.
func TestRecurringRunConcurrencyAndSuspend(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{}
	clock.Set(time.Now())
	startClocked(t, clock)
	ns := env.Namespace(t)
	// an embedded pipeline: its run waits for a pod that no kubelet runs, so stays active
	spec := irRun(t, "x", ns, "producer_consumer_param_pipeline.yaml", nil).Spec
	rr := &pipelinesv1alpha1.RecurringRun{
		ObjectMeta: metav1.ObjectMeta{Name: "busy", Namespace: ns},
		Spec:       pipelinesv1alpha1.RecurringRunSpec{Schedule: "@every 1h", RunSpec: spec},
	}
	if err := env.Client.Create(ctx, rr); err != nil {
		t.Fatal(err)
	}
	t0 := rr.CreationTimestamp.Time
	clock.Set(t0.Add(time.Hour + time.Second))
	touch(t, rr, 1)
	first := tickName(rr, t0.Add(time.Hour))
	runsOf(t, rr, first)
	waitRun(t, client.ObjectKey{Namespace: ns, Name: first}, "the run to start", func(r *pipelinesv1alpha1.PipelineRun) bool {
		return r.Status.Phase == pipelinesv1alpha1.PhaseRunning
	})
	clock.Set(t0.Add(2*time.Hour + time.Second))
	touch(t, rr, 2)
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := &pipelinesv1alpha1.RecurringRun{}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(rr), got); err != nil {
			t.Fatal(err)
		}
		if got.Status.LastScheduleTime != nil && got.Status.LastScheduleTime.Time.Equal(t0.Add(2*time.Hour).Truncate(time.Second)) {
			if len(got.Status.Active) != 1 || got.Status.Active[0] != first {
				t.Errorf("active %v, want only %s", got.Status.Active, first)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the skipped tick was not recorded: %+v", got.Status)
		}
		time.Sleep(100 * time.Millisecond)
	}
	runsOf(t, rr, first) // the tick at +2h was skipped, not queued

	update(t, rr, func(got *pipelinesv1alpha1.RecurringRun) {
		got.Spec.Suspend = true
		got.Spec.MaxConcurrency = ptr.To[int32](5)
	})
	got := &pipelinesv1alpha1.RecurringRun{}
	clock.Set(t0.Add(3*time.Hour + time.Second))
	touch(t, rr, 3)
	deadline = time.Now().Add(20 * time.Second)
	for {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(rr), got); err != nil {
			t.Fatal(err)
		}
		if got.Status.NextScheduleTime == nil && got.Status.LastScheduleTime != nil && got.Status.LastScheduleTime.Time.Equal(t0.Add(3*time.Hour).Truncate(time.Second)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("suspended: status %+v, want no next time and the tick passed over", got.Status)
		}
		time.Sleep(100 * time.Millisecond)
	}
	runsOf(t, rr, first)
}
