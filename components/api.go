package components

import (
	"context"
	"fmt"
	"slices"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfup/kfup/manifests"
)

// API is the host side of one Kubeflow API slice: the install component of its CRDs
// (whose controllers run in kfup's manager), plus what the manager's installer needs from
// it. The install engine and the manager's installer name no slice; the composition root
// (components/registry) lists them, one line each. docs/adding-an-api.md is the
// checklist.
type API interface {
	Component
	// CRDs names the CRDs the slice serves ("tfjobs.kubeflow.org", ...): those it
	// installs and removes, and no other (several slices share the kubeflow.org group).
	CRDs() []string
	// AddToScheme registers the slice's types with kfup's host clients (smoke tests).
	AddToScheme(*runtime.Scheme) error
	// ManagerArgs are the `kfup manager` flags the slice's settings (env.Config()) become.
	ManagerArgs(env *Env) []string
	// Namespaces are the namespaces the slice's controllers serve with its settings; the
	// manager's rights on the slice's objects are bound only there, and kfup creates
	// those missing. None: every namespace.
	Namespaces(env *Env) []string
}

// ImageUser is implemented by API slices whose host side runs something from the manager
// image (kfup's ingress proxy): the composition root hands them the binary that image is
// built from.
type ImageUser interface {
	// WithBinary returns the slice's host side building the manager image from binary
	// (manager.ResolveBinary's choice when empty).
	WithBinary(binary string) API
}

// Names returns the names of apis, in order.
func Names(apis []API) []string {
	out := make([]string, len(apis))
	for i, a := range apis {
		out[i] = a.Name()
	}
	return out
}

// NewScheme returns a scheme with the Kubernetes built-in types, CRDs and the types of
// apis: what kfup's host clients need.
func NewScheme(apis ...API) (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, apiextensionsv1.AddToScheme} {
		if err := add(s); err != nil {
			return nil, err
		}
	}
	for _, a := range apis {
		if err := a.AddToScheme(s); err != nil {
			return nil, fmt.Errorf("register the %s API's types: %w", a.Name(), err)
		}
	}
	return s, nil
}

// CRDs installs, checks and removes a named set of kfup's embedded CRDs (manifests/crds):
// the Install, Ready and Uninstall of an API slice's component.
type CRDs []string

// Objects returns the CRDs named, or an error naming any that kfup does not embed.
func (names CRDs) Objects() ([]*unstructured.Unstructured, error) {
	all, err := manifests.CRDs()
	if err != nil {
		return nil, err
	}
	scheme, err := NewScheme()
	if err != nil {
		return nil, err
	}
	var typed []client.Object
	for _, n := range names {
		i := slices.IndexFunc(all, func(c *apiextensionsv1.CustomResourceDefinition) bool { return c.Name == n })
		if i < 0 {
			return nil, fmt.Errorf("CRD %s is not among kfup's manifests/crds (run 'make generate')", n)
		}
		typed = append(typed, all[i])
	}
	return ToUnstructured(scheme, typed...)
}

// Install applies the CRDs and waits until they are Established.
func (names CRDs) Install(ctx context.Context, env *Env, component string) error {
	objs, err := names.Objects()
	if err != nil {
		return err
	}
	return Apply(ctx, env.Client, component, objs)
}

// Ready waits for the CRDs to be Established.
func (names CRDs) Ready(ctx context.Context, env *Env) error {
	return WaitEstablished(ctx, env.Client, names...)
}

// Uninstall deletes the CRDs, and with them every object of their kinds.
func (names CRDs) Uninstall(ctx context.Context, env *Env) error {
	objs, err := names.Objects()
	if err != nil {
		return err
	}
	return Delete(ctx, env.Client, objs)
}

// ManagerService is a port that an API slice's in-cluster side serves in kfup's manager
// (tuning: Katib's DBManager API): the manager component opens it on the manager's
// container and fronts it with a Service Name in the manager's namespace.
type ManagerService struct {
	// Name names the Service in the manager's namespace.
	Name string
	// PortName names the port (a DNS label of at most 15 characters).
	PortName string
	// Port is the port, the same on the Service and the container.
	Port int32
	// Aliases are further Services, of type ExternalName, naming the Service elsewhere
	// (an upstream address clients dial unchanged, such as katib-db-manager.kubeflow).
	// kfup creates each only where no object of that name exists, and updates or
	// deletes only those it created; one that is not kfup's is left alone, with a warning.
	Aliases []ObjectKey
}

// ManagerVolume is a PersistentVolumeClaim in the manager's namespace that an API slice's
// in-cluster side keeps data on (pipelines: the artifact store), mounted into the
// manager's container. The slice's Install creates the claim; the manager only mounts it.
type ManagerVolume struct {
	// Name names the volume in the pod (a DNS label).
	Name string
	// Claim names the PersistentVolumeClaim.
	Claim string
	// MountPath is where the manager's container sees it.
	MountPath string
}

// ManagerVolumer is implemented by an API slice whose in-cluster side keeps data on a
// volume of the manager; the manager component asks each hosted slice.
type ManagerVolumer interface {
	ManagerVolumes(env *Env) []ManagerVolume
}

// ObjectKey names a namespaced object.
type ObjectKey struct{ Namespace, Name string }

// ManagerServer is implemented by an API slice whose in-cluster side serves ports in the
// manager (ManagerService); the manager component asks each hosted slice.
type ManagerServer interface {
	ManagerServices(env *Env) []ManagerService
}

// ManagerWebhook is a validating admission webhook an API slice's in-cluster side serves
// in kfup's manager (apihost.Webhook with the same Path): the manager component lists it
// in its ValidatingWebhookConfiguration, scoped to the slice's namespaces, and the API
// server calls it on every matching request. It refuses, with failurePolicy Fail, what
// the CRD schema cannot check (a pipeline's IR).
type ManagerWebhook struct {
	// Name is the webhook's name in the configuration, a qualified name unique across
	// slices (validate.pipelineruns.pipelines.kfup.dev).
	Name string
	// Path is the URL path the manager serves it on.
	Path string
	// Group, Version and Resources are what it checks, on create and update.
	Group, Version string
	Resources      []string
	// Namespaces scope it to the slice's namespaces (set by the manager component from
	// API.Namespaces); none: every namespace.
	Namespaces []string
	// Probe returns an object in namespace that the webhook accepts: the manager's Ready
	// dry-runs its create until the API server reaches the webhook (a Service's endpoints
	// and the node's proxy rules follow the pod's readiness by a moment). Optional.
	Probe func(namespace string) client.Object
}

// ManagerWebhooker is implemented by an API slice that checks objects at admission; the
// manager component asks each hosted slice.
type ManagerWebhooker interface {
	ManagerWebhooks(env *Env) []ManagerWebhook
}
