package apis_test

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/kfup/kfup/apis"
	"github.com/kfup/kfup/components"
	managercomponent "github.com/kfup/kfup/components/manager"
	"github.com/kfup/kfup/components/registry"
	"github.com/kfup/kfup/internal/apihost"
	"github.com/kfup/kfup/manifests"
	"github.com/kfup/kfup/profiles"
)

// The two composition roots list the same API slices, in the same order: a slice added
// to one list and forgotten in the other would have CRDs and no controllers, or the
// reverse.
func TestHostAndInClusterListsAgree(t *testing.T) {
	host := components.Names(registry.APIs)
	if diff := cmp.Diff(host, apihost.Names(apis.InCluster())); diff != "" {
		t.Errorf("components/registry.APIs vs apis.InCluster (-host +in-cluster):\n%s", diff)
	}
	for _, n := range host {
		if !slices.Contains(profiles.Names(), n) {
			t.Errorf("API %s has no profile section (components.%s)", n, n)
		}
	}
}

// Every CRD kfup embeds belongs to exactly one API slice, and every CRD a slice names is
// embedded: disabling one slice removes its CRDs and no other's (Katib's kinds are
// kubeflow.org too).
func TestEveryCRDHasOneOwner(t *testing.T) {
	crds, err := manifests.CRDs()
	if err != nil {
		t.Fatal(err)
	}
	owner := map[string]string{}
	for _, a := range registry.APIs {
		for _, n := range a.CRDs() {
			if o, dup := owner[n]; dup {
				t.Errorf("CRD %s claimed by %s and %s", n, o, a.Name())
			}
			owner[n] = a.Name()
		}
	}
	for _, c := range crds {
		if owner[c.Name] == "" {
			t.Errorf("embedded CRD %s belongs to no API slice", c.Name)
		}
		delete(owner, c.Name)
	}
	for n, a := range owner {
		t.Errorf("%s names CRD %s, which kfup does not embed", a, n)
	}
}

// The in-cluster and host sides register the same kinds.
func TestSchemesAgree(t *testing.T) {
	inCluster, err := apihost.NewScheme(apis.InCluster()...)
	if err != nil {
		t.Fatal(err)
	}
	host, err := registry.Scheme()
	if err != nil {
		t.Fatal(err)
	}
	var a, b []string
	for gvk := range inCluster.AllKnownTypes() {
		a = append(a, gvk.String())
	}
	for gvk := range host.AllKnownTypes() {
		b = append(b, gvk.String())
	}
	slices.Sort(a)
	slices.Sort(b)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("kinds (-in-cluster +host):\n%s", diff)
	}
}

// The manager's installer checks the lease the manager process takes.
func TestLeaseName(t *testing.T) {
	if managercomponent.LeaseName != apihost.LeaderElectionID {
		t.Errorf("components/manager.LeaseName %q, internal/apihost.LeaderElectionID %q", managercomponent.LeaseName, apihost.LeaderElectionID)
	}
}

