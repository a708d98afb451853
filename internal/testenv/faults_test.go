package testenv

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestRequestInfo(t *testing.T) {
	for _, c := range []struct{ method, url, verb, resource, name string }{
		{"GET", "/api/v1/namespaces/ns/pods", "list", "pods", ""},
		{"GET", "/api/v1/namespaces/ns/pods?watch=true", "watch", "pods", ""},
		{"GET", "/api/v1/namespaces/ns/pods/p", "get", "pods", "p"},
		{"PUT", "/apis/kubeflow.org/v1/namespaces/ns/pytorchjobs/j/status", "update", "pytorchjobs/status", "j"},
		{"PATCH", "/apis/kubeflow.org/v1/namespaces/ns/pytorchjobs/j", "patch", "pytorchjobs", "j"},
		{"POST", "/api/v1/namespaces/ns/pods", "create", "pods", ""},
		{"DELETE", "/api/v1/namespaces/ns/pods/p", "delete", "pods", "p"},
		{"GET", "/api/v1/namespaces", "list", "namespaces", ""},
		{"GET", "/api/v1/namespaces/ns", "get", "namespaces", "ns"},
		{"GET", "/apis", "get", "", ""},
	} {
		v, r, n := requestInfo(httptest.NewRequest(c.method, c.url, nil))
		if v != c.verb || r != c.resource || n != c.name {
			t.Errorf("%s %s: %s %s %s, want %s %s %s", c.method, c.url, v, r, n, c.verb, c.resource, c.name)
		}
	}
}

// The same seed fails the same requests; the rate holds roughly; conflicts only hit
// updates and patches; nothing fails unarmed or on a non-resource path.
func TestInjectorDecisions(t *testing.T) {
	decisions := func(seed uint64) []Fault {
		i := NewInjector(seed, FaultRule{Rate: 0.3})
		var out []Fault
		for range 1000 {
			f, _ := i.decide("get", "pods", "p")
			out = append(out, f)
		}
		return out
	}
	a, b := decisions(7), decisions(7)
	failed := 0
	for k := range a {
		if a[k] != b[k] {
			t.Fatalf("seed 7 decided otherwise the second time at request %d", k)
		}
		if a[k] == FaultConflict {
			t.Fatalf("a conflict on a get")
		}
		if a[k] != "" {
			failed++
		}
	}
	if failed < 240 || failed > 360 {
		t.Errorf("%d of 1000 failed at rate 0.3", failed)
	}
	i := NewInjector(1, FaultRule{Rate: 1, Faults: []Fault{FaultConflict}})
	if _, ok := i.decide("create", "pods", ""); ok {
		t.Errorf("a conflict on a create")
	}
	if f, ok := i.decide("update", "pods", "p"); !ok || f != FaultConflict {
		t.Errorf("update at rate 1: %q %v", f, ok)
	}
	if _, ok := i.decide("get", "", ""); ok {
		t.Errorf("a non-resource path failed")
	}
	if i.Injected() != 1 || i.InjectedOn("update") != 1 || i.InjectedOf(FaultConflict) != 1 {
		t.Errorf("counts: %s", i)
	}
}

func TestTransportUnarmed(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	defer srv.Close()
	i := NewInjector(1, FaultRule{Rate: 1})
	tr := &faultTransport{inj: i, next: http.DefaultTransport}
	req, _ := http.NewRequest("GET", srv.URL+"/api/v1/namespaces/ns/pods/p", nil)
	resp, err := tr.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("unarmed: %v %v", resp, err)
	}
	resp.Body.Close()
	i.Arm(true)
	resp, err = tr.RoundTrip(req)
	if err == nil && resp.StatusCode == http.StatusOK {
		t.Fatalf("armed at rate 1: the request went through")
	}
	if err == nil {
		resp.Body.Close()
	}
}
