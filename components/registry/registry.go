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
	"github.com/kfup/kfup/profiles"
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
// hosts, and installs after, the enabled APIs) with profile p (nil: the defaults), whose
// settings decide some install orders: Knative on kfup's ingress installs after the
// ingress and before the manager, whose ingress controller watches Knative's KIngress
// CRD (and whose serving controller its Service CRD); on Istio it installs after Istio,
// and before the manager when serving is enabled. Istio installs before the manager
// when serving routes Standard-mode InferenceServices by its VirtualServices.
func All(managerBinary string, enabled []string, p *profiles.Profile) []components.Component {
	if p == nil {
		p = profiles.Defaults()
	}
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
	var after []string
	// the manager watches Knative's CRDs: KIngresses on kfup's ingress, Knative Services
	// for Serverless InferenceServices
	if k := p.Components.Knative; slices.Contains(enabled, profiles.Knative) &&
		(k.Ingress != profiles.KnativeIngressIstio || slices.Contains(enabled, profiles.Serving)) {
		after = append(after, profiles.Knative)
	}
	// and Istio's VirtualServices, for Standard-mode InferenceServices routed by Istio
	if p.Components.ServingRoutesByIstio() && slices.Contains(enabled, profiles.Serving) && slices.Contains(enabled, profiles.Istio) {
		after = append(after, profiles.Istio)
	}
	return append(out,
		&manager.Component{APIs: hosted, Binary: managerBinary, After: after},
		istio.Component{},
		knative.Component{Ingress: p.Components.Knative.Ingress},
		nvidia.Component{Binary: managerBinary},
	)
}

// Scheme returns the scheme of kfup's host clients: Kubernetes types and every API's.
func Scheme() (*runtime.Scheme, error) { return components.NewScheme(APIs...) }
