package controller

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	istionetworkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	knservingv1 "github.com/kfup/kfup/components/knative/api/v1"
	knservingv1beta1 "github.com/kfup/kfup/components/knative/api/v1beta1"
	servingv1alpha1 "github.com/kfup/kfup/components/serving/api/v1alpha1"
	servingv1beta1 "github.com/kfup/kfup/components/serving/api/v1beta1"
	"github.com/kfup/kfup/components/serving/engine"
	"github.com/kfup/kfup/internal/apihost"
)

// DeploymentModeAnnotation chooses an InferenceService's deployment mode (KServe's).
const DeploymentModeAnnotation = "serving.kserve.io/deploymentMode"

// FieldOwner is the field manager of kfup's server-side applies of serving children.
const FieldOwner = "kfup-serving"

// retryNoRuntime is how soon an InferenceService that no runtime serves, or whose child's
// name is taken, is looked at again (runtimes and unlabelled objects are not watched).
const retryNoRuntime = 30 * time.Second

// InferenceServiceReconciler deploys InferenceServices in Standard mode (Deployments,
// Services, HPAs, Ingresses) or Serverless mode (Knative Services).
type InferenceServiceReconciler struct {
	cfg    Config
	client client.Client
	reader client.Reader
	// applied remembers, per child (appliedKey), what this process last applied and the
	// object that came back (appliedRecord): a child found unchanged since is not applied
	// again, so a steady InferenceService costs no write per reconcile.
	applied sync.Map
}

// appliedKey names one child.
type appliedKey struct {
	kind, namespace, name string
}

// appliedRecord is the hash of what was applied to a child and the child's UID and
// generation right after.
type appliedRecord struct {
	hash       string
	uid        types.UID
	generation int64
}

// Name returns "inferenceservice-controller".
func (r *InferenceServiceReconciler) Name() string { return "inferenceservice-controller" }

// SetupWithManager watches InferenceServices and the children they own.
func (r *InferenceServiceReconciler) SetupWithManager(mgr manager.Manager) error {
	r.client, r.reader = mgr.GetClient(), mgr.GetAPIReader()
	b := ctrl.NewControllerManagedBy(mgr).
		Named(r.Name()).
		For(&servingv1beta1.InferenceService{}).
		Owns(&appsv1.Deployment{}).
		Owns(&corev1.Service{}).
		Owns(&autoscalingv2.HorizontalPodAutoscaler{})
	if r.cfg.Ingress.Class != "" {
		// the ingress slice caches every Ingress; its status says when a route is served
		b = b.Owns(&networkingv1.Ingress{})
	}
	if r.routesByIstio() {
		b = b.Owns(&istionetworkingv1.VirtualService{})
	}
	if r.cfg.Knative {
		// Knative's status of each Serverless component, and of its own host
		b = b.Owns(&knservingv1.Service{}).Owns(&knservingv1beta1.DomainMapping{})
	}
	return b.
		// a model server that fails to load its model exits: its pod's status says why
		Watches(&corev1.Pod{}, handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
			name := o.GetLabels()[engine.LabelInferenceService]
			if o.GetLabels()[apihost.LabelAPI] != APIName || name == "" {
				return nil
			}
			return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: o.GetNamespace(), Name: name}}}
		})).
		WithOptions(controller.Options{MaxConcurrentReconciles: r.cfg.Workers, SkipNameValidation: ptr.To(r.cfg.SkipNameValidation)}).
		Complete(r)
}

// routesByIstio says Standard-mode InferenceServices are routed by an Istio
// VirtualService each (--serving-istio-gateway without --serving-ingress-class).
func (r *InferenceServiceReconciler) routesByIstio() bool {
	return r.cfg.Ingress.Class == "" && r.cfg.Ingress.IstioGateway != ""
}

