package controller_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/kfup/kfup/components"
	managercomponent "github.com/kfup/kfup/components/manager"
	servingv1alpha1 "github.com/kfup/kfup/components/serving/api/v1alpha1"
	servingv1beta1 "github.com/kfup/kfup/components/serving/api/v1beta1"
	"github.com/kfup/kfup/components/serving/controller"
	"github.com/kfup/kfup/components/serving/engine"
	"github.com/kfup/kfup/internal/apihost"
)

// createISVC creates the InferenceService of doc (YAML) in ns.
func createISVC(t *testing.T, ns, doc string) *servingv1beta1.InferenceService {
	t.Helper()
	isvc := &servingv1beta1.InferenceService{}
	if err := yaml.UnmarshalStrict([]byte(doc), isvc); err != nil {
		t.Fatal(err)
	}
	isvc.Namespace = ns
	if err := env.Client.Create(context.Background(), isvc); err != nil {
		t.Fatalf("create: %v", err)
	}
	return isvc
}

func get(t *testing.T, obj client.Object, ns, name string) {
	t.Helper()
	eventually(t, fmt.Sprintf("%T %s/%s", obj, ns, name), func(ctx context.Context) (bool, string) {
		err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, obj)
		return err == nil, fmt.Sprint(err)
	})
}

