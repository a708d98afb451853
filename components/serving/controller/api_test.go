package controller

import (
	"strings"
	"testing"

	"github.com/kfup/kfup/internal/apihost"
	"github.com/kfup/kfup/internal/errs"
	"github.com/kfup/kfup/internal/testenv"
)

// parse parses args into a fresh API as the manager would.
func parse(t *testing.T, args ...string) (*API, error) {
	t.Helper()
	a := NewAPI()
	return a, testenv.ParseFlags(a, args...)
}

// The flags are prefixed with the slice's name and configure the controller.
func TestAPIFlags(t *testing.T) {
	a, err := parse(t, "--serving-workers", "8", "--serving-namespace", "team-a,team-b")
	if err != nil {
		t.Fatal(err)
	}
	if a.Config.Workers != 8 || strings.Join(a.Namespaces(), " ") != "team-a team-b" {
		t.Fatalf("API: %+v", a)
	}
	d, err := parse(t)
	if err != nil || d.Config.Workers != 4 || d.Namespaces() != nil || d.Name() != "serving" || len(d.Objects()) != 1 {
		t.Fatalf("defaults: %+v %v", d, err)
	}
	g, err := parse(t, "--serving-istio-gateway", "istio-system/kfup-gateway")
	if err != nil || g.Config.Ingress.IstioGateway != "istio-system/kfup-gateway" {
		t.Fatalf("--serving-istio-gateway: %+v %v", g.Config.Ingress, err)
	}
	for _, args := range [][]string{{"--serving-workers", "0"}, {"--serving-namespace", "Team_A"},
		{"--serving-istio-gateway", "kfup-gateway"}, {"--serving-istio-gateway", "istio-system/kfup-gateway", "--serving-ingress-class", "kfup"},
		{"--serving-istio-gateway", "istio-system/kfup-gateway", "--serving-ingress-domain", "not a domain"}} {
		if _, err := parse(t, args...); errs.KindOf(err) != errs.KindUsage {
			t.Errorf("%v: want a usage error, got %v", args, err)
		}
	}
}

// kfup's runtime runs from the manager's image.
func TestAPIControllersUseTheManagerImage(t *testing.T) {
	cs, err := NewAPI().Controllers(apihost.Process{Image: "kfup/manager:abc"})
	if err != nil || len(cs) != 2 {
		t.Fatalf("controllers: %d, %v", len(cs), err)
	}
	if r := cs[0].(*InferenceServiceReconciler); r.cfg.Image != "kfup/manager:abc" {
		t.Errorf("reconciler image %q", r.cfg.Image)
	}
	if i := cs[1].(*RuntimeInstaller); i.Image != "kfup/manager:abc" {
		t.Errorf("installer image %q", i.Image)
	}
	names := map[string]bool{}
	for _, c := range cs {
		names[c.Name()] = true
	}
	if !names["inferenceservice-controller"] || !names["servingruntime-installer"] {
		t.Errorf("controller names %v", names)
	}
}
