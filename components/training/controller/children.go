package controller

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	"github.com/kfup/kfup/components/training/controller/policy"
	"github.com/kfup/kfup/components/training/engine"
)

// children lists the pods and services job controls (by its labels and owner reference).
// Pods this reconciler deleted and the cache still lists come back marked as being deleted.
func (r *Reconciler) children(ctx context.Context, job engine.Job) ([]*corev1.Pod, []*corev1.Service, error) {
	sel := client.MatchingLabels(engine.JobLabels(r.fw, job.GetName()))
	in := client.InNamespace(job.GetNamespace())

	var podList corev1.PodList
	if err := r.client.List(ctx, &podList, in, sel); err != nil {
		return nil, nil, fmt.Errorf("list pods of %s %s/%s: %w", r.fw.Kind(), job.GetNamespace(), job.GetName(), err)
	}
	key := types.NamespacedName{Namespace: job.GetNamespace(), Name: job.GetName()}
	var pods []*corev1.Pod
	listed := map[types.UID]bool{}
	adopt := r.adopter(job)
	for i := range podList.Items {
		p := &podList.Items[i]
		if err := adopt(ctx, p); err != nil {
			return nil, nil, err
		}
		if !metav1.IsControlledBy(p, job) {
			continue
		}
		listed[p.UID] = true
		if r.wasDeleted(key, p.UID) && p.DeletionTimestamp == nil {
			p.DeletionTimestamp = &metav1.Time{Time: r.now()}
		}
		pods = append(pods, p)
	}
	r.prune(key, listed)

	var svcList corev1.ServiceList
	if err := r.client.List(ctx, &svcList, in, sel); err != nil {
		return nil, nil, fmt.Errorf("list services of %s %s/%s: %w", r.fw.Kind(), job.GetNamespace(), job.GetName(), err)
	}
	var services []*corev1.Service
	for i := range svcList.Items {
		s := &svcList.Items[i]
		if err := adopt(ctx, s); err != nil {
			return nil, nil, err
		}
		if metav1.IsControlledBy(s, job) && s.DeletionTimestamp == nil {
			services = append(services, s)
		}
	}
	return pods, services, nil
}

// adopter returns a function that makes job the controller of an orphan (a pod or service
// with the job's labels and no controller), as upstream's controllers do: children left
// behind by a job deleted with --cascade=orphan belong to a new job of the same name
// instead of blocking it (its pods' names would be taken). Before the first adoption it
// checks with the API server, not the cache, that job still exists with this UID and is
// not being deleted. Objects with another controller, or being deleted, are left alone.
func (r *Reconciler) adopter(job engine.Job) func(context.Context, client.Object) error {
	checked, canAdopt := false, false
	return func(ctx context.Context, obj client.Object) error {
		if metav1.GetControllerOfNoCopy(obj) != nil || obj.GetDeletionTimestamp() != nil {
			return nil
		}
		if !checked {
			fresh := r.fw.NewJob()
			err := r.reader.Get(ctx, client.ObjectKeyFromObject(job), fresh)
			if err != nil && !apierrors.IsNotFound(err) {
				return fmt.Errorf("recheck %s %s/%s before adopting: %w", r.fw.Kind(), job.GetNamespace(), job.GetName(), err)
			}
			checked, canAdopt = true, err == nil && fresh.GetUID() == job.GetUID() && fresh.GetDeletionTimestamp() == nil
		}
		if !canAdopt {
			return nil
		}
		orig := obj.DeepCopyObject().(client.Object)
		obj.SetOwnerReferences(append(obj.GetOwnerReferences(), engine.OwnerReference(r.fw, job)))
		err := r.client.Patch(ctx, obj, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{}))
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
			obj.SetOwnerReferences(orig.GetOwnerReferences()) // gone or changed: the next reconcile sees it again
			return nil
		}
		if err != nil {
			return fmt.Errorf("adopt %T %s/%s: %w", obj, obj.GetNamespace(), obj.GetName(), err)
		}
		ctrl.LoggerFrom(ctx).Info("adopted an orphan", "name", obj.GetName())
		return nil
	}
}

// live are the pods not being deleted.
func live(pods []*corev1.Pod) []*corev1.Pod {
	var out []*corev1.Pod
	for _, p := range pods {
		if p.DeletionTimestamp == nil {
			out = append(out, p)
		}
	}
	return out
}

// withoutCompleted leaves out of desired the pods of replicas that succeeded and whose
// pod is gone (policy/completed.go): they are not run again.
func withoutCompleted(desired []*corev1.Pod, specs map[trainingv1.ReplicaType]*trainingv1.ReplicaSpec, done policy.Completed, pods []*corev1.Pod) []*corev1.Pod {
	if len(done) == 0 {
		return desired
	}
	have := map[string]bool{}
	for _, p := range pods {
		have[p.Name] = true
	}
	return slices.DeleteFunc(desired, func(p *corev1.Pod) bool {
		t, ok := policy.ReplicaTypeOf(specs, p)
		i, hasIndex := policy.ReplicaIndexOf(p)
		return ok && hasIndex && !have[p.Name] && done.Has(t, i)
	})
}

