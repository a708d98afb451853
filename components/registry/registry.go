// Package registry lists every installable component kfup knows, wired together (the
// manager depends on the API components whose controllers it runs).
package registry

import (
	"github.com/kfup/kfup/components"
	"github.com/kfup/kfup/components/manager"
	"github.com/kfup/kfup/components/training"
)

// APIComponents are the components that serve a Kubeflow API through the manager.
var APIComponents = []string{training.Name}

// All returns every component. managerBinary is the kfup binary for the manager image
// (empty: this executable).
func All(managerBinary string) []components.Component {
	return []components.Component{
		training.Component{},
		&manager.Component{APIs: APIComponents, Binary: managerBinary},
	}
}
