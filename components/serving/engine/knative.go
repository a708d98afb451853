package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	knservingv1 "github.com/kfup/kfup/components/knative/api/v1"
	knservingv1beta1 "github.com/kfup/kfup/components/knative/api/v1beta1"
	servingv1beta1 "github.com/kfup/kfup/components/serving/api/v1beta1"
)

// The deployment modes (annotation serving.kserve.io/deploymentMode). KServe 0.15 named
// RawDeployment Standard and Serverless Knative; both spellings are accepted.
const (
	ModeRawDeployment = "RawDeployment"
	ModeStandard      = "Standard"
	ModeServerless    = "Serverless"
	ModeKnative       = "Knative"
)

// Serverless says whether mode (an annotation value) is Knative's.
func Serverless(mode string) bool { return mode == ModeServerless || mode == ModeKnative }

// KnownMode says whether mode is a deployment mode kfup serves.
func KnownMode(mode string) bool {
	return mode == ModeRawDeployment || mode == ModeStandard || Serverless(mode)
}

// DefaultMinReplicas is a Serverless component's min-scale when minReplicas is unset
// (KServe's): 0 must be asked for.
const DefaultMinReplicas = 1

// EnableTagRoutingAnnotation on an InferenceService tags the canary's traffic target
// latest, which gives it a URL of its own (KServe's serving.kserve.io/enable-tag-routing).
const EnableTagRoutingAnnotation = "serving.kserve.io/enable-tag-routing"

// KnativeChild is one component's Knative Service in Serverless mode.
type KnativeChild struct {
	// Component is predictor, transformer or explainer.
	Component servingv1beta1.ComponentType
	// Service is the Knative Service <name>-<component>; Knative makes its revisions,
	// their pods, autoscaling and routes.
	Service *knservingv1.Service
}

// TemplateHashAnnotation on a Knative Service kfup made is the hash of its revision
// template: when the desired template's differs, the change makes a new revision.
const TemplateHashAnnotation = "kfup.dev/template-hash"

// DesiredKnative returns the Serverless-mode children of isvc, as Desired does for
// Standard mode: a Knative Service per component, its traffic split by the component's
// canaryTrafficPercent between the latest revision and the last one rolled out to all
// traffic (read from isvc's status, as KServe does). current are the components' Knative
// Services as they are (missing: none yet): they say whether a new revision is on its way.
func DesiredKnative(isvc *servingv1beta1.InferenceService, rt *Runtime, si StorageInit, current map[servingv1beta1.ComponentType]*knservingv1.Service) ([]KnativeChild, error) {
	pods, err := componentPods(isvc, rt, si)
	if err != nil {
		return nil, err
	}
	var out []KnativeChild
	for _, p := range pods {
		svc, err := knativeService(p, current[p.comp])
		if err != nil {
			return nil, err
		}
		out = append(out, KnativeChild{Component: p.comp, Service: svc})
	}
	return out, nil
}

// knativeService builds one component's Knative Service; current is the one there is.
func knativeService(p componentPod, current *knservingv1.Service) (*knservingv1.Service, error) {
	isvc, ext := p.isvc, p.ext
	name := ComponentName(isvc.Name, p.comp)
	_, labels, podLabels, podAnnotations := componentMeta(isvc, p.comp, ext, p.rtMeta)
	if isvc.Labels[VisibilityLabel] == VisibilityClusterLocal {
		labels[knservingv1.VisibilityLabel] = knservingv1.VisibilityClusterLocal
	}
	// Knative owns its serving.knative.dev labels on revisions: a revision template
	// naming one is refused
	maps.DeleteFunc(podLabels, func(k, _ string) bool { return strings.HasPrefix(k, "serving.knative.dev/") })
	annotations, err := autoscalingAnnotations(p.comp, ext, podAnnotations)
	if err != nil {
		return nil, err
	}
	pod, err := knativePod(p)
	if err != nil {
		return nil, err
	}
	var status servingv1beta1.ComponentStatusSpec
	if isvc.Status.Components != nil {
		status = isvc.Status.Components[p.comp]
	}
	tmpl := knservingv1.RevisionTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: podLabels, Annotations: annotations},
		Spec: knservingv1.RevisionSpec{
			PodSpec:              pod,
			ContainerConcurrency: ext.ContainerConcurrency,
			TimeoutSeconds:       ext.TimeoutSeconds,
		},
	}
	raw, err := json.Marshal(tmpl)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(raw)
	hash := hex.EncodeToString(sum[:16])
	// a new revision is on its way when the template changes, or Knative has not made
	// (or readied) the one of the last change yet
	newRevision := current == nil || current.Annotations[TemplateHashAnnotation] != hash ||
		current.Status.ObservedGeneration < current.Generation ||
		current.Status.LatestCreatedRevisionName != current.Status.LatestReadyRevisionName
	return &knservingv1.Service{
		TypeMeta: metav1.TypeMeta{APIVersion: knservingv1.GroupVersion.String(), Kind: knservingv1.ServiceKind},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: isvc.Namespace, Labels: labels,
			Annotations: map[string]string{TemplateHashAnnotation: hash}},
		Spec: knservingv1.ServiceSpec{
			Template: tmpl,
			Traffic:  knativeTraffic(ext.CanaryTrafficPercent, status, newRevision, isvc.Annotations[EnableTagRoutingAnnotation] == "true"),
		},
	}, nil
}

