package controller

import (
	"github.com/spf13/pflag"
	istionetworkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/client"

	knservingv1 "github.com/kfup/kfup/components/knative/api/v1"
	knservingv1beta1 "github.com/kfup/kfup/components/knative/api/v1beta1"
	servingv1alpha1 "github.com/kfup/kfup/components/serving/api/v1alpha1"
	servingv1beta1 "github.com/kfup/kfup/components/serving/api/v1beta1"
	"github.com/kfup/kfup/components/serving/engine"
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
	// Ingress says how InferenceServices are routed from outside the cluster: an Ingress
	// of class Ingress.Class per InferenceService (none when empty), hosts under
	// Ingress.Domain. A class needs the ingress slice hosted too (its cache holds the
	// Ingresses). Without a class, Ingress.IstioGateway routes them by an Istio
	// VirtualService each (Istio's CRDs installed).
	Ingress engine.IngressSettings
	// Knative says Knative Serving's CRDs are installed: Serverless InferenceServices get
	// a Knative Service per component (--serving-knative).
	Knative bool
	// KnativeDomain is Knative's domain (config-domain): a Serverless InferenceService
	// gets the host <name>.<namespace>.<domain> by a DomainMapping (none when empty).
	KnativeDomain string
	// DefaultDeploymentMode is the mode of InferenceServices without the
	// serving.kserve.io/deploymentMode annotation: RawDeployment or Serverless
	// (--serving-default-deployment-mode).
	DefaultDeploymentMode string
	// SkipNameValidation lets tests start several managers in one process.
	SkipNameValidation bool
}

// DefaultDomain is the default domain of InferenceServices' hosts: names under localhost
// resolve to the host itself, where kind maps the ingress port.
const DefaultDomain = "kfup.localhost"

// DefaultConfig is the configuration the manager starts with.
func DefaultConfig() Config {
	return Config{Workers: 4, Ingress: engine.IngressSettings{Domain: DefaultDomain}, DefaultDeploymentMode: engine.ModeRawDeployment, KnativeDomain: DefaultDomain}
}

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
	if err := knservingv1.AddToScheme(s); err != nil {
		return err
	}
	if err := knservingv1beta1.AddToScheme(s); err != nil {
		return err
	}
	if err := istionetworkingv1.AddToScheme(s); err != nil {
		return err
	}
	return servingv1alpha1.AddToScheme(s)
}

// AddFlags registers the --serving-* flags.
func (a *API) AddFlags(fl *pflag.FlagSet) {
	fl.IntVar(&a.Config.Workers, "serving-workers", a.Config.Workers, "InferenceServices reconciled at once")
	fl.StringVar(&a.Config.Ingress.Class, "serving-ingress-class", a.Config.Ingress.Class, "IngressClass of the Ingress made for each InferenceService (kfup: kfup's ingress; empty: none, served inside the cluster only)")
	fl.StringVar(&a.Config.Ingress.IstioGateway, "serving-istio-gateway", a.Config.Ingress.IstioGateway, "Istio Gateway (<namespace>/<name>) that a VirtualService per InferenceService binds its hosts to, when no --serving-ingress-class routes them (needs Istio's CRDs; empty: none)")
	fl.StringVar(&a.Config.Ingress.Domain, "serving-ingress-domain", a.Config.Ingress.Domain, "DNS suffix of InferenceServices' hosts: <name>-<namespace>.<domain>")
	fl.BoolVar(&a.Config.Knative, "serving-knative", a.Config.Knative, "deploy Serverless InferenceServices as Knative Services (needs Knative Serving's CRDs)")
	fl.StringVar(&a.Config.KnativeDomain, "serving-knative-domain", a.Config.KnativeDomain, "Knative's domain (config-domain): Serverless InferenceServices get the host <name>.<namespace>.<domain> (empty: none)")
	fl.StringVar(&a.Config.DefaultDeploymentMode, "serving-default-deployment-mode", a.Config.DefaultDeploymentMode, "deployment mode of InferenceServices without the "+DeploymentModeAnnotation+" annotation: RawDeployment or Serverless (needs --serving-knative)")
	fl.StringSliceVar(&a.Namespace, "serving-namespace", a.Namespace, "reconcile only InferenceServices in these namespaces (repeatable or comma-separated; default: all)")
}

// Validate checks the flag values.
func (a *API) Validate() error {
	if a.Config.Workers < 1 {
		return errs.Usage("pass --serving-workers 1 or more", "--serving-workers must be at least 1")
	}
	if c := a.Config.Ingress.Class; c != "" && len(validation.IsDNS1123Subdomain(c)) > 0 {
		return errs.Usage("pass an IngressClass name such as --serving-ingress-class kfup", "--serving-ingress-class %q is not an object name", c)
	}
	if g := a.Config.Ingress.IstioGateway; g != "" {
		if a.Config.Ingress.Class != "" {
			return errs.Usage("pass one of them: an Ingress or a VirtualService routes an InferenceService, not both", "--serving-istio-gateway and --serving-ingress-class both given")
		}
		if err := engine.ValidIstioGateway(g); err != nil {
			return errs.Usage("pass --serving-istio-gateway <namespace>/<name>, such as istio-system/kfup-gateway", "--serving-istio-gateway: %v", err)
		}
	}
	if d := a.Config.Ingress.Domain; (a.Config.Ingress.Class != "" || a.Config.Ingress.IstioGateway != "") && len(validation.IsDNS1123Subdomain(d)) > 0 {
		return errs.Usage("pass a DNS name such as --serving-ingress-domain kfup.localhost", "--serving-ingress-domain %q is not a DNS name", d)
	}
	if d := a.Config.KnativeDomain; d != "" && len(validation.IsDNS1123Subdomain(d)) > 0 {
		return errs.Usage("pass a DNS name such as --serving-knative-domain kfup.localhost", "--serving-knative-domain %q is not a DNS name", d)
	}
	switch m := a.Config.DefaultDeploymentMode; {
	case !engine.KnownMode(m):
		return errs.Usage("pass --serving-default-deployment-mode RawDeployment or Serverless", "--serving-default-deployment-mode %q is not a deployment mode", m)
	case engine.Serverless(m) && !a.Config.Knative:
		return errs.Usage("pass --serving-knative too (Knative Serving installed), or --serving-default-deployment-mode RawDeployment", "--serving-default-deployment-mode %s needs --serving-knative", m)
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
