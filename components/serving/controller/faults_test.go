package controller_test

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	servingv1beta1 "github.com/kfup/kfup/components/serving/api/v1beta1"
	"github.com/kfup/kfup/components/serving/controller"
	"github.com/kfup/kfup/internal/testenv"
)

// servingFaultRules fail 40 % of the InferenceService controller's writes (its status,
// Deployments, Services, HPAs, the built-in runtimes) and 30 % of its reads, with every
// kind of fault; events are spared (client-go drops a refused event by design).
func servingFaultRules() []testenv.FaultRule {
	return []testenv.FaultRule{
		{Verbs: []string{"update"}, Resources: []string{"inferenceservices/status"}, Rate: 0.4,
			Faults: []testenv.Fault{testenv.FaultConflict, testenv.FaultInternal, testenv.FaultUnavailable, testenv.FaultTooManyRequests}},
		{Verbs: testenv.Writes, ExceptResources: []string{"events"}, Rate: 0.4},
		{Verbs: testenv.Reads, Rate: 0.3},
	}
}

// isvcOutcome is what an InferenceService ended with.
type isvcOutcome struct {
	Conditions []string
	URL        string
	Children   []string // kind/name of what exists at the end
}

// servingScenario serves a model with a transformer, marks both Deployments available,
// then removes the transformer, with the controllers behind inj (nil: no faults), and
// returns how it ended.
func servingScenario(t *testing.T, inj *testenv.Injector) isvcOutcome {
	t.Helper()
	cfg := controller.DefaultConfig()
	cfg.SkipNameValidation = true
	cfg.Image = testImage
	if inj == nil {
		env.StartManager(t, &controller.API{Config: cfg})
	} else {
		env.StartManagerWithFaults(t, inj, &controller.API{Config: cfg})
	}
	ns := env.Namespace(t)
	createISVC(t, ns, `
metadata: {name: iris}
spec:
  predictor:
    minReplicas: 1
    maxReplicas: 2
    model:
      modelFormat: {name: xgboost}
      storageUri: pvc://models/xgb
  transformer:
    containers:
    - name: transformer
      image: example/transformer:1
`)
	for _, name := range []string{"iris-predictor", "iris-transformer"} {
		d := &appsv1.Deployment{}
		get(t, d, ns, name)
		markAvailable(t, d)
	}
	isvc := &servingv1beta1.InferenceService{}
	// under faults a reconcile fails now and then and is retried with backoff: wait longer
	eventuallyWithin(t, time.Minute, "ready", func(ctx context.Context) (bool, string) {
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "iris"}, isvc); err != nil {
			return false, "get: " + err.Error()
		}
		d := &appsv1.Deployment{}
		_ = env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "iris-predictor"}, d)
		return condition(isvc, servingv1beta1.Ready).Status == "True", fmt.Sprintf("conditions %+v; predictor uid %s gen %d status %+v", isvc.Status.Conditions, d.UID, d.Generation, d.Status)
	})
	eventually(t, "transformer removed", func(ctx context.Context) (bool, string) {
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "iris"}, isvc); err != nil {
			return false, err.Error()
		}
		isvc.Spec.Transformer = nil
		err := env.Client.Update(ctx, isvc)
		return err == nil, fmt.Sprint(err)
	})
	eventuallyWithin(t, time.Minute, "ready on the predictor alone", func(ctx context.Context) (bool, string) {
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "iris"}, isvc); err != nil {
			return false, err.Error()
		}
		errD := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "iris-transformer"}, &appsv1.Deployment{})
		return isvc.Status.URL == "http://iris-predictor."+ns+".svc.cluster.local" && condition(isvc, servingv1beta1.Ready).Status == "True" && apierrors.IsNotFound(errD),
			fmt.Sprintf("url %q, conditions %+v, transformer deployment %v", isvc.Status.URL, isvc.Status.Conditions, errD)
	})
	o := isvcOutcome{URL: isvc.Status.URL}
	for _, c := range isvc.Status.Conditions {
		o.Conditions = append(o.Conditions, fmt.Sprintf("%s=%s %s", c.Type, c.Status, c.Reason))
	}
	sort.Strings(o.Conditions)
	ctx := context.Background()
	for _, l := range []struct {
		kind string
		list client.ObjectList
	}{{"Deployment", &appsv1.DeploymentList{}}, {"Service", &corev1.ServiceList{}}, {"HPA", &autoscalingv2.HorizontalPodAutoscalerList{}}} {
		if err := env.Client.List(ctx, l.list, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		switch list := l.list.(type) {
		case *appsv1.DeploymentList:
			for _, x := range list.Items {
				o.Children = append(o.Children, l.kind+"/"+x.Name)
			}
		case *corev1.ServiceList:
			for _, x := range list.Items {
				o.Children = append(o.Children, l.kind+"/"+x.Name)
			}
		case *autoscalingv2.HorizontalPodAutoscalerList:
			for _, x := range list.Items {
				o.Children = append(o.Children, l.kind+"/"+x.Name)
			}
		}
	}
	sort.Strings(o.Children)
	return o
}

// API errors on 40 % of the serving controller's writes and 30 % of its reads change
// nothing: the InferenceService becomes Ready, drops its transformer and ends with the
// same children and status as without them.
func TestInferenceServiceConvergesUnderAPIFaults(t *testing.T) {
	var want isvcOutcome
	t.Run("baseline", func(t *testing.T) { want = servingScenario(t, nil) })
	if t.Failed() {
		return
	}
	t.Run("faults", func(t *testing.T) {
		inj := testenv.NewInjector(testenv.FaultSeed(t, 1), servingFaultRules()...)
		got := servingScenario(t, inj)
		t.Logf("injected: %s", inj)
		writes := 0
		for _, v := range testenv.Writes {
			writes += inj.InjectedOn(v)
		}
		if writes == 0 {
			t.Errorf("too few faults injected to show anything: %s", inj)
		}
		// the URL names the namespace, which differs between the runs
		want.URL, got.URL = "", ""
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("with faults the InferenceService ended otherwise than without (-without +with):\n%s", d)
		}
	})
}
