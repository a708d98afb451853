package controller_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	servingv1beta1 "github.com/kfup/kfup/components/serving/api/v1beta1"
	"github.com/kfup/kfup/components/serving/engine"
	conf "github.com/kfup/kfup/internal/conformance"
)

// Every KServe sample and the seed InferenceService apply unchanged — strict field
// validation, read back with nothing pruned — and the controller answers each: the
// samples' gs:// models with a condition naming the storage initializer kfup lacks (and
// the runtime KServe would choose), the custom predictor with its Deployment.
func TestConformanceExamples(t *testing.T) {
	start(t)
	dir := conf.Dir(t)
	files := conf.Files(t, filepath.Join("serving", "*.yaml"))
	files = append(files, filepath.Join(dir, "seed", "inferenceservice.yaml"))
	want := map[string]struct{ runtime, reason string }{
		"serving/advanced_timeout.yaml":                    {"kserve-tensorflow-serving", engine.ReasonStorageURINotServed},
		"serving/custom_simple.yaml":                       {"", ""},
		"serving/rollout_canary.yaml":                      {"kserve-tensorflow-serving", engine.ReasonStorageURINotServed},
		"serving/sklearn_v1_sklearn.yaml":                  {"kserve-sklearnserver", engine.ReasonStorageURINotServed},
		"serving/sklearn_v2_sklearn.yaml":                  {"kserve-sklearnserver", engine.ReasonStorageURINotServed},
		"serving/tensorflow_canary.yaml":                   {"kserve-tensorflow-serving", engine.ReasonStorageURINotServed},
		"serving/transformer_collocation_collocation.yaml": {"", engine.ReasonStorageURINotServed},
		"serving/xgboost_xgboost.yaml":                     {engine.KfupRuntime, engine.ReasonStorageURINotServed},
		"seed/inferenceservice.yaml":                       {"kserve-sklearnserver", engine.ReasonStorageURINotServed},
	}
	for _, f := range files {
		rel, _ := filepath.Rel(dir, f)
		t.Run(rel, func(t *testing.T) {
			w, ok := want[rel]
			if !ok {
				t.Fatalf("%s: a new sample; say what the controller should make of it", rel)
			}
			objs := conf.Objects(t, f)
			if len(objs) != 1 {
				t.Fatalf("%d objects, want one InferenceService", len(objs))
			}
			u := objs[0]
			ns := env.Namespace(t)
			u.SetNamespace(ns)
			env.CreateAsUser(t, u)
			if w.reason == "" {
				isvc := waitCondition(t, ns, u.GetName(), servingv1beta1.IngressReady, "True", "")
				if isvc.Status.URL != "http://"+u.GetName()+"-predictor."+ns+".svc.cluster.local" {
					t.Errorf("url %q", isvc.Status.URL)
				}
				d := &appsv1.Deployment{}
				if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: u.GetName() + "-predictor"}, d); err != nil {
					t.Fatal(err)
				}
				return
			}
			isvc := waitCondition(t, ns, u.GetName(), servingv1beta1.PredictorReady, "False", w.reason)
			if msg := condition(isvc, servingv1beta1.PredictorReady).Message; !strings.Contains(msg, "not yet in kfup") {
				t.Errorf("message %q does not say the storage initializer is missing", msg)
			}
			if isvc.Status.ClusterServingRuntimeName != w.runtime {
				t.Errorf("runtime %q, want %q", isvc.Status.ClusterServingRuntimeName, w.runtime)
			}
			if r := condition(isvc, servingv1beta1.Ready); r.Status != "False" || r.Reason != w.reason {
				t.Errorf("Ready %+v", r)
			}
		})
	}
}
