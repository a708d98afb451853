package controller

import (
	"strings"
	"testing"

	"github.com/kfup/kfup/internal/errs"
	"github.com/kfup/kfup/internal/testenv"
)

// parse parses args into a fresh API as the manager would.
func parse(t *testing.T, args ...string) (*API, error) {
	t.Helper()
	a := NewAPI()
	return a, testenv.ParseFlags(a, args...)
}

// --ingress-serve-namespace restricts the slice's caches; without it every namespace is
// served. A bad value of any flag is a usage error.
func TestAPIFlags(t *testing.T) {
	a, err := parse(t, "--ingress-serve-namespace", "team-a,team-b", "--ingress-knative")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(a.Namespaces(), " ") != "team-a team-b" || !a.Config.Knative || len(a.Objects()) != 2 {
		t.Fatalf("API: %+v", a)
	}
	d, err := parse(t)
	if err != nil || d.Namespaces() != nil || d.Name() != "ingress" || len(d.Objects()) != 1 || d.Config.Namespace != "kfup-system" {
		t.Fatalf("defaults: %+v %v", d, err)
	}
	for _, args := range [][]string{
		{"--ingress-serve-namespace", "Team_A"}, {"--ingress-namespace", "kfup system"},
		{"--ingress-routes-configmap", "Routes!"}, {"--ingress-class", "Kfup Class"},
	} {
		if _, err := parse(t, args...); errs.KindOf(err) != errs.KindUsage {
			t.Errorf("%v: want a usage error, got %v", args, err)
		}
	}
}
