package engine

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	servingv1alpha1 "github.com/kfup/kfup/components/serving/api/v1alpha1"
	servingv1beta1 "github.com/kfup/kfup/components/serving/api/v1beta1"
	"github.com/kfup/kfup/internal/agent"
)

func isvc(pred servingv1beta1.PredictorSpec) *servingv1beta1.InferenceService {
	return &servingv1beta1.InferenceService{
		ObjectMeta: metav1.ObjectMeta{Name: "iris", Namespace: "ns", Labels: map[string]string{"team": "a"}},
		Spec:       servingv1beta1.InferenceServiceSpec{Predictor: pred},
	}
}

func builtin(t *testing.T, name string) *Runtime {
	for _, r := range BuiltinRuntimes("kfup:dev") {
		if r.Name == name {
			return &Runtime{Name: r.Name, Spec: r.Spec}
		}
	}
	t.Fatalf("no built-in runtime %s", name)
	return nil
}

// An xgboost model on a PVC runs kfup's model server from kfup's image, the claim
// mounted read-only at /mnt/models, with a fixed replica and a Service on port 80.
func TestDesiredKfupRuntimeWithPVC(t *testing.T) {
	in := isvc(servingv1beta1.PredictorSpec{XGBoost: &servingv1beta1.PredictorExtensionSpec{
		StorageURI: ptr.To("pvc://models/xgb/iris"),
		Container:  servingv1beta1.Container{Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")}}},
	}})
	got, err := Desired(in, builtin(t, KfupRuntime), StorageInit{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Component != servingv1beta1.PredictorComponent || got[0].HPA != nil {
		t.Fatalf("children %+v, want the predictor's without an HPA", got)
	}
	d, svc := got[0].Deployment, got[0].Service
	if d.Name != "iris-predictor" || svc.Name != "iris-predictor" || d.Namespace != "ns" {
		t.Errorf("names %s, %s in %s", d.Name, svc.Name, d.Namespace)
	}
	if ptr.Deref(d.Spec.Replicas, 0) != 1 {
		t.Errorf("replicas %v, want 1", d.Spec.Replicas)
	}
	wantSel := map[string]string{"app": "isvc.iris-predictor"}
	if diff := cmp.Diff(wantSel, d.Spec.Selector.MatchLabels); diff != "" {
		t.Errorf("selector (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantSel, svc.Spec.Selector); diff != "" {
		t.Errorf("service selector (-want +got):\n%s", diff)
	}
	l := d.Spec.Template.Labels
	if l["serving.kserve.io/inferenceservice"] != "iris" || l["component"] != "predictor" || l["team"] != "a" {
		t.Errorf("pod labels %v", l)
	}
	// REST on port 80; kfup's server's gRPC API on its own port, as HTTP/2 cleartext
	if p := svc.Spec.Ports; len(p) != 2 || p[0].Port != 80 || p[0].TargetPort.IntValue() != 8080 ||
		p[1].Name != "grpc" || p[1].Port != 8081 || p[1].TargetPort.IntValue() != 8081 || p[1].AppProtocol == nil || *p[1].AppProtocol != "kubernetes.io/h2c" {
		t.Errorf("service ports %+v", p)
	}
	pod := d.Spec.Template.Spec
	c := pod.Containers[0]
	if c.Name != "kserve-container" || c.Image != "kfup:dev" {
		t.Errorf("container %s image %s", c.Name, c.Image)
	}
	if diff := cmp.Diff([]string{"/kfup", "modelserver"}, c.Command); diff != "" {
		t.Errorf("command (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"--model-name=iris", "--model-dir=/mnt/models", "--http-port=8080", "--grpc-port=8081"}, c.Args); diff != "" {
		t.Errorf("args (-want +got):\n%s", diff)
	}
	if m := c.Resources.Limits[corev1.ResourceMemory]; m.String() != "1Gi" {
		t.Errorf("memory limit %s, want the model's 1Gi over the runtime's", m.String())
	}
	if cpu := c.Resources.Limits[corev1.ResourceCPU]; cpu.String() != "1" {
		t.Errorf("cpu limit %s, want the runtime's 1 kept", cpu.String())
	}
	wantVol := []corev1.Volume{{Name: StorageVolume, VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "models", ReadOnly: true}}}}
	if diff := cmp.Diff(wantVol, pod.Volumes); diff != "" {
		t.Errorf("volumes (-want +got):\n%s", diff)
	}
	wantMount := []corev1.VolumeMount{{Name: StorageVolume, MountPath: "/mnt/models", SubPath: "xgb/iris", ReadOnly: true}}
	if diff := cmp.Diff(wantMount, c.VolumeMounts); diff != "" {
		t.Errorf("mounts (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(agent.SecurityContext(), c.SecurityContext); diff != "" {
		t.Errorf("security context (-want kfup's helpers' +got):\n%s", diff)
	}
}

// A transformer is told the predictor's host; min < max gives an HPA on cpu at 80 %,
// or on memory at the scale target.
func TestDesiredTransformerAndHPA(t *testing.T) {
	in := isvc(servingv1beta1.PredictorSpec{
		Model:                  &servingv1beta1.ModelSpec{ModelFormat: servingv1beta1.ModelFormat{Name: "sklearn"}},
		ComponentExtensionSpec: servingv1beta1.ComponentExtensionSpec{MinReplicas: ptr.To[int32](2), MaxReplicas: 5},
	})
	in.Spec.Transformer = &servingv1beta1.TransformerSpec{
		PodSpec:                servingv1beta1.PodSpec{Containers: []corev1.Container{{Name: "t", Image: "img", Args: []string{"--http_port=9000"}}}},
		ComponentExtensionSpec: servingv1beta1.ComponentExtensionSpec{MaxReplicas: 3, ScaleMetric: ptr.To(servingv1beta1.MetricMemory), ScaleTarget: ptr.To[int32](60)},
	}
	got, err := Desired(in, builtin(t, "kserve-sklearnserver"), StorageInit{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d components, want predictor and transformer", len(got))
	}
	p, tr := got[0], got[1]
	if p.HPA == nil || *p.HPA.Spec.MinReplicas != 2 || p.HPA.Spec.MaxReplicas != 5 || p.Deployment.Spec.Replicas != nil {
		t.Fatalf("predictor HPA %+v, deployment replicas %v", p.HPA, p.Deployment.Spec.Replicas)
	}
	m := p.HPA.Spec.Metrics[0].Resource
	if m.Name != corev1.ResourceCPU || *m.Target.AverageUtilization != 80 {
		t.Errorf("predictor metric %+v, want cpu at 80", m)
	}
	if len(p.Deployment.Spec.Template.Spec.Volumes) != 0 {
		t.Errorf("no storageUri, yet volumes %+v", p.Deployment.Spec.Template.Spec.Volumes)
	}
	if tr.Deployment.Name != "iris-transformer" || tr.HPA == nil || tr.HPA.Spec.Metrics[0].Resource.Name != corev1.ResourceMemory ||
		*tr.HPA.Spec.Metrics[0].Resource.Target.AverageUtilization != 60 {
		t.Errorf("transformer %s HPA %+v", tr.Deployment.Name, tr.HPA)
	}
	want := []string{"--http_port=9000", "--model_name", "iris", "--predictor_host", "iris-predictor.ns"}
	if diff := cmp.Diff(want, tr.Deployment.Spec.Template.Spec.Containers[0].Args); diff != "" {
		t.Errorf("transformer args (-want +got):\n%s", diff)
	}
	if in.Spec.Transformer.Containers[0].Args[0] != "--http_port=9000" || len(in.Spec.Transformer.Containers[0].Args) != 1 {
		t.Errorf("Desired changed its input: %v", in.Spec.Transformer.Containers[0].Args)
	}
}

// A custom predictor runs its containers as written; STORAGE_URI in the serving
// container names its model.
func TestDesiredCustomPredictor(t *testing.T) {
	in := isvc(servingv1beta1.PredictorSpec{PodSpec: servingv1beta1.PodSpec{Containers: []corev1.Container{
		{Name: "side", Image: "side"},
		{Name: "kserve-container", Image: "srv", Env: []corev1.EnvVar{{Name: "STORAGE_URI", Value: "pvc://m"}}, Ports: []corev1.ContainerPort{{ContainerPort: 5000}}},
	}}})
	got, err := Desired(in, nil, StorageInit{})
	if err != nil {
		t.Fatal(err)
	}
	pod := got[0].Deployment.Spec.Template.Spec
	if len(pod.Containers) != 2 || len(pod.Containers[1].VolumeMounts) != 1 || len(pod.Containers[0].VolumeMounts) != 0 {
		t.Errorf("containers %+v: want the model mounted into kserve-container only", pod.Containers)
	}
	if got[0].Service.Spec.Ports[0].TargetPort.IntValue() != 5000 {
		t.Errorf("target port %v, want the container's 5000", got[0].Service.Spec.Ports[0].TargetPort)
	}
}

func TestDesiredRefusals(t *testing.T) {
	tests := []struct {
		name string
		in   *servingv1beta1.InferenceService
		rt   *Runtime
		want string
	}{
		{"gs storage", isvc(servingv1beta1.PredictorSpec{SKLearn: &servingv1beta1.PredictorExtensionSpec{StorageURI: ptr.To("gs://b/m")}}), &Runtime{Name: "r", Spec: BuiltinRuntimes("")[0].Spec}, "needs the storage initializer, and kfup's image is not known"},
		{"unknown scheme", isvc(servingv1beta1.PredictorSpec{SKLearn: &servingv1beta1.PredictorExtensionSpec{StorageURI: ptr.To("azure://b/m")}}), &Runtime{Name: "r", Spec: BuiltinRuntimes("")[0].Spec}, "scheme azure:// is not served"},
		{"concurrency metric", isvc(servingv1beta1.PredictorSpec{PodSpec: servingv1beta1.PodSpec{Containers: []corev1.Container{{Name: "c"}}},
			ComponentExtensionSpec: servingv1beta1.ComponentExtensionSpec{MaxReplicas: 3, ScaleMetric: ptr.To(servingv1beta1.MetricConcurrency)}}), nil, "needs Knative"},
		{"empty predictor", isvc(servingv1beta1.PredictorSpec{}), nil, "names no model"},
		{"worker spec", isvc(servingv1beta1.PredictorSpec{WorkerSpec: &servingv1beta1.WorkerSpec{}}), nil, "workerSpec"},
	}
	for _, tt := range tests {
		_, err := Desired(tt.in, tt.rt, StorageInit{})
		var se *SpecError
		var st *StorageError
		if err == nil || !(errors.As(err, &se) || errors.As(err, &st)) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want a SpecError or StorageError saying %q", tt.name, err, tt.want)
		}
	}
}

// Every built-in runtime has a kserve-container whose security context Pod Security
// "restricted" admits, and kfup's only with an image.
func TestBuiltinRuntimes(t *testing.T) {
	var names []string
	for _, r := range BuiltinRuntimes("kfup:dev") {
		names = append(names, r.Name)
		c := r.Spec.Containers[0]
		if c.Name != ContainerName || c.Image == "" || c.SecurityContext == nil || !*c.SecurityContext.RunAsNonRoot {
			t.Errorf("%s: container %+v", r.Name, c)
		}
	}
	want := []string{KfupRuntime, "kserve-sklearnserver", "kserve-xgbserver", "kserve-lgbserver", "kserve-pmmlserver",
		"kserve-tensorflow-serving", "kserve-torchserve", "kserve-tritonserver", "kserve-huggingfaceserver"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("runtimes (-want +got):\n%s", diff)
	}
	if slices.ContainsFunc(BuiltinRuntimes(""), func(r servingv1alpha1.ClusterServingRuntime) bool { return r.Name == KfupRuntime }) {
		t.Errorf("kfup's runtime without an image")
	}
	// kfup's server is ready once its model is served, on the port it listens on
	c := BuiltinRuntimes("kfup:dev")[0].Spec.Containers[0]
	if p := c.ReadinessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/v2/health/ready" || p.HTTPGet.Port.StrVal != c.Ports[0].Name {
		t.Errorf("kfup runtime's readiness probe %+v, want /v2/health/ready on port %q", p, c.Ports[0].Name)
	}
}

// A probe that names no port (as the tensorflow timeout sample's) probes the serving
// container's port.
func TestDesiredProbePort(t *testing.T) {
	in := isvc(servingv1beta1.PredictorSpec{Tensorflow: &servingv1beta1.PredictorExtensionSpec{
		StorageURI: ptr.To("pvc://models/flowers"),
		Container: servingv1beta1.Container{LivenessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{
			HTTPGet: &corev1.HTTPGetAction{Path: "/v1/models/flowers"}}}},
	}})
	got, err := Desired(in, builtin(t, "kserve-tensorflow-serving"), StorageInit{})
	if err != nil {
		t.Fatal(err)
	}
	c := got[0].Deployment.Spec.Template.Spec.Containers[0]
	if p := c.LivenessProbe.HTTPGet; p.Path != "/v1/models/flowers" || p.Port.IntValue() != HTTPPort {
		t.Errorf("probe %+v, want the path on port %d", p, HTTPPort)
	}
	if diff := cmp.Diff([]string{"/usr/bin/tensorflow_model_server"}, c.Command); diff != "" {
		t.Errorf("command (-want +got):\n%s", diff)
	}
	if !slices.Contains(c.Args, "--model_name=iris") {
		t.Errorf("args %v lack the model name", c.Args)
	}
}

// KServe's server-type defaults apply once the runtime is chosen: TorchServe's envelope
// label (filling its TS_SERVICE_ENVELOPE placeholder) and PROTOCOL_VERSION, Triton's
// explicit model control without storage.
func TestDesiredRuntimeDefaults(t *testing.T) {
	in := isvc(servingv1beta1.PredictorSpec{PyTorch: &servingv1beta1.PredictorExtensionSpec{
		StorageURI: ptr.To("pvc://models/torch"), ProtocolVersion: ptr.To(servingv1beta1.ProtocolV2),
	}})
	got, err := Desired(in, builtin(t, "kserve-torchserve"), StorageInit{})
	if err != nil {
		t.Fatal(err)
	}
	tpl := got[0].Deployment.Spec.Template
	env := map[string]string{}
	for _, e := range tpl.Spec.Containers[0].Env {
		env[e.Name] = e.Value
	}
	if env["TS_SERVICE_ENVELOPE"] != "kservev2" || env["PROTOCOL_VERSION"] != "v2" || tpl.Labels["serviceEnvelope"] != "kservev2" {
		t.Errorf("env %v, pod labels %v", env, tpl.Labels)
	}
	if _, ok := in.Labels["serviceEnvelope"]; ok {
		t.Errorf("Desired labelled its input: %v", in.Labels)
	}

	tr := isvc(servingv1beta1.PredictorSpec{Triton: &servingv1beta1.PredictorExtensionSpec{}})
	got, err = Desired(tr, builtin(t, "kserve-tritonserver"), StorageInit{})
	if err != nil {
		t.Fatal(err)
	}
	if args := got[0].Deployment.Spec.Template.Spec.Containers[0].Args; !slices.Contains(args, "--model-control-mode=explicit") {
		t.Errorf("triton args %v", args)
	}
}
