package controller_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	knservingv1 "github.com/kfup/kfup/components/knative/api/v1"
	knservingv1beta1 "github.com/kfup/kfup/components/knative/api/v1beta1"
	servingv1beta1 "github.com/kfup/kfup/components/serving/api/v1beta1"
	"github.com/kfup/kfup/components/serving/controller"
	"github.com/kfup/kfup/components/serving/engine"
	"github.com/kfup/kfup/internal/apihost"
)

var knativeCRDs sync.Once

// startKnative runs the serving controllers on a cluster with Knative Serving's Service
// CRD (no Knative controller: the tests write the status Knative would), Serverless the
// default mode.
func startKnative(t *testing.T) {
	t.Helper()
	knativeCRDs.Do(func() {
		env.InstallKnativeCRDs(t, "services.serving.knative.dev", "domainmappings.serving.knative.dev")
	})
	cfg := controller.DefaultConfig()
	cfg.SkipNameValidation = true
	cfg.Image = testImage
	cfg.Knative = true
	cfg.DefaultDeploymentMode = engine.ModeServerless
	env.StartManager(t, &controller.API{Config: cfg})
}

// knativeStatus plays Knative's controller: ksvc's status says revision latest is
// ready and traffic is split as given, for the generation the Service has now.
func knativeStatus(t *testing.T, ns, name, latest string, traffic ...knservingv1.TrafficTarget) {
	t.Helper()
	eventually(t, "Knative's status of "+name, func(ctx context.Context) (bool, string) {
		ks := &knservingv1.Service{}
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, ks); err != nil {
			return false, err.Error()
		}
		ks.Status = knservingv1.ServiceStatus{
			ObservedGeneration: ks.Generation, LatestCreatedRevisionName: latest, LatestReadyRevisionName: latest,
			URL: fmt.Sprintf("http://%s.%s.kfup.localhost", name, ns), Address: &knservingv1.Addressable{URL: fmt.Sprintf("http://%s.%s.svc.cluster.local", name, ns)},
			Traffic: traffic,
			Conditions: []knservingv1.Condition{
				{Type: knservingv1.ConditionReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Now()},
				{Type: knservingv1.ConditionConfigurationsReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Now()},
				{Type: knservingv1.ConditionRoutesReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Now()},
			},
		}
		err := env.Client.Status().Update(ctx, ks)
		return err == nil, fmt.Sprint(err)
	})
}

// waitTraffic waits until the Knative Service ns/name asks for traffic want.
func waitTraffic(t *testing.T, ns, name, what string, want []knservingv1.TrafficTarget) *knservingv1.Service {
	t.Helper()
	ks := &knservingv1.Service{}
	eventually(t, what, func(ctx context.Context) (bool, string) {
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, ks); err != nil {
			return false, err.Error()
		}
		d := cmp.Diff(want, ks.Spec.Traffic)
		return d == "", "traffic (-want +got):\n" + d
	})
	return ks
}

func target(rev, tag string, latest bool, pct int64) knservingv1.TrafficTarget {
	return knservingv1.TrafficTarget{RevisionName: rev, Tag: tag, LatestRevision: ptr.To(latest), Percent: ptr.To(pct)}
}