// markAvailable plays the Deployment controller (envtest runs none), retrying when the
// serving controller wrote the Deployment meanwhile.
func markAvailable(t *testing.T, d *appsv1.Deployment) {
	t.Helper()
	eventuallyWithin(t, time.Minute, "mark "+d.Name+" available", func(ctx context.Context) (bool, string) {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(d), d); err != nil {
			return false, err.Error()
		}
		d.Status.Replicas, d.Status.AvailableReplicas, d.Status.ReadyReplicas = 1, 1, 1
		d.Status.Conditions = []appsv1.DeploymentCondition{{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable"}}
		err := env.Client.Status().Update(ctx, d)
		return err == nil, fmt.Sprint(err)
	})
}

// An XGBoost model on a PVC in Standard mode: kfup's model server from kfup's image,
// the claim mounted read-only, a Service, an HPA between minReplicas and maxReplicas, a
// transformer told the predictor's host; Ready once both Deployments are available, the
// URL the transformer's.
func TestStandardModeLifecycle(t *testing.T) {
	start(t)
	ns := env.Namespace(t)
	createISVC(t, ns, `
metadata: {name: iris}
spec:
  predictor:
    minReplicas: 1
    maxReplicas: 3
    scaleTarget: 70
    model:
      modelFormat: {name: xgboost}
      protocolVersion: v2
      storageUri: pvc://models/xgb/iris
  transformer:
    containers:
    - name: transformer
      image: example/transformer:1
`)
	isvc := waitCondition(t, ns, "iris", servingv1beta1.PredictorReady, "Unknown", "MinimumReplicasUnavailable")
	if isvc.Status.ClusterServingRuntimeName != engine.KfupRuntime {
		t.Errorf("runtime %q, want %s", isvc.Status.ClusterServingRuntimeName, engine.KfupRuntime)
	}
	pred, tr := &appsv1.Deployment{}, &appsv1.Deployment{}
	get(t, pred, ns, "iris-predictor")
	get(t, tr, ns, "iris-transformer")
	c := pred.Spec.Template.Spec.Containers[0]
	if c.Image != testImage || c.Args[0] != "--model-name=iris" || c.VolumeMounts[0].MountPath != "/mnt/models" || !c.VolumeMounts[0].ReadOnly {
		t.Errorf("predictor container %+v", c)
	}
	if v := pred.Spec.Template.Spec.Volumes[0]; v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != "models" {
		t.Errorf("volume %+v", v)
	}
	if pred.Labels[apihost.LabelAPI] != controller.APIName || pred.Spec.Template.Labels[apihost.LabelAPI] != controller.APIName {
		t.Errorf("labels %v / template %v lack %s", pred.Labels, pred.Spec.Template.Labels, apihost.LabelAPI)
	}
	if _, ok := pred.Spec.Selector.MatchLabels[apihost.LabelAPI]; ok {
		t.Errorf("selector %v holds %s", pred.Spec.Selector.MatchLabels, apihost.LabelAPI)
	}
	if ref := metav1.GetControllerOf(pred); ref == nil || ref.Kind != "InferenceService" || ref.Name != "iris" {
		t.Errorf("owner %+v", ref)
	}
	if args := strings.Join(tr.Spec.Template.Spec.Containers[0].Args, " "); !strings.Contains(args, "--predictor_host iris-predictor."+ns) {
		t.Errorf("transformer args %q lack the predictor host", args)
	}
	hpa := &autoscalingv2.HorizontalPodAutoscaler{}
	get(t, hpa, ns, "iris-predictor")
	if *hpa.Spec.MinReplicas != 1 || hpa.Spec.MaxReplicas != 3 || *hpa.Spec.Metrics[0].Resource.Target.AverageUtilization != 70 {
		t.Errorf("hpa %+v", hpa.Spec)
	}
	svc := &corev1.Service{}
	get(t, svc, ns, "iris-predictor")
	if svc.Spec.Ports[0].Port != 80 || svc.Spec.Ports[0].TargetPort.IntValue() != 8080 {
		t.Errorf("service ports %+v", svc.Spec.Ports)
	}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "iris-transformer"}, &autoscalingv2.HorizontalPodAutoscaler{}); !apierrors.IsNotFound(err) {
		t.Errorf("transformer HPA: %v, want none (min = max = 1)", err)
	}

	markAvailable(t, pred)
	markAvailable(t, tr)
	isvc = waitCondition(t, ns, "iris", servingv1beta1.Ready, "True", "")
	want := "http://iris-transformer." + ns + ".svc.cluster.local"
	if isvc.Status.URL != want || isvc.Status.Address == nil || isvc.Status.Address.URL != want {
		t.Errorf("url %q address %+v, want %s", isvc.Status.URL, isvc.Status.Address, want)
	}
	if isvc.Status.ModelStatus.TransitionStatus != servingv1beta1.UpToDate || isvc.Status.Components["predictor"].URL != "http://iris-predictor."+ns+".svc.cluster.local" {
		t.Errorf("status %+v", isvc.Status)
	}

	// the transformer removed: its children go
	eventually(t, "transformer removed", func(ctx context.Context) (bool, string) {
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "iris"}, isvc); err != nil {
			return false, err.Error()
		}
		isvc.Spec.Transformer = nil
		err := env.Client.Update(ctx, isvc)
		return err == nil, fmt.Sprint(err)
	})
	eventually(t, "the transformer's Deployment and Service deleted", func(ctx context.Context) (bool, string) {
		errD := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "iris-transformer"}, &appsv1.Deployment{})
		errS := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "iris-transformer"}, &corev1.Service{})
		return apierrors.IsNotFound(errD) && apierrors.IsNotFound(errS), fmt.Sprint(errD, errS)
	})
	eventually(t, "the predictor's URL", func(ctx context.Context) (bool, string) {
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "iris"}, isvc); err != nil {
			return false, err.Error()
		}
		return isvc.Status.URL == "http://iris-predictor."+ns+".svc.cluster.local" && condition(isvc, servingv1beta1.Ready).Status == "True",
			fmt.Sprintf("url %q, conditions %+v", isvc.Status.URL, isvc.Status.Conditions)
	})
}

