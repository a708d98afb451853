//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"k8s.io/client-go/util/retry"
	"net/http"
	"net/url"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kingressv1alpha1 "github.com/kfup/kfup/components/ingress/api/v1alpha1"
	"github.com/kfup/kfup/components/knative"
	servingv1beta1 "github.com/kfup/kfup/components/serving/api/v1beta1"
)

// knativeBusybox is busybox under a registry Knative does not resolve tags of
// (components.knative.registriesSkippingTagResolving has kfup.local): the nodes have it,
// no registry does.
const knativeBusybox = "kfup.local/e2e/busybox:1"

// httpdUntilTERM runs busybox's httpd on $PORT until SIGTERM: as PID 1 without a handler
// it would ignore the signal, and a revision pod scaled down would linger for Knative's
// termination grace period (the revision timeout, 300 s).
const httpdUntilTERM = "httpd -f -p $PORT -h /tmp/www & trap 'kill $!; exit 0' TERM; wait"

var ksvcGVK = schema.GroupVersionKind{Group: "serving.knative.dev", Version: "v1", Kind: "Service"}

// helloService is a Knative Service answering body on / from busybox's httpd, in
// revision name, scaling to zero after a short window.
func helloService(ns, revision, body string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"metadata": map[string]any{"name": "hello", "namespace": ns},
		"spec": map[string]any{"template": map[string]any{
			"metadata": map[string]any{"name": revision, "annotations": map[string]any{
				"autoscaling.knative.dev/window": "6s", // scale to zero soon after the last request
			}},
			"spec": map[string]any{"containers": []any{map[string]any{
				"image":   knativeBusybox,
				"command": []any{"sh", "-c", "mkdir -p /tmp/www && echo " + body + " > /tmp/www/index.html && " + httpdUntilTERM},
				"ports":   []any{map[string]any{"containerPort": int64(8080)}},
			}}},
		}},
	}}
	u.SetGroupVersionKind(ksvcGVK)
	return u
}

// waitKsvcReady waits until Knative Service ns/name has observed its generation and is
// Ready, and returns it.
func waitKsvcReady(t *testing.T, ns, name string, timeout time.Duration) *unstructured.Unstructured {
	t.Helper()
	ctx := context.Background()
	var last string
	got := &unstructured.Unstructured{}
	got.SetGroupVersionKind(ksvcGVK)
	err := wait.PollUntilContextTimeout(ctx, time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, got); err != nil {
			last = err.Error()
			return false, nil
		}
		observed, _, _ := unstructured.NestedInt64(got.Object, "status", "observedGeneration")
		conds, _, _ := unstructured.NestedSlice(got.Object, "status", "conditions")
		for _, c := range conds {
			m, _ := c.(map[string]any)
			if m["type"] == "Ready" {
				last = fmt.Sprintf("Ready=%v %v: %v (observed generation %d of %d)", m["status"], m["reason"], m["message"], observed, got.GetGeneration())
				return m["status"] == "True" && observed == got.GetGeneration(), nil
			}
		}
		last = fmt.Sprintf("no Ready condition yet (observed generation %d)", observed)
		return false, nil
	})
	if err != nil {
		t.Fatalf("Knative Service %s/%s not Ready in %s: %s", ns, name, timeout, last)
	}
	return got
}

