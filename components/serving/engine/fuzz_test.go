package engine

import (
	"encoding/json"
	"testing"

	servingv1beta1 "github.com/kfup/kfup/components/serving/api/v1beta1"
)

// Desired and SelectRuntime never panic on an arbitrary spec, and make at most one
// Deployment, Service and HPA per component.
func FuzzDesired(f *testing.F) {
	for _, s := range []string{
		`{"predictor":{"xgboost":{"storageUri":"pvc://m/x","args":["{{.Name}}"]}}}`,
		`{"predictor":{"model":{"modelFormat":{"name":"sklearn","version":"1"},"runtime":"kserve-sklearnserver"},"minReplicas":2,"maxReplicas":4}}`,
		`{"predictor":{"containers":[{"name":"kserve-container","image":"i","env":[{"name":"STORAGE_URI","value":"pvc://c"}]}]},"transformer":{"containers":[{"name":"t","image":"t"}]}}`,
		`{"predictor":{"tensorflow":{"livenessProbe":{"httpGet":{"path":"/"}}}},"explainer":{"containers":[{"name":"e"}]}}`,
		`{"predictor":{"sklearn":{"args":["{{.Labels"]}}}`,
	} {
		f.Add(s)
	}
	rts := Runtimes{Cluster: BuiltinRuntimes("kfup:dev")}
	f.Fuzz(func(t *testing.T, spec string) {
		isvc := &servingv1beta1.InferenceService{}
		isvc.Name, isvc.Namespace = "f", "ns"
		if err := json.Unmarshal([]byte(spec), &isvc.Spec); err != nil {
			return
		}
		var rt *Runtime
		if m := ModelOf(&isvc.Spec.Predictor); m != nil {
			r, err := SelectRuntime(m, rts)
			if err != nil {
				return
			}
			rt = &r
		}
		cs, err := Desired(isvc, rt, StorageInit{})
		if err != nil {
			return
		}
		if len(cs) < 1 || len(cs) > 3 {
			t.Fatalf("%d components", len(cs))
		}
		for _, c := range cs {
			if c.Deployment == nil || c.Service == nil {
				t.Fatalf("component %s without a Deployment or Service", c.Component)
			}
		}
	})
}
