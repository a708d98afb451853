//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"math"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/kfup/kfup/components/registry"
	servingv1beta1 "github.com/kfup/kfup/components/serving/api/v1beta1"
	"github.com/kfup/kfup/dashboard"
)

// trainXGBoost trains a binary:logistic model (10 trees) on a synthetic dataset fixed by
// its seed, saves it as JSON to argv[1]/model.json (the name kfup's model server prefers
// in a directory) and prints one line, `PREDICTIONS {"rows": …, "predictions": …}`:
// booster.predict on rows whose values are exact in float32, so the server sees the
// same inputs. The files are made readable by anyone: the model server runs as a
// non-root user.
const trainXGBoost = `
import json, os, sys
import numpy as np, xgboost as xgb
out = sys.argv[1]
rng = np.random.RandomState(13)
X = rng.normal(size=(400, 4)).astype(np.float32)
y = (X[:, 0] + 0.5 * X[:, 1] - X[:, 2] * X[:, 3] > 0).astype(np.float32)
params = {"objective": "binary:logistic", "max_depth": 3, "eta": 0.3, "seed": 0, "nthread": 1}
bst = xgb.train(params, xgb.DMatrix(X, label=y), num_boost_round=10)
os.makedirs(out, exist_ok=True)
path = os.path.join(out, "model.json")
bst.save_model(path)
d = out
while True:  # the claim's root down to the model: world-readable
    os.chmod(d, 0o755)
    if d in ("/", "/data"):
        break
    d = os.path.dirname(d)
os.chmod(path, 0o644)
rows = [[0.5, -1.25, 2.0, 0.75], [-2.0, 0.125, -0.5, 1.5], [1.0, 1.0, 1.0, 1.0],
        [0.0, 0.0, 0.0, 0.0], [-0.25, 3.0, -1.75, -2.5]]
p = bst.predict(xgb.DMatrix(np.array(rows, dtype=np.float32)), output_margin=False)
print("saved", path, os.path.getsize(path), "bytes", flush=True)
print("PREDICTIONS " + json.dumps({"rows": rows, "predictions": [float(v) for v in p]}), flush=True)
`

// trained is what the training Job printed.
type trained struct {
	Rows        [][]float64 `json:"rows"`
	Predictions []float64   `json:"predictions"`
}

