package istio

import (
	"fmt"
	"os"
	"strings"
	"testing"

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
