// Package apis is the composition root of kfup's in-cluster side: the one list of the
// Kubeflow API slices whose controllers kfup's manager hosts. Adding an API is a folder
// under components/ plus one line here and one in components/registry (the host side;
// the two lists are kept apart so that the slim kfup-manager binary links no host
// tooling, and a test checks they name the same slices in the same order).
// docs/adding-an-api.md is the checklist.
package apis

import (
	ingresscontroller "github.com/kfup/kfup/components/ingress/controller"
	pipelinescontroller "github.com/kfup/kfup/components/pipelines/controller"
	servingcontroller "github.com/kfup/kfup/components/serving/controller"
	trainingcontroller "github.com/kfup/kfup/components/training/controller"
	tuningcontroller "github.com/kfup/kfup/components/tuning/controller"
	"github.com/kfup/kfup/internal/apihost"
)

// InCluster returns a fresh in-cluster side of every API slice, with its defaults (each
// call returns new values: flags bind to them).
func InCluster() []apihost.API {
	return []apihost.API{
		trainingcontroller.NewAPI(),
		tuningcontroller.NewAPI(),
		servingcontroller.NewAPI(),
		pipelinescontroller.NewAPI(),
		ingresscontroller.NewAPI(),
	}
}