// Reconcile fetches the InferenceService, decides its runtime and children (package
// engine), applies them and writes its status once.
func (r *InferenceServiceReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	isvc := &servingv1beta1.InferenceService{}
	if err := r.client.Get(ctx, req.NamespacedName, isvc); err != nil {
		if apierrors.IsNotFound(err) {
			r.forget(req.Namespace, req.Name)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !isvc.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil // the children go with it (owner references)
	}
	o, result, err := r.deploy(ctx, isvc)
	if err != nil {
		return ctrl.Result{}, err
	}
	st := engine.Status(isvc, o, metav1.Now())
	if !reflect.DeepEqual(st, isvc.Status) {
		isvc.Status = st
		if err := r.client.Status().Update(ctx, isvc); err != nil {
			return ctrl.Result{}, client.IgnoreNotFound(err)
		}
	}
	return result, nil
}

// deploy chooses the runtime and applies the children; what stops it is in o.Err
// (a condition), an error is a failure to talk to the API server.
func (r *InferenceServiceReconciler) deploy(ctx context.Context, isvc *servingv1beta1.InferenceService) (engine.Observed, ctrl.Result, error) {
	var o engine.Observed
	mode, named := isvc.Annotations[DeploymentModeAnnotation]
	if !named || mode == "" {
		mode = r.cfg.DefaultDeploymentMode
	}
	switch {
	case !engine.KnownMode(mode):
		o.Err = fmt.Errorf("deployment mode %q is not one kfup serves: set annotation %s to RawDeployment (Standard) or Serverless (Knative), or remove it for the cluster's default (%s)",
			mode, DeploymentModeAnnotation, r.cfg.DefaultDeploymentMode)
		o.ErrReason = engine.ReasonDeploymentModeNotServed
		return o, ctrl.Result{}, nil
	case engine.Serverless(mode) && !r.cfg.Knative:
		o.Err = fmt.Errorf("deployment mode %s needs Knative Serving, which this cluster does not run: create the cluster with --set components.knative.enabled=true (the standard profile has it), or set annotation %s to RawDeployment",
			mode, DeploymentModeAnnotation)
		o.ErrReason = engine.ReasonDeploymentModeNotServed
		return o, ctrl.Result{}, nil
	}
	o.Serverless = engine.Serverless(mode)
	if m := engine.ModelOf(&isvc.Spec.Predictor); m != nil {
		rts, err := r.runtimes(ctx, isvc.Namespace)
		if err != nil {
			return o, ctrl.Result{}, err
		}
		rt, err := engine.SelectRuntime(m, rts)
		if err != nil {
			o.Err = err
			return o, ctrl.Result{RequeueAfter: retryNoRuntime}, nil
		}
		o.Runtime = &rt
	}
	si := engine.StorageInit{Image: r.cfg.Image}
	if engine.NeedsCredentials(engine.StorageURIOf(&isvc.Spec.Predictor)) {
		secrets, err := r.credentialSecrets(ctx, isvc)
		if err != nil {
			return o, ctrl.Result{}, err
		}
		si.Secrets = secrets
	}
	if o.Serverless {
		return r.deployServerless(ctx, isvc, o, si)
	}
	// a switch from Serverless: Knative's Services go first (theirs are named like the
	// component Services made below)
	if err := r.deleteKnative(ctx, isvc); err != nil {
		return o, ctrl.Result{}, err
	}
	children, err := engine.Desired(isvc, o.Runtime, si)
	if err != nil {
		o.Err = err
		return o, ctrl.Result{}, nil
	}
	o.Children = children
	o.Deployments = map[servingv1beta1.ComponentType]*appsv1.Deployment{}
	for _, c := range children {
		objs := []client.Object{c.Deployment, c.Service}
		if c.HPA != nil {
			objs = append(objs, c.HPA)
		}
		for _, obj := range objs {
			if err := r.apply(ctx, isvc, obj); err != nil {
				return standardApplyFailed(o, err)
			}
		}
		if c.HPA == nil {
			// min == max: an HPA left from before must go
			if err := r.deleteOwned(ctx, isvc, &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: c.Deployment.ObjectMeta}); err != nil {
				return o, ctrl.Result{}, err
			}
		}
		d := &appsv1.Deployment{}
		if err := r.client.Get(ctx, client.ObjectKeyFromObject(c.Deployment), d); err == nil {
			o.Deployments[c.Component] = d
		} else if !apierrors.IsNotFound(err) {
			return o, ctrl.Result{}, err
		}
		if c.Component == servingv1beta1.PredictorComponent {
			pods := &corev1.PodList{}
			if err := r.client.List(ctx, pods, client.InNamespace(isvc.Namespace),
				client.MatchingLabels(c.Deployment.Spec.Selector.MatchLabels), client.MatchingLabels{apihost.LabelAPI: APIName}); err != nil {
				return o, ctrl.Result{}, fmt.Errorf("list the predictor's pods: %w", err)
			}
			o.PredictorPods = pods.Items
		}
	}
	// the Ingress of the InferenceService's hosts, when routed from outside
	if ing := engine.Ingress(isvc, children, r.cfg.Ingress); ing != nil {
		if err := r.apply(ctx, isvc, ing); err != nil {
			return standardApplyFailed(o, err)
		}
		got := &networkingv1.Ingress{}
		if err := r.get(ctx, client.ObjectKeyFromObject(ing), got); err != nil && !apierrors.IsNotFound(err) {
			return o, ctrl.Result{}, err
		}
		o.Ingress = &engine.RoutedIngress{URL: "http://" + r.cfg.Ingress.Host(isvc, ""), Served: len(got.Status.LoadBalancer.Ingress) > 0}
	} else if err := r.deleteOwned(ctx, isvc, &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: isvc.Name, Namespace: isvc.Namespace}}); err != nil {
		return o, ctrl.Result{}, err
	}
	// or, on Istio, its VirtualService: Istio reports nothing back, so the route is
	// served once the VirtualService holds it
	if vs := engine.VirtualService(isvc, children, r.cfg.Ingress); vs != nil {
		if err := r.apply(ctx, isvc, vs); err != nil {
			return standardApplyFailed(o, err)
		}
		o.Ingress = &engine.RoutedIngress{URL: "http://" + r.cfg.Ingress.Host(isvc, ""), Served: true}
	} else if r.routesByIstio() {
		if err := r.deleteOwned(ctx, isvc, &istionetworkingv1.VirtualService{ObjectMeta: metav1.ObjectMeta{Name: isvc.Name, Namespace: isvc.Namespace}}); err != nil {
			return o, ctrl.Result{}, err
		}
	}
	// a component removed from the spec takes its children with it
	for _, comp := range []servingv1beta1.ComponentType{servingv1beta1.TransformerComponent, servingv1beta1.ExplainerComponent} {
		if hasComponent(children, comp) {
			continue
		}
		if err := r.deleteStandard(ctx, isvc, comp); err != nil {
			return o, ctrl.Result{}, err
		}
	}
	return o, ctrl.Result{}, nil
}

