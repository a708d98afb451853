package profiles

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSet(t *testing.T) {
	tests := []struct {
		name     string
		expr     string
		want     func(p *Profile) // edits standard into the expected profile
		wantErrs []string
	}{
		{name: "bool", expr: "components.knative.enabled=false",
			want: func(p *Profile) { p.Components.Knative.Enabled = false }},
		{name: "int", expr: "components.manager.replicas=3",
			want: func(p *Profile) { p.Components.Manager.Replicas = 3 }},
		{name: "string", expr: "components.istio.hub=localhost:5000/istio",
			want: func(p *Profile) { p.Components.Istio.Hub = "localhost:5000/istio" }},
		{name: "string that looks like a number", expr: "components.istio.tag=1.24",
			want: func(p *Profile) { p.Components.Istio.Tag = "1.24" }},
		{name: "empty string", expr: "components.manager.resources.cpuLimit=",
			want: func(p *Profile) { p.Components.Manager.Resources.CPULimit = "" }},
		{name: "nested quantity", expr: "components.manager.resources.memoryLimit=512Mi",
			want: func(p *Profile) { p.Components.Manager.Resources.MemoryLimit = "512Mi" }},
		{name: "gang scheduler", expr: "components.training.gangScheduler=volcano",
			want: func(p *Profile) { p.Components.Training.GangScheduler = "volcano" }},
		{name: "enum", expr: "components.manager.logLevel=debug",
			want: func(p *Profile) { p.Components.Manager.LogLevel = "debug" }},
		{name: "conflict is left to Validate", expr: "components.manager.enabled=false",
			want: func(p *Profile) { p.Components.Manager.Enabled = false }},

		{name: "unknown component", expr: "components.kserve.enabled=true",
			wantErrs: []string{"components.kserve: unknown component (known: manager, training, tuning, serving, pipelines, ingress, istio, knative, nvidia)"}},
		{name: "unknown key", expr: "components.knative.scaletozero=false",
			wantErrs: []string{"components.knative.scaletozero: unknown key (known: enabled, ingress, registriesSkippingTagResolving, scaleToZero, domain, images)"}},
		{name: "unknown nested key", expr: "components.manager.resources.gpuLimit=1",
			wantErrs: []string{"components.manager.resources.gpuLimit: unknown key (known: cpuRequest, cpuLimit, memoryRequest, memoryLimit)"}},
		{name: "key under a scalar", expr: "components.manager.replicas.max=3",
			wantErrs: []string{"components.manager.replicas.max: components.manager.replicas is an integer, it has no keys"}},
		{name: "key with a space, under a scalar",
			expr:     "components.manager.replicas.a b=3",
			wantErrs: []string{`components.manager.replicas."a b": components.manager.replicas is an integer, it has no keys`}},
		{name: "empty key",
			expr:     "components..enabled=true",
			wantErrs: []string{`components."": unknown component (known: manager, training, tuning, serving, pipelines, ingress, istio, knative, nvidia)`}},
		{name: "group of settings", expr: "components.manager.resources=1Gi",
			wantErrs: []string{"components.manager.resources: is a group of settings; set one of its keys (cpuRequest, cpuLimit, memoryRequest, memoryLimit)"}},
		{name: "component without key", expr: "components.knative=false",
			wantErrs: []string{"components.knative: is a group of settings; set one of its keys (enabled, ingress, registriesSkippingTagResolving, scaleToZero, domain, images)"}},
		{name: "missing =", expr: "components.knative.enabled",
			wantErrs: []string{`--set "components.knative.enabled": missing "=" (want components.<name>.<key>=<value>, e.g. components.knative.enabled=false)`}},
		{name: "not a component", expr: "name=mine",
			wantErrs: []string{`--set "name=mine": only components can be set (want components.<name>.<key>=<value>, e.g. components.knative.enabled=false)`}},
		{name: "bad bool", expr: "components.knative.enabled=yes",
			wantErrs: []string{`components.knative.enabled: expected true or false, got "yes"`}},
		{name: "bad int", expr: "components.manager.replicas=two",
			wantErrs: []string{`components.manager.replicas: expected an integer, got "two"`}},
		{name: "bad quantity", expr: "components.manager.resources.memoryLimit=256MB",
			wantErrs: []string{`components.manager.resources.memoryLimit: "256MB" is not a Kubernetes quantity`}},
		{name: "bad enum", expr: "components.manager.logLevel=warn",
			wantErrs: []string{`components.manager.logLevel: must be one of info, debug; got "warn"`}},
		{name: "out of range", expr: "components.manager.replicas=0",
			wantErrs: []string{"components.manager.replicas: must be between 1 and 10, got 0"}},
		{name: "value keeps its = signs", expr: "components.istio.tag=1.2=3",
			wantErrs: []string{`components.istio.tag: "1.2=3" is not an image tag such as 1.24.2`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustLoad(t, "standard")
			want := *p
			if tt.want != nil {
				tt.want(&want)
			}
			err := p.Set(tt.expr)
			if diff := cmp.Diff(tt.wantErrs, errorLines(t, err)); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(&want, p); diff != "" {
				t.Errorf("profile (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSetOrder: --set flags that are only valid together work in either order.
func TestSetOrder(t *testing.T) {
	for _, sets := range [][]string{
		{"components.knative.enabled=true", "components.istio.enabled=true", "components.ingress.enabled=false", "components.knative.ingress=istio"},
		{"components.ingress.enabled=false", "components.knative.ingress=istio", "components.istio.enabled=true", "components.knative.enabled=true"},
	} {
		p := mustLoad(t, "minimal")
		for _, s := range sets {
			if err := p.Set(s); err != nil {
				t.Fatalf("Set(%q): %v", s, err)
			}
		}
		if err := p.Validate(); err != nil {
			t.Errorf("%v: Validate: %v", sets, err)
		}
		if diff := cmp.Diff([]string{Manager, Training, Tuning, Serving, Pipelines, Istio, Knative}, p.Enabled()); diff != "" {
			t.Errorf("%v: Enabled (-want +got):\n%s", sets, diff)
		}
	}
}

func TestSetHints(t *testing.T) {
	tests := []struct{ expr, want string }{
		{"components.knative.scaletozero=false", "did you mean components.knative.scaleToZero?"},
		{"components.nvida.enabled=true", "did you mean components.nvidia?"},
		{"components.knative.enabled", setExample},
		{"components=x", setExample},
		{"components.manager.resources=1", "e.g. --set components.manager.resources.cpuRequest=..."},
	}
	for _, tt := range tests {
		p := mustLoad(t, "standard")
		if diff := cmp.Diff([]string{tt.want}, hints(p.Set(tt.expr))); diff != "" {
			t.Errorf("Set(%q) hint (-want +got):\n%s", tt.expr, diff)
		}
	}
}