// TestServeXGBoostFromPVC is issue 13's e2e: a Job of the python-ml image trains an
// XGBoost model onto a PersistentVolumeClaim; an InferenceService with storageUri
// pvc://… in Standard mode chooses kfup-modelserver, gets its Deployment, Service and
// HPA (owned by it) and becomes Ready with a URL; through the API server's service
// proxy, OIP v2 infer (and KServe v1 predict) answer the Python predictions
// (|Δ| ≤ 1e-6), the model reports ready, and malformed or mis-shaped requests are
// 400s with an OIP error body.
func TestServeXGBoostFromPVC(t *testing.T) {
	ns := testNamespace(t)
	ctx := context.Background()
	const claim, isvcName = "models", "xgb-pvc"

	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: claim, Namespace: ns},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("64Mi")},
			},
		}, // the default StorageClass: kind's "standard"
	}
	if _, err := clientset.CoreV1().PersistentVolumeClaims(ns).Create(ctx, pvc, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create claim: %v", err)
	}

	want := trainOntoClaim(t, ns, claim, "/data/models/xgb")
	t.Logf("python predictions: %v", want.Predictions)

	isvc := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "serving.kserve.io/v1beta1",
		"kind":       "InferenceService",
		"metadata": map[string]any{
			"name": isvcName, "namespace": ns,
			"annotations": map[string]any{"serving.kserve.io/deploymentMode": "Standard"},
		},
		"spec": map[string]any{"predictor": map[string]any{
			"minReplicas": int64(1), "maxReplicas": int64(2), // an HPA
			"model": map[string]any{
				"modelFormat":     map[string]any{"name": "xgboost"},
				"protocolVersion": "v2",
				"storageUri":      "pvc://" + claim + "/models/xgb",
			},
		}},
	}}
	if err := k8sClient.Create(ctx, isvc); err != nil {
		t.Fatalf("create inferenceservice: %v", err)
	}
	got := waitISVCReady(t, ns, isvcName, 4*time.Minute)

	if got.Status.ClusterServingRuntimeName != "kfup-modelserver" {
		t.Errorf("clusterServingRuntimeName %q, want kfup-modelserver (xgboost without a version)", got.Status.ClusterServingRuntimeName)
	}
	if u, err := url.Parse(got.Status.URL); got.Status.URL == "" || err != nil || u.Scheme != "http" && u.Scheme != "https" || !strings.HasPrefix(u.Host, isvcName) {
		t.Errorf("status.url %q (%v): want an http(s) URL of %s", got.Status.URL, err, isvcName)
	}
	t.Logf("status.url %s", got.Status.URL)
	svcName := checkPredictorChildren(t, got)
	checkIngressInfer(t, got, want)

	infer := func(body string) (int, []byte) {
		return proxyPost(t, ns, svcName, "/v2/models/"+isvcName+"/infer", body)
	}
	checkInfer(t, ns, svcName, isvcName, want)
	checkGRPCInfer(t, ns, isvcName, want)
	checkTransformer(t, ns, claim, want)

	// KServe v1, same model, same rows
	v1, _ := json.Marshal(map[string]any{"instances": want.Rows})
	code, body := proxyPost(t, ns, svcName, "/v1/models/"+isvcName+":predict", string(v1))
	var v1resp struct {
		Predictions []float64 `json:"predictions"`
	}
	if code != http.StatusOK || json.Unmarshal(body, &v1resp) != nil {
		t.Errorf("POST /v1/models/%s:predict: %d %s", isvcName, code, body)
	} else {
		comparePredictions(t, "v1 predict", v1resp.Predictions, want.Predictions)
	}

	for _, path := range []string{"/v2/health/ready", "/v2/models/" + isvcName + "/ready"} {
		if code, body := proxyGet(t, ns, svcName, path); code != http.StatusOK {
			t.Errorf("GET %s: %d %s, want 200", path, code, body)
		}
	}

	// bad input: a 400 in OIP's error format that says what is wrong
	for _, bad := range []struct{ name, body, says string }{
		{"malformed JSON", `{"inputs": [`, ""},
		{"wrong shape", `{"inputs":[{"name":"input-0","datatype":"FP32","shape":[1,3],"data":[1,2,3]}]}`, "4 features"},
	} {
		code, body := infer(bad.body)
		var e struct {
			Error string `json:"error"`
		}
		if code != http.StatusBadRequest || json.Unmarshal(body, &e) != nil || e.Error == "" || !strings.Contains(e.Error, bad.says) {
			t.Errorf("%s: %d %s, want 400 {\"error\": …%s…}", bad.name, code, body, bad.says)
		} else {
			t.Logf("%s: 400 %s", bad.name, strings.TrimSpace(string(body)))
		}
	}
}

// trainOntoClaim runs trainXGBoost in a batch Job of the python-ml image (as root, the
// image's default: a host-path volume's root belongs to root) with claim mounted at
// /data, the model written to dir, and returns what it printed.
func trainOntoClaim(t *testing.T, ns, claim, dir string) trained {
	t.Helper()
	ctx := context.Background()
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "train-xgb", Namespace: ns},
		Spec: batchv1.JobSpec{
			BackoffLimit: ptr.To[int32](0),
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyNever,
				Containers: []corev1.Container{{
					Name: "train", Image: pythonML,
					Command: []string{"python3", "-c", trainXGBoost, dir},
					Resources: corev1.ResourceRequirements{
						Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("256Mi")},
						Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")},
					},
					VolumeMounts: []corev1.VolumeMount{{Name: "models", MountPath: "/data"}},
				}},
				Volumes: []corev1.Volume{{Name: "models", VolumeSource: corev1.VolumeSource{
					PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim},
				}}},
			}},
		},
	}
	if _, err := clientset.BatchV1().Jobs(ns).Create(ctx, job, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create training job: %v", err)
	}
	var done *batchv1.JobCondition
	err := wait.PollUntilContextTimeout(ctx, 2*time.Second, 5*time.Minute, true, func(ctx context.Context) (bool, error) {
		j, err := clientset.BatchV1().Jobs(ns).Get(ctx, job.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for i, c := range j.Status.Conditions {
			if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
				done = &j.Status.Conditions[i]
				return true, nil
			}
		}
		return false, nil
	})
	pods, lerr := clientset.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "batch.kubernetes.io/job-name=" + job.Name})
	if lerr != nil || len(pods.Items) == 0 {
		t.Fatalf("training job %s: its pod: %v (wait: %v)", job.Name, lerr, err)
	}
	pod := pods.Items[0]
	logs := podLogs(t, ns, pod.Name)
	if err != nil || done.Type != batchv1.JobComplete {
		t.Fatalf("training job %s did not complete (%v, condition %+v); pod %s %s %+v, logs:\n%s",
			job.Name, err, done, pod.Name, pod.Status.Phase, pod.Status.ContainerStatuses, logs)
	}
	for _, line := range strings.Split(logs, "\n") {
		if rest, ok := strings.CutPrefix(line, "PREDICTIONS "); ok {
			var tr trained
			if err := json.Unmarshal([]byte(rest), &tr); err != nil {
				t.Fatalf("training log line %q: %v", line, err)
			}
			if len(tr.Rows) == 0 || len(tr.Rows) != len(tr.Predictions) {
				t.Fatalf("training log line %q: want one prediction per row", line)
			}
			return tr
		}
	}
	t.Fatalf("training job %s printed no PREDICTIONS line:\n%s", job.Name, logs)
	return trained{}
}