// standardApplyFailed is deploy's result when applying a Standard-mode child (a
// component's object, the Ingress, the VirtualService) failed: someone else's object of
// its name is a ResourceExists condition, looked at again later (it is not labelled, so
// not watched); anything else is an error.
func standardApplyFailed(o engine.Observed, err error) (engine.Observed, ctrl.Result, error) {
	var taken *takenError
	if errors.As(err, &taken) {
		o.Err, o.ErrReason, o.Children = err, engine.ReasonResourceExists, nil
		return o, ctrl.Result{RequeueAfter: retryNoRuntime}, nil
	}
	return o, ctrl.Result{}, err
}

var allComponents = []servingv1beta1.ComponentType{servingv1beta1.PredictorComponent, servingv1beta1.TransformerComponent, servingv1beta1.ExplainerComponent}

// deleteStandard deletes the Standard-mode children of component comp that isvc owns.
func (r *InferenceServiceReconciler) deleteStandard(ctx context.Context, isvc *servingv1beta1.InferenceService, comp servingv1beta1.ComponentType) error {
	meta := metav1.ObjectMeta{Name: engine.ComponentName(isvc.Name, comp), Namespace: isvc.Namespace}
	for _, obj := range []client.Object{&appsv1.Deployment{ObjectMeta: meta}, &corev1.Service{ObjectMeta: meta}, &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: meta}} {
		if err := r.deleteOwned(ctx, isvc, obj); err != nil {
			return err
		}
	}
	return nil
}