// One dependency table: the install order (Component.DependsOn) follows
// profiles.Requires — a component installs after what it requires — except that an API
// slice requires the manager but installs before it (its CRDs before the controllers
// watching them), so the manager installs after the APIs it hosts, and after Knative on
// kfup's ingress (whose KIngress CRD the ingress slice watches). Knative on Istio installs
// after Istio; the manager waits for it only when it hosts serving (whose Serverless mode
// watches Knative's Service CRD), and after Istio when serving routes Standard mode by
// Istio's VirtualServices.
func TestInstallOrderFollowsRequires(t *testing.T) {
	onIstio := profiles.Defaults()
	onIstio.Components.Knative.Ingress = profiles.KnativeIngressIstio
	withoutServing := slices.DeleteFunc(profiles.Names(), func(n string) bool { return n == profiles.Serving })
	for _, enabled := range [][]string{profiles.Names(), withoutServing} {
		serving := slices.Contains(enabled, profiles.Serving)
		for _, c := range registry.All("", enabled, onIstio) {
			switch c.Name() {
			case profiles.Knative:
				if diff := cmp.Diff([]string{profiles.Istio}, c.DependsOn()); diff != "" {
					t.Errorf("knative on Istio: DependsOn (-want +got):\n%s", diff)
				}
			case profiles.Manager:
				if waits := slices.Contains(c.DependsOn(), profiles.Knative); waits != serving {
					t.Errorf("manager with Knative on Istio, serving %v: waits for knative %v: %v", serving, waits, c.DependsOn())
				}
			}
		}
	}
	// Standard-mode InferenceServices routed by Istio's VirtualServices: the manager
	// waits for Istio's CRDs
	byIstio := profiles.Defaults()
	byIstio.Components.Ingress.Enabled = false
	byIstio.Components.Istio = profiles.IstioConfig{Enabled: true, IngressGateway: true}
	byIstio.Components.Serving.Enabled = true
	for _, enabled := range [][]string{profiles.Names(), withoutServing} {
		for _, c := range registry.All("", enabled, byIstio) {
			if c.Name() != profiles.Manager {
				continue
			}
			if waits, want := slices.Contains(c.DependsOn(), profiles.Istio), slices.Contains(enabled, profiles.Serving); waits != want {
				t.Errorf("manager with serving routed by Istio, serving enabled %v: waits for istio %v: %v", want, waits, c.DependsOn())
			}
		}
	}
	req := profiles.Requires()
	var apiNames []string
	for _, a := range registry.APIs {
		apiNames = append(apiNames, a.Name())
		if !slices.Contains(req[a.Name()], profiles.Manager) {
			t.Errorf("profiles.Requires()[%s] = %v: an API slice requires the manager", a.Name(), req[a.Name()])
		}
	}
	all := registry.All("", profiles.Names(), nil)
	for _, c := range all {
		want := []string{}
		switch {
		case c.Name() == profiles.Manager:
			want = append(slices.Clone(apiNames), profiles.Knative)
		case slices.Contains(apiNames, c.Name()):
			for _, d := range req[c.Name()] {
				if d != profiles.Manager {
					want = append(want, d)
				}
			}
		default:
			want = append(want, req[c.Name()]...)
		}
		got := append([]string{}, c.DependsOn()...)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s.DependsOn (-from profiles.Requires +declared):\n%s", c.Name(), diff)
		}
	}
	var names []string
	for _, c := range all {
		names = append(names, c.Name())
	}
	for _, n := range profiles.Names() {
		if !slices.Contains(names, n) && !slices.Contains(registry.Planned, n) {
			t.Errorf("profile component %s is neither installable nor planned", n)
		}
	}
}

// Every admission webhook a slice's host side configures is served by its in-cluster
// side on the same path, and the other way round, for resources of the slice's own CRDs.
func TestWebhooksAgree(t *testing.T) {
	scheme, err := apihost.NewScheme(apis.InCluster()...)
	if err != nil {
		t.Fatal(err)
	}
	mgr, err := ctrl.NewManager(&rest.Config{Host: "https://127.0.0.1:1"}, ctrl.Options{Scheme: scheme, Metrics: metricsserver.Options{BindAddress: "0"}})
	if err != nil {
		t.Fatal(err)
	}
	inCluster := map[string][]string{}
	for _, a := range apis.InCluster() {
		hooks, err := apihost.WebhooksOf(mgr, a)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range hooks {
			inCluster[a.Name()] = append(inCluster[a.Name()], h.Path)
		}
	}
	host := map[string][]string{}
	for _, a := range registry.APIs {
		w, ok := a.(components.ManagerWebhooker)
		if !ok {
			continue
		}
		for _, h := range w.ManagerWebhooks(&components.Env{}) {
			host[a.Name()] = append(host[a.Name()], h.Path)
			for _, r := range h.Resources {
				if !slices.Contains(a.CRDs(), r+"."+h.Group) {
					t.Errorf("%s: webhook %s checks %s.%s, not a CRD of the slice (%v)", a.Name(), h.Name, r, h.Group, a.CRDs())
				}
			}
		}
	}
	if len(host["pipelines"]) == 0 {
		t.Error("the pipelines slice configures no webhooks: its IR is checked at admission")
	}
	if diff := cmp.Diff(host, inCluster); diff != "" {
		t.Errorf("webhook paths, host vs in-cluster (-host +in-cluster):\n%s", diff)
	}
}
