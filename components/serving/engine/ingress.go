package engine

import (
	"fmt"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	servingv1beta1 "github.com/kfup/kfup/components/serving/api/v1beta1"
)

// VisibilityLabel is KServe's label that keeps an InferenceService inside the cluster:
// with the value VisibilityClusterLocal no Ingress is made for it.
const (
	VisibilityLabel        = "networking.kserve.io/visibility"
	VisibilityClusterLocal = "cluster-local"
)

// IngressSettings say how InferenceServices are routed from outside the cluster: by
// an Ingress of Class, or (Class empty) an Istio VirtualService bound to IstioGateway.
type IngressSettings struct {
	// Class is the IngressClass of the Ingress made per InferenceService; empty: none.
	Class string
	// IstioGateway is the Istio Gateway ("<namespace>/<name>") that a VirtualService per
	// InferenceService binds its hosts to, when Class is empty; empty: none.
	IstioGateway string
	// Domain is the DNS suffix of the hosts, as KServe's ingressDomain.
	Domain string
}

// Host is KServe's default host of an InferenceService (its domain template
// "{{ .Name }}-{{ .Namespace }}.{{ .IngressDomain }}"); component is "" for the
// InferenceService's own host, else the component's ("<name>-predictor-<namespace>...").
func (s IngressSettings) Host(isvc *servingv1beta1.InferenceService, component servingv1beta1.ComponentType) string {
	name := isvc.Name
	if component != "" {
		name = ComponentName(isvc.Name, component)
	}
	return fmt.Sprintf("%s-%s.%s", name, isvc.Namespace, s.Domain)
}

// hostRoute is one host of an InferenceService and the component Service it goes to.
type hostRoute struct{ host, service string }

// hostRoutes are the hosts of an InferenceService routed from outside, as KServe's raw
// ingress reconciler makes them: the InferenceService's host to the transformer when
// there is one, else the predictor; each component's own host to that component. Nil
// when the InferenceService is labelled cluster-local or has no children, or the
// settings name no domain.
func hostRoutes(isvc *servingv1beta1.InferenceService, children []Children, s IngressSettings) []hostRoute {
	if s.Domain == "" || isvc.Labels[VisibilityLabel] == VisibilityClusterLocal || len(children) == 0 {
		return nil
	}
	top := ""
	var out []hostRoute
	for _, c := range children {
		if c.Component == servingv1beta1.TransformerComponent || (top == "" && c.Component == servingv1beta1.PredictorComponent) {
			top = c.Service.Name
		}
		out = append(out, hostRoute{s.Host(isvc, c.Component), c.Service.Name})
	}
	return append([]hostRoute{{s.Host(isvc, ""), top}}, out...)
}

// Ingress returns the Ingress of an InferenceService in Standard mode (hostRoutes), of
// the settings' class. Nil when the settings name no class or hostRoutes has none.
func Ingress(isvc *servingv1beta1.InferenceService, children []Children, s IngressSettings) *networkingv1.Ingress {
	routes := hostRoutes(isvc, children, s)
	if s.Class == "" || len(routes) == 0 {
		return nil
	}
	prefix := networkingv1.PathTypePrefix
	var rules []networkingv1.IngressRule
	for _, r := range routes {
		rules = append(rules, networkingv1.IngressRule{Host: r.host, IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
			Paths: []networkingv1.HTTPIngressPath{{Path: "/", PathType: &prefix, Backend: networkingv1.IngressBackend{
				Service: &networkingv1.IngressServiceBackend{Name: r.service, Port: networkingv1.ServiceBackendPort{Number: ServicePort}},
			}}},
		}}})
	}
	return &networkingv1.Ingress{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "Ingress"},
		ObjectMeta: metav1.ObjectMeta{Name: isvc.Name, Namespace: isvc.Namespace, Labels: map[string]string{LabelInferenceService: isvc.Name}},
		Spec:       networkingv1.IngressSpec{IngressClassName: &s.Class, Rules: rules},
	}
}

// RoutedIngress is what became of an InferenceService's Ingress.
type RoutedIngress struct {
	// URL is the InferenceService's external URL, http://<its host>.
	URL string
	// Served says the ingress reports the routes served (the Ingress has a load
	// balancer address).
	Served bool
}