// waitISVCReady waits until the InferenceService's Ready condition is True and returns
// it; on timeout it fails with its status and its predictor pods' states and logs.
func waitISVCReady(t *testing.T, ns, name string, timeout time.Duration) *servingv1beta1.InferenceService {
	t.Helper()
	got := &servingv1beta1.InferenceService{}
	err := wait.PollUntilContextTimeout(context.Background(), 2*time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, got); err != nil {
			return false, err
		}
		for _, c := range got.Status.Conditions {
			if c.Type == servingv1beta1.Ready && c.Status == corev1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	})
	if err == nil {
		return got
	}
	st, _ := yaml.Marshal(got.Status)
	var b strings.Builder
	pods, _ := clientset.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "serving.kserve.io/inferenceservice=" + name})
	if pods != nil {
		for _, p := range pods.Items {
			cs, _ := yaml.Marshal(p.Status.ContainerStatuses)
			fmt.Fprintf(&b, "pod %s: %s\n%s\nlogs:\n%s\n", p.Name, p.Status.Phase, cs, podLogs(t, ns, p.Name))
		}
	}
	t.Fatalf("inferenceservice %s not Ready within %s: %v\nstatus:\n%s\npredictor pods:\n%s", name, timeout, err, st, b.String())
	return nil
}

// checkPredictorChildren checks that isvc's predictor has its Deployment (available),
// Service and HPA (1 to 2 replicas), each controlled by isvc, and returns the Service's
// name.
func checkPredictorChildren(t *testing.T, isvc *servingv1beta1.InferenceService) string {
	t.Helper()
	ctx := context.Background()
	ns, name := isvc.Namespace, isvc.Name+"-predictor"
	owned := func(kind string, o metav1.Object) {
		ref := metav1.GetControllerOf(o)
		if ref == nil || ref.Kind != servingv1beta1.InferenceServiceKind || ref.Name != isvc.Name || ref.UID != isvc.UID {
			t.Errorf("%s %s: controller %+v, want InferenceService %s (%s)", kind, o.GetName(), ref, isvc.Name, isvc.UID)
		}
	}
	d := &appsv1.Deployment{}
	if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, d); err != nil {
		t.Fatalf("predictor deployment: %v", err)
	}
	owned("Deployment", d)
	if !available(d) {
		t.Errorf("deployment %s not available: %+v", name, d.Status.Conditions)
	}
	svc := &corev1.Service{}
	if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, svc); err != nil {
		t.Fatalf("predictor service: %v", err)
	}
	owned("Service", svc)
	hpa := &autoscalingv2.HorizontalPodAutoscaler{}
	if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, hpa); err != nil {
		t.Errorf("predictor hpa (maxReplicas 2 > minReplicas 1): %v", err)
	} else {
		owned("HorizontalPodAutoscaler", hpa)
		if hpa.Spec.ScaleTargetRef.Name != name || ptr.Deref(hpa.Spec.MinReplicas, 0) != 1 || hpa.Spec.MaxReplicas != 2 {
			t.Errorf("hpa %s: target %s, replicas %d..%d; want %s, 1..2", name, hpa.Spec.ScaleTargetRef.Name, ptr.Deref(hpa.Spec.MinReplicas, 0), hpa.Spec.MaxReplicas, name)
		}
	}
	return name
}

