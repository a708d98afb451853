package profiles

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestYAMLRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		p    func(t *testing.T) *Profile
	}{
		{"defaults", func(*testing.T) *Profile { p := defaults(); p.Name = "empty"; return &p }},
		{"tricky strings", func(t *testing.T) *Profile {
			p := mustLoad(t, "gpu")
			p.Name, p.Base = "tricky", "gpu"
			p.Components.Istio.Tag = "1.24"                 // a number if left bare
			p.Components.Istio.Hub = "localhost:5000/istio" // a colon
			p.Components.Manager.Resources.CPULimit = "1"   // a number if left bare
			p.Components.Manager.Resources.CPURequest = ""  // empty
			p.Components.Manager.LogLevel = "debug"
			p.Components.NVIDIA.TimeSlicingReplicas = 8
			return p
		}},
	}
	for _, name := range Builtins() {
		tests = append(tests, struct {
			name string
			p    func(t *testing.T) *Profile
		}{name, func(t *testing.T) *Profile { return mustLoad(t, name) }})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.p(t)
			out, err := want.YAML()
			if err != nil {
				t.Fatal(err)
			}
			got, err := Load(writeProfile(t, string(out)))
			if err != nil {
				t.Fatalf("Load(YAML()): %v\n%s", err, out)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Load(YAML(p)) (-p +got):\n%s\n%s", diff, out)
			}
		})
	}
}

func TestYAMLOutput(t *testing.T) {
	want := `apiVersion: kfup.dev/v1alpha1
kind: Profile
name: gpu
base: standard
components:
  manager:
    enabled: true
    replicas: 1
    logLevel: info
    leaderElect: true
    resources:
      cpuRequest: 50m
      cpuLimit: 500m
      memoryRequest: 64Mi
      memoryLimit: 256Mi
  training:
    enabled: true
  tuning:
    enabled: true
  serving:
    enabled: true
  pipelines:
    enabled: true
    artifactStore: pvc
    artifactVolumeSize: 10Gi
    launcher: auto
  ingress:
    enabled: true
  istio:
    enabled: true
    ingressGateway: false
    hub: ""
    tag: ""
  knative:
    enabled: true
    ingress: kfup
    registriesSkippingTagResolving: kind.local,ko.local,dev.local,kfup.local
    scaleToZero: true
    domain: kfup.localhost
    images: upstream
  nvidia:
    enabled: true
    devicePlugin: true
    timeSlicingReplicas: 0
    renameByDefault: false
    migStrategy: none
`
	out, err := mustLoad(t, "gpu").YAML()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, string(out)); diff != "" {
		t.Errorf("YAML() (-want +got):\n%s", diff)
	}
}

func TestYAMLString(t *testing.T) {
	tests := map[string]string{
		"info":           "info",
		"":               `""`,
		"1.24":           `"1.24"`,
		"true":           `"true"`,
		"yes":            `"yes"`,
		"null":           `"null"`,
		"a: b":           `"a: b"`,
		" padded":        `" padded"`,
		"a #comment":     `"a #comment"`,
		"line\nbreak":    `"line\nbreak"`,
		"docker.io/x:1":  "docker.io/x:1",
		"[flow]":         `"[flow]"`,
		"kfup.localhost": "kfup.localhost",
	}
	for in, want := range tests {
		if got := yamlString(in); got != want {
			t.Errorf("yamlString(%q) = %s, want %s", in, got, want)
		}
	}
}