// autoscalingAnnotations are the revision's annotations: the pods' with Knative's
// autoscaling settings from the component (KServe's): min-scale minReplicas (1 when
// unset), max-scale maxReplicas (unset when 0), the metric and its target. Knative's
// KPA scales on concurrency (the default) or rps; cpu and memory need its HPA class,
// chosen for them unless the annotations name a class already.
func autoscalingAnnotations(comp servingv1beta1.ComponentType, ext *servingv1beta1.ComponentExtensionSpec, pod map[string]string) (map[string]string, error) {
	a := maps.Clone(pod)
	if a == nil {
		a = map[string]string{}
	}
	a[knservingv1.MinScaleAnnotation] = strconv.Itoa(int(ptr.Deref(ext.MinReplicas, DefaultMinReplicas)))
	if ext.MaxReplicas != 0 {
		a[knservingv1.MaxScaleAnnotation] = strconv.Itoa(int(ext.MaxReplicas))
	}
	metric := ptr.Deref(ext.ScaleMetric, "")
	class, named := a[knservingv1.ClassAnnotation]
	switch metric {
	case "":
	case servingv1beta1.MetricCPU, servingv1beta1.MetricMemory:
		if !named {
			class = knservingv1.ClassHPA
		} else if class == knservingv1.ClassKPA {
			return nil, &SpecError{Reason: servingv1beta1.InvalidPredictorSpec, Message: fmt.Sprintf(
				"%s.scaleMetric %s needs Knative's HPA autoscaler, but annotation %s names %s: remove the annotation or scale on concurrency or rps",
				comp, metric, knservingv1.ClassAnnotation, class)}
		}
		a[knservingv1.MetricAnnotation] = string(metric)
	default:
		if class == knservingv1.ClassHPA {
			return nil, &SpecError{Reason: servingv1beta1.InvalidPredictorSpec, Message: fmt.Sprintf(
				"%s.scaleMetric %s needs Knative's KPA autoscaler, but annotation %s names %s: remove the annotation or scale on cpu or memory",
				comp, metric, knservingv1.ClassAnnotation, class)}
		}
		a[knservingv1.MetricAnnotation] = string(metric)
	}
	if class == "" {
		class = knservingv1.ClassKPA
	}
	a[knservingv1.ClassAnnotation] = class
	if ext.ScaleTarget != nil {
		a[knservingv1.TargetAnnotation] = strconv.Itoa(int(*ext.ScaleTarget))
	}
	return a, nil
}

