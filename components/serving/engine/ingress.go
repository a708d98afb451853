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

// IngressSettings say how InferenceServices are routed from outside the cluster.
type IngressSettings struct {
	// Class is the IngressClass of the Ingress made per InferenceService; empty: none.
	Class string
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

// Ingress returns the Ingress of an InferenceService in Standard mode, as KServe's raw
// ingress reconciler makes it: the InferenceService's host to the transformer when there
// is one, else the predictor; each component's own host to that component. Nil when the
// settings make none, or the InferenceService is labelled cluster-local.
func Ingress(isvc *servingv1beta1.InferenceService, children []Children, s IngressSettings) *networkingv1.Ingress {
	if s.Class == "" || s.Domain == "" || isvc.Labels[VisibilityLabel] == VisibilityClusterLocal || len(children) == 0 {
		return nil
	}
	prefix := networkingv1.PathTypePrefix
	rule := func(host, service string) networkingv1.IngressRule {
		return networkingv1.IngressRule{Host: host, IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
			Paths: []networkingv1.HTTPIngressPath{{Path: "/", PathType: &prefix, Backend: networkingv1.IngressBackend{
				Service: &networkingv1.IngressServiceBackend{Name: service, Port: networkingv1.ServiceBackendPort{Number: ServicePort}},
			}}},
		}}}
	}
	top := ""
	var rules []networkingv1.IngressRule
	for _, c := range children {
		if c.Component == servingv1beta1.TransformerComponent || (top == "" && c.Component == servingv1beta1.PredictorComponent) {
			top = c.Service.Name
		}
		rules = append(rules, rule(s.Host(isvc, c.Component), c.Service.Name))
	}
	rules = append([]networkingv1.IngressRule{rule(s.Host(isvc, ""), top)}, rules...)
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