// deleteKnative deletes the Knative Services of isvc's components that isvc owns (none
// without Knative).
func (r *InferenceServiceReconciler) deleteKnative(ctx context.Context, isvc *servingv1beta1.InferenceService, keep ...servingv1beta1.ComponentType) error {
	if !r.cfg.Knative {
		return nil
	}
	for _, comp := range allComponents {
		if slices.Contains(keep, comp) {
			continue
		}
		ks := &knservingv1.Service{ObjectMeta: metav1.ObjectMeta{Name: engine.ComponentName(isvc.Name, comp), Namespace: isvc.Namespace}}
		if err := r.deleteOwned(ctx, isvc, ks); err != nil {
			return err
		}
	}
	if len(keep) == 0 {
		return r.deleteDomainMappings(ctx, isvc, "")
	}
	return nil
}

// deleteDomainMappings deletes isvc's DomainMappings but the one named keep (one of an
// earlier domain, or all when the InferenceService leaves Serverless mode or the
// cluster).
func (r *InferenceServiceReconciler) deleteDomainMappings(ctx context.Context, isvc *servingv1beta1.InferenceService, keep string) error {
	dms := &knservingv1beta1.DomainMappingList{}
	if err := r.client.List(ctx, dms, client.InNamespace(isvc.Namespace), client.MatchingLabels{engine.LabelInferenceService: isvc.Name, apihost.LabelAPI: APIName}); err != nil {
		return fmt.Errorf("list the DomainMappings of %s/%s: %w", isvc.Namespace, isvc.Name, err)
	}
	for i := range dms.Items {
		if dm := &dms.Items[i]; dm.Name != keep {
			if err := r.deleteOwned(ctx, isvc, dm); err != nil {
				return err
			}
		}
	}
	return nil
}