// knativePod is a component's pod as Knative takes it: one container port, the serving
// container's (the gRPC one, named h2c, when the model is served over gRPC; else the
// first), named http1 or h2c as Knative requires, and the probes on it without naming it
// (Knative points them at the port it gives the queue proxy).
func knativePod(p componentPod) (corev1.PodSpec, error) {
	pod := *p.pod.DeepCopy()
	grpc := p.model != nil && p.model.ProtocolVersion != nil &&
		(*p.model.ProtocolVersion == servingv1beta1.ProtocolGRPCV1 || *p.model.ProtocolVersion == servingv1beta1.ProtocolGRPCV2)
	serving := slices.IndexFunc(pod.Containers, func(c corev1.Container) bool { return len(c.Ports) > 0 })
	if serving < 0 {
		return corev1.PodSpec{}, &SpecError{Reason: servingv1beta1.InvalidPredictorSpec, Message: fmt.Sprintf("the %s's containers name no port", p.comp)}
	}
	for i := range pod.Containers {
		c := &pod.Containers[i]
		if i != serving {
			c.Ports = nil
			continue
		}
		port := c.Ports[0]
		if grpc {
			if j := slices.IndexFunc(c.Ports, func(p corev1.ContainerPort) bool { return p.Name == "grpc" || p.Name == "h2c" }); j >= 0 {
				port = c.Ports[j]
			}
		}
		switch strings.ToLower(port.Name) {
		case "h2c", "grpc", "http2":
			port.Name = "h2c"
		default:
			port.Name = "http1"
		}
		c.Ports = []corev1.ContainerPort{{Name: port.Name, ContainerPort: port.ContainerPort, Protocol: corev1.ProtocolTCP}}
		for _, pr := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe, c.StartupProbe} {
			if pr == nil {
				continue
			}
			if g := pr.HTTPGet; g != nil && (g.Port.IntValue() == int(port.ContainerPort) || g.Port.StrVal != "") {
				g.Port = intstr.IntOrString{}
			}
			if t := pr.TCPSocket; t != nil && (t.Port.IntValue() == int(port.ContainerPort) || t.Port.StrVal != "") {
				t.Port = intstr.IntOrString{}
			}
		}
	}
	return pod, nil
}

// knativeTraffic is a component's traffic (KServe's canary rollout): with
// canaryTrafficPercent set and a revision rolled out to all traffic before, the latest
// revision gets that share and the rolled-out one, tagged prev, the rest; otherwise the
// latest revision gets all. When no new revision is on its way and the latest ready
// revision is itself the rolled-out one (a rollback: the canary percentage set below 100
// again after a promotion), prev is the revision rolled out before it. KServe decides
// this without newRevision, so the first canary after the first rollout briefly sends
// all traffic to the new revision; kfup does not. tagLatest tags the latest target
// latest.
func knativeTraffic(canary *int64, st servingv1beta1.ComponentStatusSpec, newRevision, tagLatest bool) []knservingv1.TrafficTarget {
	rolled := st.LatestRolledoutRevision
	if canary != nil && *canary < 100 && !newRevision && st.LatestRolledoutRevision == st.LatestReadyRevision {
		rolled = st.PreviousRolledoutRevision
	}
	if canary == nil || rolled == "" {
		return []knservingv1.TrafficTarget{{LatestRevision: ptr.To(true), Percent: ptr.To[int64](100)}}
	}
	latest := knservingv1.TrafficTarget{LatestRevision: ptr.To(true), Percent: ptr.To(*canary)}
	if tagLatest {
		latest.Tag = "latest"
	}
	out := []knservingv1.TrafficTarget{latest}
	if *canary < 100 {
		out = append(out, knservingv1.TrafficTarget{Tag: "prev", RevisionName: rolled, LatestRevision: ptr.To(false), Percent: ptr.To(100 - *canary)})
	}
	return out
}

