// Package serving is the install component of KServe's serving.kserve.io model serving
// API (InferenceService v1beta1; ServingRuntime and ClusterServingRuntime v1alpha1): it
// applies the CRDs generated from api/ and checks that the API server validates
// InferenceServices. The InferenceService controller, which deploys models in Standard
// (RawDeployment) mode, and the built-in runtimes' installer run in kfup's manager; kfup's
// own model server (`kfup modelserver`) runs from kfup's image.
package serving

import (
	"context"
	"fmt"
	istionetworkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfup/kfup/components"
	"github.com/kfup/kfup/components/ingress/proxy"
	"github.com/kfup/kfup/components/istio"
	knservingv1 "github.com/kfup/kfup/components/knative/api/v1"
	knservingv1beta1 "github.com/kfup/kfup/components/knative/api/v1beta1"
	servingv1alpha1 "github.com/kfup/kfup/components/serving/api/v1alpha1"
	servingv1beta1 "github.com/kfup/kfup/components/serving/api/v1beta1"
	"github.com/kfup/kfup/components/serving/runtimeimages"
)

// Name is the component name (the in-cluster side's too; package apis tests that the two
// sides agree).
const Name = "serving"

// Component installs the serving API: the host side of the serving slice (components.API).
type Component struct{}

var _ components.API = Component{}

// Name returns "serving".
func (Component) Name() string { return Name }

// DependsOn returns nothing: CRDs need nothing else.
func (Component) DependsOn() []string { return nil }

// Images returns the images of the upstream runtimes components.serving.bundleRuntimes
// names, for bundles; the controller and kfup's model server run in the manager image,
// and KServe's runtimes otherwise pull their own images when used.
func (Component) Images(env *components.Env) ([]string, error) {
	var out []string
	for _, rt := range env.Config().Components.Serving.BundleRuntimeList() {
		img := runtimeimages.Image(rt)
		if img == "" {
			return nil, fmt.Errorf("components.serving.bundleRuntimes: %q is not one of kfup's upstream runtimes (%s); kfup's own runtime needs no image of its own", rt, strings.Join(runtimeimages.Names(), ", "))
		}
		if !slices.Contains(out, img) {
			out = append(out, img)
		}
	}
	return out, nil
}

// CRDs names the three serving.kserve.io CRDs kfup serves.
func (Component) CRDs() []string {
	return []string{
		"inferenceservices.serving.kserve.io",
		"servingruntimes.serving.kserve.io",
		"clusterservingruntimes.serving.kserve.io",
	}
}

// AddToScheme registers serving.kserve.io v1beta1 and v1alpha1, and the Knative kinds
// Serverless InferenceServices become (Service, DomainMapping), and Istio's networking
// kinds (the VirtualServices of Standard mode on Istio), as the in-cluster side.
func (Component) AddToScheme(s *runtime.Scheme) error {
	for _, add := range []func(*runtime.Scheme) error{servingv1beta1.AddToScheme, servingv1alpha1.AddToScheme, knservingv1.AddToScheme, knservingv1beta1.AddToScheme, istionetworkingv1.AddToScheme} {
		if err := add(s); err != nil {
			return err
		}
	}
	return nil
}

// ManagerArgs is --serving-namespace for components.serving.namespaces,
// --serving-ingress-class for kfup's ingress when components.ingress is on (an Ingress
// per Standard-mode InferenceService, its host <name>-<namespace>.kfup.localhost on the
// host's HTTP port) or else, with Istio's ingress gateway, --serving-istio-gateway (a
// VirtualService per Standard-mode InferenceService on Istio's kfup-gateway, the same
// hosts), --serving-knative and --serving-knative-domain when Knative is
// enabled (Serverless InferenceServices become Knative Services, their own hosts
// DomainMappings under components.knative.domain) and --serving-default-deployment-mode
// (components.serving.deploymentMode).
func (c Component) ManagerArgs(env *components.Env) []string {
	var args []string
	if ns := c.Namespaces(env); len(ns) > 0 {
		args = append(args, "--serving-namespace="+strings.Join(ns, ","))
	}
	if env.Config().Components.Ingress.Enabled {
		args = append(args, "--serving-ingress-class="+proxy.IngressClass)
	} else if env.Config().Components.ServingRoutesByIstio() {
		args = append(args, "--serving-istio-gateway="+istio.Namespace+"/"+istio.ServingGatewayName)
	}
	if k := env.Config().Components.Knative; k.Enabled {
		args = append(args, "--serving-knative", "--serving-knative-domain="+k.Domain)
	}
	return append(args, "--serving-default-deployment-mode="+env.Config().Components.DefaultDeploymentMode())
}

// Namespaces returns components.serving.namespaces.
func (Component) Namespaces(env *components.Env) []string {
	return env.Config().Components.Serving.NamespaceList()
}

// Install applies the CRDs and waits until they are Established.
func (c Component) Install(ctx context.Context, env *components.Env) error {
	return components.CRDs(c.CRDs()).Install(ctx, env, Name)
}

// Ready waits for the CRDs to be Established.
func (c Component) Ready(ctx context.Context, env *components.Env) error {
	return components.CRDs(c.CRDs()).Ready(ctx, env)
}

// Uninstall deletes the CRDs, and with them every InferenceService and runtime.
func (c Component) Uninstall(ctx context.Context, env *components.Env) error {
	return components.CRDs(c.CRDs()).Uninstall(ctx, env)
}

// Smoke creates (server-side dry run, nothing is stored) the seed's sklearn
// InferenceService, which must be accepted, and one naming two frameworks, which the
// schema must refuse; then serves a tiny model for real in the cluster's default mode
// (serveTinyModel).
func (Component) Smoke(ctx context.Context, env *components.Env) error {
	if err := env.Client.Create(ctx, SmokeInferenceService(false), client.DryRunAll); err != nil {
		return fmt.Errorf("a valid InferenceService was refused: %w", err)
	}
	err := env.Client.Create(ctx, SmokeInferenceService(true), client.DryRunAll)
	if err == nil || !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "at most one") {
		return fmt.Errorf("an InferenceService naming two frameworks was not rejected by the schema (got %v)", err)
	}
	return serveTinyModel(ctx, env)
}

// SmokeInferenceService is the smoke test's InferenceService: an sklearn model (and,
// with twoFrameworks, an xgboost one too, which the schema refuses).
func SmokeInferenceService(twoFrameworks bool) *servingv1beta1.InferenceService {
	isvc := &servingv1beta1.InferenceService{
		ObjectMeta: metav1.ObjectMeta{Name: "kfup-smoke", Namespace: "default"},
		Spec: servingv1beta1.InferenceServiceSpec{Predictor: servingv1beta1.PredictorSpec{
			Model: &servingv1beta1.ModelSpec{
				ModelFormat:            servingv1beta1.ModelFormat{Name: "sklearn"},
				PredictorExtensionSpec: servingv1beta1.PredictorExtensionSpec{StorageURI: ptr.To("pvc://models/sklearn")},
			},
		}},
	}
	if twoFrameworks {
		isvc.Spec.Predictor.XGBoost = &servingv1beta1.PredictorExtensionSpec{StorageURI: ptr.To("pvc://models/xgb")}
	}
	return isvc
}
