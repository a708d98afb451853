package controller_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	"github.com/kfup/kfup/components/training/builders"
	"github.com/kfup/kfup/components/training/controller"
	"github.com/kfup/kfup/components/training/controller/policy"
	"github.com/kfup/kfup/internal/testenv"
)

// defaultFaultSeed is the fault tests' seed unless $KFUP_FAULT_SEED says otherwise.
const defaultFaultSeed = 1

// faultRules fail about a quarter of the manager's writes (status updates, patches,
// creates, deletes) and a fifth of its gets and lists, with every kind of fault. Spared:
// events (client-go drops an event the server refuses, by design); timeouts of the job's
// status writes (a status written whose answer is lost loses that transition's events:
// the next reconcile finds it done); watches (a failed first watch stalls the cache
// beyond these tests' timeouts).
func faultRules() []testenv.FaultRule {
	return []testenv.FaultRule{
		{Verbs: []string{"update"}, Resources: []string{"pytorchjobs/status"}, Rate: 0.25,
			Faults: []testenv.Fault{testenv.FaultConflict, testenv.FaultInternal, testenv.FaultUnavailable, testenv.FaultTooManyRequests}},
		{Verbs: testenv.Writes, ExceptResources: []string{"events"}, Rate: 0.25},
		{Verbs: testenv.Reads, Rate: 0.20},
	}
}

// startFaulty runs the training controllers behind inj (nil: no faults) until t ends.
func startFaulty(t *testing.T, inj *testenv.Injector) {
	t.Helper()
	if inj == nil {
		start(t, testConfig())
		return
	}
	env.StartManagerWithFaults(t, inj, &controller.API{Config: testConfig()})
}

// podWatch records every pod of a namespace the API server ever held, from a watch of its
// own (never faulted), and every time two pods of one replica (type and index) were alive
// at once.
type podWatch struct {
	mu      sync.Mutex
	uids    map[string][]types.UID // by pod name, in order of creation
	live    map[string]types.UID   // by replica type/index
	doubles []string
}

func watchPods(t *testing.T, ns string) *podWatch {
	t.Helper()
	wc, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w, err := wc.Watch(ctx, &corev1.PodList{}, client.InNamespace(ns))
	if err != nil {
		t.Fatal(err)
	}
	pw := &podWatch{uids: map[string][]types.UID{}, live: map[string]types.UID{}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			pw.observe(ev.Type, p)
		}
	}()
	t.Cleanup(func() { w.Stop(); cancel(); <-done })
	return pw
}

func (pw *podWatch) observe(typ watch.EventType, p *corev1.Pod) {
	pw.mu.Lock()
	defer pw.mu.Unlock()
	replica := p.Labels[trainingv1.ReplicaTypeLabel] + "-" + p.Labels[trainingv1.ReplicaIndexLabel]
	switch typ {
	case watch.Added:
		if !slices.Contains(pw.uids[p.Name], p.UID) {
			pw.uids[p.Name] = append(pw.uids[p.Name], p.UID)
		}
		if old, ok := pw.live[replica]; ok && old != p.UID {
			pw.doubles = append(pw.doubles, fmt.Sprintf("%s: pod %s (%s) created while %s lived", replica, p.Name, p.UID, old))
		}
		pw.live[replica] = p.UID
	case watch.Deleted:
		if pw.live[replica] == p.UID {
			delete(pw.live, replica)
		}
	}
}

// created is how many pods of each name were created.
func (pw *podWatch) created() map[string]int {
	pw.mu.Lock()
	defer pw.mu.Unlock()
	out := map[string]int{}
	for n, u := range pw.uids {
		out[n] = len(u)
	}
	return out
}

func (pw *podWatch) check(t *testing.T) {
	t.Helper()
	pw.mu.Lock()
	defer pw.mu.Unlock()
	for _, d := range pw.doubles {
		t.Errorf("duplicate pod: %s", d)
	}
}

// outcome is what a job ended with: what must be the same with faults and without.
type outcome struct {
	Conditions string
	Replicas   map[string]string
	Restarts   string
	Created    map[string]int
	Events     []string
}

func outcomeOf(t *testing.T, ns, name string, pw *podWatch) outcome {
	t.Helper()
	j := getJob(t, ns, name)
	o := outcome{
		Conditions: conditions(&j.Status),
		Replicas:   map[string]string{},
		Restarts:   j.Annotations[policy.RestartsAnnotation],
		Created:    pw.created(),
	}
	for rt, s := range j.Status.ReplicaStatuses {
		o.Replicas[string(rt)] = fmt.Sprintf("active=%d succeeded=%d failed=%d", s.Active, s.Succeeded, s.Failed)
	}
	seen := map[string]bool{}
	for _, e := range events(t, ns, name) {
		if !strings.HasPrefix(e, "Warning Failed") { // a failed create or delete: the faults' own
			seen[e] = true
		}
	}
	o.Events = slices.Sorted(maps.Keys(seen))
	return o
}

// checkFaults fails t unless inj really failed some of the manager's writes (its reads
// come mostly from its cache, fed by watches: few reach the API server).
func checkFaults(t *testing.T, inj *testenv.Injector) {
	t.Helper()
	if inj == nil {
		return
	}
	writes := 0
	for _, v := range testenv.Writes {
		writes += inj.InjectedOn(v)
	}
	if writes == 0 {
		t.Errorf("too few faults injected to show anything: %s", inj)
	}
}