// proxyPath is the API server's proxy to the port named http of Service svc.
func proxyPath(ns, svc, path string) string {
	return fmt.Sprintf("/api/v1/namespaces/%s/services/%s:http/proxy%s", ns, svc, path)
}

// proxyPost POSTs body as JSON to path on svc through the API server's service proxy
// and returns the status code and the answer's body, whatever their content type.
func proxyPost(t *testing.T, ns, svc, path, body string) (int, []byte) {
	t.Helper()
	return proxyDo(t, http.MethodPost, proxyPath(ns, svc, path), body)
}

// proxyGet GETs path on svc through the API server's service proxy.
func proxyGet(t *testing.T, ns, svc, path string) (int, []byte) {
	t.Helper()
	return proxyDo(t, http.MethodGet, proxyPath(ns, svc, path), "")
}

// proxyDo sends one request to the API server with the suite's credentials; it fails t
// when no answer comes.
func proxyDo(t *testing.T, method, path, body string) (int, []byte) {
	t.Helper()
	hc, err := rest.HTTPClientFor(restConfig)
	if err != nil {
		t.Fatalf("http client for the api server: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(restConfig.Host, "/")+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read the answer: %v", method, path, err)
	}
	return resp.StatusCode, b
}

// comparePredictions fails t unless got equals want element by element to 1e-6.
func comparePredictions(t *testing.T, what string, got, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d predictions %v, want %d %v", what, len(got), got, len(want), want)
	}
	for i := range want {
		if d := math.Abs(got[i] - want[i]); d > 1e-6 || math.IsNaN(d) {
			t.Errorf("%s: row %d: %v, python %v (|Δ| %.3g > 1e-6)", what, i, got[i], want[i], d)
		}
	}
}

