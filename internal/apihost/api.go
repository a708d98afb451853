package apihost

import (
	"fmt"
	"maps"
	"net/http"

	"github.com/spf13/pflag"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"
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

// Cacher is implemented by slices whose controllers read, from the manager's cache, a kind
// that is neither their own nor their labelled children — the ingress reads the
// EndpointSlices of the Services it routes to, which Kubernetes makes. CacheRules lists
// each such kind with its cache rule, above all a Transform that keeps only what the
// slice reads: such kinds are cached cluster-wide (in the slice's Namespaces, when a rule
// names none), so memory grows with the cluster's objects, not the slice's. One slice
// caches a kind; the children's kinds (pods, services, ...) cannot be named.
type Cacher interface {
	CacheRules() map[client.Object]cache.ByObject
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

// Webhook is an admission webhook a slice serves in the manager: the API server calls
// Path on the manager's webhook port for the objects its host side names
// (components.ManagerWebhook, with the same Path).
type Webhook struct {
	// Path is the URL path, "/validate-<slice>-<kind>"; unique across slices.
	Path string
	// Handler answers AdmissionReview requests (controller-runtime's admission.Webhook).
	Handler http.Handler
}

// Webhooker is implemented by slices that check at admission what a schema cannot (a
// pipeline's IR): the manager serves their webhooks when started with a webhook port.
type Webhooker interface {
	// Webhooks returns the slice's webhooks, decoding with mgr's scheme and reading
	// what they need through its API reader (its cache holds only the slices' kinds).
	Webhooks(mgr manager.Manager) ([]Webhook, error)
}

// WebhooksOf returns the webhooks of every API in apis that has some.
func WebhooksOf(mgr manager.Manager, apis ...API) ([]Webhook, error) {
	var out []Webhook
	seen := map[string]string{}
	for _, a := range apis {
		w, ok := a.(Webhooker)
		if !ok {
			continue
		}
		hooks, err := w.Webhooks(mgr)
		if err != nil {
			return nil, fmt.Errorf("the %s API's webhooks: %w", a.Name(), err)
		}
		for _, h := range hooks {
			if other, dup := seen[h.Path]; dup {
				return nil, fmt.Errorf("webhook path %s is served by both the %s and the %s API", h.Path, other, a.Name())
			}
			seen[h.Path] = a.Name()
			out = append(out, h)
		}
	}
	return out, nil
}