// compareRuns runs scenario without faults, then with them, and fails t unless both end
// the same.
func compareRuns(t *testing.T, scenario func(t *testing.T, inj *testenv.Injector) outcome) {
	var want outcome
	t.Run("baseline", func(t *testing.T) { want = scenario(t, nil) })
	if t.Failed() {
		return
	}
	t.Run("faults", func(t *testing.T) {
		inj := testenv.NewInjector(testenv.FaultSeed(t, defaultFaultSeed), faultRules()...)
		got := scenario(t, inj)
		checkFaults(t, inj)
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("with faults the job ended otherwise than without (-without +with):\n%s", d)
		}
	})
}

func pyTorch3(name, ns string, p trainingv1.RestartPolicy) *trainingv1.PyTorchJob {
	return builders.MakePyTorchJob(name, ns).
		Replica("Master", builders.MakeReplica(1, "pytorch", "kfup-offline/busybox:1", "true").RestartPolicy(p)).
		Replica("Worker", builders.MakeReplica(2, "pytorch", "kfup-offline/busybox:1", "true").RestartPolicy(p)).Obj()
}

// With a quarter of the manager's writes failing (and a tenth of its reads), a PyTorchJob
// of a master and two workers goes Created → Running → Succeeded as it does without
// faults: each pod created once, the same conditions, replica counts and events.
func TestFaultsSucceeded(t *testing.T) {
	compareRuns(t, func(t *testing.T, inj *testenv.Injector) outcome {
		ns := env.Namespace(t)
		pw := watchPods(t, ns)
		startFaulty(t, inj)
		create(t, pyTorch3("ok", ns, trainingv1.RestartPolicyOnFailure))
		ps := waitPods(t, ns, "ok", "ok-master-0", "ok-worker-0", "ok-worker-1")
		waitServices(t, ns, "ok", "ok-master-0", "ok-worker-0", "ok-worker-1")
		waitCondition(t, ns, "ok", trainingv1.JobCreated, "PyTorchJobCreated")
		for _, p := range ps {
			run(t, ns, p.Name, "pytorch")
		}
		waitCondition(t, ns, "ok", trainingv1.JobRunning, "PyTorchJobRunning")
		succeed(t, ns, "ok-worker-0", "pytorch")
		succeed(t, ns, "ok-worker-1", "pytorch")
		succeed(t, ns, "ok-master-0", "pytorch")
		waitCondition(t, ns, "ok", trainingv1.JobSucceeded, "PyTorchJobSucceeded")
		waitEvents(t, ns, "ok", "Normal PyTorchJobCreated", "Normal PyTorchJobRunning", "Normal PyTorchJobSucceeded",
			"Normal SuccessfulCreatePod", "Normal SuccessfulCreateService")
		pw.check(t)
		o := outcomeOf(t, ns, "ok", pw)
		if want := map[string]int{"ok-master-0": 1, "ok-worker-0": 1, "ok-worker-1": 1}; !maps.Equal(o.Created, want) {
			t.Errorf("pods created %v, want each once", o.Created)
		}
		return o
	})
}

// With faults, a worker killed by a signal twice under ExitCode is recreated twice — never
// alongside its failed pod — the job's restart count is exactly 2, and the job succeeds
// with the conditions and events it has without faults.
func TestFaultsRestart(t *testing.T) {
	compareRuns(t, func(t *testing.T, inj *testenv.Injector) outcome {
		ns := env.Namespace(t)
		pw := watchPods(t, ns)
		startFaulty(t, inj)
		create(t, pyTorch3("rs", ns, trainingv1.RestartPolicyExitCode))
		ps := waitPods(t, ns, "rs", "rs-master-0", "rs-worker-0", "rs-worker-1")
		for _, p := range ps {
			run(t, ns, p.Name, "pytorch")
		}
		waitCondition(t, ns, "rs", trainingv1.JobRunning, "PyTorchJobRunning")
		uid := ps[2].UID
		for i := 1; i <= 2; i++ {
			fail(t, ns, "rs-worker-1", "pytorch", 137)
			uid = waitRecreated(t, ns, "rs", "rs-worker-1", uid)
			eventually(t, fmt.Sprintf("restart %d counted", i), func(context.Context) (bool, string) {
				got := getJob(t, ns, "rs").Annotations[policy.RestartsAnnotation]
				return got == fmt.Sprint(i), "restarts annotation " + got
			})
			run(t, ns, "rs-worker-1", "pytorch")
			waitCondition(t, ns, "rs", trainingv1.JobRunning, "PyTorchJobRunning")
		}
		succeed(t, ns, "rs-worker-0", "pytorch")
		succeed(t, ns, "rs-worker-1", "pytorch")
		succeed(t, ns, "rs-master-0", "pytorch")
		waitCondition(t, ns, "rs", trainingv1.JobSucceeded, "PyTorchJobSucceeded")
		waitEvents(t, ns, "rs", "Normal PyTorchJobRunning", "Warning PyTorchJobRestarting", "Normal PyTorchJobSucceeded",
			"Normal ExitedWithCode", "Normal SuccessfulDeletePod")
		pw.check(t)
		o := outcomeOf(t, ns, "rs", pw)
		if o.Restarts != "2" {
			t.Errorf("restarts annotation %q, want 2 (the restarts the test caused)", o.Restarts)
		}
		if want := map[string]int{"rs-master-0": 1, "rs-worker-0": 1, "rs-worker-1": 3}; !maps.Equal(o.Created, want) {
			t.Errorf("pods created %v, want %v", o.Created, want)
		}
		if !strings.HasPrefix(o.Conditions, "Created=True") {
			t.Errorf("conditions %s", o.Conditions)
		}
		return o
	})
}