// A Serverless InferenceService is a Knative Service per component, owned and labelled,
// its pod Knative-shaped; its status follows Knative's; a canary splits traffic with
// the rolled-out revision, is promoted, and rolled back, as in KServe's canary rollout.
func TestServerlessCanaryRollout(t *testing.T) {
	startKnative(t)
	ns := env.Namespace(t)
	createISVC(t, ns, `
metadata: {name: iris}
spec:
  predictor:
    minReplicas: 0
    maxReplicas: 2
    containerConcurrency: 8
    model:
      modelFormat: {name: xgboost}
      protocolVersion: v2
      storageUri: pvc://models/xgb/v1
`)
	ks := waitTraffic(t, ns, "iris-predictor", "the first Knative Service", []knservingv1.TrafficTarget{{LatestRevision: ptr.To(true), Percent: ptr.To[int64](100)}})
	if ref := metav1.GetControllerOf(ks); ref == nil || ref.Kind != "InferenceService" || ref.Name != "iris" {
		t.Errorf("owner %+v", ref)
	}
	if ks.Labels[apihost.LabelAPI] != controller.APIName || ks.Spec.Template.Labels[apihost.LabelAPI] != controller.APIName {
		t.Errorf("labels %v / template %v lack %s", ks.Labels, ks.Spec.Template.Labels, apihost.LabelAPI)
	}
	tmpl := ks.Spec.Template
	if tmpl.Annotations[knservingv1.MinScaleAnnotation] != "0" || tmpl.Annotations[knservingv1.MaxScaleAnnotation] != "2" || ptr.Deref(tmpl.Spec.ContainerConcurrency, 0) != 8 {
		t.Errorf("template annotations %v, containerConcurrency %v", tmpl.Annotations, tmpl.Spec.ContainerConcurrency)
	}
	if c := tmpl.Spec.Containers[0]; c.Image != testImage || len(c.Ports) != 1 || c.Ports[0].Name != "http1" || c.Ports[0].ContainerPort != 8080 {
		t.Errorf("container %s ports %+v", c.Image, c.Ports)
	}
	// Serverless mode makes no Deployment, Service or Ingress of its own
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "iris-predictor"}, &appsv1.Deployment{}); !apierrors.IsNotFound(err) {
		t.Errorf("a Deployment iris-predictor: %v", err)
	}
	waitCondition(t, ns, "iris", servingv1beta1.PredictorReady, "Unknown", engine.ReasonKnativeServiceNotCreated)

	knativeStatus(t, ns, "iris-predictor", "iris-predictor-00001", target("iris-predictor-00001", "", true, 100))
	// the InferenceService's own host: a DomainMapping to the predictor, which Knative
	// has not reported on yet
	domain := "iris." + ns + ".kfup.localhost"
	dm := &knservingv1beta1.DomainMapping{}
	get(t, dm, ns, domain)
	if dm.Spec.Ref.Name != "iris-predictor" || dm.Spec.Ref.Kind != "Service" || metav1.GetControllerOf(dm) == nil {
		t.Errorf("DomainMapping %+v owner %+v", dm.Spec.Ref, metav1.GetControllerOf(dm))
	}
	waitCondition(t, ns, "iris", servingv1beta1.IngressReady, "Unknown", engine.ReasonKnativeServiceNotCreated)
	eventually(t, "Knative's status of the DomainMapping", func(ctx context.Context) (bool, string) {
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: domain}, dm); err != nil {
			return false, err.Error()
		}
		dm.Status = knservingv1beta1.DomainMappingStatus{ObservedGeneration: dm.Generation, URL: "http://" + domain,
			Conditions: []knservingv1.Condition{{Type: knservingv1.ConditionReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Now()}}}
		err := env.Client.Status().Update(ctx, dm)
		return err == nil, fmt.Sprint(err)
	})
	isvc := waitCondition(t, ns, "iris", servingv1beta1.Ready, "True", "")
	if isvc.Status.URL != "http://"+domain || isvc.Status.DeploymentMode != engine.ModeServerless {
		t.Errorf("url %q mode %q", isvc.Status.URL, isvc.Status.DeploymentMode)
	}
	if pc := isvc.Status.Components[servingv1beta1.PredictorComponent]; pc.URL != "http://iris-predictor."+ns+".kfup.localhost" {
		t.Errorf("predictor url %q", pc.URL)
	}
	if pc := isvc.Status.Components[servingv1beta1.PredictorComponent]; pc.LatestRolledoutRevision != "iris-predictor-00001" || pc.LatestReadyRevision != "iris-predictor-00001" {
		t.Errorf("predictor status %+v", pc)
	}

	// a new model at 10 %: the rolled-out revision keeps 90 % (tagged prev)
	update(t, ns, "iris", func(i *servingv1beta1.InferenceService) {
		i.Spec.Predictor.CanaryTrafficPercent = ptr.To[int64](10)
		i.Spec.Predictor.Model.StorageURI = ptr.To("pvc://models/xgb/v2")
	})
	waitTraffic(t, ns, "iris-predictor", "the canary split", []knservingv1.TrafficTarget{
		{LatestRevision: ptr.To(true), Percent: ptr.To[int64](10)},
		target("iris-predictor-00001", "prev", false, 90),
	})
	knativeStatus(t, ns, "iris-predictor", "iris-predictor-00002", target("iris-predictor-00002", "", true, 10), target("iris-predictor-00001", "prev", false, 90))
	eventually(t, "the canary in the status", func(ctx context.Context) (bool, string) {
		isvc := &servingv1beta1.InferenceService{}
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "iris"}, isvc); err != nil {
			return false, err.Error()
		}
		pc := isvc.Status.Components[servingv1beta1.PredictorComponent]
		return pc.LatestReadyRevision == "iris-predictor-00002" && pc.LatestRolledoutRevision == "iris-predictor-00001" && len(pc.Traffic) == 2,
			fmt.Sprintf("predictor status %+v", pc)
	})
	// the split stays while the canary runs
	waitTraffic(t, ns, "iris-predictor", "the canary split kept", []knservingv1.TrafficTarget{
		{LatestRevision: ptr.To(true), Percent: ptr.To[int64](10)},
		target("iris-predictor-00001", "prev", false, 90),
	})

	// promotion: all to the latest; the canary becomes the rolled-out revision
	update(t, ns, "iris", func(i *servingv1beta1.InferenceService) { i.Spec.Predictor.CanaryTrafficPercent = nil })
	waitTraffic(t, ns, "iris-predictor", "promoted", []knservingv1.TrafficTarget{{LatestRevision: ptr.To(true), Percent: ptr.To[int64](100)}})
	knativeStatus(t, ns, "iris-predictor", "iris-predictor-00002", target("iris-predictor-00002", "", true, 100))
	eventually(t, "the promotion in the status", func(ctx context.Context) (bool, string) {
		isvc := &servingv1beta1.InferenceService{}
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "iris"}, isvc); err != nil {
			return false, err.Error()
		}
		pc := isvc.Status.Components[servingv1beta1.PredictorComponent]
		return pc.LatestRolledoutRevision == "iris-predictor-00002" && pc.PreviousRolledoutRevision == "iris-predictor-00001",
			fmt.Sprintf("predictor status %+v", pc)
	})

	// rollback: canaryTrafficPercent 0 sends everything back to the revision before
	update(t, ns, "iris", func(i *servingv1beta1.InferenceService) { i.Spec.Predictor.CanaryTrafficPercent = ptr.To[int64](0) })
	waitTraffic(t, ns, "iris-predictor", "rolled back", []knservingv1.TrafficTarget{
		{LatestRevision: ptr.To(true), Percent: ptr.To[int64](0)},
		target("iris-predictor-00001", "prev", false, 100),
	})
}

