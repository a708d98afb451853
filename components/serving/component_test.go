package serving_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kfup/kfup/components"
	"github.com/kfup/kfup/components/serving"
	"github.com/kfup/kfup/profiles"
)

// A bundle carries the images of the upstream runtimes the profile names, once each;
// by default none; an unknown runtime is an error naming the known ones.
func TestBundleRuntimeImages(t *testing.T) {
	env := func(list string) *components.Env {
		p := profiles.Defaults()
		p.Components.Serving.BundleRuntimes = list
		return &components.Env{Profile: p}
	}
	if got, err := (serving.Component{}).Images(env("")); err != nil || len(got) != 0 {
		t.Errorf("default: %v %v, want none", got, err)
	}
	got, err := serving.Component{}.Images(env("kserve-sklearnserver,kserve-xgbserver,kserve-sklearnserver"))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"kserve/sklearnserver:v0.16.0", "kserve/xgbserver:v0.16.0"}, got); d != "" {
		t.Errorf("images (-want +got):\n%s", d)
	}
	_, err = serving.Component{}.Images(env("kfup-modelserver"))
	if err == nil || !strings.Contains(err.Error(), `"kfup-modelserver" is not one of kfup's upstream runtimes`) || !strings.Contains(err.Error(), "kserve-tritonserver") {
		t.Errorf("kfup's own runtime: got %v", err)
	}
}

// The manager's serving flags route Standard-mode InferenceServices by kfup's ingress
// where it is on, else by Istio's VirtualServices where Istio's gateway is, else not
// from outside at all.
func TestManagerArgsRouting(t *testing.T) {
	routing := func(ingress, istio, gateway bool) []string {
		p := profiles.Defaults()
		p.Components.Serving.Enabled = true
		p.Components.Ingress.Enabled = ingress
		p.Components.Istio = profiles.IstioConfig{Enabled: istio, IngressGateway: gateway}
		var out []string
		for _, a := range (serving.Component{}).ManagerArgs(&components.Env{Profile: p}) {
			if strings.HasPrefix(a, "--serving-ingress-class=") || strings.HasPrefix(a, "--serving-istio-gateway=") {
				out = append(out, a)
			}
		}
		return out
	}
	for _, c := range []struct {
		name                    string
		ingress, istio, gateway bool
		want                    []string
	}{
		{"kfup's ingress", true, false, false, []string{"--serving-ingress-class=kfup"}},
		{"kfup's ingress beside Istio", true, true, true, []string{"--serving-ingress-class=kfup"}},
		{"Istio's gateway", false, true, true, []string{"--serving-istio-gateway=istio-system/kfup-gateway"}},
		{"Istio without a gateway", false, true, false, nil},
		{"neither", false, false, false, nil},
	} {
		if d := cmp.Diff(c.want, routing(c.ingress, c.istio, c.gateway)); d != "" {
			t.Errorf("%s (-want +got):\n%s", c.name, d)
		}
	}
}
