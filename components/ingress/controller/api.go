// Package controller is the in-cluster side of kfup's ingress: the controller, hosted in
// kfup's manager, that compiles every Kubernetes Ingress of class kfup and (with Knative)
// every KIngress of kfup's class into one route table, publishes it in a ConfigMap the
// proxy (kfup agent ingress, components/ingress/proxy) watches, and writes each object's
// status once the proxy reports that it serves that table.
package controller

import (
	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kingressv1alpha1 "github.com/kfup/kfup/components/ingress/api/v1alpha1"
	"github.com/kfup/kfup/components/ingress/proxy"
	"github.com/kfup/kfup/components/ingress/route"
	"github.com/kfup/kfup/internal/apihost"
	"github.com/kfup/kfup/internal/errs"
)

// APIName is the slice's name: its profile component and its children's apihost.LabelAPI
// value.
const APIName = "ingress"

// Config configures the ingress controller.
type Config struct {
	// Namespace and RoutesConfigMap name the ConfigMap the table is published in;
	// CertsSecret, in the same namespace, the Secret of the certificates it names.
	Namespace       string
	RoutesConfigMap string
	CertsSecret     string
	// IngressClass is the class of the Kubernetes Ingresses served.
	IngressClass string
	// Knative serves KIngresses too (the KIngress CRD must exist).
	Knative bool
	// ProxyAdmin is the proxy's admin URL, asked which table it serves before a route
	// is reported ready; empty: not asked.
	ProxyAdmin string
	// PublicDomain and PrivateDomain are the KIngress load balancers' addresses: the
	// external and the cluster-local Service of the proxy.
	PublicDomain, PrivateDomain string
	// StatusAddress is the address written into served Ingresses' status (the host's
	// ingress address); empty: none.
	StatusAddress string
	// SkipNameValidation lets tests start several managers in one process.
	SkipNameValidation bool
}

// DefaultConfig is the configuration the manager starts with.
func DefaultConfig() Config {
	return Config{
		Namespace:       proxy.DefaultNamespace,
		RoutesConfigMap: proxy.DefaultRoutesConfigMap,
		CertsSecret:     proxy.DefaultCertsSecret,
		IngressClass:    proxy.IngressClass,
		ProxyAdmin:      "http://kfup-ingress-admin." + proxy.DefaultNamespace + ".svc:8082",
		PublicDomain:    "kfup-ingress." + proxy.DefaultNamespace + ".svc.cluster.local",
		PrivateDomain:   "kfup-ingress-internal." + proxy.DefaultNamespace + ".svc.cluster.local",
		StatusAddress:   "127.0.0.1",
	}
}

// API is the ingress slice's in-cluster side (apihost.API).
type API struct {
	// Config configures the controller; the flags write into it.
	Config Config
	// Namespace restricts the controller to Ingresses and KIngresses in these namespaces
	// (--ingress-serve-namespace); empty: every namespace.
	Namespace []string
}

var (
	_ apihost.API    = (*API)(nil)
	_ apihost.Cacher = (*API)(nil)
)

// NewAPI returns the ingress slice with kfup's defaults.
func NewAPI() *API { return &API{Config: DefaultConfig()} }

// Name returns "ingress".
func (a *API) Name() string { return APIName }

// AddToScheme registers Knative's networking.internal.knative.dev v1alpha1 (KIngress).
func (a *API) AddToScheme(s *runtime.Scheme) error { return kingressv1alpha1.AddToScheme(s) }

// AddFlags registers the --ingress-* flags.
func (a *API) AddFlags(fl *pflag.FlagSet) {
	c := &a.Config
	fl.StringVar(&c.Namespace, "ingress-namespace", c.Namespace, "namespace of the proxy and of its routes ConfigMap")
	fl.StringVar(&c.RoutesConfigMap, "ingress-routes-configmap", c.RoutesConfigMap, "ConfigMap the route table is published in")
	fl.StringVar(&c.CertsSecret, "ingress-certs-secret", c.CertsSecret, "Secret the certificates of the routes' TLS entries are published in (the proxy's TLS listener reads it)")
	fl.StringVar(&c.IngressClass, "ingress-class", c.IngressClass, "class of the Kubernetes Ingresses served (spec.ingressClassName)")
	fl.BoolVar(&c.Knative, "ingress-knative", c.Knative, "serve Knative's KIngresses of class "+kingressv1alpha1.Class+" too (needs Knative Serving's CRDs)")
	fl.StringVar(&c.ProxyAdmin, "ingress-proxy-admin", c.ProxyAdmin, "admin URL of the proxy, asked which routes it serves (empty: not asked)")
	fl.StringVar(&c.PublicDomain, "ingress-public-domain", c.PublicDomain, "KIngress public load balancer address")
	fl.StringVar(&c.PrivateDomain, "ingress-private-domain", c.PrivateDomain, "KIngress cluster-local load balancer address")
	fl.StringVar(&c.StatusAddress, "ingress-status-address", c.StatusAddress, "IP written into served Ingresses' status (empty: none)")
	fl.StringSliceVar(&a.Namespace, "ingress-serve-namespace", a.Namespace, "serve only Ingresses and KIngresses in these namespaces (repeatable or comma-separated; default: all)")
}

