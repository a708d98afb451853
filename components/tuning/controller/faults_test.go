package controller_test

import (
	"context"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"

	tuningv1beta1 "github.com/kfup/kfup/components/tuning/api/v1beta1"
	"github.com/kfup/kfup/internal/conformance"
	"github.com/kfup/kfup/internal/testenv"
)

// The seed's random experiment (12 trials, 3 at once) with a quarter of the manager's
// writes and a fifth of its reads failing (conflicts, 500, 503, 429, timeouts; events and
// watches spared, as the training fault tests do) ends as without faults: Succeeded
// with MaxTrialsReached, exactly maxTrialCount trials (a create whose answer was lost
// made no second trial), never more than parallelTrialCount at once, the least loss
// as currentOptimalTrial. It fails when no write fault was injected.
func TestFaultsExperiment(t *testing.T) {
	inj := testenv.NewInjector(testenv.FaultSeed(t, 1),
		testenv.FaultRule{Verbs: testenv.Writes, ExceptResources: []string{"events"}, Rate: 0.25},
		testenv.FaultRule{Verbs: testenv.Reads, Rate: 0.20},
	)
	logs := startFaulty(t, inj)
	ns := env.Namespace(t)
	obj := conformance.Objects(t, conformance.Files(t, "tuning/hp-tuning_random.yaml")[0])[0]
	obj.SetNamespace(ns)
	env.CreateAsUser(t, obj)
	key := client.ObjectKey{Namespace: ns, Name: obj.GetName()}

	maxParallel := 0
	exp := waitDone(t, key, func(ctx context.Context, exp *tuningv1beta1.Experiment) {
		maxParallel = max(maxParallel, int(exp.Status.TrialsRunning+exp.Status.TrialsPending))
		playTrials(t, ctx, ns, logs, 0)
	})
	if c := cond(exp, tuningv1beta1.ExperimentSucceeded); c == nil || c.Reason != tuningv1beta1.ExperimentMaxTrialsReachedReason {
		t.Fatalf("conditions %+v: want Succeeded/%s", exp.Status.Conditions, tuningv1beta1.ExperimentMaxTrialsReachedReason)
	}
	trials := &tuningv1beta1.TrialList{}
	if err := env.Client.List(context.Background(), trials, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	want := int(*exp.Spec.MaxTrialCount)
	if len(trials.Items) != want || int(exp.Status.TrialsSucceeded) != want {
		t.Errorf("%d trials, %d succeeded: want exactly %d, all succeeded", len(trials.Items), exp.Status.TrialsSucceeded, want)
	}
	if p := int(*exp.Spec.ParallelTrialCount); maxParallel > p {
		t.Errorf("%d trials active at once, parallelTrialCount %d", maxParallel, p)
	}
	checkOptimal(t, ns, exp)
	if n := inj.Injected() - inj.InjectedOn("get") - inj.InjectedOn("list"); n == 0 {
		t.Fatalf("no write fault was injected (%s): the test proved nothing", inj)
	}
	t.Logf("faults: %s", inj)
}
