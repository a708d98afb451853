package controller

import (
	"context"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	pipelinesv2beta1 "github.com/kfup/kfup/components/pipelines/api/v2beta1"
)

// VersionReconciler validates each PipelineVersion's IR and says so in its Ready
// condition, with every problem found, so that `kubectl get pipelineversions` shows which
// versions can run before any run is tried.
type VersionReconciler struct {
	cfg    Config
	client client.Client
}

// Name is "pipelineversion-controller".
func (r *VersionReconciler) Name() string { return "pipelineversion-controller" }

// SetupWithManager watches PipelineVersions.
func (r *VersionReconciler) SetupWithManager(mgr manager.Manager) error {
	r.client = mgr.GetClient()
	return ctrl.NewControllerManagedBy(mgr).
		Named(r.Name()).
		For(&pipelinesv2beta1.PipelineVersion{}).
		Watches(&pipelinesv2beta1.Pipeline{}, handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []reconcile.Request {
			list := &pipelinesv2beta1.PipelineVersionList{}
			if err := r.client.List(ctx, list, client.InNamespace(o.GetNamespace())); err != nil {
				return nil
			}
			var out []reconcile.Request
			for _, v := range list.Items {
				if v.Spec.PipelineName == o.GetName() {
					out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&v)})
				}
			}
			return out
		})).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(r.cfg.Workers, 1), SkipNameValidation: ptr.To(r.cfg.SkipNameValidation)}).
		Complete(r)
}

// Reconcile validates one version.
func (r *VersionReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	v := &pipelinesv2beta1.PipelineVersion{}
	if err := r.client.Get(ctx, req.NamespacedName, v); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	before := v.Status.DeepCopy()
	cond := metav1.Condition{Type: "Ready", Status: metav1.ConditionTrue, Reason: "Valid", Message: "the pipeline parsed and validated", ObservedGeneration: v.Generation}
	if _, err := ParseSpec("PipelineVersion "+v.Name, v.Spec.PipelineSpec, v.Spec.PlatformSpec); err != nil {
		cond.Status, cond.Reason, cond.Message = metav1.ConditionFalse, "Invalid", truncate(err.Error(), 8192)
	} else {
		pl := &pipelinesv2beta1.Pipeline{}
		if err := r.client.Get(ctx, client.ObjectKey{Namespace: v.Namespace, Name: v.Spec.PipelineName}, pl); err != nil {
			if client.IgnoreNotFound(err) != nil {
				return ctrl.Result{}, err
			}
			cond.Status, cond.Reason = metav1.ConditionFalse, "PipelineNotFound"
			cond.Message = "Pipeline " + v.Spec.PipelineName + " does not exist in " + v.Namespace + ": create it, or fix spec.pipelineName"
		}
	}
	meta.SetStatusCondition(&v.Status.Conditions, cond)
	if equality.Semantic.DeepEqual(before, &v.Status) {
		return ctrl.Result{}, nil
	}
	return ctrl.Result{}, r.client.Status().Update(ctx, v)
}
