package engine

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	knservingv1 "github.com/kfup/kfup/components/knative/api/v1"
	servingv1beta1 "github.com/kfup/kfup/components/serving/api/v1beta1"
)

// An xgboost model on a PVC in Serverless mode is one Knative Service: kfup's model
// server with one port as Knative requires, the claim mounted, KServe's autoscaling
// annotations, all traffic to the latest revision.
func TestDesiredKnativeKfupRuntime(t *testing.T) {
	in := isvc(servingv1beta1.PredictorSpec{
		XGBoost: &servingv1beta1.PredictorExtensionSpec{StorageURI: ptr.To("pvc://models/xgb")},
		ComponentExtensionSpec: servingv1beta1.ComponentExtensionSpec{
			MinReplicas: ptr.To[int32](0), MaxReplicas: 3, ContainerConcurrency: ptr.To[int64](4), TimeoutSeconds: ptr.To[int64](60),
			Labels: map[string]string{"serving.knative.dev/route": "x", "tier": "ml"},
		},
	})
	got, err := DesiredKnative(in, builtin(t, KfupRuntime), StorageInit{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Component != servingv1beta1.PredictorComponent {
		t.Fatalf("children %+v, want the predictor's", got)
	}
	ks := got[0].Service
	if ks.Name != "iris-predictor" || ks.Namespace != "ns" || ks.Kind != "Service" || ks.APIVersion != "serving.knative.dev/v1" {
		t.Errorf("Knative Service %s %s/%s %s", ks.APIVersion, ks.Namespace, ks.Name, ks.Kind)
	}
	if ks.Labels[LabelInferenceService] != "iris" || ks.Labels[LabelComponent] != "predictor" {
		t.Errorf("labels %v", ks.Labels)
	}
	tmpl := ks.Spec.Template
	wantAnn := map[string]string{
		knservingv1.MinScaleAnnotation: "0", knservingv1.MaxScaleAnnotation: "3", knservingv1.ClassAnnotation: knservingv1.ClassKPA,
		"prometheus.kserve.io/path": "/metrics", "prometheus.kserve.io/port": "8080", // the runtime's
	}
	if diff := cmp.Diff(wantAnn, tmpl.Annotations); diff != "" {
		t.Errorf("template annotations (-want +got):\n%s", diff)
	}
	if _, ok := tmpl.Labels["serving.knative.dev/route"]; ok || tmpl.Labels["tier"] != "ml" || tmpl.Labels["team"] != "a" || tmpl.Labels[LabelApp] != "isvc.iris-predictor" {
		t.Errorf("template labels %v: want the component's and the InferenceService's, none of Knative's", tmpl.Labels)
	}
	if ptr.Deref(tmpl.Spec.ContainerConcurrency, 0) != 4 || ptr.Deref(tmpl.Spec.TimeoutSeconds, 0) != 60 {
		t.Errorf("containerConcurrency %v timeoutSeconds %v", tmpl.Spec.ContainerConcurrency, tmpl.Spec.TimeoutSeconds)
	}
	c := tmpl.Spec.Containers[0]
	if c.Name != ContainerName || c.Image != "kfup:dev" {
		t.Errorf("container %s %s", c.Name, c.Image)
	}
	if diff := cmp.Diff([]corev1.ContainerPort{{Name: "http1", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}}, c.Ports); diff != "" {
		t.Errorf("ports (-want +got):\n%s", diff)
	}
	if len(tmpl.Spec.Volumes) != 1 || tmpl.Spec.Volumes[0].PersistentVolumeClaim == nil || tmpl.Spec.Volumes[0].PersistentVolumeClaim.ClaimName != "models" {
		t.Errorf("volumes %+v, want the claim models", tmpl.Spec.Volumes)
	}
	if diff := cmp.Diff([]knservingv1.TrafficTarget{{LatestRevision: ptr.To(true), Percent: ptr.To[int64](100)}}, ks.Spec.Traffic); diff != "" {
		t.Errorf("traffic (-want +got):\n%s", diff)
	}
}

// A gRPC model keeps the gRPC port, named h2c; probes lose the port number Knative sets
// itself; a cluster-local InferenceService's Knative Service is cluster-local; a
// transformer is its own Knative Service, told the predictor's host.
func TestDesiredKnativeShapes(t *testing.T) {
	in := isvc(servingv1beta1.PredictorSpec{Model: &servingv1beta1.ModelSpec{
		ModelFormat: servingv1beta1.ModelFormat{Name: "xgboost"},
		PredictorExtensionSpec: servingv1beta1.PredictorExtensionSpec{
			StorageURI: ptr.To("pvc://models/xgb"), ProtocolVersion: ptr.To(servingv1beta1.ProtocolGRPCV2),
			Container: servingv1beta1.Container{ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{
				HTTPGet: &corev1.HTTPGetAction{Path: "/v2/health/ready", Port: intstr.FromInt32(8081)}}}},
		},
	}})
	in.Labels[VisibilityLabel] = VisibilityClusterLocal
	in.Spec.Transformer = &servingv1beta1.TransformerSpec{PodSpec: servingv1beta1.PodSpec{Containers: []corev1.Container{{Name: "t", Image: "tr:1"}}}}
	got, err := DesiredKnative(in, builtin(t, KfupRuntime), StorageInit{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[1].Component != servingv1beta1.TransformerComponent || got[1].Service.Name != "iris-transformer" {
		t.Fatalf("children %+v, want the predictor's and the transformer's", got)
	}
	c := got[0].Service.Spec.Template.Spec.Containers[0]
	if diff := cmp.Diff([]corev1.ContainerPort{{Name: "h2c", ContainerPort: 8081, Protocol: corev1.ProtocolTCP}}, c.Ports); diff != "" {
		t.Errorf("ports (-want +got):\n%s", diff)
	}
	if p := c.ReadinessProbe; p == nil || p.HTTPGet.Port != (intstr.IntOrString{}) || p.HTTPGet.Path != "/v2/health/ready" {
		t.Errorf("readiness probe %+v, want its path without a port", p)
	}
	for _, ch := range got {
		if ch.Service.Labels[knservingv1.VisibilityLabel] != knservingv1.VisibilityClusterLocal {
			t.Errorf("%s labels %v, want cluster-local", ch.Service.Name, ch.Service.Labels)
		}
	}
	tc := got[1].Service.Spec.Template.Spec.Containers[0]
	if !strings.Contains(strings.Join(tc.Args, " "), "--predictor_host iris-predictor.ns") {
		t.Errorf("transformer args %v", tc.Args)
	}
	if diff := cmp.Diff([]corev1.ContainerPort{{Name: "http1", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}}, tc.Ports); diff != "" {
		t.Errorf("transformer ports (-want +got):\n%s", diff)
	}
}

func TestAutoscalingAnnotations(t *testing.T) {
	metric := func(m servingv1beta1.ScaleMetric) *servingv1beta1.ScaleMetric { return &m }
	for _, tc := range []struct {
		name    string
		ext     servingv1beta1.ComponentExtensionSpec
		pod     map[string]string
		want    map[string]string
		wantErr string
	}{
		{name: "defaults: one pod at least, KPA on concurrency",
			want: map[string]string{knservingv1.MinScaleAnnotation: "1", knservingv1.ClassAnnotation: knservingv1.ClassKPA}},
		{name: "rps with a target",
			ext:  servingv1beta1.ComponentExtensionSpec{ScaleMetric: metric(servingv1beta1.MetricRPS), ScaleTarget: ptr.To[int32](50), MaxReplicas: 5},
			want: map[string]string{knservingv1.MinScaleAnnotation: "1", knservingv1.MaxScaleAnnotation: "5", knservingv1.ClassAnnotation: knservingv1.ClassKPA, knservingv1.MetricAnnotation: "rps", knservingv1.TargetAnnotation: "50"}},
		{name: "cpu takes Knative's HPA",
			ext:  servingv1beta1.ComponentExtensionSpec{ScaleMetric: metric(servingv1beta1.MetricCPU), ScaleTarget: ptr.To[int32](70)},
			want: map[string]string{knservingv1.MinScaleAnnotation: "1", knservingv1.ClassAnnotation: knservingv1.ClassHPA, knservingv1.MetricAnnotation: "cpu", knservingv1.TargetAnnotation: "70"}},
		{name: "a class the user names stays",
			ext:  servingv1beta1.ComponentExtensionSpec{MinReplicas: ptr.To[int32](2)},
			pod:  map[string]string{knservingv1.ClassAnnotation: knservingv1.ClassHPA, "x": "y"},
			want: map[string]string{knservingv1.MinScaleAnnotation: "2", knservingv1.ClassAnnotation: knservingv1.ClassHPA, "x": "y"}},
		{name: "memory on KPA is refused",
			ext:     servingv1beta1.ComponentExtensionSpec{ScaleMetric: metric(servingv1beta1.MetricMemory)},
			pod:     map[string]string{knservingv1.ClassAnnotation: knservingv1.ClassKPA},
			wantErr: "predictor.scaleMetric memory needs Knative's HPA autoscaler"},
		{name: "concurrency on HPA is refused",
			ext:     servingv1beta1.ComponentExtensionSpec{ScaleMetric: metric(servingv1beta1.MetricConcurrency)},
			pod:     map[string]string{knservingv1.ClassAnnotation: knservingv1.ClassHPA},
			wantErr: "predictor.scaleMetric concurrency needs Knative's KPA autoscaler"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := autoscalingAnnotations(servingv1beta1.PredictorComponent, &tc.ext, tc.pod)
			if tc.wantErr != "" {
				var se *SpecError
				if !errors.As(err, &se) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want a SpecError with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func latest(p int64) knservingv1.TrafficTarget {
	return knservingv1.TrafficTarget{LatestRevision: ptr.To(true), Percent: ptr.To(p)}
}

func prev(rev string, p int64) knservingv1.TrafficTarget {
	return knservingv1.TrafficTarget{Tag: "prev", RevisionName: rev, LatestRevision: ptr.To(false), Percent: ptr.To(p)}
}

func TestKnativeTraffic(t *testing.T) {
	rolledOut := servingv1beta1.ComponentStatusSpec{LatestReadyRevision: "m-00001", LatestRolledoutRevision: "m-00001"}
	canaryReady := servingv1beta1.ComponentStatusSpec{LatestReadyRevision: "m-00002", LatestRolledoutRevision: "m-00001"}
	promoted := servingv1beta1.ComponentStatusSpec{LatestReadyRevision: "m-00002", LatestRolledoutRevision: "m-00002", PreviousRolledoutRevision: "m-00001"}
	for _, tc := range []struct {
		name        string
		canary      *int64
		st          servingv1beta1.ComponentStatusSpec
		newRevision bool
		tagLatest   bool
		want        []knservingv1.TrafficTarget
	}{
		{name: "no canary: all to the latest", st: canaryReady, want: []knservingv1.TrafficTarget{latest(100)}},
		{name: "first rollout: nothing rolled out before", canary: ptr.To[int64](10), newRevision: true, want: []knservingv1.TrafficTarget{latest(100)}},
		{name: "a canary on its way keeps the rolled-out revision", canary: ptr.To[int64](20), st: rolledOut, newRevision: true,
			want: []knservingv1.TrafficTarget{latest(20), prev("m-00001", 80)}},
		{name: "canary 10 against the rolled-out revision", canary: ptr.To[int64](10), st: canaryReady,
			want: []knservingv1.TrafficTarget{latest(10), prev("m-00001", 90)}},
		{name: "canary 100 promotes", canary: ptr.To[int64](100), st: canaryReady, want: []knservingv1.TrafficTarget{latest(100)}},
		{name: "rollback after a promotion: prev is the one before", canary: ptr.To[int64](0), st: promoted,
			want: []knservingv1.TrafficTarget{latest(0), prev("m-00001", 100)}},
		{name: "a new canary after a promotion: prev is the promoted one", canary: ptr.To[int64](10), st: promoted, newRevision: true,
			want: []knservingv1.TrafficTarget{latest(10), prev("m-00002", 90)}},
		{name: "tag routing tags the latest", canary: ptr.To[int64](10), st: canaryReady, tagLatest: true,
			want: []knservingv1.TrafficTarget{{Tag: "latest", LatestRevision: ptr.To(true), Percent: ptr.To[int64](10)}, prev("m-00001", 90)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, knativeTraffic(tc.canary, tc.st, tc.newRevision, tc.tagLatest)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// The template hash on the Knative Service tells a change that makes a new revision from
// a traffic-only change: a rollback.
func TestDesiredKnativeNewRevision(t *testing.T) {
	in := isvc(servingv1beta1.PredictorSpec{XGBoost: &servingv1beta1.PredictorExtensionSpec{StorageURI: ptr.To("pvc://models/xgb")}})
	in.Spec.Predictor.CanaryTrafficPercent = ptr.To[int64](0)
	in.Status.Components = map[servingv1beta1.ComponentType]servingv1beta1.ComponentStatusSpec{
		servingv1beta1.PredictorComponent: {LatestReadyRevision: "m-00002", LatestRolledoutRevision: "m-00002", PreviousRolledoutRevision: "m-00001"},
	}
	first, err := DesiredKnative(in, builtin(t, KfupRuntime), StorageInit{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	current := first[0].Service.DeepCopy()
	current.Status = knservingv1.ServiceStatus{LatestCreatedRevisionName: "m-00002", LatestReadyRevisionName: "m-00002"}
	got, err := DesiredKnative(in, builtin(t, KfupRuntime), StorageInit{}, map[servingv1beta1.ComponentType]*knservingv1.Service{servingv1beta1.PredictorComponent: current})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]knservingv1.TrafficTarget{latest(0), prev("m-00001", 100)}, got[0].Service.Spec.Traffic); diff != "" {
		t.Errorf("rollback, template unchanged (-want +got):\n%s", diff)
	}
	in.Spec.Predictor.XGBoost.StorageURI = ptr.To("pvc://models/xgb-2")
	got, err = DesiredKnative(in, builtin(t, KfupRuntime), StorageInit{}, map[servingv1beta1.ComponentType]*knservingv1.Service{servingv1beta1.PredictorComponent: current})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]knservingv1.TrafficTarget{latest(0), prev("m-00002", 100)}, got[0].Service.Spec.Traffic); diff != "" {
		t.Errorf("a new model at 0 %% (-want +got):\n%s", diff)
	}
}

// knativeComponentStatus follows a canary rollout as KServe does: the revision rolled out
// to all traffic, its predecessor, and the URL once ready.
func TestKnativeComponentStatusRollout(t *testing.T) {
	ready := []knservingv1.Condition{{Type: knservingv1.ConditionReady, Status: corev1.ConditionTrue}, {Type: knservingv1.ConditionRoutesReady, Status: corev1.ConditionTrue}}
	steps := []struct {
		name string
		gen  int64 // the Knative Service's generation (0: the status's own)
		ks   knservingv1.ServiceStatus
		want servingv1beta1.ComponentStatusSpec
	}{
		{name: "starting: no URL yet",
			ks:   knservingv1.ServiceStatus{LatestCreatedRevisionName: "m-00001", URL: "http://m.ns.example"},
			want: servingv1beta1.ComponentStatusSpec{LatestCreatedRevision: "m-00001"}},
		{name: "first revision ready with all traffic",
			ks: knservingv1.ServiceStatus{Conditions: ready, LatestCreatedRevisionName: "m-00001", LatestReadyRevisionName: "m-00001", URL: "http://m.ns.example",
				Address: &knservingv1.Addressable{URL: "http://m.ns.svc.cluster.local"}, Traffic: []knservingv1.TrafficTarget{{RevisionName: "m-00001", LatestRevision: ptr.To(true), Percent: ptr.To[int64](100)}}},
			want: servingv1beta1.ComponentStatusSpec{LatestCreatedRevision: "m-00001", LatestReadyRevision: "m-00001", LatestRolledoutRevision: "m-00001",
				URL: "http://m.ns.example", Address: &servingv1beta1.Addressable{URL: "http://m.ns.svc.cluster.local"},
				Traffic: []servingv1beta1.TrafficTarget{{RevisionName: "m-00001", LatestRevision: ptr.To(true), Percent: ptr.To[int64](100)}}}},
		{name: "a canary's spec not yet routed: its revision ready beside the old spec's traffic is not rolled out",
			gen: 2,
			ks: knservingv1.ServiceStatus{ObservedGeneration: 2, LatestCreatedRevisionName: "m-00002", LatestReadyRevisionName: "m-00002", URL: "http://m.ns.example",
				Conditions: []knservingv1.Condition{{Type: knservingv1.ConditionReady, Status: corev1.ConditionTrue}, {Type: knservingv1.ConditionRoutesReady, Status: corev1.ConditionUnknown}},
				Traffic:    []knservingv1.TrafficTarget{{RevisionName: "m-00002", LatestRevision: ptr.To(true), Percent: ptr.To[int64](100)}}},
			want: servingv1beta1.ComponentStatusSpec{LatestCreatedRevision: "m-00002", LatestReadyRevision: "m-00002", LatestRolledoutRevision: "m-00001",
				URL: "http://m.ns.example", Address: &servingv1beta1.Addressable{URL: "http://m.ns.svc.cluster.local"},
				Traffic: []servingv1beta1.TrafficTarget{{RevisionName: "m-00002", LatestRevision: ptr.To(true), Percent: ptr.To[int64](100)}}}},
		{name: "nor from a status of the generation before",
			gen: 3,
			ks: knservingv1.ServiceStatus{ObservedGeneration: 2, Conditions: ready, LatestCreatedRevisionName: "m-00002", LatestReadyRevisionName: "m-00002", URL: "http://m.ns.example",
				Traffic: []knservingv1.TrafficTarget{{RevisionName: "m-00002", LatestRevision: ptr.To(true), Percent: ptr.To[int64](100)}}},
			want: servingv1beta1.ComponentStatusSpec{LatestCreatedRevision: "m-00002", LatestReadyRevision: "m-00002", LatestRolledoutRevision: "m-00001",
				URL: "http://m.ns.example", Address: &servingv1beta1.Addressable{URL: "http://m.ns.svc.cluster.local"},
				Traffic: []servingv1beta1.TrafficTarget{{RevisionName: "m-00002", LatestRevision: ptr.To(true), Percent: ptr.To[int64](100)}}}},
		{name: "canary at 10: the rolled-out revision stays",
			ks: knservingv1.ServiceStatus{Conditions: ready, LatestCreatedRevisionName: "m-00002", LatestReadyRevisionName: "m-00002", URL: "http://m.ns.example",
				Traffic: []knservingv1.TrafficTarget{{RevisionName: "m-00002", LatestRevision: ptr.To(true), Percent: ptr.To[int64](10)}, {Tag: "prev", RevisionName: "m-00001", LatestRevision: ptr.To(false), Percent: ptr.To[int64](90)}}},
			want: servingv1beta1.ComponentStatusSpec{LatestCreatedRevision: "m-00002", LatestReadyRevision: "m-00002", LatestRolledoutRevision: "m-00001",
				URL: "http://m.ns.example", Address: &servingv1beta1.Addressable{URL: "http://m.ns.svc.cluster.local"},
				Traffic: []servingv1beta1.TrafficTarget{{RevisionName: "m-00002", LatestRevision: ptr.To(true), Percent: ptr.To[int64](10)}, {Tag: "prev", RevisionName: "m-00001", LatestRevision: ptr.To(false), Percent: ptr.To[int64](90)}}}},
		{name: "promoted: the canary is rolled out, the first kept as previous",
			ks: knservingv1.ServiceStatus{Conditions: ready, LatestCreatedRevisionName: "m-00002", LatestReadyRevisionName: "m-00002", URL: "http://m.ns.example",
				Traffic: []knservingv1.TrafficTarget{{RevisionName: "m-00002", LatestRevision: ptr.To(true), Percent: ptr.To[int64](100)}}},
			want: servingv1beta1.ComponentStatusSpec{LatestCreatedRevision: "m-00002", LatestReadyRevision: "m-00002", LatestRolledoutRevision: "m-00002", PreviousRolledoutRevision: "m-00001",
				URL: "http://m.ns.example", Address: &servingv1beta1.Addressable{URL: "http://m.ns.svc.cluster.local"},
				Traffic: []servingv1beta1.TrafficTarget{{RevisionName: "m-00002", LatestRevision: ptr.To(true), Percent: ptr.To[int64](100)}}}},
	}
	var st servingv1beta1.ComponentStatusSpec
	for _, s := range steps {
		st = knativeComponentStatus(st, &s.ks, s.gen)
		if diff := cmp.Diff(s.want, st); diff != "" {
			t.Fatalf("%s (-want +got):\n%s", s.name, diff)
		}
	}
}

// A Serverless InferenceService's status is its Knative Services': their Ready for the
// components, their routes for IngressReady, the top component's URL.
func TestStatusServerless(t *testing.T) {
	in := isvc(servingv1beta1.PredictorSpec{XGBoost: &servingv1beta1.PredictorExtensionSpec{StorageURI: ptr.To("pvc://models/xgb")}})
	children, err := DesiredKnative(in, builtin(t, KfupRuntime), StorageInit{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := metav1.Now()
	ks := children[0].Service.DeepCopy()
	ks.Generation = 1
	o := Observed{Serverless: true, Knative: children, KnativeServices: map[servingv1beta1.ComponentType]*knservingv1.Service{}}
	get := func(st servingv1beta1.InferenceServiceStatus, ct servingv1beta1.ConditionType) servingv1beta1.Condition {
		for _, c := range st.Conditions {
			if c.Type == ct {
				return c
			}
		}
		return servingv1beta1.Condition{}
	}

	st := Status(in, o, now)
	if c := get(st, servingv1beta1.PredictorReady); c.Status != corev1.ConditionUnknown || c.Reason != ReasonKnativeServiceNotCreated {
		t.Errorf("without the Knative Service: PredictorReady %+v", c)
	}
	if st.DeploymentMode != ModeServerless {
		t.Errorf("deploymentMode %q", st.DeploymentMode)
	}

	o.KnativeServices[servingv1beta1.PredictorComponent] = ks
	ks.Status = knservingv1.ServiceStatus{ObservedGeneration: 1, LatestCreatedRevisionName: "iris-predictor-00001", Conditions: []knservingv1.Condition{
		{Type: knservingv1.ConditionReady, Status: corev1.ConditionFalse, Reason: "RevisionFailed", Message: "Revision \"iris-predictor-00001\" failed with message: container failed."},
		{Type: knservingv1.ConditionRoutesReady, Status: corev1.ConditionUnknown, Reason: "RevisionMissing"},
	}}
	st = Status(in, o, now)
	if c := get(st, servingv1beta1.PredictorReady); c.Status != corev1.ConditionFalse || c.Reason != "RevisionFailed" || !strings.Contains(c.Message, "iris-predictor-00001") {
		t.Errorf("failed revision: PredictorReady %+v", c)
	}
	if c := get(st, servingv1beta1.IngressReady); c.Status != corev1.ConditionUnknown || c.Reason != "RevisionMissing" {
		t.Errorf("failed revision: IngressReady %+v", c)
	}
	if c := get(st, servingv1beta1.Ready); c.Status != corev1.ConditionFalse {
		t.Errorf("failed revision: Ready %+v", c)
	}

	ks.Generation = 2 // a change Knative has not seen yet
	st = Status(in, o, now)
	if c := get(st, servingv1beta1.PredictorReady); c.Status != corev1.ConditionUnknown {
		t.Errorf("generation ahead of Knative's: PredictorReady %+v, want Unknown", c)
	}

	ks.Status = knservingv1.ServiceStatus{ObservedGeneration: 2, LatestCreatedRevisionName: "iris-predictor-00002", LatestReadyRevisionName: "iris-predictor-00002",
		URL: "http://iris-predictor.ns.kfup.localhost", Address: &knservingv1.Addressable{URL: "http://iris-predictor.ns.svc.cluster.local"},
		Traffic:    []knservingv1.TrafficTarget{{RevisionName: "iris-predictor-00002", LatestRevision: ptr.To(true), Percent: ptr.To[int64](100)}},
		Conditions: []knservingv1.Condition{{Type: knservingv1.ConditionReady, Status: corev1.ConditionTrue}, {Type: knservingv1.ConditionRoutesReady, Status: corev1.ConditionTrue}}}
	st = Status(in, o, now)
	for _, ct := range []servingv1beta1.ConditionType{servingv1beta1.PredictorReady, servingv1beta1.IngressReady, servingv1beta1.Ready} {
		if c := get(st, ct); c.Status != corev1.ConditionTrue {
			t.Errorf("ready: %s %+v", ct, c)
		}
	}
	if st.URL != "http://iris-predictor.ns.kfup.localhost" || st.Address == nil || st.Address.URL != "http://iris-predictor.ns.svc.cluster.local" {
		t.Errorf("url %q address %+v", st.URL, st.Address)
	}
	if pc := st.Components[servingv1beta1.PredictorComponent]; pc.LatestRolledoutRevision != "iris-predictor-00002" || len(pc.Traffic) != 1 {
		t.Errorf("predictor status %+v", pc)
	}
	if st.ModelStatus.TransitionStatus != servingv1beta1.UpToDate {
		t.Errorf("model status %+v", st.ModelStatus)
	}
}

// The InferenceService's own host maps to the top component; none when cluster-local.
func TestDomainMapping(t *testing.T) {
	in := isvc(servingv1beta1.PredictorSpec{XGBoost: &servingv1beta1.PredictorExtensionSpec{StorageURI: ptr.To("pvc://models/xgb")}})
	in.Spec.Transformer = &servingv1beta1.TransformerSpec{PodSpec: servingv1beta1.PodSpec{Containers: []corev1.Container{{Name: "t", Image: "tr:1"}}}}
	children, err := DesiredKnative(in, builtin(t, KfupRuntime), StorageInit{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	dm := DomainMapping(in, children, "kfup.localhost")
	if dm == nil || dm.Name != "iris.ns.kfup.localhost" || dm.Namespace != "ns" || dm.Spec.Ref.Name != "iris-transformer" || dm.Spec.Ref.Kind != "Service" {
		t.Fatalf("DomainMapping %+v", dm)
	}
	if st := DomainStatus(dm); st.Status != corev1.ConditionUnknown || st.URL != "http://iris.ns.kfup.localhost" {
		t.Errorf("status before Knative's %+v", st)
	}
	if DomainMapping(in, children, "") != nil {
		t.Error("a DomainMapping without a domain")
	}
	in.Labels[VisibilityLabel] = VisibilityClusterLocal
	if DomainMapping(in, children, "kfup.localhost") != nil {
		t.Error("a DomainMapping for a cluster-local InferenceService")
	}
}