// knativeComponentStatus is a component's status from its Knative Service's (KServe's
// PropagateStatus): the revisions, the traffic, and the revision rolled out to all
// traffic, whose predecessor is kept for rollbacks; the URL and address once the
// Service is ready (kept from old before). The rollout is followed only from a status
// of the Service's current generation whose routes are ready: until Knative's Route has
// caught up with a new spec, the Service reports the latest ready revision beside the
// traffic of the spec before (a canary's revision at 100 % for a moment), which must not
// count as rolled out.
func knativeComponentStatus(old servingv1beta1.ComponentStatusSpec, ks *knservingv1.ServiceStatus, generation int64) servingv1beta1.ComponentStatusSpec {
	st := old
	st.LatestCreatedRevision = ks.LatestCreatedRevisionName
	perRevision := map[string]int64{}
	for _, t := range ks.Traffic {
		perRevision[t.RevisionName] += ptr.Deref(t.Percent, 0)
	}
	routed := ks.Condition(knservingv1.ConditionRoutesReady)
	settled := ks.ObservedGeneration >= generation && routed != nil && routed.Status == corev1.ConditionTrue
	for _, t := range ks.Traffic {
		if !settled {
			break
		}
		if t.RevisionName != ks.LatestReadyRevisionName || !ptr.Deref(t.LatestRevision, false) {
			continue
		}
		if st.LatestRolledoutRevision != ks.LatestReadyRevisionName {
			if ptr.Deref(t.Percent, 0) == 100 {
				st.PreviousRolledoutRevision = st.LatestRolledoutRevision
				st.LatestRolledoutRevision = ks.LatestReadyRevisionName
			}
		} else if ks.LatestReadyRevisionName == ks.LatestCreatedRevisionName && ptr.Deref(t.Percent, 0) < 100 &&
			perRevision[t.RevisionName] == 100 && st.PreviousRolledoutRevision != "" {
			// the latest revision split with itself: it is the one rolled back to
			st.LatestRolledoutRevision = st.PreviousRolledoutRevision
		}
	}
	st.LatestReadyRevision = ks.LatestReadyRevisionName
	if c := ks.Condition(knservingv1.ConditionReady); c != nil && c.Status == corev1.ConditionTrue {
		if ks.URL != "" {
			st.URL = ks.URL
		}
		if ks.Address != nil && ks.Address.URL != "" {
			st.Address = &servingv1beta1.Addressable{URL: ks.Address.URL}
		}
	}
	st.Traffic = nil
	for _, t := range ks.Traffic {
		st.Traffic = append(st.Traffic, servingv1beta1.TrafficTarget{
			Tag: t.Tag, RevisionName: t.RevisionName, ConfigurationName: t.ConfigurationName,
			LatestRevision: t.LatestRevision, Percent: t.Percent, URL: t.URL,
		})
	}
	return st
}

// DomainMapping returns the DomainMapping that gives a Serverless InferenceService its
// own host, <name>.<namespace>.<domain> (KServe's top-level host, which it routes with an
// Istio VirtualService): Knative maps it to the top component's Knative Service (the
// transformer's when there is one). Nil without a domain, or for a cluster-local
// InferenceService.
func DomainMapping(isvc *servingv1beta1.InferenceService, children []KnativeChild, domain string) *knservingv1beta1.DomainMapping {
	if domain == "" || isvc.Labels[VisibilityLabel] == VisibilityClusterLocal || len(children) == 0 {
		return nil
	}
	top := children[0].Service.Name
	for _, c := range children {
		if c.Component == servingv1beta1.TransformerComponent {
			top = c.Service.Name
		}
	}
	return &knservingv1beta1.DomainMapping{
		TypeMeta: metav1.TypeMeta{APIVersion: knservingv1beta1.GroupVersion.String(), Kind: knservingv1beta1.DomainMappingKind},
		ObjectMeta: metav1.ObjectMeta{Name: isvc.Name + "." + isvc.Namespace + "." + domain, Namespace: isvc.Namespace,
			Labels: map[string]string{LabelInferenceService: isvc.Name}},
		Spec: knservingv1beta1.DomainMappingSpec{Ref: knservingv1beta1.KReference{
			APIVersion: knservingv1.GroupVersion.String(), Kind: knservingv1.ServiceKind, Namespace: isvc.Namespace, Name: top,
		}},
	}
}

// RoutedDomain is what became of a Serverless InferenceService's DomainMapping.
type RoutedDomain struct {
	// URL is http://<its domain>.
	URL string
	// Status, Reason and Message are the DomainMapping's Ready condition (Unknown before
	// Knative reported on its generation).
	Status          corev1.ConditionStatus
	Reason, Message string
}

// DomainStatus reads a DomainMapping's readiness.
func DomainStatus(dm *knservingv1beta1.DomainMapping) *RoutedDomain {
	out := &RoutedDomain{URL: "http://" + dm.Name, Status: corev1.ConditionUnknown, Reason: ReasonKnativeServiceNotCreated,
		Message: "Knative has not reported on DomainMapping " + dm.Name + " yet"}
	if c := knservingv1.FindCondition(dm.Status.Conditions, knservingv1.ConditionReady); c != nil && dm.Status.ObservedGeneration >= dm.Generation && dm.Generation > 0 {
		out.Status, out.Reason, out.Message = c.Status, c.Reason, "DomainMapping "+dm.Name+": "+c.Message
		if c.Status != corev1.ConditionTrue && out.Reason == "" {
			out.Reason = "DomainMappingNotReady"
		}
	}
	return out
}
