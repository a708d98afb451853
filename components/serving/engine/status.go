package engine

import (
	"fmt"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	knservingv1 "github.com/kfup/kfup/components/knative/api/v1"
	servingv1beta1 "github.com/kfup/kfup/components/serving/api/v1beta1"
)

// Condition reasons kfup sets beyond KServe's failure reasons.
const (
	// ReasonStorageURINotServed: the storageUri's scheme is served neither by a PVC mount
	// nor by the storage initializer.
	ReasonStorageURINotServed = "StorageURINotServed"
	// ReasonResourceExists: an object of a child's name is someone else's.
	ReasonResourceExists = "ResourceExists"
	// ReasonDeploymentModeNotServed: the deploymentMode annotation asks for a mode kfup
	// does not serve yet.
	ReasonDeploymentModeNotServed = "DeploymentModeNotServed"
	// ReasonDeploymentUnavailable: the component's Deployment has too few available pods.
	ReasonDeploymentUnavailable = "MinimumReplicasUnavailable"
	// ReasonComponentNotReady: Ready is false because a component is not.
	ReasonComponentNotReady = "ComponentNotReady"
	// ReasonIngressNotServed: the InferenceService's Ingress has no address from the
	// ingress yet.
	ReasonIngressNotServed = "IngressNotServed"
	// ReasonKnativeServiceNotCreated: a Serverless component's Knative Service is not
	// created, or has no status from Knative yet.
	ReasonKnativeServiceNotCreated = "KnativeServiceNotCreated"
)

// knativeCondition reads condition t of a Knative Service: Unknown while Knative has
// not reported on the Service's current generation.
func knativeCondition(ks *knservingv1.Service, t string) (corev1.ConditionStatus, string, string) {
	c := ks.Status.Condition(t)
	if c == nil || ks.Status.ObservedGeneration < ks.Generation {
		return corev1.ConditionUnknown, ReasonKnativeServiceNotCreated, "Knative has not reported on Knative Service " + ks.Name + " yet (kubectl -n knative-serving get pods)"
	}
	reason := c.Reason
	if c.Status != corev1.ConditionTrue && reason == "" {
		reason = "KnativeService" + t + "False"
	}
	msg := c.Message
	if c.Status != corev1.ConditionTrue {
		msg = "Knative Service " + ks.Name + ": " + msg
	}
	return c.Status, reason, msg
}

// Observed is what the controller found and did for an InferenceService.
type Observed struct {
	// Runtime is the runtime chosen for the predictor; nil for a custom predictor or
	// when none fits.
	Runtime *Runtime
	// Children are the desired children (nil when Err stopped them).
	Children []Children
	// Deployments are the components' Deployments as the API server has them, by
	// component (missing: not created yet).
	Deployments map[servingv1beta1.ComponentType]*appsv1.Deployment
	// PredictorPods are the predictor's pods: a serving container that failed says why
	// the model did not load.
	PredictorPods []corev1.Pod
	// Err stopped the InferenceService from being deployed: a *NoRuntimeError,
	// *SpecError, *StorageError, or another error whose Reason and Message are given.
	Err error
	// ErrReason is Err's reason when it is none of those types.
	ErrReason string
	// Ingress is the InferenceService's Ingress, nil when it has none (no ingress class
	// configured, or cluster-local): then it is served inside the cluster only.
	Ingress *RoutedIngress
	// Serverless says the InferenceService is deployed in Serverless mode: Knative
	// Services are its children, Knative routes them.
	Serverless bool
	// Knative are the Serverless-mode children (nil when Err stopped them).
	Knative []KnativeChild
	// KnativeServices are the components' Knative Services as the API server has them,
	// by component (missing: not created yet).
	KnativeServices map[servingv1beta1.ComponentType]*knservingv1.Service
	// Domain is the Serverless InferenceService's DomainMapping, nil when it has none.
	Domain *RoutedDomain
}

