package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/template"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/utils/ptr"

	servingv1beta1 "github.com/kfup/kfup/components/serving/api/v1beta1"
)

// Labels KServe puts on a component's pods (and kfup on its Deployment, Service, HPA).
const (
	// LabelInferenceService is the InferenceService's name.
	LabelInferenceService = "serving.kserve.io/inferenceservice"
	// LabelComponent is predictor, transformer or explainer.
	LabelComponent = "component"
	// LabelApp is isvc.<component name>: the Service's selector.
	LabelApp = "app"
)

// HTTPPort is the port a component's container listens on unless it names one
// (KServe's default), and ServicePort the port its Service answers on.
const (
	HTTPPort    = 8080
	ServicePort = 80
)

// DefaultScaleTarget is the HPA's target utilization in percent when scaleTarget is
// unset (KServe's).
const DefaultScaleTarget = 80

// SpecError is an InferenceService that kfup cannot deploy as written; Reason is
// KServe's failure reason.
type SpecError struct {
	Reason  servingv1beta1.FailureReason
	Message string
}

func (e *SpecError) Error() string { return e.Message }

// Children are one component's Deployment, Service and, when it autoscales, HPA.
type Children struct {
	// Component is predictor, transformer or explainer.
	Component servingv1beta1.ComponentType
	// Deployment runs the component's pods.
	Deployment *appsv1.Deployment
	// Service is the component's address (<name>-<component>.<namespace>, port 80).
	Service *corev1.Service
	// HPA scales the Deployment between minReplicas and maxReplicas; nil when they
	// are equal (the Deployment has the replicas fixed).
	HPA *autoscalingv2.HorizontalPodAutoscaler
}

// ComponentName is the name of a component's Deployment, Service and HPA:
// <isvc>-<component>, as KServe names them in Standard mode.
func ComponentName(isvc string, c servingv1beta1.ComponentType) string {
	return isvc + "-" + string(c)
}

// ServiceHost is a component's host inside the cluster: <name>-<component>.<namespace>.
func ServiceHost(isvc *servingv1beta1.InferenceService, c servingv1beta1.ComponentType) string {
	return ComponentName(isvc.Name, c) + "." + isvc.Namespace
}

