// Package registry is the composition root of kfup's host side: every installable
// component, wired together. APIs is the one list of Kubeflow API slices on the host
// (package apis holds their in-cluster sides, in the same order); adding an API is one
// line in each (docs/adding-an-api.md).
package registry

import (
	"slices"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kfup/kfup/components"
	"github.com/kfup/kfup/components/ingress"
	"github.com/kfup/kfup/components/istio"
	"github.com/kfup/kfup/components/knative"
	"github.com/kfup/kfup/components/manager"
	"github.com/kfup/kfup/components/nvidia"
	"github.com/kfup/kfup/components/pipelines"
	"github.com/kfup/kfup/components/serving"
	"github.com/kfup/kfup/components/training"
	"github.com/kfup/kfup/components/tuning"
)

// APIs are the host sides of the Kubeflow API slices, whose controllers kfup's manager
// hosts.
var APIs = []components.API{
	training.Component{},
	tuning.Component{},
	serving.Component{},
	pipelines.Component{},
	ingress.Component{},
}

// Planned are components that profiles name but this build cannot install yet.
var Planned = []string{}

// All returns every component. managerBinary is the kfup binary for the manager image
// (empty: this executable); enabled are the components being installed (the manager
// hosts, and installs after, the enabled APIs).
func All(managerBinary string, enabled []string) []components.Component {
	var hosted []components.API
	out := []components.Component{}
	for _, a := range APIs {
		if b, ok := a.(components.ImageUser); ok {
			a = b.WithBinary(managerBinary)
		}
		out = append(out, a)
		if slices.Contains(enabled, a.Name()) {
			hosted = append(hosted, a)
		}
	}
	return append(out,
		&manager.Component{APIs: hosted, Binary: managerBinary},
		istio.Component{},
		knative.Component{},
		nvidia.Component{Binary: managerBinary},
	)
}

// Scheme returns the scheme of kfup's host clients: Kubernetes types and every API's.
func Scheme() (*runtime.Scheme, error) { return components.NewScheme(APIs...) }