// checkInfer posts want's rows to model's OIP v2 infer endpoint behind the Service
// svcName (retrying while it answers 503: Ready is the pod's, the model loads just after)
// and fails t unless the answer names the model and the request, and its one output
// holds the Python predictions.
func checkInfer(t *testing.T, ns, svcName, isvcName string, want trained) {
	t.Helper()
	ctx := context.Background()
	infer := func(body string) (int, []byte) {
		return proxyPost(t, ns, svcName, "/v2/models/"+isvcName+"/infer", body)
	}
	var data []float64
	for _, r := range want.Rows {
		data = append(data, r...)
	}
	req, _ := json.Marshal(map[string]any{
		"id": "e2e-1",
		"inputs": []any{map[string]any{
			"name": "input-0", "datatype": "FP32", "shape": []int{len(want.Rows), len(want.Rows[0])}, "data": data,
		}},
	})
	// Ready is the pod's Available; the server loads the model right after it listens
	var code int
	var body []byte
	err := wait.PollUntilContextTimeout(ctx, time.Second, 30*time.Second, true, func(context.Context) (bool, error) {
		code, body = infer(string(req))
		return code != http.StatusServiceUnavailable, nil
	})
	if err != nil || code != http.StatusOK {
		t.Fatalf("POST /v2/models/%s/infer: %d %s (%v)", isvcName, code, body, err)
	}
	var resp struct {
		ModelName string `json:"model_name"`
		ID        string `json:"id"`
		Outputs   []struct {
			Name     string    `json:"name"`
			Datatype string    `json:"datatype"`
			Shape    []int     `json:"shape"`
			Data     []float64 `json:"data"`
		} `json:"outputs"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatalf("infer answer %s: %v", body, err)
	}
	if resp.ModelName != isvcName || resp.ID != "e2e-1" || len(resp.Outputs) != 1 {
		t.Fatalf("infer answer %s: want model_name %s, id e2e-1 and one output", body, isvcName)
	}
	out := resp.Outputs[0]
	if out.Datatype != "FP32" && out.Datatype != "FP64" {
		t.Errorf("output datatype %s, want FP32 or FP64", out.Datatype)
	}
	comparePredictions(t, "v2 infer", out.Data, want.Predictions)
	t.Logf("v2 infer: %s", body)

}

// TestServeXGBoostOverHTTP serves the model through the storage initializer: the
// trained model.json is published by a plain HTTP server in the cluster (python's
// http.server on the claim), an InferenceService with storageUri http://…/model.json
// gets kfup's storage-initializer init container, which downloads it into the
// emptyDir at /mnt/models, and infer answers the Python predictions. One whose URL
// names a file the server does not have is not Ready, with ModelLoadFailed and the
// initializer's message (404) in its status.
func TestServeXGBoostOverHTTP(t *testing.T) {
	ns := testNamespace(t)
	ctx := context.Background()
	const claim = "models"
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: claim, Namespace: ns},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("64Mi")}},
		},
	}
	if _, err := clientset.CoreV1().PersistentVolumeClaims(ns).Create(ctx, pvc, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create claim: %v", err)
	}
	want := trainOntoClaim(t, ns, claim, "/data/models/xgb")

	labels := map[string]string{"app": "model-files"}
	files := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "model-files", Namespace: ns, Labels: labels},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{
				Name: "http", Image: pythonML,
				Command:        []string{"python3", "-m", "http.server", "8000", "--directory", "/data/models/xgb"},
				Ports:          []corev1.ContainerPort{{Name: "http", ContainerPort: 8000}},
				ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(8000)}}, PeriodSeconds: 1},
				VolumeMounts:   []corev1.VolumeMount{{Name: "models", MountPath: "/data", ReadOnly: true}},
			}},
			Volumes: []corev1.Volume{{Name: "models", VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim, ReadOnly: true},
			}}},
		},
	}
	if _, err := clientset.CoreV1().Pods(ns).Create(ctx, files, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create file server: %v", err)
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "model-files", Namespace: ns},
		Spec:       corev1.ServiceSpec{Selector: labels, Ports: []corev1.ServicePort{{Name: "http", Port: 8000, TargetPort: intstr.FromInt32(8000)}}},
	}
	if _, err := clientset.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create file service: %v", err)
	}
	base := "http://model-files." + ns + ".svc.cluster.local:8000/"
	isvc := func(name, uri string) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "serving.kserve.io/v1beta1",
			"kind":       "InferenceService",
			"metadata": map[string]any{
				"name": name, "namespace": ns,
				"annotations": map[string]any{"serving.kserve.io/deploymentMode": "Standard"},
			},
			"spec": map[string]any{"predictor": map[string]any{
				"minReplicas": int64(1), "maxReplicas": int64(2), // an HPA, as checkPredictorChildren wants
				"model": map[string]any{
					"modelFormat": map[string]any{"name": "xgboost"},
					"storageUri":  uri,
				},
			}},
		}}
	}
	for _, o := range []*unstructured.Unstructured{isvc("xgb-http", base+"model.json"), isvc("xgb-missing", base+"missing.json")} {
		if err := k8sClient.Create(ctx, o); err != nil {
			t.Fatalf("create inferenceservice %s: %v", o.GetName(), err)
		}
	}

	got := waitISVCReady(t, ns, "xgb-http", 4*time.Minute)
	d, err := clientset.AppsV1().Deployments(ns).Get(ctx, "xgb-http-predictor", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("predictor deployment: %v", err)
	}
	if ic := d.Spec.Template.Spec.InitContainers; len(ic) == 0 || ic[0].Name != "storage-initializer" {
		t.Errorf("predictor init containers %+v: want storage-initializer", ic)
	}
	checkInfer(t, ns, checkPredictorChildren(t, got), "xgb-http", want)

	// the missing file: not Ready, and the status says why
	var last *servingv1beta1.InferenceService
	err = wait.PollUntilContextTimeout(ctx, 2*time.Second, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		last = &servingv1beta1.InferenceService{}
		if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "xgb-missing"}, last); err != nil {
			return false, err
		}
		for _, c := range last.Status.Conditions {
			if c.Type == "Ready" && c.Status == corev1.ConditionFalse && c.Reason == "ModelLoadFailed" && strings.Contains(c.Message, "404") {
				t.Logf("xgb-missing: %s: %s", c.Reason, c.Message)
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("xgb-missing never reported ModelLoadFailed with the 404: %+v", last.Status)
	}
}

// checkIngressInfer calls the model from the host, as a user does: status.url is
// http://<name>-<namespace>.kfup.localhost, routed by kfup's ingress on the host's HTTP
// port (kind's port mapping), and its predictions are the Python ones.
func checkIngressInfer(t *testing.T, isvc *servingv1beta1.InferenceService, want trained) {
	t.Helper()
	host := isvc.Name + "-" + isvc.Namespace + ".kfup.localhost"
	if isvc.Status.URL != "http://"+host {
		t.Errorf("status.url %q, want http://%s (kfup's ingress)", isvc.Status.URL, host)
		return
	}
	hostInfer(t, host, isvc.Name, want)
	dashboardTryIt(t, isvc, want)
}

// dashboardTryIt sends want's rows through kfup dashboard's "Try it" endpoint (a browser
// session: login token, CSRF header, Origin) to the model behind the host's ingress port,
// and compares the predictions it shows with want's.
func dashboardTryIt(t *testing.T, isvc *servingv1beta1.InferenceService, want trained) {
	t.Helper()
	port := statusOf(t, clusterName).IngressHTTPPort
	s, err := dashboard.New(k8sClient, dashboard.WithAPIs(registry.APIs), dashboard.WithToken("e2e-token"),
		dashboard.WithInferTransport(dashboard.IngressTransport(fmt.Sprintf("127.0.0.1:%d", port))))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 90 * time.Second}
	if resp, err := browser.Get(srv.URL + "/login?token=e2e-token"); err != nil {
		t.Fatalf("dashboard login: %v", err)
	} else {
		resp.Body.Close()
	}
	var data []float64
	for _, r := range want.Rows {
		data = append(data, r...)
	}
	body, _ := json.Marshal(map[string]any{"inputs": []map[string]any{{
		"name": "input-0", "datatype": "FP32", "shape": []int{len(want.Rows), len(want.Rows[0])}, "data": data}}})
	form := url.Values{"model": {isvc.Name}, "body": {string(body)}}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/ns/"+isvc.Namespace+"/endpoints/"+isvc.Name+"/infer", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set(dashboard.CSRFHeader, "1")
	req.Header.Set("Origin", srv.URL)
	resp, err := browser.Do(req)
	if err != nil {
		t.Fatalf("dashboard Try it: %v", err)
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	// the fragment shows the model's answer, HTML-escaped, in <pre class="response">
	m := regexp.MustCompile(`(?s)<pre class="response">(.*)</pre>`).FindSubmatch(page)
	if resp.StatusCode != http.StatusOK || m == nil || !strings.Contains(string(page), "200 OK") {
		t.Fatalf("dashboard Try it: %d\n%s", resp.StatusCode, page)
	}
	var out struct {
		Outputs []struct {
			Data []float64 `json:"data"`
		} `json:"outputs"`
	}
	if err := json.Unmarshal([]byte(html.UnescapeString(string(m[1]))), &out); err != nil || len(out.Outputs) == 0 {
		t.Fatalf("dashboard Try it answered %s (%v)", m[1], err)
	}
	comparePredictions(t, "kfup dashboard's Try it", out.Outputs[0].Data, want.Predictions)
	t.Logf("kfup dashboard's Try it: %d predictions from %s", len(out.Outputs[0].Data), isvc.Status.URL)
}

// hostInfer posts want's rows to model's OIP v2 infer at host through the host's ingress
// port and compares the predictions with want's.
func hostInfer(t *testing.T, host, model string, want trained) {
	t.Helper()
	port := statusOf(t, clusterName).IngressHTTPPort
	var data []float64
	for _, r := range want.Rows {
		data = append(data, r...)
	}
	body, _ := json.Marshal(map[string]any{"inputs": []map[string]any{{
		"name": "input-0", "datatype": "FP32", "shape": []int{len(want.Rows), len(want.Rows[0])}, "data": data}}})
	req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("http://127.0.0.1:%d/v2/models/%s/infer", port, model), bytes.NewReader(body))
	req.Host = host
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 60 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("POST http://%s through the host port %d: %v", host, port, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out struct {
		Outputs []struct {
			Data []float64 `json:"data"`
		} `json:"outputs"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &out) != nil || len(out.Outputs) == 0 {
		t.Fatalf("POST http://%s/v2/models/%s/infer through the host port: %d %s (%s)", host, model, resp.StatusCode, b, resp.Header.Get("X-Kfup-Ingress"))
	}
	comparePredictions(t, "through kfup's ingress", out.Outputs[0].Data, want.Predictions)
	t.Logf("POST http://%s/v2/models/%s/infer through the host port %d: %d predictions", host, model, port, len(out.Outputs[0].Data))
}