// Validate checks the flag values.
func (a *API) Validate() error {
	c := a.Config
	if len(validation.IsDNS1123Label(c.Namespace)) > 0 {
		return errs.Usage("pass a namespace name such as --ingress-namespace kfup-system", "--ingress-namespace %q is not a namespace name", c.Namespace)
	}
	if len(validation.IsDNS1123Subdomain(c.RoutesConfigMap)) > 0 {
		return errs.Usage("pass a ConfigMap name such as --ingress-routes-configmap kfup-ingress-routes", "--ingress-routes-configmap %q is not an object name", c.RoutesConfigMap)
	}
	if len(validation.IsDNS1123Subdomain(c.CertsSecret)) > 0 {
		return errs.Usage("pass a Secret name such as --ingress-certs-secret kfup-ingress-certs", "--ingress-certs-secret %q is not an object name", c.CertsSecret)
	}
	if len(validation.IsDNS1123Subdomain(c.IngressClass)) > 0 {
		return errs.Usage("pass an IngressClass name such as --ingress-class kfup", "--ingress-class %q is not an object name", c.IngressClass)
	}
	for _, ns := range a.Namespace {
		if len(validation.IsDNS1123Label(ns)) > 0 {
			return errs.Usage("pass namespace names such as --ingress-serve-namespace team-a", "--ingress-serve-namespace %q is not a namespace name", ns)
		}
	}
	return nil
}

// Namespaces returns --ingress-serve-namespace.
func (a *API) Namespaces() []string { return a.Namespace }

// Objects returns an Ingress and, with Knative, a KIngress: the kinds cached.
func (a *API) Objects() []client.Object {
	out := []client.Object{&networkingv1.Ingress{}}
	if a.Config.Knative {
		out = append(out, &kingressv1alpha1.Ingress{})
	}
	return out
}

// CacheRules caches EndpointSlices, trimmed to what routing reads
// (route.TrimEndpointSlice): the controller routes to the ready endpoints of the Services
// its objects name. Of Secrets it watches the metadata only (their changes recompile the
// table when a TLS entry names them), and a Secret cached whole would be trimmed to its
// metadata too (trimSecret): the certificates are read from the API server, never kept.
func (a *API) CacheRules() map[client.Object]cache.ByObject {
	return map[client.Object]cache.ByObject{
		&discoveryv1.EndpointSlice{}: {Transform: route.TrimEndpointSlice},
		&corev1.Secret{}:             {Transform: trimSecret},
	}
}

// trimSecret keeps a Secret's name, namespace, UID and resource version: not its data,
// and not its annotations either (kubectl apply's last-applied-configuration holds the
// data), nor labels or managed fields.
func trimSecret(obj any) (any, error) {
	keep := func(m *metav1.ObjectMeta) metav1.ObjectMeta {
		return metav1.ObjectMeta{Namespace: m.Namespace, Name: m.Name, UID: m.UID, ResourceVersion: m.ResourceVersion, DeletionTimestamp: m.DeletionTimestamp}
	}
	switch o := obj.(type) {
	case *corev1.Secret:
		return &corev1.Secret{TypeMeta: o.TypeMeta, ObjectMeta: keep(&o.ObjectMeta)}, nil
	case *metav1.PartialObjectMetadata:
		return &metav1.PartialObjectMetadata{TypeMeta: o.TypeMeta, ObjectMeta: keep(&o.ObjectMeta)}, nil
	}
	return obj, nil // a tombstone
}

// Controllers returns the ingress controller.
func (a *API) Controllers(apihost.Process) ([]apihost.Controller, error) {
	return []apihost.Controller{&Reconciler{cfg: a.Config}}, nil
}