// deployServerless applies a Knative Service per component (after deleting what
// Standard mode left: its Services are named like Knative's) and reads back what Knative
// reports of them.
func (r *InferenceServiceReconciler) deployServerless(ctx context.Context, isvc *servingv1beta1.InferenceService, o engine.Observed, si engine.StorageInit) (engine.Observed, ctrl.Result, error) {
	current := map[servingv1beta1.ComponentType]*knservingv1.Service{}
	for _, comp := range allComponents {
		ks := &knservingv1.Service{}
		switch err := r.client.Get(ctx, client.ObjectKey{Namespace: isvc.Namespace, Name: engine.ComponentName(isvc.Name, comp)}, ks); {
		case err == nil:
			if metav1.IsControlledBy(ks, isvc) {
				current[comp] = ks
			}
		case !apierrors.IsNotFound(err):
			return o, ctrl.Result{}, err
		}
	}
	children, err := engine.DesiredKnative(isvc, o.Runtime, si, current)
	if err != nil {
		o.Err = err
		return o, ctrl.Result{}, nil
	}
	for _, comp := range allComponents {
		if err := r.deleteStandard(ctx, isvc, comp); err != nil {
			return o, ctrl.Result{}, err
		}
	}
	if err := r.deleteOwned(ctx, isvc, &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: isvc.Name, Namespace: isvc.Namespace}}); err != nil {
		return o, ctrl.Result{}, err
	}
	if r.routesByIstio() {
		if err := r.deleteOwned(ctx, isvc, &istionetworkingv1.VirtualService{ObjectMeta: metav1.ObjectMeta{Name: isvc.Name, Namespace: isvc.Namespace}}); err != nil {
			return o, ctrl.Result{}, err
		}
	}
	var kept []servingv1beta1.ComponentType
	for _, c := range children {
		kept = append(kept, c.Component)
	}
	if err := r.deleteKnative(ctx, isvc, kept...); err != nil {
		return o, ctrl.Result{}, err
	}
	o.Knative = children
	o.KnativeServices = map[servingv1beta1.ComponentType]*knservingv1.Service{}
	for _, c := range children {
		if err := r.apply(ctx, isvc, c.Service); err != nil {
			var taken *takenError
			if errors.As(err, &taken) {
				o.Err, o.ErrReason, o.Knative = err, engine.ReasonResourceExists, nil
				return o, ctrl.Result{RequeueAfter: retryNoRuntime}, nil
			}
			var invalid *knativeRefusedError
			if errors.As(err, &invalid) {
				// Knative's webhook refused the Service: its message says which field
				o.Err, o.ErrReason, o.Knative = err, string(servingv1beta1.InvalidPredictorSpec), nil
				return o, ctrl.Result{RequeueAfter: retryNoRuntime}, nil
			}
			return o, ctrl.Result{}, err
		}
		ks := &knservingv1.Service{}
		if err := r.client.Get(ctx, client.ObjectKeyFromObject(c.Service), ks); err == nil {
			o.KnativeServices[c.Component] = ks
		} else if !apierrors.IsNotFound(err) {
			return o, ctrl.Result{}, err
		}
		if c.Component == servingv1beta1.PredictorComponent {
			// the pods of the latest revision: a model that fails to load there says why
			sel := client.MatchingLabels{engine.LabelInferenceService: isvc.Name, engine.LabelComponent: string(c.Component), apihost.LabelAPI: APIName}
			if ks.Status.LatestCreatedRevisionName != "" {
				sel[knservingv1.RevisionLabel] = ks.Status.LatestCreatedRevisionName
			}
			pods := &corev1.PodList{}
			if err := r.client.List(ctx, pods, client.InNamespace(isvc.Namespace), sel); err != nil {
				return o, ctrl.Result{}, fmt.Errorf("list the predictor's pods: %w", err)
			}
			o.PredictorPods = pods.Items
		}
	}
	// the InferenceService's own host
	dm := engine.DomainMapping(isvc, children, r.cfg.KnativeDomain)
	keep := ""
	if dm != nil {
		keep = dm.Name
		if err := r.apply(ctx, isvc, dm); err != nil {
			var taken *takenError
			if errors.As(err, &taken) {
				o.Err, o.ErrReason, o.Knative = err, engine.ReasonResourceExists, nil
				return o, ctrl.Result{RequeueAfter: retryNoRuntime}, nil
			}
			return o, ctrl.Result{}, err
		}
		got := &knservingv1beta1.DomainMapping{}
		switch err := r.client.Get(ctx, client.ObjectKeyFromObject(dm), got); {
		case err == nil:
			o.Domain = engine.DomainStatus(got)
		case apierrors.IsNotFound(err):
			o.Domain = engine.DomainStatus(dm)
		default:
			return o, ctrl.Result{}, err
		}
	}
	if err := r.deleteDomainMappings(ctx, isvc, keep); err != nil {
		return o, ctrl.Result{}, err
	}
	return o, ctrl.Result{}, nil
}

// knativeRefusedError is Knative's webhook refusing a Knative Service kfup made from an
// InferenceService: a pod field Knative does not allow, such as a second port.
type knativeRefusedError struct {
	name string
	err  error
}

func (e *knativeRefusedError) Error() string {
	return fmt.Sprintf("Knative refused Knative Service %s: %v", e.name, e.err)
}

func (e *knativeRefusedError) Unwrap() error { return e.err }

func hasComponent(cs []engine.Children, comp servingv1beta1.ComponentType) bool {
	for _, c := range cs {
		if c.Component == comp {
			return true
		}
	}
	return false
}

// runtimes lists the namespace's ServingRuntimes and the cluster's
// ClusterServingRuntimes from the API server (neither is cached); a kind whose CRD is
// missing counts as none, as in KServe, and so do cluster runtimes the manager may not
// read.
func (r *InferenceServiceReconciler) runtimes(ctx context.Context, ns string) (engine.Runtimes, error) {
	var out engine.Runtimes
	srs := &servingv1alpha1.ServingRuntimeList{}
	if err := r.reader.List(ctx, srs, client.InNamespace(ns)); err != nil && !meta.IsNoMatchError(err) {
		return out, fmt.Errorf("list servingruntimes in %s: %w", ns, err)
	}
	csrs := &servingv1alpha1.ClusterServingRuntimeList{}
	// a manager whose RBAC is bound only in namespaces (components.serving.namespaces)
	// may not read cluster-scoped runtimes: then only the namespace's serve
	if err := r.reader.List(ctx, csrs); err != nil && !meta.IsNoMatchError(err) && !apierrors.IsForbidden(err) {
		return out, fmt.Errorf("list clusterservingruntimes: %w", err)
	}
	out.Namespaced, out.Cluster = srs.Items, csrs.Items
	return out, nil
}

