package controller

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/cache"

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
		{"--ingress-routes-configmap", "Routes!"}, {"--ingress-class", "Kfup Class"}, {"--ingress-certs-secret", "Certs!"},
	} {
		if _, err := parse(t, args...); errs.KindOf(err) != errs.KindUsage {
			t.Errorf("%v: want a usage error, got %v", args, err)
		}
	}
}

// Secrets are cached by their name and version only: no data, and no annotation (kubectl
// apply's last-applied-configuration holds the data), whether the informer is typed or
// metadata-only.
func TestTrimSecret(t *testing.T) {
	rules := NewAPI().CacheRules()
	var rule cache.ByObject
	for o, r := range rules {
		if _, ok := o.(*corev1.Secret); ok {
			rule = r
		}
	}
	if rule.Transform == nil {
		t.Fatal("no cache rule for Secrets")
	}
	meta := metav1.ObjectMeta{Namespace: "ns", Name: "s", UID: "u", ResourceVersion: "7",
		Labels:      map[string]string{"a": "b"},
		Annotations: map[string]string{"kubectl.kubernetes.io/last-applied-configuration": `{"data":{"tls.key":"c2VjcmV0"}}`}}
	got, err := rule.Transform(&corev1.Secret{ObjectMeta: meta, Data: map[string][]byte{"tls.key": []byte("secret")}, StringData: map[string]string{"x": "y"}})
	if err != nil {
		t.Fatal(err)
	}
	s := got.(*corev1.Secret)
	if s.Data != nil || s.StringData != nil || s.Annotations != nil || s.Labels != nil || s.Name != "s" || s.Namespace != "ns" || s.ResourceVersion != "7" {
		t.Errorf("typed Secret kept %+v", s)
	}
	got, err = rule.Transform(&metav1.PartialObjectMetadata{ObjectMeta: meta})
	if err != nil {
		t.Fatal(err)
	}
	if m := got.(*metav1.PartialObjectMetadata); m.Annotations != nil || m.Labels != nil || m.Name != "s" || m.UID != "u" {
		t.Errorf("metadata kept %+v", m.ObjectMeta)
	}
}