// A format no runtime auto-selects is a condition naming the formats served; a
// namespace ServingRuntime added for it is then chosen.
func TestNoRuntimeThenNamespaceRuntime(t *testing.T) {
	start(t)
	ns := env.Namespace(t)
	createISVC(t, ns, `
metadata: {name: cat}
spec:
  predictor:
    model:
      modelFormat: {name: catboost}
      storageUri: pvc://models/cat
`)
	isvc := waitCondition(t, ns, "cat", servingv1beta1.PredictorReady, "False", string(servingv1beta1.NoSupportingRuntime))
	msg := condition(isvc, servingv1beta1.PredictorReady).Message
	for _, s := range []string{"catboost", "xgboost (" + engine.KfupRuntime + ")", "sklearn:1 (kserve-sklearnserver)"} {
		if !strings.Contains(msg, s) {
			t.Errorf("message %q does not say %q", msg, s)
		}
	}
	if isvc.Status.ModelStatus.LastFailureInfo == nil || isvc.Status.ModelStatus.LastFailureInfo.Reason != servingv1beta1.NoSupportingRuntime {
		t.Errorf("modelStatus %+v", isvc.Status.ModelStatus)
	}
	sr := &servingv1alpha1.ServingRuntime{
		ObjectMeta: metav1.ObjectMeta{Name: "catboost-server", Namespace: ns},
		Spec: servingv1alpha1.ServingRuntimeSpec{
			SupportedModelFormats: []servingv1alpha1.SupportedModelFormat{{Name: "catboost", AutoSelect: ptr.To(true)}},
			ServingRuntimePodSpec: servingv1alpha1.ServingRuntimePodSpec{Containers: []corev1.Container{{Name: "kserve-container", Image: "example/catboost:1", Args: []string{"--model_name={{.Name}}"}}}},
		},
	}
	if err := env.Client.Create(context.Background(), sr); err != nil {
		t.Fatal(err)
	}
	// runtimes are not watched: poke the InferenceService rather than wait 30s
	eventually(t, "annotate", func(ctx context.Context) (bool, string) {
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "cat"}, isvc); err != nil {
			return false, err.Error()
		}
		isvc.Annotations = map[string]string{"poke": "1"}
		err := env.Client.Update(ctx, isvc)
		return err == nil, fmt.Sprint(err)
	})
	d := &appsv1.Deployment{}
	get(t, d, ns, "cat-predictor")
	if c := d.Spec.Template.Spec.Containers[0]; c.Image != "example/catboost:1" || c.Args[0] != "--model_name=cat" {
		t.Errorf("container %+v", c)
	}
	isvc = waitCondition(t, ns, "cat", servingv1beta1.PredictorReady, "Unknown", "MinimumReplicasUnavailable")
	if isvc.Status.ServingRuntimeName != "catboost-server" {
		t.Errorf("servingRuntimeName %q", isvc.Status.ServingRuntimeName)
	}
}

// A Deployment of the predictor's name that is not the InferenceService's is a
// condition naming it, and is left as it was.
func TestSomeoneElsesDeploymentIsNotTakenOver(t *testing.T) {
	start(t)
	ns := env.Namespace(t)
	theirs := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "mine-predictor", Namespace: ns, Labels: map[string]string{"owner": "me"}},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "x"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "x"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "theirs"}}}},
		},
	}
	if err := env.Client.Create(context.Background(), theirs); err != nil {
		t.Fatal(err)
	}
	before := theirs.ResourceVersion
	createISVC(t, ns, `
metadata: {name: mine}
spec:
  predictor:
    containers: [{name: kserve-container, image: example/server:1}]
`)
	isvc := waitCondition(t, ns, "mine", servingv1beta1.Ready, "False", engine.ReasonResourceExists)
	if msg := condition(isvc, servingv1beta1.Ready).Message; !strings.Contains(msg, "Deployment "+ns+"/mine-predictor") {
		t.Errorf("message %q does not name the Deployment", msg)
	}
	got := &appsv1.Deployment{}
	get(t, got, ns, "mine-predictor")
	if got.ResourceVersion != before || len(got.OwnerReferences) != 0 || got.Spec.Template.Spec.Containers[0].Image != "theirs" {
		t.Errorf("someone else's Deployment was changed: %+v", got)
	}
}

// The API server refuses what kfup cannot serve as written, at once.
func TestBadInputRejected(t *testing.T) {
	ns := env.Namespace(t)
	tests := []struct{ name, doc, want string }{
		{"two frameworks", `
metadata: {name: two}
spec: {predictor: {sklearn: {storageUri: pvc://a}, xgboost: {storageUri: pvc://b}}}`, "set at most one of"},
		{"min above max", `
metadata: {name: minmax}
spec: {predictor: {minReplicas: 4, maxReplicas: 2, sklearn: {storageUri: pvc://a}}}`, "minReplicas cannot be greater than maxReplicas"},
		{"name too long for the transformer's service", `
metadata: {name: a-name-that-is-far-too-long-for-the-transformer-service-x}
spec: {predictor: {sklearn: {storageUri: pvc://a}}}`, "at most 51 characters"},
		{"name starting with a digit", `
metadata: {name: 1model}
spec: {predictor: {sklearn: {storageUri: pvc://a}}}`, "must start with a lower-case letter"},
		{"canary over 100", `
metadata: {name: canary}
spec: {predictor: {canaryTrafficPercent: 120, sklearn: {storageUri: pvc://a}}}`, "canaryTrafficPercent"},
		{"unknown scale metric", `
metadata: {name: metric}
spec: {predictor: {scaleMetric: gpu, sklearn: {storageUri: pvc://a}}}`, "scaleMetric"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isvc := &servingv1beta1.InferenceService{}
			if err := yaml.UnmarshalStrict([]byte(tt.doc), isvc); err != nil {
				t.Fatal(err)
			}
			isvc.Namespace = ns
			err := env.Client.Create(context.Background(), isvc)
			if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want Invalid saying %q", err, tt.want)
			}
		})
	}
}

