package bootstrap

import (
	"github.com/kfup/kfup/components/istio"
	"github.com/kfup/kfup/components/knative"
	"github.com/kfup/kfup/components/manager"
	"github.com/kfup/kfup/internal/errs"
	"github.com/kfup/kfup/profiles"
)

// ProfileNone installs no components: the cluster only.
const ProfileNone = "none"

// ResolveProfile loads a built-in profile or a profile file, applies each --set and
// validates the result; everything is checked before anything is created. "none" returns
// nil (cluster only).
func ResolveProfile(nameOrPath string, sets []string) (*profiles.Profile, error) {
	if nameOrPath == ProfileNone {
		if len(sets) > 0 {
			return nil, errUsageSetWithoutProfile()
		}
		return nil, nil
	}
	p, err := profiles.Load(nameOrPath)
	if err != nil {
		return nil, err
	}
	for _, s := range sets {
		if err := p.Set(s); err != nil {
			return nil, err
		}
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}

// InstallOptionsFor turns a profile into install options.
func InstallOptionsFor(p *profiles.Profile) InstallOptions {
	m, is, kn := p.Components.Manager, p.Components.Istio, p.Components.Knative
	ist := istio.DefaultSettings()
	ist.IngressGateway = is.IngressGateway
	if is.Hub != "" {
		ist.Hub = is.Hub
	}
	if is.Tag != "" {
		ist.Tag = is.Tag
	}
	return InstallOptions{
		Profile: p,
		Enabled: p.Enabled(),
		Settings: map[string]any{
			manager.Name: manager.Settings{
				Replicas: int32(m.Replicas), LogLevel: m.LogLevel, LeaderElect: m.LeaderElect,
				CPURequest: m.Resources.CPURequest, CPULimit: m.Resources.CPULimit,
				MemoryRequest: m.Resources.MemoryRequest, MemoryLimit: m.Resources.MemoryLimit,
				GangScheduler: p.Components.Training.GangScheduler,
				Namespaces:    p.Components.Training.Namespaces,
				Registry:      m.Registry,
			},
			istio.Name:   ist,
			knative.Name: knative.Settings{ScaleToZero: kn.ScaleToZero, Domain: kn.Domain},
		},
	}
}

func errUsageSetWithoutProfile() error {
	return errs.Usage("drop --set, or pick a profile such as --profile minimal", "--set has no effect with --profile none")
}
