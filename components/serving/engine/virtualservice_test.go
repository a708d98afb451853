package engine

import (
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	servingv1beta1 "github.com/kfup/kfup/components/serving/api/v1beta1"
)

func TestVirtualService(t *testing.T) {
	in := isvc(servingv1beta1.PredictorSpec{XGBoost: &servingv1beta1.PredictorExtensionSpec{StorageURI: ptr.To("pvc://models/x")}})
	children, err := Desired(in, builtin(t, KfupRuntime), StorageInit{})
	if err != nil {
		t.Fatal(err)
	}
	s := IngressSettings{IstioGateway: "istio-system/kfup-gateway", Domain: "kfup.localhost"}
	ns := in.Namespace
	// where a request for host (with or without a port) goes: the destination of the first
	// route whose authority matches, as Envoy picks it
	route := func(children []Children, host string) string {
		vs := VirtualService(in, children, s)
		if vs == nil {
			t.Fatal("no VirtualService")
		}
		if d := cmp.Diff([]string{"istio-system/kfup-gateway"}, vs.Spec.Gateways); d != "" {
			t.Errorf("gateways (-want +got):\n%s", d)
		}
		for _, r := range vs.Spec.Http {
			if re := regexp.MustCompile(r.Match[0].Authority.GetRegex()); re.MatchString(host) {
				if len(r.Route) != 1 || r.Route[0].Destination.Port.GetNumber() != ServicePort {
					t.Errorf("route %s: %+v", r.Name, r.Route)
				}
				return r.Route[0].Destination.Host
			}
		}
		return ""
	}
	vs := VirtualService(in, children, s)
	if d := cmp.Diff([]string{in.Name + "-" + ns + ".kfup.localhost", in.Name + "-predictor-" + ns + ".kfup.localhost"}, vs.Spec.Hosts); d != "" {
		t.Errorf("hosts (-want +got):\n%s", d)
	}
	if vs.Name != in.Name || vs.Namespace != ns || vs.Labels[LabelInferenceService] != in.Name || vs.Kind != "VirtualService" || vs.APIVersion != "networking.istio.io/v1" {
		t.Errorf("object: %+v %+v", vs.TypeMeta, vs.ObjectMeta)
	}
	predictor := in.Name + "-predictor." + ns + ".svc.cluster.local"
	for _, host := range []string{in.Name + "-" + ns + ".kfup.localhost", in.Name + "-" + ns + ".kfup.localhost:8080", in.Name + "-predictor-" + ns + ".kfup.localhost"} {
		if got := route(children, host); got != predictor {
			t.Errorf("%s goes to %q, want %s", host, got, predictor)
		}
	}
	// the dots are literal, and the whole authority must match
	for _, host := range []string{strings.ReplaceAll(in.Name+"-"+ns+".kfup.localhost", ".", "x"), "evil." + in.Name + "-" + ns + ".kfup.localhost", in.Name + "-" + ns + ".kfup.localhost.evil"} {
		if got := route(children, host); got != "" {
			t.Errorf("%s goes to %q, want nowhere", host, got)
		}
	}
	// a transformer takes the InferenceService's own host
	tr := Children{Component: servingv1beta1.TransformerComponent, Service: &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: in.Name + "-transformer"}}, Deployment: &appsv1.Deployment{}}
	if got := route(append(children, tr), in.Name+"-"+ns+".kfup.localhost"); got != in.Name+"-transformer."+ns+".svc.cluster.local" {
		t.Errorf("top host with a transformer goes to %q", got)
	}
	// none: an ingress class routes it, no gateway, no domain, cluster-local
	for name, s := range map[string]IngressSettings{
		"ingress class": {Class: "kfup", IstioGateway: "istio-system/kfup-gateway", Domain: "kfup.localhost"},
		"no gateway":    {Domain: "kfup.localhost"},
		"no domain":     {IstioGateway: "istio-system/kfup-gateway"},
	} {
		if vs := VirtualService(in, children, s); vs != nil {
			t.Errorf("%s: a VirtualService %+v", name, vs)
		}
	}
	local := in.DeepCopy()
	local.Labels = map[string]string{VisibilityLabel: VisibilityClusterLocal}
	if vs := VirtualService(local, children, s); vs != nil {
		t.Errorf("cluster-local: a VirtualService %+v", vs)
	}
}

func TestValidIstioGateway(t *testing.T) {
	for ref, ok := range map[string]bool{
		"istio-system/kfup-gateway": true, "knative-serving/knative-ingress-gateway": true,
		"kfup-gateway": false, "/kfup-gateway": false, "istio-system/": false, "a/b/c": false, "": false,
	} {
		if err := ValidIstioGateway(ref); (err == nil) != ok {
			t.Errorf("%q: %v", ref, err)
		}
	}
}
