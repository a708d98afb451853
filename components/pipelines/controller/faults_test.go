package controller_test

import (
	"context"
	"fmt"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pipelinesv1alpha1 "github.com/kfup/kfup/components/pipelines/api/v1alpha1"
	"github.com/kfup/kfup/components/pipelines/controller"
	"github.com/kfup/kfup/components/pipelines/executor"
	"github.com/kfup/kfup/internal/testenv"
)

// pipelineFaultRules fail 40 % of the run controller's writes (the run's status,
// task pods, claims) and a fifth of its reads, with every kind of fault. Events are
// spared (client-go drops a refused event by design).
func pipelineFaultRules() []testenv.FaultRule {
	return []testenv.FaultRule{
		{Verbs: []string{"update"}, Resources: []string{"pipelineruns/status"}, Rate: 0.4,
			Faults: []testenv.Fault{testenv.FaultConflict, testenv.FaultInternal, testenv.FaultUnavailable, testenv.FaultTooManyRequests}},
		{Verbs: testenv.Writes, ExceptResources: []string{"events"}, Rate: 0.4},
		{Verbs: testenv.Reads, Rate: 0.3},
	}
}

// runOutcome is what a run ended with: what must be the same with faults and without.
type runOutcome struct {
	Phase, Error string
	Tasks        []string // id phase attempts outputs
	Pods         map[string]int
}

// pipelineScenario runs a producer → consumer pipeline, driving its pods as the kubelet
// would, with the controllers behind inj (nil: no faults), and returns how it ended.
func pipelineScenario(t *testing.T, inj *testenv.Injector) runOutcome {
	t.Helper()
	cfg := testConfig(t)
	if inj == nil {
		env.StartManager(t, &controller.API{Config: cfg})
	} else {
		env.StartManagerWithFaults(t, inj, &controller.API{Config: cfg})
	}
	ctx := context.Background()
	ns := env.Namespace(t)
	run := irRun(t, "pc", ns, "producer_consumer_param_pipeline.yaml", map[string]any{"text": "hi"})
	if err := env.Client.Create(ctx, run); err != nil {
		t.Fatal(err)
	}
	prod := waitPod(t, ns, "pc", "producer", 1)
	finishPod(t, prod, 0, &executor.Result{Parameters: map[string]any{"output_value": "from the producer"}})
	cons := waitPod(t, ns, "pc", "consumer", 1)
	endMain(t, cons, 0, &executor.Result{})
	done := waitRun(t, client.ObjectKeyFromObject(run), "the run to end", final)

	o := runOutcome{Phase: string(done.Status.Phase), Error: done.Status.Error, Pods: map[string]int{}}
	for _, tk := range done.Status.Tasks {
		var outs []string
		for k, v := range tk.Parameters {
			outs = append(outs, k+"="+string(v.Raw))
		}
		sort.Strings(outs)
		o.Tasks = append(o.Tasks, fmt.Sprintf("%s %s attempts=%d %v", tk.ID, tk.Phase, tk.Attempts, outs))
	}
	sort.Strings(o.Tasks)
	pods := &corev1.PodList{}
	if err := env.Client.List(ctx, pods, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		o.Pods[p.Annotations[controller.AnnotationTaskID]]++
	}
	return o
}

// API errors (conflicts, 5xx, 429s, lost answers) on 40 % of the run controller's
// writes and 30 % of its reads change nothing: the run ends as without them, one pod
// per task attempt, the producer's output passed on.
func TestRunConvergesUnderAPIFaults(t *testing.T) {
	var want runOutcome
	t.Run("baseline", func(t *testing.T) { want = pipelineScenario(t, nil) })
	if t.Failed() {
		return
	}
	if want.Phase != string(pipelinesv1alpha1.PhaseSucceeded) || want.Pods["producer"] != 1 || want.Pods["consumer"] != 1 {
		t.Fatalf("baseline: %+v", want)
	}
	t.Run("faults", func(t *testing.T) {
		inj := testenv.NewInjector(testenv.FaultSeed(t, 1), pipelineFaultRules()...)
		got := pipelineScenario(t, inj)
		writes := 0
		for _, v := range testenv.Writes {
			writes += inj.InjectedOn(v)
		}
		t.Logf("injected: %s", inj)
		if writes == 0 {
			t.Errorf("too few faults injected to show anything: %s", inj)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("with faults the run ended otherwise than without (-without +with):\n%s\ninjected: %s", d, inj)
		}
	})
}
