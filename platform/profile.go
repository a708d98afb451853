package platform

import (
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

// InstallOptionsFor turns a profile into install options: its enabled components, each
// configured by its own section of p.
func InstallOptionsFor(p *profiles.Profile) InstallOptions {
	return InstallOptions{Profile: p, Enabled: p.Enabled()}
}

func errUsageSetWithoutProfile() error {
	return errs.Usage("drop --set, or pick a profile such as --profile minimal", "--set has no effect with --profile none")
}