// Knative Serving on kfup's ingress on kind (components.knative.ingress=kfup, Knative's
// images built by make knative-images): a Knative Service becomes Ready, its KIngress is
// served by kfup's ingress and it answers through the host's ingress port; it scales to
// zero and back on the next request (through Knative's activator); a second revision
// gets 10 % of 200 requests (±5 %).
func TestKnativeServiceOnKfupIngress(t *testing.T) {
	ctx := context.Background()
	if out, err := exec.CommandContext(ctx, "docker", "tag", busyboxImage, knativeBusybox).CombinedOutput(); err != nil {
		t.Fatalf("docker tag %s %s: %v\n%s", busyboxImage, knativeBusybox, err, out)
	}
	if _, err := kindc.LoadImages(ctx, clusterName, knativeBusybox); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if r := kfup(ctx, "create", "--name", clusterName, "--wait", "5m", "--profile", "minimal"); r.code != 0 {
			t.Errorf("restoring the minimal profile: exit %d\n%s", r.code, r.stderr)
		}
	})
	r := mustKfup(t, "create", "--name", clusterName, "--wait", "8m",
		"--set", "components.knative.enabled=true", "--set", "components.knative.images=kfup")
	t.Logf("kfup create with Knative on kfup's ingress (%s)", r.elapsed.Round(time.Second))
	// Knative's smoke test: a Knative Service of kfup's model server, Ready, answering
	// through the host's ingress port
	if r := mustKfup(t, "test", "--name", clusterName, "--component", "knative"); !strings.Contains(r.stdout, "✓ pass  knative") {
		t.Fatalf("kfup test --component knative:\n%s", r.stdout)
	} else {
		t.Logf("kfup test --component knative (a Knative Service's round trip through the ingress port): %s", r.elapsed.Round(100*time.Millisecond))
	}
	// serving's smoke test serves a tiny model, Serverless here
	smoke := time.Now()
	if r := mustKfup(t, "test", "--name", clusterName, "--component", "serving"); !strings.Contains(r.stdout, "✓ pass  serving") {
		t.Fatalf("kfup test --component serving:\n%s", r.stdout)
	}
	t.Logf("kfup test --component serving (a Serverless model served and asked): %s", time.Since(smoke).Round(100*time.Millisecond))

	ns := testNamespace(t)
	created := time.Now()
	if err := k8sClient.Create(ctx, helloService(ns, "hello-v1", "v1")); err != nil {
		t.Fatal(err)
	}
	ksvc := waitKsvcReady(t, ns, "hello", 3*time.Minute)
	t.Logf("Knative Service Ready in %s", time.Since(created).Round(100*time.Millisecond))
	raw, _, _ := unstructured.NestedString(ksvc.Object, "status", "url")
	u, err := url.Parse(raw)
	if err != nil || u.Host != "hello."+ns+".kfup.localhost" {
		t.Fatalf("status.url %q: want http://hello.%s.kfup.localhost (%v)", raw, ns, err)
	}

	var king kingressv1alpha1.Ingress
	if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "hello"}, &king); err != nil {
		t.Fatalf("the Service's KIngress: %v", err)
	}
	if c := king.Annotations[kingressv1alpha1.ClassAnnotation]; c != knative.KfupIngressClass {
		t.Errorf("KIngress class %q, want %q", c, knative.KfupIngressClass)
	}

	port := statusOf(t, clusterName).IngressHTTPPort
	get := func() (int, string, error) {
		req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/", port), nil)
		req.Host = u.Host
		resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(b)), nil
	}
	if code, body, err := get(); err != nil || code != http.StatusOK || body != "v1" {
		t.Fatalf("GET %s through the host port %d: %d %q %v", raw, port, code, body, err)
	}

	// scale to zero: no pod of the revision left running (one terminating may drain)
	// after the window and the grace period
	pods := client.MatchingLabels{"serving.knative.dev/service": "hello"}
	idle := time.Now()
	err = wait.PollUntilContextTimeout(ctx, time.Second, 3*time.Minute, false, func(ctx context.Context) (bool, error) {
		var list metav1.PartialObjectMetadataList
		list.SetGroupVersionKind(schema.GroupVersionKind{Version: "v1", Kind: "PodList"})
		if err := k8sClient.List(ctx, &list, client.InNamespace(ns), pods); err != nil {
			return false, err
		}
		return !slices.ContainsFunc(list.Items, func(p metav1.PartialObjectMetadata) bool { return p.DeletionTimestamp == nil }), nil
	})
	if err != nil {
		t.Fatalf("the revision did not scale to zero: %v", err)
	}
	t.Logf("scaled to zero %s after the last request", time.Since(idle).Round(time.Second))
	cold := time.Now()
	if code, body, err := get(); err != nil || code != http.StatusOK || body != "v1" {
		t.Fatalf("first request after scaling to zero: %d %q %v", code, body, err)
	}
	t.Logf("cold start (zero pods → response through the activator): %s", time.Since(cold).Round(10*time.Millisecond))

	// a second revision taking 10 %
	if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "hello"}, ksvc); err != nil {
		t.Fatal(err)
	}
	template, _, _ := unstructured.NestedMap(helloService(ns, "hello-v2", "v2").Object, "spec", "template")
	if err := unstructured.SetNestedMap(ksvc.Object, template, "spec", "template"); err != nil {
		t.Fatal(err)
	}
	if err := unstructured.SetNestedSlice(ksvc.Object, []any{
		map[string]any{"revisionName": "hello-v1", "percent": int64(90)},
		map[string]any{"revisionName": "hello-v2", "percent": int64(10)},
	}, "spec", "traffic"); err != nil {
		t.Fatal(err)
	}
	if err := k8sClient.Update(ctx, ksvc); err != nil {
		t.Fatal(err)
	}
	waitKsvcReady(t, ns, "hello", 3*time.Minute)
	// the proxy swaps tables atomically; wait until the split is the one served
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		_, body, err := get()
		return err == nil && body == "v2", nil
	})
	if err != nil {
		t.Fatalf("revision v2 never answered: %v", err)
	}
	counts := map[string]int{}
	const n = 200
	for range n {
		code, body, err := get()
		if err != nil || code != http.StatusOK {
			t.Fatalf("request through the split: %d %q %v", code, body, err)
		}
		counts[body]++
	}
	share := float64(counts["v2"]) / n * 100
	t.Logf("90/10 split over %d requests: v1 %d, v2 %d (%.1f %%)", n, counts["v1"], counts["v2"], share)
	if counts["v1"]+counts["v2"] != n || share < 5 || share > 15 {
		t.Errorf("split: %v, want v2 at 10 %% ± 5 %%", counts)
	}

	if err := k8sClient.Delete(ctx, ksvc); err != nil && !apierrors.IsNotFound(err) {
		t.Error(err)
	}

	t.Run("ServerlessInferenceService", testServerlessInferenceService)
}

