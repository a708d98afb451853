package platform

import (
	"testing"

	"github.com/kfup/kfup/bootstrap"
	"github.com/kfup/kfup/components/istio"
	"github.com/kfup/kfup/internal/errs"
	"github.com/kfup/kfup/manifests"
)

// The profile a cluster's record keeps configures each component as --set made it: the
// recorded profile round-trips through the store into the components' typed settings.
func TestInstallOptionsForAppliedProfile(t *testing.T) {
	p, err := ResolveProfile("minimal", []string{"components.istio.enabled=true", "components.istio.ingressGateway=false"})
	if err != nil {
		t.Fatal(err)
	}
	s := bootstrap.Store{Dir: t.TempDir()}
	if err := s.Save(&bootstrap.Record{Name: "mesh", Provider: bootstrap.ProviderKind, Phase: bootstrap.PhaseReady, Context: "kfup-mesh", Applied: p}); err != nil {
		t.Fatal(err)
	}
	rec, err := s.Load("mesh")
	if err != nil {
		t.Fatal(err)
	}
	o := InstallOptionsFor(rec.Applied)
	got := istio.SettingsFor(o.Profile)
	if got.IngressGateway || got.Tag != manifests.IstioTag {
		t.Fatalf("istio settings from the recorded profile: %+v", got)
	}
	if len(o.Enabled) != 7 || o.Enabled[0] != "manager" {
		t.Errorf("enabled components %v, want manager, training, tuning, serving, pipelines, ingress, istio", o.Enabled)
	}
}

func TestResolveProfile(t *testing.T) {
	if p, err := ResolveProfile(ProfileNone, nil); p != nil || err != nil {
		t.Errorf("none: %v, %v; want no profile", p, err)
	}
	if _, err := ResolveProfile(ProfileNone, []string{"components.istio.enabled=true"}); errs.KindOf(err) != errs.KindUsage {
		t.Errorf("none with --set: want a usage error, got %v", err)
	}
	if _, err := ResolveProfile("minimal", []string{"components.nope.enabled=true"}); errs.KindOf(err) != errs.KindUsage {
		t.Errorf("unknown --set key: want a usage error, got %v", err)
	}
}
