package controller

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	"github.com/kfup/kfup/components/training/controller/policy"
	"github.com/kfup/kfup/components/training/engine"
)

// Every child a job writes — pods, services, extras (MPI's ConfigMap and launcher RBAC,
// PyTorch's HPA), the PodGroup — is created, or used only when policy.OwnershipOf says it
// is the job's or adopts it; an object of a child's name that is someone else's fails the
// job (policy.ReasonResourceExists) and is never updated, adopted or deleted.

// childWait is how soon a job waiting for an object of a child's name to go (being
// deleted, or left by an earlier job of the same name) is looked at again.
const childWait = time.Second

// resourceExistsError says that an object of one of the job's children's names is
// someone else's.
type resourceExistsError struct {
	kind string // the child's kind, e.g. "ConfigMap"
	obj  metav1.Object
}

func (e *resourceExistsError) Error() string {
	return fmt.Sprintf("%s %s/%s exists and is not the job's", e.kind, e.obj.GetNamespace(), e.obj.GetName())
}

// childPendingError says that an object of a child's name is being deleted or left by an
// earlier job of the same name: the job waits for it to go.
type childPendingError struct {
	kind, name string
}

func (e *childPendingError) Error() string {
	return fmt.Sprintf("waiting for %s %s, being deleted or left by an earlier job of the same name, to go", e.kind, e.name)
}

// metadataOf reads the metadata of the object of obj's kind and name from the API server
// (the cache holds only pods and services, trimmed).
func (r *Reconciler) metadataOf(ctx context.Context, obj client.Object) (*metav1.PartialObjectMetadata, error) {
	gvk, err := r.client.GroupVersionKindFor(obj)
	if err != nil {
		return nil, err
	}
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(gvk)
	if err := r.reader.Get(ctx, client.ObjectKeyFromObject(obj), m); err != nil {
		return nil, err
	}
	return m, nil
}

// claim decides about existing, an object of the name of job's child of kind: nil when the
// job may use it (it is the job's), a *childPendingError when the job must wait for it, a
// *resourceExistsError when it is someone else's. adopt, when not nil, makes an orphan the
// job's child (nil: the caller's write will).
func (r *Reconciler) claim(ctx context.Context, job engine.Job, kind string, existing client.Object, adopt func(context.Context, client.Object) error) error {
	switch policy.OwnershipOf(existing, r.fw.Kind(), job.GetName(), job.GetUID(), engine.JobLabels(r.fw, job.GetName())) {
	case policy.Owned:
		return nil
	case policy.Adoptable:
		if adopt == nil {
			return nil
		}
		if err := adopt(ctx, existing); err != nil {
			return err
		}
		if !metav1.IsControlledBy(existing, job) { // the job is going, or the orphan changed
			return &childPendingError{kind: kind, name: existing.GetName()}
		}
		return nil
	case policy.Pending:
		return &childPendingError{kind: kind, name: existing.GetName()}
	}
	return &resourceExistsError{kind: kind, obj: existing}
}

// claimExisting is claim for desired, a pod or service whose create found its name taken:
// the object of that name is read from the API server and adopted when it is an orphan.
func (r *Reconciler) claimExisting(ctx context.Context, job engine.Job, kind string, desired client.Object) error {
	existing, ok := desired.DeepCopyObject().(client.Object)
	if !ok {
		return fmt.Errorf("copy of %T is not an object", desired)
	}
	if err := r.reader.Get(ctx, client.ObjectKeyFromObject(desired), existing); err != nil {
		if apierrors.IsNotFound(err) {
			return &childPendingError{kind: kind, name: desired.GetName()} // gone since: create it next time
		}
		return fmt.Errorf("read %s %s/%s, whose name is taken: %w", kind, desired.GetNamespace(), desired.GetName(), err)
	}
	return r.claim(ctx, job, kind, existing, r.adopter(job))
}