// Desired returns the Standard-mode children of isvc: the predictor's (run by rt, the
// runtime chosen for its model; nil for a custom predictor; si for a model the storage
// initializer downloads), then the transformer's and the explainer's when it has them.
// Owner references and kfup's labels are the caller's. Errors are *SpecError or
// *StorageError: conditions on isvc.
func Desired(isvc *servingv1beta1.InferenceService, rt *Runtime, si StorageInit) ([]Children, error) {
	pods, err := componentPods(isvc, rt, si)
	if err != nil {
		return nil, err
	}
	out := []Children{}
	for _, p := range pods {
		c, err := component(p.isvc, p.comp, p.pod, p.ext, p.rtMeta)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// componentPod is one component's pod and settings, which Standard mode (component)
// and Serverless mode (knativeService) shape into their children.
type componentPod struct {
	comp servingv1beta1.ComponentType
	// isvc is the InferenceService; the predictor's carries the labels its runtime's
	// defaults add.
	isvc   *servingv1beta1.InferenceService
	pod    corev1.PodSpec
	ext    *servingv1beta1.ComponentExtensionSpec
	rtMeta metav1.ObjectMeta
	// model is the predictor's model (nil for a custom predictor and other components),
	// with the runtime's defaults.
	model *servingv1beta1.ModelSpec
}

// componentPods returns the pods of isvc's components: the predictor's first, then the
// transformer's and the explainer's when it has them.
func componentPods(isvc *servingv1beta1.InferenceService, rt *Runtime, si StorageInit) ([]componentPod, error) {
	pred := &isvc.Spec.Predictor
	// the runtime's defaults may label the InferenceService (TorchServe's
	// serviceEnvelope), as KServe's webhook does: the predictor's pods carry it
	predISVC := isvc
	model := ModelOf(pred)
	if model != nil && rt != nil {
		m, l := runtimeDefaults(model, rt, isvc.Labels)
		model = m
		if !maps.Equal(l, isvc.Labels) {
			predISVC = isvc.DeepCopy()
			predISVC.Labels = l
		}
	}
	pod, err := predictorPod(predISVC, rt, si)
	if err != nil {
		return nil, err
	}
	out := []componentPod{{comp: servingv1beta1.PredictorComponent, isvc: predISVC, pod: pod, ext: &pred.ComponentExtensionSpec, rtMeta: runtimeMeta(rt), model: model}}
	if t := isvc.Spec.Transformer; t != nil {
		pod, err := chainedPod(isvc, servingv1beta1.TransformerComponent, &t.PodSpec, &t.ComponentExtensionSpec)
		if err != nil {
			return nil, err
		}
		out = append(out, componentPod{comp: servingv1beta1.TransformerComponent, isvc: isvc, pod: pod, ext: &t.ComponentExtensionSpec})
	}
	if e := isvc.Spec.Explainer; e != nil {
		if e.ART != nil {
			return nil, &SpecError{Reason: servingv1beta1.InvalidPredictorSpec, Message: "explainer.art is not served by kfup yet: give the explainer's containers instead"}
		}
		pod, err := chainedPod(isvc, servingv1beta1.ExplainerComponent, &e.PodSpec, &e.ComponentExtensionSpec)
		if err != nil {
			return nil, err
		}
		out = append(out, componentPod{comp: servingv1beta1.ExplainerComponent, isvc: isvc, pod: pod, ext: &e.ComponentExtensionSpec})
	}
	return out, nil
}

// runtimeMeta carries the runtime pod's labels and annotations.
func runtimeMeta(rt *Runtime) metav1.ObjectMeta {
	if rt == nil {
		return metav1.ObjectMeta{}
	}
	return metav1.ObjectMeta{Labels: rt.Spec.Labels, Annotations: rt.Spec.Annotations}
}

// predictorPod is the predictor's pod: the runtime's pod with the InferenceService's
// pod fields and container overrides merged onto it (strategic merge, as KServe), or a
// custom predictor's pod as written; the model's storage mounted into the serving
// container (by the storage initializer unless it is a PVC).
func predictorPod(isvc *servingv1beta1.InferenceService, rt *Runtime, si StorageInit) (corev1.PodSpec, error) {
	pred := &isvc.Spec.Predictor
	if pred.WorkerSpec != nil {
		return corev1.PodSpec{}, &SpecError{Reason: servingv1beta1.InvalidPredictorSpec, Message: "predictor.workerSpec (multi-node serving) is not served by kfup yet"}
	}
	model := ModelOf(pred)
	var pod corev1.PodSpec
	var storageURI string
	serving := 0
	if model == nil {
		if len(pred.Containers) == 0 {
			return corev1.PodSpec{}, &SpecError{Reason: servingv1beta1.InvalidPredictorSpec, Message: "the predictor names no model, framework or container"}
		}
		pod = *pred.PodSpec.DeepCopy().ToCorePtr()
		if i := slices.IndexFunc(pod.Containers, func(c corev1.Container) bool { return c.Name == ContainerName }); i >= 0 {
			serving = i
		}
		for _, e := range pod.Containers[serving].Env {
			if e.Name == "STORAGE_URI" {
				storageURI = e.Value
			}
		}
	} else {
		if rt == nil {
			return corev1.PodSpec{}, &SpecError{Reason: servingv1beta1.NoSupportingRuntime, Message: "no runtime chosen for the model"}
		}
		var err error
		if pod, serving, err = runtimePod(isvc, model, rt); err != nil {
			return corev1.PodSpec{}, err
		}
		storageURI = ptr.Deref(model.StorageURI, "")
	}
	if storageURI != "" {
		s, err := ParseStorageURI(storageURI)
		if err != nil {
			return corev1.PodSpec{}, err
		}
		if err := s.mount(&pod, &pod.Containers[serving], si); err != nil {
			return corev1.PodSpec{}, err
		}
	}
	defaultPort(&pod.Containers[serving])
	probePorts(&pod)
	return pod, nil
}

// runtimePod merges the InferenceService's predictor onto rt's pod, with KServe's
// defaults for rt's server type (runtimeDefaults).
func runtimePod(isvc *servingv1beta1.InferenceService, model *servingv1beta1.ModelSpec, rt *Runtime) (corev1.PodSpec, int, error) {
	model, _ = runtimeDefaults(model, rt, isvc.Labels) // the labels: Desired's
	rp := rt.Spec.ServingRuntimePodSpec
	if len(rp.Containers) == 0 {
		return corev1.PodSpec{}, 0, &SpecError{Reason: servingv1beta1.InvalidPredictorSpec, Message: fmt.Sprintf("runtime %q has no containers", rt.Name)}
	}
	base := corev1.PodSpec{
		Volumes: rp.Volumes, NodeSelector: rp.NodeSelector, Affinity: rp.Affinity, Tolerations: rp.Tolerations,
		ImagePullSecrets: rp.ImagePullSecrets, HostIPC: rp.HostIPC, SchedulerName: rp.SchedulerName, ResourceClaims: rp.ResourceClaims,
	}
	over := isvc.Spec.Predictor.PodSpec.DeepCopy().ToCorePtr()
	extra := over.Containers
	over.Containers = nil
	pod, err := merge(base, *over)
	if err != nil {
		return corev1.PodSpec{}, 0, &SpecError{Reason: servingv1beta1.InvalidPredictorSpec, Message: fmt.Sprintf("merge the predictor's pod onto runtime %q: %v", rt.Name, err)}
	}
	serving := slices.IndexFunc(rp.Containers, func(c corev1.Container) bool { return c.Name == ContainerName })
	if serving < 0 {
		serving = 0
	}
	for i, c := range rp.Containers {
		c = *c.DeepCopy()
		if i == serving {
			if c, err = merge(c, model.Container.ToCore()); err != nil {
				return corev1.PodSpec{}, 0, &SpecError{Reason: servingv1beta1.InvalidPredictorSpec, Message: fmt.Sprintf("merge the model's container onto runtime %q: %v", rt.Name, err)}
			}
			c.Name = rp.Containers[serving].Name
			for _, e := range extra {
				if e.Name == c.Name { // a container of the serving name overrides it too
					if c, err = merge(c, e); err != nil {
						return corev1.PodSpec{}, 0, &SpecError{Reason: servingv1beta1.InvalidPredictorSpec, Message: fmt.Sprintf("merge container %s onto runtime %q: %v", e.Name, rt.Name, err)}
					}
				}
			}
			if err := fillPlaceholders(&c, isvc); err != nil {
				return corev1.PodSpec{}, 0, &SpecError{Reason: servingv1beta1.InvalidPredictorSpec, Message: fmt.Sprintf("runtime %q container %s: %v", rt.Name, c.Name, err)}
			}
		}
		pod.Containers = append(pod.Containers, c)
	}
	for _, e := range extra {
		if e.Name != pod.Containers[serving].Name {
			pod.Containers = append(pod.Containers, e)
		}
	}
	return pod, serving, nil
}

// merge is a strategic merge patch of over onto base (KServe's way of applying an
// InferenceService's container and pod fields onto its runtime's).
func merge[T any](base, over T) (T, error) {
	var out T
	b, err := json.Marshal(base)
	if err != nil {
		return out, err
	}
	o, err := json.Marshal(over)
	if err != nil {
		return out, err
	}
	m, err := strategicpatch.StrategicMergePatch(b, o, out)
	if err != nil {
		return out, err
	}
	err = json.Unmarshal(m, &out)
	return out, err
}

// fillPlaceholders expands KServe's {{.Name}}, {{.Namespace}}, {{.Labels.x}} and
// {{.Annotations.x}} in c's args and environment values.
func fillPlaceholders(c *corev1.Container, isvc *servingv1beta1.InferenceService) error {
	data := struct {
		Name, Namespace     string
		Labels, Annotations map[string]string
	}{isvc.Name, isvc.Namespace, isvc.Labels, isvc.Annotations}
	expand := func(s string) (string, error) {
		if !strings.Contains(s, "{{") {
			return s, nil
		}
		t, err := template.New("arg").Option("missingkey=zero").Parse(s)
		if err != nil {
			return "", fmt.Errorf("placeholder in %q: %w", s, err)
		}
		var b bytes.Buffer
		if err := t.Execute(&b, data); err != nil {
			return "", fmt.Errorf("placeholder in %q: %w", s, err)
		}
		return strings.ReplaceAll(b.String(), "<no value>", ""), nil
	}
	var err error
	for i := range c.Args {
		if c.Args[i], err = expand(c.Args[i]); err != nil {
			return err
		}
	}
	for i := range c.Env {
		if c.Env[i].Value, err = expand(c.Env[i].Value); err != nil {
			return err
		}
	}
	return nil
}

// chainedPod is a transformer's or explainer's pod: its first container is told the
// model's name, the predictor's host and its port unless its args say (KServe's
// --model_name, --predictor_host, --http_port).
func chainedPod(isvc *servingv1beta1.InferenceService, comp servingv1beta1.ComponentType, ps *servingv1beta1.PodSpec, ext *servingv1beta1.ComponentExtensionSpec) (corev1.PodSpec, error) {
	if len(ps.Containers) == 0 {
		return corev1.PodSpec{}, &SpecError{Reason: servingv1beta1.InvalidPredictorSpec, Message: fmt.Sprintf("the %s has no containers", comp)}
	}
	pod := *ps.DeepCopy().ToCorePtr()
	c := &pod.Containers[0]
	add := func(flag, value string) {
		if !slices.ContainsFunc(c.Args, func(a string) bool { return a == flag || strings.HasPrefix(a, flag+"=") }) {
			c.Args = append(c.Args, flag, value)
		}
	}
	add("--model_name", isvc.Name)
	add("--predictor_host", ServiceHost(isvc, servingv1beta1.PredictorComponent))
	add("--http_port", fmt.Sprint(HTTPPort))
	if ext.ContainerConcurrency != nil {
		add("--workers", fmt.Sprint(*ext.ContainerConcurrency))
	}
	defaultPort(c)
	probePorts(&pod)
	return pod, nil
}

// defaultPort gives a container that names no port KServe's 8080.
func defaultPort(c *corev1.Container) {
	if len(c.Ports) == 0 {
		c.Ports = []corev1.ContainerPort{{Name: "http", ContainerPort: HTTPPort, Protocol: corev1.ProtocolTCP}}
	}
}

// probePorts gives the liveness and readiness probes of pod's containers that name no
// port (the CRD allows it, as KServe's: Knative fills it in) the container's first port,
// or 8080.
func probePorts(pod *corev1.PodSpec) {
	for i := range pod.Containers {
		c := &pod.Containers[i]
		port := intstr.FromInt32(HTTPPort)
		if len(c.Ports) > 0 {
			port = intstr.FromInt32(c.Ports[0].ContainerPort)
		}
		for _, p := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe} {
			if p == nil {
				continue
			}
			if p.HTTPGet != nil && p.HTTPGet.Port.IntValue() == 0 && p.HTTPGet.Port.StrVal == "" {
				p.HTTPGet.Port = port
			}
			if p.TCPSocket != nil && p.TCPSocket.Port.IntValue() == 0 && p.TCPSocket.Port.StrVal == "" {
				p.TCPSocket.Port = port
			}
		}
	}
}

// componentMeta returns a component's selector (app: isvc.<name>-<component>), the
// labels of its children (the selector's, the InferenceService's name and the
// component), and its pods' labels and annotations: the InferenceService's, the
// runtime pod's and the component's, in that order of precedence.
func componentMeta(isvc *servingv1beta1.InferenceService, comp servingv1beta1.ComponentType, ext *servingv1beta1.ComponentExtensionSpec,
	rtMeta metav1.ObjectMeta) (selector, labels, podLabels, podAnnotations map[string]string) {
	selector = map[string]string{LabelApp: "isvc." + ComponentName(isvc.Name, comp)}
	labels = map[string]string{LabelInferenceService: isvc.Name, LabelComponent: string(comp)}
	maps.Copy(labels, selector)
	podLabels = map[string]string{}
	maps.Copy(podLabels, isvc.Labels)
	maps.Copy(podLabels, rtMeta.Labels)
	maps.Copy(podLabels, ext.Labels)
	maps.Copy(podLabels, labels)
	podAnnotations = map[string]string{}
	for k, v := range isvc.Annotations {
		if k != "kubectl.kubernetes.io/last-applied-configuration" {
			podAnnotations[k] = v
		}
	}
	maps.Copy(podAnnotations, rtMeta.Annotations)
	maps.Copy(podAnnotations, ext.Annotations)
	if len(podAnnotations) == 0 {
		podAnnotations = nil
	}
	return selector, labels, podLabels, podAnnotations
}

// component builds one component's Deployment, Service and HPA around pod.
func component(isvc *servingv1beta1.InferenceService, comp servingv1beta1.ComponentType, pod corev1.PodSpec,
	ext *servingv1beta1.ComponentExtensionSpec, rtMeta metav1.ObjectMeta) (Children, error) {
	name := ComponentName(isvc.Name, comp)
	selector, labels, podLabels, podAnnotations := componentMeta(isvc, comp, ext, rtMeta)

	minR := ptr.Deref(ext.MinReplicas, 1)
	if minR < 1 {
		minR = 1 // Standard mode cannot scale to zero
	}
	maxR := max(ext.MaxReplicas, minR)

	port := intstr.FromInt32(HTTPPort)
	var more []corev1.ContainerPort // the serving container's other named ports (gRPC)
	for _, c := range pod.Containers {
		if len(c.Ports) > 0 {
			port = intstr.FromInt32(c.Ports[0].ContainerPort)
			for _, p := range c.Ports[1:] {
				if p.Name != "" && p.Name != "http" && (p.Protocol == "" || p.Protocol == corev1.ProtocolTCP) {
					more = append(more, p)
				}
			}
			break
		}
	}

	meta := func() metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: isvc.Namespace, Labels: maps.Clone(labels)}
	}
	d := &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: meta(),
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: selector},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: podLabels, Annotations: podAnnotations},
				Spec:       pod,
			},
		},
	}
	if ext.DeploymentStrategy != nil {
		d.Spec.Strategy = *ext.DeploymentStrategy.DeepCopy()
	}
	svc := &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: meta(),
		Spec: corev1.ServiceSpec{
			Selector: selector,
			Ports:    []corev1.ServicePort{{Name: "http", Port: ServicePort, TargetPort: port, Protocol: corev1.ProtocolTCP}},
		},
	}
	for _, p := range more {
		sp := corev1.ServicePort{Name: p.Name, Port: p.ContainerPort, TargetPort: intstr.FromInt32(p.ContainerPort), Protocol: corev1.ProtocolTCP}
		if p.Name == "grpc" || p.Name == "h2c" {
			sp.AppProtocol = ptr.To("kubernetes.io/h2c") // gRPC is HTTP/2 without TLS
		}
		svc.Spec.Ports = append(svc.Spec.Ports, sp)
	}
	out := Children{Component: comp, Deployment: d, Service: svc}
	if maxR == minR {
		d.Spec.Replicas = ptr.To(minR)
		return out, nil
	}
	// the HPA owns the replicas: the Deployment leaves them unset
	metric := ptr.Deref(ext.ScaleMetric, servingv1beta1.MetricCPU)
	var res corev1.ResourceName
	switch metric {
	case servingv1beta1.MetricCPU:
		res = corev1.ResourceCPU
	case servingv1beta1.MetricMemory:
		res = corev1.ResourceMemory
	default:
		return Children{}, &SpecError{Reason: servingv1beta1.InvalidPredictorSpec,
			Message: fmt.Sprintf("%s.scaleMetric %s needs Knative (Serverless) mode; Standard mode scales on cpu or memory", comp, metric)}
	}
	out.HPA = &autoscalingv2.HorizontalPodAutoscaler{
		TypeMeta:   metav1.TypeMeta{APIVersion: "autoscaling/v2", Kind: "HorizontalPodAutoscaler"},
		ObjectMeta: meta(),
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: name},
			MinReplicas:    ptr.To(minR),
			MaxReplicas:    maxR,
			Metrics: []autoscalingv2.MetricSpec{{
				Type: autoscalingv2.ResourceMetricSourceType,
				Resource: &autoscalingv2.ResourceMetricSource{
					Name: res,
					Target: autoscalingv2.MetricTarget{
						Type:               autoscalingv2.UtilizationMetricType,
						AverageUtilization: ptr.To(ptr.Deref(ext.ScaleTarget, DefaultScaleTarget)),
					},
				},
			}},
		},
	}
	return out, nil
}
