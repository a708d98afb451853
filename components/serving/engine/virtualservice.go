package engine

import (
	"fmt"
	"strings"

	istioapi "istio.io/api/networking/v1alpha3"
	istionetworkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	servingv1beta1 "github.com/kfup/kfup/components/serving/api/v1beta1"
)

// VirtualService returns the Istio VirtualService of an InferenceService in Standard
// mode when the settings route through Istio (IstioGateway set, no ingress class): the
// hosts of hostRoutes bound to that gateway, each matched on its authority and sent to
// its component's Service (its cluster-local name, port 80), the way KServe routes an
// InferenceService on Istio. Nil when the settings name no gateway, name an ingress
// class (an Ingress routes it instead), or hostRoutes has none.
func VirtualService(isvc *servingv1beta1.InferenceService, children []Children, s IngressSettings) *istionetworkingv1.VirtualService {
	routes := hostRoutes(isvc, children, s)
	if s.IstioGateway == "" || s.Class != "" || len(routes) == 0 {
		return nil
	}
	vs := &istionetworkingv1.VirtualService{
		TypeMeta:   metav1.TypeMeta{APIVersion: istionetworkingv1.SchemeGroupVersion.String(), Kind: "VirtualService"},
		ObjectMeta: metav1.ObjectMeta{Name: isvc.Name, Namespace: isvc.Namespace, Labels: map[string]string{LabelInferenceService: isvc.Name}},
	}
	spec := &vs.Spec
	spec.Gateways = []string{s.IstioGateway}
	for _, r := range routes {
		spec.Hosts = append(spec.Hosts, r.host)
		spec.Http = append(spec.Http, &istioapi.HTTPRoute{
			Name: r.host,
			// the host alone or with a port (the host's port that kind maps is not 80)
			Match: []*istioapi.HTTPMatchRequest{{Authority: &istioapi.StringMatch{MatchType: &istioapi.StringMatch_Regex{
				Regex: "^" + strings.ReplaceAll(r.host, ".", `\.`) + "(:[0-9]+)?$",
			}}}},
			Route: []*istioapi.HTTPRouteDestination{{
				Destination: &istioapi.Destination{
					Host: fmt.Sprintf("%s.%s.svc.cluster.local", r.service, isvc.Namespace),
					Port: &istioapi.PortSelector{Number: ServicePort},
				},
				Weight: 100,
			}},
		})
	}
	return vs
}

// ValidIstioGateway says what is wrong with an Istio Gateway reference, which must be
// "<namespace>/<name>"; nil when nothing is.
func ValidIstioGateway(ref string) error {
	ns, name, ok := strings.Cut(ref, "/")
	if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
		return fmt.Errorf("istio gateway %q: want <namespace>/<name>, such as istio-system/kfup-gateway", ref)
	}
	return nil
}
