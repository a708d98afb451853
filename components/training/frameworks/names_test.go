package frameworks_test

import (
	"encoding/json"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	"github.com/kfup/kfup/components/training/engine"
	"github.com/kfup/kfup/components/training/frameworks"
)

// specsField is where each kind keeps its replica specs.
var specsField = map[string]string{
	trainingv1.TFJobKind:      "tfReplicaSpecs",
	trainingv1.PyTorchJobKind: "pytorchReplicaSpecs",
	trainingv1.MPIJobKind:     "mpiReplicaSpecs",
	trainingv1.XGBoostJobKind: "xgbReplicaSpecs",
	trainingv1.JAXJobKind:     "jaxReplicaSpecs",
	trainingv1.PaddleJobKind:  "paddleReplicaSpecs",
}

// singleton replica types may have one replica only (the CRDs' rules).
var singleton = map[trainingv1.ReplicaType]bool{"Master": true, "Chief": true, "Launcher": true}

// largestJob is a job of fw's kind named name with every replica type of the kind at the
// most replicas the API allows (but a TFJob's PS, see below).
func largestJob(t *testing.T, fw engine.Framework, name string) engine.Job {
	t.Helper()
	specs := map[string]any{}
	for _, rt := range fw.ReplicaTypes() {
		n := trainingv1.MaxReplicas
		if singleton[rt] {
			n = 1
		}
		specs[string(rt)] = map[string]any{
			"replicas": n,
			"template": map[string]any{"spec": map[string]any{"containers": []any{
				map[string]any{"name": fw.DefaultContainerName(), "image": "img"},
			}}},
		}
	}
	spec := map[string]any{specsField[fw.Kind()]: specs}
	if fw.Kind() == trainingv1.TFJobKind {
		delete(specs, "Master") // a TFJob has Chief or Master, not both
		// Every pod's TF_CONFIG lists every replica (quadratic in the job's size); dynamic
		// workers and one PS keep it short. Names do not depend on it.
		spec["enableDynamicWorker"] = true
		specs["PS"].(map[string]any)["replicas"] = 1
	}
	b, err := json.Marshal(map[string]any{
		"metadata": map[string]any{"name": name, "namespace": "ns"},
		"spec":     spec,
	})
	if err != nil {
		t.Fatal(err)
	}
	job := fw.NewJob()
	if err := json.Unmarshal(b, job); err != nil {
		t.Fatal(err)
	}
	return job
}

// childNames are the names of every child Desired computes for job.
func childNames(t *testing.T, fw engine.Framework, job engine.Job) []string {
	t.Helper()
	c, err := engine.Desired(fw, job, nil)
	if err != nil {
		t.Fatalf("desired children of %s %s: %v", fw.Kind(), job.GetName(), err)
	}
	var names []string
	for _, p := range c.Pods {
		names = append(names, p.Name)
	}
	for _, s := range c.Services {
		names = append(names, s.Name)
	}
	for _, x := range c.Extras {
		names = append(names, x.GetName())
	}
	return names
}

// The longest job name the API allows for a kind (trainingv1.MaxNameLength) is exactly the
// longest whose every child — pods and services "<job>-<type>-<index>" up to the highest
// index, MPI's "<job>-launcher" and "<job>-config", its RBAC and HPA — has a name that is a
// DNS-1035 label of at most 63 characters: one character more and some child's is not.
func TestMaxNameLengthFitsEveryChild(t *testing.T) {
	for _, fw := range frameworks.All(frameworks.Config{}) {
		t.Run(fw.Kind(), func(t *testing.T) {
			limit := trainingv1.MaxNameLength(fw.Kind())
			for _, n := range childNames(t, fw, largestJob(t, fw, strings.Repeat("a", limit))) {
				if errs := validation.IsDNS1035Label(n); len(errs) > 0 {
					t.Errorf("child %q of a job named with %d characters: %s", n, limit, strings.Join(errs, "; "))
				}
			}
			longest := 0
			for _, n := range childNames(t, fw, largestJob(t, fw, strings.Repeat("a", limit+1))) {
				longest = max(longest, len(n))
			}
			if longest <= trainingv1.MaxChildNameLength {
				t.Errorf("a job named with %d characters still has children of at most %d characters: the limit %d is not tight",
					limit+1, longest, limit)
			}
		})
	}
}