// Status returns isvc's status for what was observed; old is the current status, whose
// conditions keep their transition times when unchanged. now stamps changed conditions.
func Status(isvc *servingv1beta1.InferenceService, o Observed, now metav1.Time) servingv1beta1.InferenceServiceStatus {
	old := isvc.Status
	st := servingv1beta1.InferenceServiceStatus{
		ObservedGeneration: isvc.Generation,
		Annotations:        old.Annotations,
		DeploymentMode:     ModeRawDeployment,
	}
	if o.Serverless {
		st.DeploymentMode = ModeServerless
	}
	set := func(t servingv1beta1.ConditionType, status corev1.ConditionStatus, reason, msg string) {
		c := servingv1beta1.Condition{Type: t, Status: status, Reason: reason, Message: msg, LastTransitionTime: now}
		if i := slices.IndexFunc(old.Conditions, func(c servingv1beta1.Condition) bool { return c.Type == t }); i >= 0 && old.Conditions[i].Status == status {
			c.LastTransitionTime = old.Conditions[i].LastTransitionTime
		}
		st.Conditions = append(st.Conditions, c)
	}
	if o.Runtime != nil {
		if o.Runtime.Namespaced {
			st.ServingRuntimeName = o.Runtime.Name
		} else {
			st.ClusterServingRuntimeName = o.Runtime.Name
		}
	}
	if o.Err != nil {
		reason, failure := o.ErrReason, servingv1beta1.InvalidPredictorSpec
		if reason == "" {
			reason = string(failure)
		}
		switch e := o.Err.(type) {
		case *NoRuntimeError:
			reason, failure = string(e.Reason), e.Reason
		case *SpecError:
			reason, failure = string(e.Reason), e.Reason
		case *StorageError:
			reason = ReasonStorageURINotServed
		}
		msg := o.Err.Error()
		set(servingv1beta1.PredictorReady, corev1.ConditionFalse, reason, msg)
		set(servingv1beta1.Ready, corev1.ConditionFalse, reason, msg)
		st.ModelStatus = servingv1beta1.ModelStatus{
			TransitionStatus:    servingv1beta1.InvalidSpec,
			ModelRevisionStates: &servingv1beta1.ModelRevisionStates{ActiveModelState: servingv1beta1.FailedToLoad, TargetModelState: servingv1beta1.FailedToLoad},
			LastFailureInfo:     &servingv1beta1.FailureInfo{Reason: failure, Message: msg},
		}
		return sortConditions(st)
	}

	ready := true
	var notReady []string
	st.Components = map[servingv1beta1.ComponentType]servingv1beta1.ComponentStatusSpec{}
	cond := map[servingv1beta1.ComponentType]servingv1beta1.ConditionType{
		servingv1beta1.PredictorComponent:   servingv1beta1.PredictorReady,
		servingv1beta1.TransformerComponent: servingv1beta1.TransformerReady,
		servingv1beta1.ExplainerComponent:   servingv1beta1.ExplainerReady,
	}
	componentReady := func(c servingv1beta1.ComponentType, status corev1.ConditionStatus, reason, msg string) {
		set(cond[c], status, reason, msg)
		if status != corev1.ConditionTrue {
			ready = false
			notReady = append(notReady, string(c))
		}
	}
	for _, c := range o.Children {
		url := fmt.Sprintf("http://%s.%s.svc.cluster.local", c.Service.Name, c.Service.Namespace)
		st.Components[c.Component] = servingv1beta1.ComponentStatusSpec{
			URL:     url,
			Address: &servingv1beta1.Addressable{URL: url},
		}
		status, reason, msg := deploymentReady(o.Deployments[c.Component], c.Deployment.Name)
		componentReady(c.Component, status, reason, msg)
	}
	routes := corev1.ConditionTrue
	var routeReason, routeMsg string
	for _, c := range o.Knative {
		ks := o.KnativeServices[c.Component]
		if ks == nil {
			componentReady(c.Component, corev1.ConditionUnknown, ReasonKnativeServiceNotCreated, "Knative Service "+c.Service.Name+" is not created yet")
			routes, routeReason, routeMsg = corev1.ConditionUnknown, ReasonKnativeServiceNotCreated, "Knative Service "+c.Service.Name+" is not created yet"
			continue
		}
		var prev servingv1beta1.ComponentStatusSpec
		if old.Components != nil {
			prev = old.Components[c.Component]
		}
		st.Components[c.Component] = knativeComponentStatus(prev, &ks.Status, ks.Generation)
		status, reason, msg := knativeCondition(ks, knservingv1.ConditionReady)
		if status == corev1.ConditionTrue && ks.Status.LatestCreatedRevisionName != "" && ks.Status.LatestCreatedRevisionName != ks.Status.LatestReadyRevisionName {
			// Knative keeps the Service ready on its last good revision while the
			// latest starts (or fails): say which
			msg = fmt.Sprintf("serving revision %s; revision %s is not ready yet", ks.Status.LatestReadyRevisionName, ks.Status.LatestCreatedRevisionName)
		}
		componentReady(c.Component, status, reason, msg)
		if rs, rr, rm := knativeCondition(ks, knservingv1.ConditionRoutesReady); rs != corev1.ConditionTrue && routes == corev1.ConditionTrue {
			routes, routeReason, routeMsg = rs, rr, "Knative Service "+ks.Name+": "+rm
		}
	}
	// the address: the transformer's when there is one, else the predictor's
	top := servingv1beta1.PredictorComponent
	if _, ok := st.Components[servingv1beta1.TransformerComponent]; ok {
		top = servingv1beta1.TransformerComponent
	}
	if cs, ok := st.Components[top]; ok {
		st.URL = cs.URL
		st.Address = cs.Address
		if st.Address == nil && cs.URL != "" {
			st.Address = &servingv1beta1.Addressable{URL: cs.URL}
		}
	}
	switch in := o.Ingress; {
	case o.Serverless:
		// Knative routes each component: its Route says when the ingress serves it; the
		// InferenceService's own host is its DomainMapping's
		if d := o.Domain; d != nil {
			st.URL = d.URL
			if routes == corev1.ConditionTrue && d.Status != corev1.ConditionTrue {
				routes, routeReason, routeMsg = d.Status, d.Reason, d.Message
			}
		}
		if routes == corev1.ConditionTrue {
			set(servingv1beta1.IngressReady, corev1.ConditionTrue, "", "routed by Knative at "+st.URL)
		} else {
			ready = false
			notReady = append(notReady, "ingress")
			set(servingv1beta1.IngressReady, routes, routeReason, routeMsg)
		}
	case in == nil:
		set(servingv1beta1.IngressReady, corev1.ConditionTrue, "", "served inside the cluster at "+st.URL)
	case in.Served:
		st.URL = in.URL
		set(servingv1beta1.IngressReady, corev1.ConditionTrue, "", "routed by the ingress at "+in.URL)
	default:
		st.URL = in.URL
		ready = false
		notReady = append(notReady, "ingress")
		set(servingv1beta1.IngressReady, corev1.ConditionFalse, ReasonIngressNotServed,
			"the Ingress "+isvc.Name+" is not served by the ingress yet (kubectl -n kfup-system get deploy kfup-ingress)")
	}
	// KServe's rule: a Serverless model is loaded once its latest revision is the ready
	// one (until then Knative serves the one before)
	pc, ok := st.Components[servingv1beta1.PredictorComponent]
	rollingOut := o.Serverless && ok && pc.LatestCreatedRevision != pc.LatestReadyRevision
	if ready {
		set(servingv1beta1.Ready, corev1.ConditionTrue, "", "")
		st.ModelStatus = servingv1beta1.ModelStatus{
			TransitionStatus:    servingv1beta1.UpToDate,
			ModelRevisionStates: &servingv1beta1.ModelRevisionStates{ActiveModelState: servingv1beta1.Loaded, TargetModelState: servingv1beta1.Loaded},
		}
		if rollingOut {
			st.ModelStatus.TransitionStatus = servingv1beta1.InProgress
			st.ModelStatus.ModelRevisionStates.TargetModelState = servingv1beta1.Loading
		}
	} else if f, who := loadFailure(o.PredictorPods); f != nil {
		msg := fmt.Sprintf("the %s in pod %s failed (exit code %d): %s", who, f.Location, f.ExitCode, f.Message)
		set(servingv1beta1.Ready, corev1.ConditionFalse, string(servingv1beta1.ModelLoadFailed), msg)
		for i := range st.Conditions { // the predictor's condition says why, too
			if c := &st.Conditions[i]; c.Type == servingv1beta1.PredictorReady && c.Status != corev1.ConditionTrue {
				c.Reason, c.Message = string(servingv1beta1.ModelLoadFailed), msg
			}
		}
		st.ModelStatus = servingv1beta1.ModelStatus{
			TransitionStatus:    servingv1beta1.BlockedByFailedLoad,
			ModelRevisionStates: &servingv1beta1.ModelRevisionStates{ActiveModelState: servingv1beta1.FailedToLoad, TargetModelState: servingv1beta1.FailedToLoad},
			LastFailureInfo:     f,
		}
	} else {
		set(servingv1beta1.Ready, corev1.ConditionFalse, ReasonComponentNotReady, fmt.Sprintf("not ready: %v", notReady))
		st.ModelStatus = servingv1beta1.ModelStatus{
			TransitionStatus:    servingv1beta1.InProgress,
			ModelRevisionStates: &servingv1beta1.ModelRevisionStates{ActiveModelState: servingv1beta1.Pending, TargetModelState: servingv1beta1.Loading},
		}
	}
	return sortConditions(st)
}