// The controllers run on nothing but the RBAC kfup installs (impersonating the
// manager's service account): the built-in runtimes are installed and an
// InferenceService gets its children and status.
func TestManagerRunsOnItsRBAC(t *testing.T) {
	ctx := context.Background()
	rbac, err := managercomponent.RBAC(managercomponent.DefaultSettings())
	if err != nil {
		t.Fatal(err)
	}
	if err := components.Apply(ctx, env.Client, managercomponent.Name, rbac); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = components.Delete(ctx, env.Client, rbac) })
	cfg := rest.CopyConfig(env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{
		UserName: "system:serviceaccount:" + managercomponent.Namespace + ":" + managercomponent.AppName,
		Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:" + managercomponent.Namespace, "system:authenticated"},
	}
	c := controller.DefaultConfig()
	c.SkipNameValidation, c.Image = true, testImage
	env.StartManagerAs(t, cfg, &controller.API{Config: c})

	ns := env.Namespace(t)
	createISVC(t, ns, `
metadata: {name: rbac}
spec:
  predictor:
    maxReplicas: 2
    xgboost: {storageUri: pvc://models/xgb}
`)
	get(t, &autoscalingv2.HorizontalPodAutoscaler{}, ns, "rbac-predictor")
	get(t, &corev1.Service{}, ns, "rbac-predictor")
	isvc := waitCondition(t, ns, "rbac", servingv1beta1.PredictorReady, "Unknown", "MinimumReplicasUnavailable")
	if isvc.Status.ClusterServingRuntimeName != engine.KfupRuntime {
		t.Errorf("runtime %q", isvc.Status.ClusterServingRuntimeName)
	}
	rt := &servingv1alpha1.ClusterServingRuntime{}
	get(t, rt, "", engine.KfupRuntime)
	if rt.Labels[apihost.LabelAPI] != controller.APIName || rt.Spec.Containers[0].Image != testImage {
		t.Errorf("kfup's runtime %+v", rt)
	}
}

// A predictor pod whose model server exited with an error (the kubelet's part played by
// hand) makes the model FailedToLoad with the server's message.
func TestModelLoadFailureReported(t *testing.T) {
	start(t)
	ns := env.Namespace(t)
	createISVC(t, ns, `
metadata: {name: broken}
spec:
  predictor:
    xgboost: {storageUri: pvc://models/empty}
`)
	d := &appsv1.Deployment{}
	get(t, d, ns, "broken-predictor")
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "broken-predictor-1", Namespace: ns, Labels: d.Spec.Template.Labels},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "kserve-container", Image: testImage}}},
	}
	if err := env.Client.Create(context.Background(), pod); err != nil {
		t.Fatal(err)
	}
	pod.Status.ContainerStatuses = []corev1.ContainerStatus{{
		Name: "kserve-container", Image: testImage, ImageID: "x",
		State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
		LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error", Message: "modelserver: load /mnt/models: no model file"}},
	}}
	if err := env.Client.Status().Update(context.Background(), pod); err != nil {
		t.Fatal(err)
	}
	isvc := waitCondition(t, ns, "broken", servingv1beta1.Ready, "False", string(servingv1beta1.ModelLoadFailed))
	if f := isvc.Status.ModelStatus.LastFailureInfo; f == nil || f.ExitCode != 1 || !strings.Contains(f.Message, "no model file") ||
		isvc.Status.ModelStatus.TransitionStatus != servingv1beta1.BlockedByFailedLoad {
		t.Errorf("model status %+v", isvc.Status.ModelStatus)
	}
}
