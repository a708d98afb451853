package controller

import (
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/client"

	servingv1alpha1 "github.com/kfup/kfup/components/serving/api/v1alpha1"
	servingv1beta1 "github.com/kfup/kfup/components/serving/api/v1beta1"
	"github.com/kfup/kfup/internal/apihost"
	"github.com/kfup/kfup/internal/errs"
)

// APIName is the slice's name: its profile component and its children's apihost.LabelAPI
// value.
const APIName = "serving"

// Config configures the serving controllers.
type Config struct {
	// Workers is how many InferenceServices are reconciled at once.
	Workers int
	// Image is kfup's image, which runs kfup's own model server (the kfup-modelserver
	// ClusterServingRuntime); empty outside a cluster, where that runtime is not
	// installed.
	Image string
	// SkipNameValidation lets tests start several managers in one process.
	SkipNameValidation bool
}

// DefaultConfig is the configuration the manager starts with.
func DefaultConfig() Config { return Config{Workers: 4} }

// API is the serving slice's in-cluster side (apihost.API).
type API struct {
	// Config configures the controllers; the flags write into it.
	Config Config
	// Namespace restricts the controller to InferenceServices in these namespaces
	// (--serving-namespace); empty: every namespace.
	Namespace []string
}

var _ apihost.API = (*API)(nil)

// NewAPI returns the serving slice with kfup's defaults.
func NewAPI() *API { return &API{Config: DefaultConfig()} }

// Name returns "serving".
func (a *API) Name() string { return APIName }

// AddToScheme registers serving.kserve.io v1beta1 and v1alpha1.
func (a *API) AddToScheme(s *runtime.Scheme) error {
	if err := servingv1beta1.AddToScheme(s); err != nil {
		return err
	}
	return servingv1alpha1.AddToScheme(s)
}

// AddFlags registers the --serving-* flags.
func (a *API) AddFlags(fl *pflag.FlagSet) {
	fl.IntVar(&a.Config.Workers, "serving-workers", a.Config.Workers, "InferenceServices reconciled at once")
	fl.StringSliceVar(&a.Namespace, "serving-namespace", a.Namespace, "reconcile only InferenceServices in these namespaces (repeatable or comma-separated; default: all)")
}

// Validate checks the flag values.
func (a *API) Validate() error {
	if a.Config.Workers < 1 {
		return errs.Usage("pass --serving-workers 1 or more", "--serving-workers must be at least 1")
	}
	for _, ns := range a.Namespace {
		if len(validation.IsDNS1123Label(ns)) > 0 {
			return errs.Usage("pass namespace names such as --serving-namespace team-a", "--serving-namespace %q is not a namespace name", ns)
		}
	}
	return nil
}

// Namespaces returns --serving-namespace.
func (a *API) Namespaces() []string { return a.Namespace }

// Objects returns an InferenceService: the only kind cached (runtimes are read from the
// API server when a predictor needs one).
func (a *API) Objects() []client.Object {
	return []client.Object{&servingv1beta1.InferenceService{}}
}

// Controllers returns the InferenceService controller and the built-in runtimes'
// installer.
func (a *API) Controllers(p apihost.Process) ([]apihost.Controller, error) {
	cfg := a.Config
	if p.Image != "" {
		cfg.Image = p.Image
	}
	return []apihost.Controller{
		&InferenceServiceReconciler{cfg: cfg},
		&RuntimeInstaller{Image: cfg.Image},
	}, nil
}