// deploymentReady reads a component's readiness off its Deployment's Available
// condition.
func deploymentReady(d *appsv1.Deployment, name string) (corev1.ConditionStatus, string, string) {
	if d == nil {
		return corev1.ConditionUnknown, "DeploymentNotCreated", "Deployment " + name + " is not created yet"
	}
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentAvailable {
			if c.Status == corev1.ConditionTrue {
				return corev1.ConditionTrue, "", ""
			}
			reason := c.Reason
			if reason == "" {
				reason = ReasonDeploymentUnavailable
			}
			return corev1.ConditionFalse, reason, fmt.Sprintf("Deployment %s: %s", name, c.Message)
		}
	}
	return corev1.ConditionUnknown, ReasonDeploymentUnavailable,
		fmt.Sprintf("Deployment %s has %d of %d replicas available", name, d.Status.AvailableReplicas, max(d.Status.Replicas, 1))
}

// sortConditions orders conditions by type, so a status compares equal to itself.
func sortConditions(st servingv1beta1.InferenceServiceStatus) servingv1beta1.InferenceServiceStatus {
	slices.SortFunc(st.Conditions, func(a, b servingv1beta1.Condition) int {
		if a.Type < b.Type {
			return -1
		}
		if a.Type > b.Type {
			return 1
		}
		return 0
	})
	return st
}

