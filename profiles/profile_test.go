package profiles

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestEnabledOrder(t *testing.T) {
	tests := []struct {
		name string
		edit func(c *Components)
		want []string
	}{
		{"none", func(*Components) {}, nil},
		{"in Names order, whatever the edit order", func(c *Components) {
			c.NVIDIA.Enabled = true
			c.Istio.Enabled = true
			c.Training.Enabled = true
		}, []string{Training, Istio, NVIDIA}},
		{"all", func(c *Components) {
			c.Knative.Enabled, c.Manager.Enabled, c.Training.Enabled, c.Tuning.Enabled, c.Serving.Enabled, c.NVIDIA.Enabled, c.Istio.Enabled = true, true, true, true, true, true, true
		}, []string{Manager, Training, Tuning, Serving, Istio, Knative, NVIDIA}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := defaults()
			tt.edit(&p.Components)
			if diff := cmp.Diff(tt.want, p.Enabled()); diff != "" {
				t.Errorf("Enabled() (-want +got):\n%s", diff)
			}
			for _, name := range Names() {
				if got, want := p.IsEnabled(name), slices.Contains(tt.want, name); got != want {
					t.Errorf("IsEnabled(%s) = %t, want %t", name, got, want)
				}
			}
		})
	}
	if p := defaults(); p.IsEnabled("kserve") {
		t.Error("IsEnabled(kserve) = true for an unknown component")
	}
}

func TestNames(t *testing.T) {
	if diff := cmp.Diff([]string{"manager", "training", "tuning", "serving", "pipelines", "ingress", "istio", "knative", "nvidia"}, Names()); diff != "" {
		t.Errorf("Names() (-want +got):\n%s", diff)
	}
}

// TestRequires checks the dependency table: one entry per component, requirements that
// are components, each listed before the components that need it, and a copy that callers
// may change.
func TestRequires(t *testing.T) {
	req := Requires()
	want := map[string][]string{
		Manager: {}, Training: {Manager}, Tuning: {Manager}, Serving: {Manager}, Pipelines: {Manager}, Ingress: {Manager}, Istio: {}, Knative: {Ingress}, NVIDIA: {Manager},
	}
	if diff := cmp.Diff(want, req, cmp.Comparer(func(a, b []string) bool { return slices.Equal(a, b) })); diff != "" {
		t.Errorf("Requires() (-want +got):\n%s", diff)
	}
	names := Names()
	for name, deps := range req {
		for _, dep := range deps {
			if slices.Index(names, dep) < 0 || slices.Index(names, dep) > slices.Index(names, name) {
				t.Errorf("%s requires %s, which is not listed before it in Names()", name, dep)
			}
		}
	}
	req[Knative] = append(req[Knative], NVIDIA)
	delete(req, Training)
	if again := Requires(); len(again) != len(names) || len(again[Knative]) != 1 {
		t.Errorf("Requires() changed by a caller: %v", again)
	}
}
