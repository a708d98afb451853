package istio

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	istionetworkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func find(objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	return nil
}

func TestRenderPinsImagesAndGateway(t *testing.T) {
	objs, err := Objects(DefaultSettings())
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, o := range objs {
		kinds[o.GetKind()]++
	}
	if kinds["CustomResourceDefinition"] < 10 {
		t.Errorf("want Istio's CRDs from the base chart, got %d", kinds["CustomResourceDefinition"])
	}
	if objs[0].GetKind() != "Namespace" || objs[0].GetName() != Namespace {
		t.Errorf("first object %s/%s, want the namespace", objs[0].GetKind(), objs[0].GetName())
	}
	istiod := find(objs, "Deployment", "istiod")
	if istiod == nil {
		t.Fatalf("no istiod Deployment (kinds %v)", kinds)
	}
	cs, _, _ := unstructured.NestedSlice(istiod.Object, "spec", "template", "spec", "containers")
	img := cs[0].(map[string]any)["image"].(string)
	if img != "docker.io/istio/pilot:1.31.0" {
		t.Errorf("istiod image %q: want the pinned release, never the chart's testing registry", img)
	}
	gw := find(objs, "Service", GatewayName)
	if gw == nil || gw.GetNamespace() != Namespace {
		t.Fatalf("no %s Service in %s", GatewayName, Namespace)
	}
	if typ, _, _ := unstructured.NestedString(gw.Object, "spec", "type"); typ != "NodePort" {
		t.Errorf("gateway service type %q", typ)
	}
	ports, _, _ := unstructured.NestedSlice(gw.Object, "spec", "ports")
	nodePorts := map[string]string{}
	for _, p := range ports {
		m := p.(map[string]any)
		if np, ok := m["nodePort"]; ok {
			nodePorts[m["name"].(string)] = fmt.Sprint(np)
		}
	}
	if nodePorts["http2"] != "31080" || nodePorts["https"] != "31443" {
		t.Errorf("gateway node ports %v, want http2 31080 and https 31443 (the kind config maps them)", nodePorts)
	}
	sel, _, _ := unstructured.NestedStringMap(gw.Object, "spec", "selector")
	if sel["istio"] != "ingressgateway" {
		t.Errorf("gateway selector %v: net-istio selects istio=ingressgateway", sel)
	}
	for _, o := range objs {
		if strings.Contains(o.GetName(), "testing") {
			t.Errorf("testing object rendered: %s", o.GetName())
		}
	}
	imgs, err := (Component{}).Images(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range imgs {
		if !strings.HasPrefix(i, "docker.io/istio/") || !strings.HasSuffix(i, ":1.31.0") {
			t.Errorf("image %s is not of the pinned release", i)
		}
	}
}

func TestRenderWithoutGateway(t *testing.T) {
	s := DefaultSettings()
	s.IngressGateway = false
	objs, err := Render(s)
	if err != nil {
		t.Fatal(err)
	}
	if find(objs, "Deployment", GatewayName) != nil {
		t.Fatal("gateway rendered although disabled")
	}
}

// make istiod-image builds istiod from hack/istiod's module: it must pin the very
// istio.io/istio version the charts come from, or istiod and its chart drift apart.
func TestIstiodModulePinsTheChartsVersion(t *testing.T) {
	version := func(path string) string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), "require "))
			if len(f) >= 2 && f[0] == "istio.io/istio" {
				return f[1]
			}
		}
		t.Fatalf("%s does not require istio.io/istio", path)
		return ""
	}
	root, hack := version("../../go.mod"), version("../../hack/istiod/go.mod")
	if root != hack {
		t.Fatalf("go.mod pins istio.io/istio %s but hack/istiod/go.mod pins %s: run 'cd hack/istiod && go get istio.io/istio@%s && go mod tidy'", root, hack, root)
	}
}

// With the ingress gateway, Objects adds kfup-gateway: HTTP on port 80 of the very
// pods the gateway release runs (its selector matches their labels), any host.
func TestObjectsServingGateway(t *testing.T) {
	s := DefaultSettings()
	s.IngressGateway = true
	objs, err := Objects(s)
	if err != nil {
		t.Fatal(err)
	}
	gw := find(objs, "Gateway", ServingGatewayName)
	if gw == nil || gw.GetNamespace() != Namespace || gw.GetAPIVersion() != "networking.istio.io/v1" {
		t.Fatalf("Gateway %s: %v", ServingGatewayName, gw)
	}
	raw, err := gw.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	typed := &istionetworkingv1.Gateway{}
	if err := json.Unmarshal(raw, typed); err != nil {
		t.Fatalf("not an Istio Gateway: %v", err)
	}
	if srv := typed.Spec.Servers; len(srv) != 1 || srv[0].Port.GetNumber() != 80 || srv[0].Port.GetProtocol() != "HTTP" || len(srv[0].Hosts) != 1 || srv[0].Hosts[0] != "*" {
		t.Errorf("servers: %v", srv)
	}
	dep := find(objs, "Deployment", GatewayName)
	if dep == nil {
		t.Fatal("no gateway Deployment")
	}
	labels, _, _ := unstructured.NestedStringMap(dep.Object, "spec", "template", "metadata", "labels")
	for k, v := range typed.Spec.Selector {
		if labels[k] != v {
			t.Errorf("selector %s=%s does not match the gateway's pods %v", k, v, labels)
		}
	}
	s.IngressGateway = false
	if objs, err = Objects(s); err != nil || find(objs, "Gateway", ServingGatewayName) != nil {
		t.Errorf("without the ingress gateway: %v", err)
	}
}
