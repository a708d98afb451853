package serving

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfup/kfup/components"
	servingv1beta1 "github.com/kfup/kfup/components/serving/api/v1beta1"
)

// smokeModel is the tiny XGBoost model that `kfup test` serves: 10 features, base score
// 150, the model server's fixture reg_squarederror_base_score (made by
// hack/serving-fixtures with the python-ml image's XGBoost).
//
//go:embed smoke_model.json
var smokeModel []byte

// SmokeModel returns the tiny XGBoost model the smoke tests serve (Knative's too).
func SmokeModel() []byte { return smokeModel }

// smokeCases are rows of smokeModel and XGBoost's own predictions for them (from the
// fixture's cases).
//
//go:embed smoke_cases.json
var smokeCases []byte

// The serving engine's names the smoke test uses (package engine is the manager's: the
// host side does not link it; TestSmoke checks they agree).
const (
	kfupRuntime           = "kfup-modelserver"
	modelMountPath        = "/mnt/models"
	labelInferenceService = "serving.kserve.io/inferenceservice"
	labelComponent        = "component"
)

// smokeNamespace is where the smoke test's objects live, briefly: default, or the first
// of components.serving.namespaces when the controller serves only those.
func smokeNamespace(env *components.Env) string {
	if ns := env.Config().Components.Serving.NamespaceList(); len(ns) > 0 {
		return ns[0]
	}
	return "default"
}