// testServerlessInferenceService is issue 13's Serverless e2e, on the Knative cluster of
// TestKnativeServiceOnKfupIngress: an XGBoost model trained onto a claim is served by an
// InferenceService without a deploymentMode annotation — Serverless, the default where
// Knative runs — as a Knative Service that answers the Python predictions through the
// host's ingress port, at its own host (a DomainMapping) and the predictor's, scales to zero and answers again through the activator; then a
// canary at 50 % splits the traffic with the rolled-out revision and is promoted.
func testServerlessInferenceService(t *testing.T) {
	ctx := context.Background()
	ns := testNamespace(t)
	const claim, name = "models", "xgb-serverless"
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

	isvc := &servingv1beta1.InferenceService{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: servingv1beta1.InferenceServiceSpec{Predictor: servingv1beta1.PredictorSpec{
			ComponentExtensionSpec: servingv1beta1.ComponentExtensionSpec{
				MinReplicas: ptr.To[int32](0),
				// scale to zero soon after the last request
				Annotations: map[string]string{"autoscaling.knative.dev/window": "6s"},
			},
			Model: &servingv1beta1.ModelSpec{
				ModelFormat:            servingv1beta1.ModelFormat{Name: "xgboost"},
				PredictorExtensionSpec: servingv1beta1.PredictorExtensionSpec{ProtocolVersion: ptr.To(servingv1beta1.ProtocolV2), StorageURI: ptr.To("pvc://" + claim + "/models/xgb")},
			},
		}},
	}
	created := time.Now()
	if err := k8sClient.Create(ctx, isvc); err != nil {
		t.Fatalf("create inferenceservice: %v", err)
	}
	got := waitISVCReady(t, ns, name, 4*time.Minute)
	t.Logf("Serverless InferenceService Ready in %s", time.Since(created).Round(100*time.Millisecond))
	if got.Status.DeploymentMode != "Serverless" {
		t.Errorf("deploymentMode %q, want Serverless (the default with Knative)", got.Status.DeploymentMode)
	}
	host := name + "." + ns + ".kfup.localhost"
	if got.Status.URL != "http://"+host {
		t.Fatalf("status.url %q, want http://%s (its DomainMapping)", got.Status.URL, host)
	}
	predictorHost := name + "-predictor." + ns + ".kfup.localhost"
	if u := got.Status.Components[servingv1beta1.PredictorComponent].URL; u != "http://"+predictorHost {
		t.Errorf("the predictor's url %q, want http://%s (its Knative Service)", u, predictorHost)
	}
	hostInfer(t, predictorHost, name, want)
	ks := &unstructured.Unstructured{}
	ks.SetGroupVersionKind(ksvcGVK)
	if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name + "-predictor"}, ks); err != nil {
		t.Fatalf("the predictor's Knative Service: %v", err)
	}
	if ref := metav1.GetControllerOf(ks); ref == nil || ref.Kind != "InferenceService" || ref.Name != name {
		t.Errorf("Knative Service owner %+v", ref)
	}
	if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name + "-predictor"}, &appsv1.Deployment{}); !apierrors.IsNotFound(err) {
		t.Errorf("a Standard-mode Deployment %s-predictor: %v", name, err)
	}
	hostInfer(t, host, name, want)

	pods := client.MatchingLabels{"serving.knative.dev/service": name + "-predictor"}
	idle := time.Now()
	err := wait.PollUntilContextTimeout(ctx, time.Second, 3*time.Minute, false, func(ctx context.Context) (bool, error) {
		var list metav1.PartialObjectMetadataList
		list.SetGroupVersionKind(schema.GroupVersionKind{Version: "v1", Kind: "PodList"})
		if err := k8sClient.List(ctx, &list, client.InNamespace(ns), pods); err != nil {
			return false, err
		}
		return !slices.ContainsFunc(list.Items, func(p metav1.PartialObjectMetadata) bool { return p.DeletionTimestamp == nil }), nil
	})
	if err != nil {
		t.Fatalf("the predictor did not scale to zero: %v", err)
	}
	t.Logf("predictor scaled to zero %s after the last request", time.Since(idle).Round(time.Second))
	cold := time.Now()
	hostInfer(t, host, name, want)
	t.Logf("cold start of the model server (zero pods → predictions through the activator): %s", time.Since(cold).Round(10*time.Millisecond))

	// a canary at 50 %: a new revision (an environment variable changed), the rolled-out
	// one tagged prev
	first := got.Status.Components[servingv1beta1.PredictorComponent].LatestReadyRevision
	if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(got), got); err != nil {
		t.Fatal(err)
	}
	got.Spec.Predictor.CanaryTrafficPercent = ptr.To[int64](50)
	got.Spec.Predictor.Model.Env = []corev1.EnvVar{{Name: "CANARY", Value: "1"}}
	if err := k8sClient.Update(ctx, got); err != nil {
		t.Fatal(err)
	}
	split := waitISVC(t, ns, name, 4*time.Minute, "the canary's revision ready, 50/50", func(i *servingv1beta1.InferenceService) bool {
		pc := i.Status.Components[servingv1beta1.PredictorComponent]
		return pc.LatestReadyRevision != first && pc.LatestRolledoutRevision == first && len(pc.Traffic) == 2 &&
			slices.ContainsFunc(pc.Traffic, func(tt servingv1beta1.TrafficTarget) bool {
				return tt.Tag == "prev" && tt.RevisionName == first && ptr.Deref(tt.Percent, 0) == 50
			})
	})
	t.Logf("canary traffic %s", trafficString(split))
	hostInfer(t, host, name, want)

	// promotion: all traffic to the canary, which becomes the rolled-out revision
	// (the controller writes the status meanwhile: update the latest version)
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		latest := &servingv1beta1.InferenceService{}
		if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(split), latest); err != nil {
			return err
		}
		latest.Spec.Predictor.CanaryTrafficPercent = nil
		return k8sClient.Update(ctx, latest)
	}); err != nil {
		t.Fatal(err)
	}
	canary := split.Status.Components[servingv1beta1.PredictorComponent].LatestReadyRevision
	promoted := waitISVC(t, ns, name, 2*time.Minute, "the canary promoted", func(i *servingv1beta1.InferenceService) bool {
		pc := i.Status.Components[servingv1beta1.PredictorComponent]
		return pc.LatestRolledoutRevision == canary && pc.PreviousRolledoutRevision == first
	})
	t.Logf("promoted: traffic %s", trafficString(promoted))

	checkServerlessTransformer(t, ns, claim, want)
}

