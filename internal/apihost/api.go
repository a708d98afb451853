package apihost

import (
	"maps"

	"github.com/spf13/pflag"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// API is the in-cluster side of one Kubeflow API slice (training, and tuning, serving and
// pipelines as they arrive): everything the manager process needs to host its
// controllers. The manager names no slice; the composition root (package apis) lists
// them, one line each. docs/adding-an-api.md is the checklist for writing one.
//
// The methods are called in this order: Name, AddToScheme and AddFlags while the command
// is built; Validate once the flags are parsed; Namespaces and Objects when the caches
// are set up; Controllers when the manager starts.
type API interface {
	// Name is the slice's name, the same as its profile component ("training").
	Name() string
	// AddToScheme registers the slice's API types.
	AddToScheme(*runtime.Scheme) error
	// AddFlags registers the slice's flags on fs. New slices prefix theirs with their
	// name (--tuning-...); training keeps upstream training-operator's flag names.
	AddFlags(fs *pflag.FlagSet)
	// Validate checks the parsed flag values; its errors are usage errors.
	Validate() error
	// Namespaces are the namespaces the slice's controllers serve (its caches of its own
	// objects hold only these); none means every namespace. Each slice has its own: one
	// slice's restriction does not limit another's.
	Namespaces() []string
	// Objects lists one object of each of the slice's own top-level kinds (a TFJob, a
	// PyTorchJob, ...), whose caches Namespaces restricts.
	Objects() []client.Object
	// Controllers returns the slice's controllers. The children they create (pods,
	// services, config maps, ...) must carry LabelAPI with the slice's name: the
	// manager's caches keep only children so labelled.
	Controllers(p Process) ([]Controller, error)
}

// Process is what the manager process hands a slice's controllers.
type Process struct {
	// Image is the manager's own image ($KFUP_IMAGE), which also runs every helper in
	// workload pods (kfup agent ...); empty outside a cluster.
	Image string
}

// LabelAPI is the label on every object kfup's manager creates for an API (a job's pods
// and services, an experiment's trials, a model's deployments, ...), valued with the
// slice's name. One selector on it keeps the children of every API in the manager's
// caches, and nothing else (not Istio's, Knative's or the user's own pods).
const LabelAPI = "kfup.dev/api"

// MarkChild labels obj, about to be created or applied for the slice api, with LabelAPI
// (its labels are copied first, so a shared map is not written). Never used on selectors.
func MarkChild(obj metav1.Object, api string) {
	l := maps.Clone(obj.GetLabels())
	if l == nil {
		l = map[string]string{}
	}
	l[LabelAPI] = api
	obj.SetLabels(l)
}

// Names returns the names of apis, in order.
func Names(apis []API) []string {
	out := make([]string, len(apis))
	for i, a := range apis {
		out[i] = a.Name()
	}
	return out
}