// applyExtra creates an extra child, or server-side applies it over an existing object of
// its name that is the job's or an orphan of it (the applied owner reference adopts it).
func (r *Reconciler) applyExtra(ctx context.Context, job engine.Job, x engine.Object) error {
	obj, ok := x.(client.Object)
	if !ok {
		return fmt.Errorf("extra child %T is not an object", x)
	}
	kind := x.GetObjectKind().GroupVersionKind().Kind
	existing, err := r.metadataOf(ctx, obj)
	if apierrors.IsNotFound(err) {
		// create, not apply: an apply would take over an object someone created meanwhile
		created, ok := obj.DeepCopyObject().(client.Object)
		if !ok {
			return fmt.Errorf("copy of %T is not an object", obj)
		}
		if err := r.client.Create(ctx, created); apierrors.IsAlreadyExists(err) {
			return &childPendingError{kind: kind, name: obj.GetName()} // look again next time
		} else if err != nil {
			return fmt.Errorf("create %s %s/%s: %w", kind, obj.GetNamespace(), obj.GetName(), err)
		}
		return r.apply(ctx, x) // now the job's: what every write of it adds
	}
	if err != nil {
		return fmt.Errorf("read %s %s/%s: %w", kind, obj.GetNamespace(), obj.GetName(), err)
	}
	if err := r.claim(ctx, job, kind, existing, nil); err != nil {
		return err
	}
	return r.apply(ctx, x)
}

// deleteOwned deletes the object of x's kind and name if it is the job's (exactly that
// object: a UID precondition); anything else of that name is left alone.
func (r *Reconciler) deleteOwned(ctx context.Context, job engine.Job, x client.Object) error {
	existing, err := r.metadataOf(ctx, x)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s %s/%s: %w", x.GetObjectKind().GroupVersionKind().Kind, x.GetNamespace(), x.GetName(), err)
	}
	if !metav1.IsControlledBy(existing, job) {
		return nil
	}
	err = r.client.Delete(ctx, existing, client.Preconditions{UID: ptr.To(existing.GetUID())})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	return err
}

// childError turns an error of writing job's children into the reconcile's result: a wait
// for a child's name to be freed requeues the job; a name taken by someone else fails the
// job (its status written, its active pods deleted); anything else is returned.
func (r *Reconciler) childError(ctx context.Context, job engine.Job, plan *policy.Plan, now time.Time, err error) (ctrl.Result, error) {
	var pending *childPendingError
	if errors.As(err, &pending) {
		ctrl.LoggerFrom(ctx).V(1).Info("waiting for a child's name to be freed", "reason", pending.Error())
		return ctrl.Result{RequeueAfter: childWait}, nil
	}
	var exists *resourceExistsError
	if !errors.As(err, &exists) {
		return ctrl.Result{}, err
	}
	old := plan.Status.DeepCopy()
	policy.SetCondition(&plan.Status, trainingv1.JobFailed, corev1.ConditionTrue, policy.ReasonResourceExists,
		policy.ResourceExistsMessage(r.fw.Kind(), job.GetName(), exists.kind, exists.obj), metav1.NewTime(now))
	if plan.Status.CompletionTime == nil {
		t := metav1.NewTime(now)
		plan.Status.CompletionTime = &t
	}
	if err := r.writeStatus(ctx, job, plan, now); err != nil {
		if apierrors.IsConflict(err) {
			return ctrl.Result{RequeueAfter: conflictRetry}, nil
		}
		return ctrl.Result{}, fmt.Errorf("update status of %s %s/%s: %w", r.fw.Kind(), job.GetNamespace(), job.GetName(), err)
	}
	for _, e := range policy.ConditionEvents(old.Conditions, plan.Status.Conditions) {
		r.event(job, e.Type, e.Reason, "UpdateStatus", e.Message)
	}
	// the job cannot run: its pods created so far (this reconcile's too, which the cache
	// may not list yet: read from the API server) stop now
	var l corev1.PodList
	if err := r.reader.List(ctx, &l, client.InNamespace(job.GetNamespace()), client.MatchingLabels(engine.JobLabels(r.fw, job.GetName()))); err != nil {
		return ctrl.Result{}, fmt.Errorf("list pods of %s %s/%s: %w", r.fw.Kind(), job.GetNamespace(), job.GetName(), err)
	}
	var mine []*corev1.Pod
	for i := range l.Items {
		if metav1.IsControlledBy(&l.Items[i], job) {
			mine = append(mine, &l.Items[i])
		}
	}
	if err := r.deletePods(ctx, job, policy.ActivePods(live(mine))); err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{}, nil
}