// maxFailureMessage bounds the termination message kept in status.
const maxFailureMessage = 1024

// loadFailure is the first predictor pod (by name) whose storage initializer, or else
// whose serving container (kserve-container, else the first), exited with an error, now
// or before its restart: KServe's ModelLoadFailed (KServe reports a failed storage
// initializer so too), with the container's termination message (the initializer's
// one-line error, the server's last log lines with FallbackToLogsOnError). who says
// which of the two failed.
func loadFailure(pods []corev1.Pod) (f *servingv1beta1.FailureInfo, who string) {
	pods = slices.Clone(pods)
	slices.SortFunc(pods, func(a, b corev1.Pod) int {
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
	for _, p := range pods {
		ics := p.Status.InitContainerStatuses
		if i := slices.IndexFunc(ics, func(c corev1.ContainerStatus) bool { return c.Name == StorageInitializerName }); i >= 0 {
			if t := failed(ics[i]); t != nil {
				return failureInfo(p.Name, t), "storage initializer"
			}
		}
		cs := p.Status.ContainerStatuses
		i := slices.IndexFunc(cs, func(c corev1.ContainerStatus) bool { return c.Name == ContainerName })
		if i < 0 {
			if len(cs) == 0 {
				continue
			}
			i = 0
		}
		if t := failed(cs[i]); t != nil {
			return failureInfo(p.Name, t), "model server"
		}
	}
	return nil, ""
}

// failed is the container's termination with an error, now or before its restart.
func failed(cs corev1.ContainerStatus) *corev1.ContainerStateTerminated {
	t := cs.State.Terminated
	if t == nil || t.ExitCode == 0 {
		t = cs.LastTerminationState.Terminated
	}
	if t == nil || t.ExitCode == 0 {
		return nil
	}
	return t
}

func failureInfo(pod string, t *corev1.ContainerStateTerminated) *servingv1beta1.FailureInfo {
	msg := t.Message
	if msg == "" {
		msg = t.Reason
	}
	if len(msg) > maxFailureMessage {
		msg = msg[len(msg)-maxFailureMessage:]
	}
	return &servingv1beta1.FailureInfo{Location: pod, Reason: servingv1beta1.ModelLoadFailed, Message: msg, ExitCode: t.ExitCode}
}