// sync applies the extras, creates the desired pods and services that do not exist (nor
// are being deleted, nor about to be: skip) and deletes the job's pods and services that
// are no longer desired.
func (r *Reconciler) sync(ctx context.Context, job engine.Job, desired *engine.Children, pods []*corev1.Pod, services []*corev1.Service, skip []*corev1.Pod) error {
	// Extras first: a pod naming a service account that does not exist yet (MPI's
	// launcher) is refused by the API server.
	for _, x := range desired.Extras {
		if err := r.applyExtra(ctx, job, x); err != nil {
			return err
		}
	}
	taken := map[string]bool{}
	for _, p := range slices.Concat(pods, skip) {
		taken[p.Name] = true
	}
	wantPods, err := createMissing(ctx, r, job, "Pod", desired.Pods, taken)
	if err != nil {
		return err
	}
	var surplus []*corev1.Pod
	for _, p := range live(pods) {
		if !wantPods[p.Name] && !slices.Contains(skip, p) {
			surplus = append(surplus, p)
		}
	}
	if err := r.deletePods(ctx, job, surplus); err != nil {
		return err
	}

	haveSvc := map[string]bool{}
	for _, s := range services {
		haveSvc[s.Name] = true
	}
	wantSvc, err := createMissing(ctx, r, job, "Service", desired.Services, haveSvc)
	if err != nil {
		return err
	}
	var extraSvc []*corev1.Service
	for _, s := range services {
		if !wantSvc[s.Name] {
			extraSvc = append(extraSvc, s)
		}
	}
	if err := r.deleteServices(ctx, job, extraSvc); err != nil {
		return err
	}

	return nil
}

// createMissing creates the objects of desired (pods or services: kind) whose names are
// not in taken, with a SuccessfulCreate<kind> or FailedCreate<kind> event each, and returns
// the names desired. A name found taken is claimed (ownership.go): an error when the
// object there is someone else's or on its way out.
func createMissing[T client.Object](ctx context.Context, r *Reconciler, job engine.Job, kind string, desired []T, taken map[string]bool) (map[string]bool, error) {
	want := map[string]bool{}
	for _, o := range desired {
		want[o.GetName()] = true
		if taken[o.GetName()] {
			continue
		}
		markChild(o)
		err := r.client.Create(ctx, o)
		switch {
		case apierrors.IsAlreadyExists(err):
			// not listed as the job's: created moments ago, an orphan, or someone else's
			if err := r.claimExisting(ctx, job, kind, o); err != nil {
				return nil, err
			}
		case err != nil:
			r.event(job, corev1.EventTypeWarning, "FailedCreate"+kind, "Create"+kind, fmt.Sprintf("Error creating: %v", err))
			return nil, fmt.Errorf("create %s %s/%s: %w", strings.ToLower(kind), o.GetNamespace(), o.GetName(), err)
		default:
			r.event(job, corev1.EventTypeNormal, "SuccessfulCreate"+kind, "Create"+kind, "Created "+strings.ToLower(kind)+": "+o.GetName())
		}
	}
	return want, nil
}

// apply server-side applies an extra child (its TypeMeta set by the framework); only
// applyExtra calls it, once the object is the job's.
func (r *Reconciler) apply(ctx context.Context, obj engine.Object) error {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return err
	}
	u := &unstructured.Unstructured{Object: m}
	unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
	unstructured.RemoveNestedField(u.Object, "status")
	markChild(u)
	if err := r.client.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(r.Name()), client.ForceOwnership); err != nil {
		return fmt.Errorf("apply %s %s/%s: %w", u.GetKind(), u.GetNamespace(), u.GetName(), err)
	}
	return nil
}

// deleteRunningOnlyExtras deletes the extras a suspended job does not have but would have
// running (PyTorch's HPA).
func (r *Reconciler) deleteRunningOnlyExtras(ctx context.Context, job engine.Job, pods []*corev1.Pod) error {
	if _, ok := r.fw.(engine.ExtraObjects); !ok {
		return nil
	}
	suspended, err := engine.DesiredExtras(r.fw, job, pods)
	if err != nil {
		return err
	}
	running, ok := job.DeepCopyObject().(engine.Job)
	if !ok {
		return fmt.Errorf("copy of %T is not a job", job)
	}
	r.fw.RunPolicy(running).Suspend = ptr.To(false)
	wanted, err := engine.DesiredExtras(r.fw, running, pods)
	if err != nil {
		return err
	}
	for _, x := range wanted {
		if slices.ContainsFunc(suspended, func(s engine.Object) bool {
			return s.GetObjectKind().GroupVersionKind() == x.GetObjectKind().GroupVersionKind() && s.GetName() == x.GetName()
		}) {
			continue
		}
		obj, ok := x.(client.Object)
		if !ok {
			continue
		}
		if err := r.deleteOwned(ctx, job, obj); err != nil {
			return fmt.Errorf("delete %s %s/%s of a suspended job: %w", x.GetObjectKind().GroupVersionKind().Kind, x.GetNamespace(), x.GetName(), err)
		}
	}
	return nil
}