// credentialSecrets are the names and annotations of the secrets listed by the
// predictor's service account ("default" when unnamed), as KServe's credential builder
// reads them; only their metadata is requested, their data stays in the API server (the
// pod references its keys). A missing service account or secret is skipped, as KServe.
func (r *InferenceServiceReconciler) credentialSecrets(ctx context.Context, isvc *servingv1beta1.InferenceService) ([]engine.CredentialSecret, error) {
	name := isvc.Spec.Predictor.ServiceAccountName
	if name == "" {
		name = "default"
	}
	sa := &corev1.ServiceAccount{}
	if err := r.reader.Get(ctx, client.ObjectKey{Namespace: isvc.Namespace, Name: name}, sa); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("read service account %s/%s: %w", isvc.Namespace, name, err)
	}
	var out []engine.CredentialSecret
	for _, ref := range sa.Secrets {
		m := &metav1.PartialObjectMetadata{}
		m.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
		if err := r.reader.Get(ctx, client.ObjectKey{Namespace: isvc.Namespace, Name: ref.Name}, m); err != nil {
			if apierrors.IsNotFound(err) {
				continue
			}
			return nil, fmt.Errorf("read the metadata of secret %s/%s: %w", isvc.Namespace, ref.Name, err)
		}
		out = append(out, engine.CredentialSecret{Name: m.Name, Annotations: m.Annotations})
	}
	return out, nil
}

// takenError says that an object of a child's name is someone else's.
type takenError struct {
	kind, name string
}

func (e *takenError) Error() string {
	return fmt.Sprintf("%s %s exists and is not this InferenceService's: kfup leaves it alone; delete or rename it, or rename the InferenceService", e.kind, e.name)
}

// apply server-side applies obj as isvc's child: labelled, owned by isvc (controller),
// and only when no object of its name exists or the one there is isvc's.
func (r *InferenceServiceReconciler) apply(ctx context.Context, isvc *servingv1beta1.InferenceService, obj client.Object) error {
	kind := obj.GetObjectKind().GroupVersionKind().Kind
	key := appliedKey{kind, obj.GetNamespace(), obj.GetName()}
	// the cache holds the children kfup labelled; one of this name that it lacks may be
	// someone else's, unlabelled: only then is the API server asked
	cached := obj.DeepCopyObject().(client.Object)
	var current metav1.Object
	switch err := r.client.Get(ctx, client.ObjectKeyFromObject(obj), cached); {
	case err == nil:
		current = cached
	case apierrors.IsNotFound(err), isNotCached(err):
		m, err := r.metadataOf(ctx, obj)
		if err != nil {
			return err
		}
		if m != nil {
			current = m
		}
	default:
		return err
	}
	if current != nil && !metav1.IsControlledBy(current, isvc) {
		return &takenError{kind: kind, name: obj.GetNamespace() + "/" + obj.GetName()}
	}
	apihost.MarkChild(obj, APIName)
	switch o := obj.(type) {
	case *appsv1.Deployment:
		apihost.MarkChild(&o.Spec.Template, APIName)
	case *knservingv1.Service:
		apihost.MarkChild(&o.Spec.Template, APIName)
	}
	obj.SetOwnerReferences([]metav1.OwnerReference{*metav1.NewControllerRef(isvc, servingv1beta1.GroupVersion.WithKind(servingv1beta1.InferenceServiceKind))})
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return err
	}
	u := &unstructured.Unstructured{Object: m}
	unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
	unstructured.RemoveNestedField(u.Object, "spec", "template", "metadata", "creationTimestamp")
	unstructured.RemoveNestedField(u.Object, "status")
	raw, err := json.Marshal(u.Object)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(raw)
	hash := hex.EncodeToString(sum[:])
	if current != nil {
		// the same desired state, applied to this very object, which nobody changed since
		// (a spec edit bumps its generation): nothing to do
		if rec, ok := r.applied.Load(key); ok {
			if rec := rec.(appliedRecord); rec.hash == hash && rec.uid == current.GetUID() && rec.generation == current.GetGeneration() {
				return nil
			}
		}
	}
	if err := r.client.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(FieldOwner), client.ForceOwnership); err != nil {
		r.applied.Delete(key)
		if _, ok := obj.(*knservingv1.Service); ok && (apierrors.IsBadRequest(err) || apierrors.IsInvalid(err)) {
			return &knativeRefusedError{name: u.GetNamespace() + "/" + u.GetName(), err: err}
		}
		return fmt.Errorf("apply %s %s/%s: %w", kind, u.GetNamespace(), u.GetName(), err)
	}
	r.applied.Store(key, appliedRecord{hash: hash, uid: u.GetUID(), generation: u.GetGeneration()})
	return nil
}

