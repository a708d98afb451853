package profiles

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name     string
		edit     func(p *Profile) // applied to standard
		wantErrs []string
	}{
		{name: "standard is valid", edit: func(*Profile) {}},
		{name: "knative without kfup's ingress",
			edit:     func(p *Profile) { p.Components.Ingress.Enabled = false },
			wantErrs: []string{"components.knative.enabled: needs components.ingress.enabled"}},
		{name: "knative on istio without istio",
			edit: func(p *Profile) {
				p.Components.Knative.Ingress = KnativeIngressIstio
				p.Components.Istio.Enabled = false
			},
			wantErrs: []string{"components.knative.enabled: needs components.istio.enabled"}},
		{name: "istio may go when knative uses kfup's ingress",
			edit: func(p *Profile) { p.Components.Istio.Enabled = false }},
		{name: "manager registry",
			edit: func(p *Profile) { p.Components.Manager.Registry = "localhost:5000/kfup/manager" }},
		{name: "manager registry with a scheme",
			edit:     func(p *Profile) { p.Components.Manager.Registry = "https://registry.example.com/kfup" },
			wantErrs: []string{`components.manager.registry: "https://registry.example.com/kfup" is not an image repository such as registry.example.com/kfup/manager (no scheme, no tag)`}},
		{name: "training namespaces",
			edit: func(p *Profile) { p.Components.Training.Namespaces = "team-a,team-b" }},
		{name: "training namespaces with a bad one",
			edit:     func(p *Profile) { p.Components.Training.Namespaces = "team-a,Team B" },
			wantErrs: []string{`components.training.namespaces: "Team B" is not a namespace name`}},
		{name: "gang scheduler volcano",
			edit: func(p *Profile) { p.Components.Training.GangScheduler = "volcano" }},
		{name: "tuning namespace that is no namespace name",
			edit:     func(p *Profile) { p.Components.Tuning.Namespaces = "team-a,Team_B" },
			wantErrs: []string{`components.tuning.namespaces: "Team_B" is not a namespace name`}},
		{name: "serving namespace that is no namespace name",
			edit:     func(p *Profile) { p.Components.Serving.Namespaces = "team-a,Team_B" },
			wantErrs: []string{`components.serving.namespaces: "Team_B" is not a namespace name`}},
		{name: "bundled runtime that is no runtime name",
			edit:     func(p *Profile) { p.Components.Serving.BundleRuntimes = "kserve-xgbserver,XGB Server" },
			wantErrs: []string{`components.serving.bundleRuntimes: "XGB Server" is not a runtime name`}},
		{name: "ingress namespaces with a bad one",
			edit:     func(p *Profile) { p.Components.Ingress.Namespaces = "team-a,Team B" },
			wantErrs: []string{`components.ingress.namespaces: "Team B" is not a namespace name`}},
		{name: "pipelines settings",
			edit: func(p *Profile) {
				p.Components.Pipelines.Namespaces = "Team_B"
				p.Components.Pipelines.ArtifactStore = "minio"
				p.Components.Pipelines.ArtifactVolumeSize = "-1Gi"
				p.Components.Pipelines.ArtifactStorageClass = "Fast SSD"
				p.Components.Pipelines.Launcher = "sidecar"
			},
			wantErrs: []string{`components.pipelines.namespaces: "Team_B" is not a namespace name`,
				`components.pipelines.artifactStore: "minio" is not pvc or s3`,
				`components.pipelines.artifactVolumeSize: "-1Gi" is not a positive size`,
				`components.pipelines.launcher: "sidecar" is not auto, imageVolume or initContainer`,
				`components.pipelines.artifactStorageClass: "Fast SSD" is not a storage class name`}},
		{name: "gang scheduler that is no scheduler name",
			edit:     func(p *Profile) { p.Components.Training.GangScheduler = "Volcano Scheduler" },
			wantErrs: []string{`components.training.gangScheduler: "Volcano Scheduler" is not a scheduler name (lowercase letters, digits, '-' and '.')`}},
		{name: "training without manager",
			edit: func(p *Profile) { p.Components.Manager.Enabled = false },
			wantErrs: []string{"components.training.enabled: needs components.manager.enabled",
				"components.tuning.enabled: needs components.manager.enabled",
				"components.serving.enabled: needs components.manager.enabled",
				"components.pipelines.enabled: needs components.manager.enabled",
				"components.ingress.enabled: needs components.manager.enabled"}},
		{name: "disabled components need nothing",
			edit: func(p *Profile) {
				p.Components.Manager.Enabled = false
				p.Components.Training.Enabled = false
				p.Components.Tuning.Enabled = false
				p.Components.Serving.Enabled = false
				p.Components.Pipelines.Enabled = false
				p.Components.Ingress.Enabled = false
				p.Components.Istio.Enabled = false
				p.Components.Knative.Enabled = false
			}},
		{name: "knative on istio without the ingress gateway",
			edit: func(p *Profile) {
				p.Components.Knative.Ingress = KnativeIngressIstio
				p.Components.Ingress.Enabled = false
			},
			wantErrs: []string{"components.knative.enabled: needs components.istio.ingressGateway=true (net-istio routes through the Istio ingress gateway)"}},
		{name: "istio alone may drop the gateway",
			edit: func(p *Profile) {
				p.Components.Knative.Enabled = false
				p.Components.Istio.IngressGateway = false
			}},
		{name: "replicas below 1",
			edit:     func(p *Profile) { p.Components.Manager.Replicas = 0 },
			wantErrs: []string{"components.manager.replicas: must be between 1 and 10, got 0"}},
		{name: "replicas beyond int32 (no silent truncation)",
			edit:     func(p *Profile) { p.Components.Manager.Replicas = 1 << 32 },
			wantErrs: []string{"components.manager.replicas: must be between 1 and 10, got 4294967296"}},
		{name: "replicas without leader election",
			edit: func(p *Profile) {
				p.Components.Manager.Replicas = 2
				p.Components.Manager.LeaderElect = false
			},
			wantErrs: []string{"components.manager.replicas: 2 replicas need components.manager.leaderElect=true (without it every replica reconciles the same objects)"}},
		{name: "log level",
			edit:     func(p *Profile) { p.Components.Manager.LogLevel = "warn" },
			wantErrs: []string{`components.manager.logLevel: must be one of info, debug; got "warn"`}},
		{name: "requests above limits",
			edit: func(p *Profile) {
				p.Components.Manager.Resources = Resources{CPURequest: "2", CPULimit: "1500m", MemoryRequest: "1Gi", MemoryLimit: "512Mi"}
			},
			wantErrs: []string{
				"components.manager.resources.cpuRequest: 2 is more than components.manager.resources.cpuLimit 1500m",
				"components.manager.resources.memoryRequest: 1Gi is more than components.manager.resources.memoryLimit 512Mi",
			}},
		{name: "unset requests and limits",
			edit: func(p *Profile) { p.Components.Manager.Resources = Resources{MemoryRequest: "1Gi"} }},
		{name: "negative and malformed quantities",
			edit: func(p *Profile) {
				p.Components.Manager.Resources.CPURequest = "-1"
				p.Components.Manager.Resources.MemoryLimit = "lots"
			},
			wantErrs: []string{
				"components.manager.resources.cpuRequest: must not be negative, got -1",
				`components.manager.resources.memoryLimit: "lots" is not a Kubernetes quantity`,
			}},
		{name: "huge quantities are refused before they are compared (10^999999999 never ends)",
			edit: func(p *Profile) {
				p.Components.Manager.Resources.CPURequest = "1e999999999"
				p.Components.Manager.Resources.MemoryRequest = "e999999999" // zero, huge exponent
				p.Components.Manager.Resources.MemoryLimit = "2E"
			},
			wantErrs: []string{
				"components.manager.resources.cpuRequest: 1e999999999 is out of range (at most 1E, 10^18)",
				"components.manager.resources.memoryRequest: e999999999 is out of range (at most 1E, 10^18)",
				"components.manager.resources.memoryLimit: 2E is out of range (at most 1E, 10^18)",
			}},
		{name: "largest quantity",
			edit: func(p *Profile) {
				p.Components.Manager.Resources = Resources{CPURequest: "1E", CPULimit: "1E", MemoryRequest: "1e-999", MemoryLimit: "1E"}
			}},
		{name: "long quantity",
			edit:     func(p *Profile) { p.Components.Manager.Resources.CPULimit = "0.000000000000000000000000000000001" },
			wantErrs: []string{`components.manager.resources.cpuLimit: "0.000000000000000000000000000000"... is not a Kubernetes quantity (longer than 32 bytes)`}},
		{name: "image hub and tag",
			edit: func(p *Profile) {
				p.Components.Istio.Hub = "https://docker.io/istio"
				p.Components.Istio.Tag = "1.24 beta"
			},
			wantErrs: []string{
				`components.istio.hub: "https://docker.io/istio" is not an image registry path such as docker.io/istio (no scheme, no tag)`,
				`components.istio.tag: "1.24 beta" is not an image tag such as 1.24.2`,
			}},
		{name: "good image hub and tag",
			edit: func(p *Profile) {
				p.Components.Istio.Hub = "registry.local:5000/mirror/istio"
				p.Components.Istio.Tag = "1.24.2-distroless"
			}},
		{name: "empty domain",
			edit:     func(p *Profile) { p.Components.Knative.Domain = "" },
			wantErrs: []string{"components.knative.domain: required (a DNS subdomain such as kfup.localhost)"}},
		{name: "time slicing",
			edit:     func(p *Profile) { p.Components.NVIDIA.TimeSlicingReplicas = -1 },
			wantErrs: []string{"components.nvidia.timeSlicingReplicas: must be at least 0 (0 turns time slicing off), got -1"}},
		{name: "time slicing without the device plugin",
			edit: func(p *Profile) {
				p.Components.NVIDIA.TimeSlicingReplicas = 4
				p.Components.NVIDIA.DevicePlugin = false
			},
			wantErrs: []string{"components.nvidia.timeSlicingReplicas: needs components.nvidia.devicePlugin=true (time slicing is a device plugin setting)"}},
		{name: "every problem at once",
			edit: func(p *Profile) {
				*p = Profile{Base: "huge"}
				p.Components.Knative.Enabled = true
				p.Components.Training.Enabled = true
			},
			wantErrs: []string{
				"apiVersion: required",
				"kind: required",
				"name: required",
				`base: unknown built-in profile "huge" (known: minimal, standard, gpu, full)`,
				"components.manager.replicas: must be between 1 and 10, got 0",
				`components.manager.logLevel: must be one of info, debug; got ""`,
				`components.knative.ingress: "" is not kfup or istio`,
				"components.knative.domain: required (a DNS subdomain such as kfup.localhost)",
				"components.training.enabled: needs components.manager.enabled",
				"components.knative.enabled: needs components.ingress.enabled",
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustLoad(t, "standard")
			tt.edit(p)
			err := p.Validate()
			if diff := cmp.Diff(tt.wantErrs, errorLines(t, err)); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			for _, fe := range fieldErrors(err) {
				if !pathExists(fe.Path) {
					t.Errorf("%v: path is not a key of Profile", fe)
				}
			}
		})
	}
}

func TestValidateNVIDIA(t *testing.T) {
	for _, tt := range []struct {
		set  string
		want string
	}{
		{"components.nvidia.migStrategy=all", `components.nvidia.migStrategy: must be one of none, single, mixed; got "all"`},
		{"components.nvidia.timeSlicingReplicas=65", "components.nvidia.timeSlicingReplicas: must be at most 64, got 65"},
	} {
		p := mustLoad(t, "gpu")
		err := p.Set(tt.set) // Set validates the whole profile too
		if err == nil {
			err = p.Validate()
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", tt.set, err, tt.want)
		}
	}
	p := mustLoad(t, "gpu")
	for _, s := range []string{"components.nvidia.migStrategy=mixed", "components.nvidia.timeSlicingReplicas=64", "components.nvidia.renameByDefault=true"} {
		if err := p.Set(s); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Validate(); err != nil {
		t.Errorf("valid settings: %v", err)
	}
}
