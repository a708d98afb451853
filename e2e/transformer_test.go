//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	servingv1beta1 "github.com/kfup/kfup/components/serving/api/v1beta1"
)

// transformerPy is a KServe-style transformer in plain Python (the python-ml image has no
// kserve package): it takes KServe v1 {"instances": rows}, sends them to the predictor
// (--predictor_host, which kfup passes as KServe does) as an OIP v2 request, and answers
// {"predictions": ...}.
const transformerPy = `
import argparse, json, http.server, urllib.request
p = argparse.ArgumentParser()
p.add_argument("--model_name"); p.add_argument("--predictor_host"); p.add_argument("--http_port", type=int, default=8080)
a, _ = p.parse_known_args()
class H(http.server.BaseHTTPRequestHandler):
    def reply(self, code, obj):
        b = json.dumps(obj).encode()
        self.send_response(code); self.send_header("Content-Type", "application/json"); self.send_header("Content-Length", str(len(b))); self.end_headers(); self.wfile.write(b)
    def do_GET(self):
        self.reply(200, {"name": a.model_name, "ready": True})
    def do_POST(self):
        rows = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["instances"]
        req = {"inputs": [{"name": "input-0", "datatype": "FP64", "shape": [len(rows), len(rows[0])], "data": rows}]}
        url = "http://%s/v2/models/%s/infer" % (a.predictor_host, a.model_name)
        out = json.loads(urllib.request.urlopen(urllib.request.Request(url, data=json.dumps(req).encode(), headers={"Content-Type": "application/json"}), timeout=10).read())
        self.reply(200, {"predictions": out["outputs"][0]["data"], "via": a.predictor_host})
http.server.ThreadingHTTPServer(("", a.http_port), H).serve_forever()
`

// checkTransformer serves the trained model behind a transformer: an InferenceService
// whose transformer (the python-ml image, transformerPy) calls its predictor (kfup's
// server, the same claim) with the host kfup gives it; the transformer's Service answers
// Python's predictions, and the status says both components are ready.
func checkTransformer(t *testing.T, ns, claim string, want trained) {
	t.Helper()
	ctx := context.Background()
	const name = "xgb-tf"
	isvc := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "serving.kserve.io/v1beta1",
		"kind":       "InferenceService",
		"metadata":   map[string]any{"name": name, "namespace": ns, "annotations": map[string]any{"serving.kserve.io/deploymentMode": "Standard"}},
		"spec": map[string]any{
			"predictor": map[string]any{"model": map[string]any{
				"modelFormat": map[string]any{"name": "xgboost"}, "protocolVersion": "v2", "storageUri": "pvc://" + claim + "/models/xgb",
			}},
			"transformer": map[string]any{"containers": []any{map[string]any{
				"name": "kserve-container", "image": pythonML, "command": []any{"python3", "-c", transformerPy},
				"resources": map[string]any{"requests": map[string]any{"cpu": "50m", "memory": "64Mi"}, "limits": map[string]any{"memory": "256Mi"}},
				// Ready (and the InferenceService with it) once Python answers, not when it starts
				"readinessProbe": map[string]any{"httpGet": map[string]any{"path": "/", "port": int64(8080)}, "periodSeconds": int64(1)},
			}}},
		},
	}}
	if err := k8sClient.Create(ctx, isvc); err != nil {
		t.Fatalf("create inferenceservice with a transformer: %v", err)
	}
	got := waitISVCReady(t, ns, name, 4*time.Minute)
	ready := map[servingv1beta1.ConditionType]bool{}
	for _, c := range got.Status.Conditions {
		ready[c.Type] = c.Status == corev1.ConditionTrue
	}
	if !ready[servingv1beta1.PredictorReady] || !ready[servingv1beta1.TransformerReady] {
		t.Errorf("conditions %+v: want PredictorReady and TransformerReady", got.Status.Conditions)
	}
	if got.Status.Address == nil || !strings.Contains(got.Status.Address.URL, name+"-transformer") {
		t.Errorf("status.address %+v: want the transformer's", got.Status.Address)
	}
	body, _ := json.Marshal(map[string]any{"instances": want.Rows})
	// Ready says the pods are; the Services' endpoints reach kube-proxy a moment later
	// (the transformer's call to the predictor is then refused): retry that window only
	var code int
	var out []byte
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		code, out = proxyPost(t, ns, name+"-transformer", "/v1/models/"+name+":predict", string(body))
		if code < 500 || time.Now().After(deadline) {
			break
		}
	}
	var resp struct {
		Predictions []float64 `json:"predictions"`
		Via         string    `json:"via"`
	}
	if code != http.StatusOK || json.Unmarshal(out, &resp) != nil {
		t.Fatalf("POST to the transformer: %d %s", code, out)
	}
	if resp.Via != name+"-predictor."+ns {
		t.Errorf("the transformer called %q, want the predictor's Service %s-predictor.%s", resp.Via, name, ns)
	}
	comparePredictions(t, "transformer → predictor", resp.Predictions, want.Predictions)
	logf("transformer %s-transformer → %s: %d predictions match", name, resp.Via, len(resp.Predictions))
}
