// Package registry lists every installable component kfup knows, wired together (the
// manager depends on the API components whose controllers it runs).
package registry

import (
	"slices"

	"github.com/kfup/kfup/components"
	"github.com/kfup/kfup/components/istio"
	"github.com/kfup/kfup/components/knative"
	"github.com/kfup/kfup/components/manager"
	"github.com/kfup/kfup/components/training"
)

// APIComponents are the components that serve a Kubeflow API through the manager.
var APIComponents = []string{training.Name}

// Planned are components that profiles name but this build cannot install yet.
var Planned = []string{"nvidia"}

// All returns every component. managerBinary is the kfup binary for the manager image
// (empty: this executable); enabled are the components being installed (the manager
// waits for the enabled API components).
func All(managerBinary string, enabled []string) []components.Component {
	var apis []string
	for _, a := range APIComponents {
		if slices.Contains(enabled, a) {
			apis = append(apis, a)
		}
	}
	return []components.Component{
		training.Component{},
		&manager.Component{APIs: apis, Binary: managerBinary},
		istio.Component{},
		knative.Component{},
	}
}