// serveTinyModel is the serving round trip of `kfup test`: in smokeNamespace, a ConfigMap holding
// smokeModel and an InferenceService serving it with kfup's runtime in the cluster's
// default deployment mode (Serverless where Knative runs), Ready within ctx; OIP v2
// infer on a predictor pod (through the API server's pod proxy) must answer XGBoost's
// own predictions for the fixture's rows. Both objects have generated names and are
// deleted before it returns.
func serveTinyModel(ctx context.Context, env *components.Env) (err error) {
	ns := smokeNamespace(env)
	var cases struct {
		Rows    [][]float64 `json:"rows"`
		Predict []float64   `json:"predict"`
	}
	if err := json.Unmarshal(smokeCases, &cases); err != nil || len(cases.Rows) == 0 || len(cases.Rows) != len(cases.Predict) {
		return fmt.Errorf("the smoke model's cases: %v", err)
	}
	labels := map[string]string{components.LabelComponent: Name, "kfup.dev/smoke": "true"}
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "kfup-smoke-model-", Namespace: ns, Labels: labels},
		BinaryData: map[string][]byte{"model.json": smokeModel},
	}
	if err := env.Client.Create(ctx, cm); err != nil {
		return fmt.Errorf("create the smoke model's ConfigMap in %s: %w", ns, err)
	}
	isvc := &servingv1beta1.InferenceService{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "kfup-smoke-", Namespace: ns, Labels: labels},
		Spec: servingv1beta1.InferenceServiceSpec{Predictor: servingv1beta1.PredictorSpec{
			ComponentExtensionSpec: servingv1beta1.ComponentExtensionSpec{MinReplicas: ptr.To[int32](1), MaxReplicas: 1},
			PodSpec: servingv1beta1.PodSpec{Volumes: []corev1.Volume{{Name: "model", VolumeSource: corev1.VolumeSource{
				ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: cm.Name}},
			}}}},
			Model: &servingv1beta1.ModelSpec{
				ModelFormat: servingv1beta1.ModelFormat{Name: "xgboost"},
				Runtime:     ptr.To(kfupRuntime),
				PredictorExtensionSpec: servingv1beta1.PredictorExtensionSpec{
					ProtocolVersion: ptr.To(servingv1beta1.ProtocolV2),
					Container: servingv1beta1.Container{VolumeMounts: []corev1.VolumeMount{{
						Name: "model", MountPath: modelMountPath, ReadOnly: true,
					}}},
				},
			},
		}},
	}
	created := env.Client.Create(ctx, isvc)
	defer func() {
		// a fresh context: ctx may be what ran out
		dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		bg := client.PropagationPolicy(metav1.DeletePropagationBackground)
		if created == nil {
			if derr := client.IgnoreNotFound(env.Client.Delete(dctx, isvc, bg)); derr != nil && err == nil {
				err = fmt.Errorf("delete the smoke InferenceService %s: %w", isvc.Name, derr)
			}
		}
		if derr := client.IgnoreNotFound(env.Client.Delete(dctx, cm, bg)); derr != nil && err == nil {
			err = fmt.Errorf("delete the smoke ConfigMap %s: %w", cm.Name, derr)
		}
	}()
	if created != nil {
		return fmt.Errorf("create the smoke InferenceService in %s: %w", ns, created)
	}

	var last string
	waitErr := wait.PollUntilContextCancel(ctx, time.Second, true, func(ctx context.Context) (bool, error) {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(isvc), isvc); err != nil {
			last = err.Error()
			return false, nil
		}
		for _, c := range isvc.Status.Conditions {
			if c.Type == servingv1beta1.Ready {
				last = fmt.Sprintf("Ready=%s %s: %s", c.Status, c.Reason, c.Message)
				return c.Status == corev1.ConditionTrue, nil
			}
		}
		last = "no Ready condition yet (is the manager running? kubectl -n kfup-system get pods)"
		return false, nil
	})
	if waitErr != nil {
		return fmt.Errorf("the smoke InferenceService %s (%s mode) did not become Ready: %s", isvc.Name, modeOf(env), last)
	}

	cs, err := kubernetes.NewForConfig(env.REST)
	if err != nil {
		return err
	}
	pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{
		LabelSelector: labelInferenceService + "=" + isvc.Name + "," + labelComponent + "=predictor",
	})
	if err != nil {
		return fmt.Errorf("list the smoke predictor's pods: %w", err)
	}
	i := slices.IndexFunc(pods.Items, func(p corev1.Pod) bool {
		return p.DeletionTimestamp == nil && slices.ContainsFunc(p.Status.Conditions, func(c corev1.PodCondition) bool {
			return c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue
		})
	})
	if i < 0 {
		return fmt.Errorf("the smoke InferenceService %s is Ready but none of its %d predictor pods is", isvc.Name, len(pods.Items))
	}

	var data []float64
	for _, r := range cases.Rows {
		data = append(data, r...)
	}
	body, _ := json.Marshal(map[string]any{"inputs": []map[string]any{{
		"name": "input-0", "datatype": "FP64", "shape": []int{len(cases.Rows), len(cases.Rows[0])}, "data": data,
	}}})
	raw, err := cs.CoreV1().RESTClient().Post().Namespace(ns).Resource("pods").
		Name(pods.Items[i].Name+":8080").SubResource("proxy").Suffix("v2", "models", isvc.Name, "infer").
		SetHeader("Content-Type", "application/json").Body(body).DoRaw(ctx)
	if err != nil {
		return fmt.Errorf("OIP v2 infer on the smoke model (pod %s): %w: %s", pods.Items[i].Name, err, raw)
	}
	var out struct {
		Outputs []struct {
			Data []float64 `json:"data"`
		} `json:"outputs"`
	}
	if err := json.Unmarshal(raw, &out); err != nil || len(out.Outputs) != 1 || len(out.Outputs[0].Data) != len(cases.Rows) {
		return fmt.Errorf("OIP v2 infer on the smoke model answered %s, want %d predictions", raw, len(cases.Rows))
	}
	for k, want := range cases.Predict {
		// XGBoost predicts in float32: within its precision
		if got := out.Outputs[0].Data[k]; math.Abs(got-want) > 1e-5*math.Max(1, math.Abs(want)) {
			return fmt.Errorf("the smoke model predicted %g for row %d, XGBoost %g", got, k, want)
		}
	}
	return nil
}

// modeOf is the cluster's default deployment mode, for messages.
func modeOf(env *components.Env) string { return env.Config().Components.DefaultDeploymentMode() }