// get reads a child from the cache, or from the API server when the cache has no
// informer for its kind (Ingresses, when the ingress slice is not hosted).
func (r *InferenceServiceReconciler) get(ctx context.Context, key client.ObjectKey, obj client.Object) error {
	err := r.client.Get(ctx, key, obj)
	if isNotCached(err) {
		err = r.reader.Get(ctx, key, obj)
	}
	return err
}

// isNotCached says the manager's cache holds no informer for the object's kind (an
// Ingress when the ingress slice is not hosted): the API server is asked instead.
func isNotCached(err error) bool {
	var nc *cache.ErrResourceNotCached
	return errors.As(err, &nc)
}

// forget drops what apply remembers of the children of the InferenceService ns/name.
func (r *InferenceServiceReconciler) forget(ns, name string) {
	r.applied.Range(func(k, _ any) bool {
		key := k.(appliedKey)
		if (key.kind == "Ingress" || key.kind == "VirtualService") && key.namespace == ns && key.name == name ||
			key.kind == knservingv1beta1.DomainMappingKind && key.namespace == ns && strings.HasPrefix(key.name, name+"."+ns+".") {
			r.applied.Delete(k)
		}
		for _, comp := range []servingv1beta1.ComponentType{servingv1beta1.PredictorComponent, servingv1beta1.TransformerComponent, servingv1beta1.ExplainerComponent} {
			if key.namespace == ns && key.name == engine.ComponentName(name, comp) {
				r.applied.Delete(k)
			}
		}
		return true
	})
}

// metadataOf reads the metadata of the object of obj's kind and name from the API
// server; nil when there is none.
func (r *InferenceServiceReconciler) metadataOf(ctx context.Context, obj client.Object) (*metav1.PartialObjectMetadata, error) {
	gvk, err := r.client.GroupVersionKindFor(obj)
	if err != nil {
		return nil, err
	}
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(gvk)
	if err := r.reader.Get(ctx, client.ObjectKeyFromObject(obj), m); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("read %s %s/%s: %w", gvk.Kind, obj.GetNamespace(), obj.GetName(), err)
	}
	return m, nil
}

// deleteOwned deletes the object of obj's kind and name if it is isvc's — that very
// object: the delete names its UID, so one put in its place meanwhile is left alone.
func (r *InferenceServiceReconciler) deleteOwned(ctx context.Context, isvc *servingv1beta1.InferenceService, obj client.Object) error {
	// what kfup made is labelled, so cached: an object of the name the cache lacks is
	// not isvc's
	kind, err := r.client.GroupVersionKindFor(obj)
	if err != nil {
		return err
	}
	r.applied.Delete(appliedKey{kind.Kind, obj.GetNamespace(), obj.GetName()})
	if err := r.get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
		return client.IgnoreNotFound(err)
	}
	if !metav1.IsControlledBy(obj, isvc) {
		return nil
	}
	uid := obj.GetUID()
	if err := r.client.Delete(ctx, obj, client.Preconditions{UID: &uid}); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("delete %s/%s: %w", obj.GetNamespace(), obj.GetName(), err)
	}
	return nil
}