// Switching an InferenceService between the modes replaces its children: Standard mode's
// Deployment for Serverless mode's Knative Service and back.
func TestDeploymentModeSwitch(t *testing.T) {
	startKnative(t)
	ns := env.Namespace(t)
	createISVC(t, ns, `
metadata:
  name: sw
  annotations: {serving.kserve.io/deploymentMode: RawDeployment}
spec:
  predictor:
    model:
      modelFormat: {name: xgboost}
      storageUri: pvc://models/xgb
`)
	get(t, &appsv1.Deployment{}, ns, "sw-predictor")
	update(t, ns, "sw", func(i *servingv1beta1.InferenceService) {
		i.Annotations[controller.DeploymentModeAnnotation] = "Knative"
	})
	get(t, &knservingv1.Service{}, ns, "sw-predictor")
	gone(t, &appsv1.Deployment{}, ns, "sw-predictor")
	gone(t, &corev1.Service{}, ns, "sw-predictor")
	get(t, &knservingv1beta1.DomainMapping{}, ns, "sw."+ns+".kfup.localhost")
	update(t, ns, "sw", func(i *servingv1beta1.InferenceService) {
		i.Annotations[controller.DeploymentModeAnnotation] = "Standard"
	})
	get(t, &appsv1.Deployment{}, ns, "sw-predictor")
	gone(t, &knservingv1.Service{}, ns, "sw-predictor")
	gone(t, &knservingv1beta1.DomainMapping{}, ns, "sw."+ns+".kfup.localhost")
}

// Without Knative, a Serverless InferenceService says how to get Knative; an unknown
// mode names the ones served.
func TestServerlessWithoutKnative(t *testing.T) {
	start(t)
	ns := env.Namespace(t)
	createISVC(t, ns, `
metadata:
  name: nok
  annotations: {serving.kserve.io/deploymentMode: Serverless}
spec:
  predictor:
    model:
      modelFormat: {name: xgboost}
      storageUri: pvc://models/xgb
`)
	isvc := waitCondition(t, ns, "nok", servingv1beta1.Ready, "False", engine.ReasonDeploymentModeNotServed)
	if msg := condition(isvc, servingv1beta1.Ready).Message; !strings.Contains(msg, "components.knative.enabled=true") {
		t.Errorf("message %q does not say how to get Knative", msg)
	}
	createISVC(t, ns, `
metadata:
  name: odd
  annotations: {serving.kserve.io/deploymentMode: ModelMesh}
spec:
  predictor:
    model:
      modelFormat: {name: xgboost}
      storageUri: pvc://models/xgb
`)
	isvc = waitCondition(t, ns, "odd", servingv1beta1.Ready, "False", engine.ReasonDeploymentModeNotServed)
	if msg := condition(isvc, servingv1beta1.Ready).Message; !strings.Contains(msg, `"ModelMesh" is not one kfup serves`) {
		t.Errorf("message %q", msg)
	}
}

// update changes the InferenceService ns/name by edit, retrying on conflicts.
func update(t *testing.T, ns, name string, edit func(*servingv1beta1.InferenceService)) {
	t.Helper()
	eventually(t, "update "+name, func(ctx context.Context) (bool, string) {
		isvc := &servingv1beta1.InferenceService{}
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, isvc); err != nil {
			return false, err.Error()
		}
		if isvc.Annotations == nil {
			isvc.Annotations = map[string]string{}
		}
		edit(isvc)
		err := env.Client.Update(ctx, isvc)
		return err == nil, fmt.Sprint(err)
	})
}

// gone waits until ns/name of obj's kind is deleted (envtest runs no garbage collector:
// only what the controller deletes itself goes).
func gone(t *testing.T, obj client.Object, ns, name string) {
	t.Helper()
	eventually(t, fmt.Sprintf("%T %s/%s deleted", obj, ns, name), func(ctx context.Context) (bool, string) {
		err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, obj)
		return apierrors.IsNotFound(err), fmt.Sprint(err)
	})
}