// knativePythonML is the python-ml image under a registry Knative does not resolve tags
// of (as knativeBusybox).
const knativePythonML = "kfup.local/e2e/python-ml:bookworm"

// checkServerlessTransformer is checkTransformer in Serverless mode: the transformer and
// the predictor are Knative Services; a KServe v1 predict sent to the InferenceService's
// own host through the host's ingress port reaches the transformer, which calls the
// predictor at the host kfup gives it (<name>-predictor.<namespace>, Knative's
// cluster-local route), and answers Python's predictions.
func checkServerlessTransformer(t *testing.T, ns, claim string, want trained) {
	t.Helper()
	ctx := context.Background()
	if out, err := exec.CommandContext(ctx, "docker", "tag", pythonML, knativePythonML).CombinedOutput(); err != nil {
		t.Fatalf("docker tag %s %s: %v\n%s", pythonML, knativePythonML, err, out)
	}
	loaded := time.Now()
	if _, err := kindc.LoadImages(ctx, clusterName, knativePythonML); err != nil {
		t.Fatal(err)
	}
	t.Logf("loaded %s (%s)", knativePythonML, time.Since(loaded).Round(time.Second))
	const name = "xgb-sl-tf"
	isvc := &servingv1beta1.InferenceService{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: servingv1beta1.InferenceServiceSpec{
			Predictor: servingv1beta1.PredictorSpec{Model: &servingv1beta1.ModelSpec{
				ModelFormat:            servingv1beta1.ModelFormat{Name: "xgboost"},
				PredictorExtensionSpec: servingv1beta1.PredictorExtensionSpec{ProtocolVersion: ptr.To(servingv1beta1.ProtocolV2), StorageURI: ptr.To("pvc://" + claim + "/models/xgb")},
			}},
			Transformer: &servingv1beta1.TransformerSpec{PodSpec: servingv1beta1.PodSpec{Containers: []corev1.Container{{
				Name: "kserve-container", Image: knativePythonML, Command: []string{"python3", "-c", transformerPy},
				Resources: corev1.ResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("50m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
					Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")},
				},
			}}}},
		},
	}
	if err := k8sClient.Create(ctx, isvc); err != nil {
		t.Fatalf("create inferenceservice with a transformer: %v", err)
	}
	got := waitISVCReady(t, ns, name, 4*time.Minute)
	host := name + "." + ns + ".kfup.localhost"
	if got.Status.URL != "http://"+host {
		t.Errorf("status.url %q, want http://%s", got.Status.URL, host)
	}
	for _, c := range []servingv1beta1.ComponentType{servingv1beta1.PredictorComponent, servingv1beta1.TransformerComponent} {
		ks := &unstructured.Unstructured{}
		ks.SetGroupVersionKind(ksvcGVK)
		if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name + "-" + string(c)}, ks); err != nil {
			t.Errorf("the %s's Knative Service: %v", c, err)
		}
	}
	body, _ := json.Marshal(map[string]any{"instances": want.Rows})
	port := statusOf(t, clusterName).IngressHTTPPort
	req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("http://127.0.0.1:%d/v1/models/%s:predict", port, name), bytes.NewReader(body))
	req.Host = host
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 60 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("POST %s through the host port: %v", got.Status.URL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out struct {
		Predictions []float64 `json:"predictions"`
		Via         string    `json:"via"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &out) != nil {
		t.Fatalf("POST %s/v1/models/%s:predict: %d %s", got.Status.URL, name, resp.StatusCode, b)
	}
	if out.Via != name+"-predictor."+ns {
		t.Errorf("the transformer called %q, want %s-predictor.%s", out.Via, name, ns)
	}
	comparePredictions(t, "Serverless transformer → predictor", out.Predictions, want.Predictions)
	t.Logf("Serverless transformer %s → %s: %d predictions match", host, out.Via, len(out.Predictions))
}

// waitISVC waits until the InferenceService ns/name is Ready and cond holds.
func waitISVC(t *testing.T, ns, name string, timeout time.Duration, what string, cond func(*servingv1beta1.InferenceService) bool) *servingv1beta1.InferenceService {
	t.Helper()
	got := &servingv1beta1.InferenceService{}
	err := wait.PollUntilContextTimeout(context.Background(), time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, got); err != nil {
			return false, err
		}
		ready := slices.ContainsFunc(got.Status.Conditions, func(c servingv1beta1.Condition) bool {
			return c.Type == servingv1beta1.Ready && c.Status == corev1.ConditionTrue
		})
		return ready && cond(got), nil
	})
	if err != nil {
		t.Fatalf("%s: %v; status %+v", what, err, got.Status)
	}
	return got
}

// trafficString is the predictor's traffic, as revision(tag)=percent.
func trafficString(i *servingv1beta1.InferenceService) string {
	var parts []string
	for _, tt := range i.Status.Components[servingv1beta1.PredictorComponent].Traffic {
		parts = append(parts, fmt.Sprintf("%s(%s)=%d%%", tt.RevisionName, tt.Tag, ptr.Deref(tt.Percent, 0)))
	}
	return strings.Join(parts, " ")
}
