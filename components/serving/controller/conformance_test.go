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
// validation, read back with nothing pruned — and the controller answers each with its
// Deployment (and the runtime KServe would choose): the samples' gs:// models downloaded
// by the storage initializer, the custom predictor as written.
func TestConformanceExamples(t *testing.T) {
	start(t)
	dir := conf.Dir(t)
	files := conf.Files(t, filepath.Join("serving", "*.yaml"))
	files = append(files, filepath.Join(dir, "seed", "inferenceservice.yaml"))
	want := map[string]struct {
		runtime     string
		initializer bool // the model is downloaded by the storage initializer
	}{
		"serving/advanced_timeout.yaml":                    {"kserve-tensorflow-serving", true},
		"serving/custom_simple.yaml":                       {"", false},
		"serving/rollout_canary.yaml":                      {"kserve-tensorflow-serving", true},
		"serving/sklearn_v1_sklearn.yaml":                  {"kserve-sklearnserver", true},
		"serving/sklearn_v2_sklearn.yaml":                  {"kserve-sklearnserver", true},
		"serving/tensorflow_canary.yaml":                   {"kserve-tensorflow-serving", true},
		"serving/transformer_collocation_collocation.yaml": {"", true},
		"serving/xgboost_xgboost.yaml":                     {engine.KfupRuntime, true},
		"seed/inferenceservice.yaml":                       {"kserve-sklearnserver", true},
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
			isvc := waitCondition(t, ns, u.GetName(), servingv1beta1.IngressReady, "True", "")
			if isvc.Status.URL != "http://"+u.GetName()+"-predictor."+ns+".svc.cluster.local" && isvc.Status.URL != "http://"+u.GetName()+"-transformer."+ns+".svc.cluster.local" {
				t.Errorf("url %q", isvc.Status.URL)
			}
			if isvc.Status.ClusterServingRuntimeName != w.runtime {
				t.Errorf("runtime %q, want %q", isvc.Status.ClusterServingRuntimeName, w.runtime)
			}
			d := &appsv1.Deployment{}
			if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: u.GetName() + "-predictor"}, d); err != nil {
				t.Fatal(err)
			}
			inits := d.Spec.Template.Spec.InitContainers
			has := len(inits) > 0 && inits[0].Name == engine.StorageInitializerName
			if has != w.initializer {
				t.Fatalf("init containers %+v, want the storage initializer: %v", inits, w.initializer)
			}
			if has && (inits[0].Image != testImage || len(inits[0].Args) != 2 || !strings.HasPrefix(inits[0].Args[0], "gs://") || inits[0].Args[1] != "/mnt/models") {
				t.Errorf("storage initializer %+v", inits[0])
			}
		})
	}
}