// deletePods deletes pods (exactly these: a recreated pod of the same name is spared) and
// remembers them as deleted.
func (r *Reconciler) deletePods(ctx context.Context, job engine.Job, pods []*corev1.Pod) error {
	key := types.NamespacedName{Namespace: job.GetNamespace(), Name: job.GetName()}
	for _, p := range pods {
		err := r.client.Delete(ctx, p, client.Preconditions{UID: ptr.To(p.UID)})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			r.event(job, corev1.EventTypeWarning, "FailedDeletePod", "DeletePod", fmt.Sprintf("Error deleting pod %s: %v", p.Name, err))
			return fmt.Errorf("delete pod %s/%s: %w", p.Namespace, p.Name, err)
		}
		r.markDeleted(key, p.UID)
		if err == nil {
			r.event(job, corev1.EventTypeNormal, "SuccessfulDeletePod", "DeletePod", "Deleted pod: "+p.Name)
		}
	}
	return nil
}

// deleteServices deletes services.
func (r *Reconciler) deleteServices(ctx context.Context, job engine.Job, services []*corev1.Service) error {
	for _, s := range services {
		err := r.client.Delete(ctx, s, client.Preconditions{UID: ptr.To(s.UID)})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			r.event(job, corev1.EventTypeWarning, "FailedDeleteService", "DeleteService", fmt.Sprintf("Error deleting service %s: %v", s.Name, err))
			return fmt.Errorf("delete service %s/%s: %w", s.Namespace, s.Name, err)
		}
		if err == nil {
			r.event(job, corev1.EventTypeNormal, "SuccessfulDeleteService", "DeleteService", "Deleted service: "+s.Name)
		}
	}
	return nil
}

// stopSidecars adds the sidecar-stopping ephemeral container to pods (policy's sidecar.go).
func (r *Reconciler) stopSidecars(ctx context.Context, job engine.Job, pods []*corev1.Pod) error {
	if r.cfg.SidecarStopImage == "" {
		return nil
	}
	for _, cached := range pods {
		// the cache keeps a trimmed pod (internal/apihost.CacheOptions): update the whole one
		p := &corev1.Pod{}
		if err := r.reader.Get(ctx, client.ObjectKeyFromObject(cached), p); err != nil {
			if apierrors.IsNotFound(err) {
				continue
			}
			return fmt.Errorf("read pod %s/%s: %w", cached.Namespace, cached.Name, err)
		}
		if !policy.NeedsSidecarStop(p, r.fw.DefaultContainerName()) {
			continue // changed since the cache saw it
		}
		p.Spec.EphemeralContainers = append(p.Spec.EphemeralContainers, policy.StopSidecarContainer(r.cfg.SidecarStopImage, r.cfg.SidecarStopCommand))
		err := r.client.SubResource("ephemeralcontainers").Update(ctx, p)
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
			continue // gone, or changed: the next reconcile sees it again
		}
		if err != nil {
			return fmt.Errorf("stop the sidecar of pod %s/%s: %w", p.Namespace, p.Name, err)
		}
		r.event(job, corev1.EventTypeNormal, "StoppingSidecar", "StopSidecar",
			fmt.Sprintf("Pod %s: container %s has terminated; stopping its %s sidecar", p.Name, r.fw.DefaultContainerName(), engine.IstioProxyContainer))
	}
	return nil
}

// markDeleted, wasDeleted, prune and forget keep the pods deleted per job until the cache
// no longer lists them.

func (r *Reconciler) markDeleted(job types.NamespacedName, uid types.UID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.deleted[job] == nil {
		r.deleted[job] = map[types.UID]bool{}
	}
	r.deleted[job][uid] = true
}

func (r *Reconciler) wasDeleted(job types.NamespacedName, uid types.UID) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.deleted[job][uid]
}

func (r *Reconciler) prune(job types.NamespacedName, listed map[types.UID]bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for uid := range r.deleted[job] {
		if !listed[uid] {
			delete(r.deleted[job], uid)
		}
	}
	if len(r.deleted[job]) == 0 {
		delete(r.deleted, job)
	}
}

func (r *Reconciler) forget(job types.NamespacedName) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.deleted, job)
}
