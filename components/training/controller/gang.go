package controller

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	"github.com/kfup/kfup/components/training/controller/policy"
	"github.com/kfup/kfup/components/training/engine"
)

// gangRecheck is how often a job whose PodGroup Volcano has not admitted yet is looked at
// again (PodGroups are read from the API server, not watched).
const gangRecheck = 5 * time.Second

// syncPodGroup creates job's PodGroup when it has none and says whether the gang
// scheduler lets the job's pods be created yet (see policy/gang.go).
func (r *Reconciler) syncPodGroup(ctx context.Context, job engine.Job) (admitted bool, err error) {
	gvk := policy.PodGroupGVK(r.cfg.GangScheduler)
	pg := &unstructured.Unstructured{}
	pg.SetGroupVersionKind(gvk)
	err = r.reader.Get(ctx, client.ObjectKeyFromObject(job), pg)
	if apierrors.IsNotFound(err) {
		if pg, err = policy.PodGroup(r.fw, job, r.cfg.GangScheduler, r.priority(ctx)); err != nil {
			return false, err
		}
		err = r.client.Create(ctx, pg)
		if err == nil {
			r.event(job, corev1.EventTypeNormal, "SuccessfulCreatePodGroup", "CreatePodGroup", "Created PodGroup: "+job.GetName())
		}
	}
	if meta.IsNoMatchError(err) {
		return false, fmt.Errorf("gang scheduler %q: the %s CRD is not installed (install the scheduler, or run the manager without --gang-scheduler-name): %w", r.cfg.GangScheduler, gvk.GroupKind(), err)
	}
	if err != nil {
		return false, fmt.Errorf("PodGroup of %s %s/%s: %w", r.fw.Kind(), job.GetNamespace(), job.GetName(), err)
	}
	// a PodGroup of the job's name that is not the job's says nothing about its pods
	if err := r.claim(ctx, job, gvk.Kind, pg, r.adopter(job)); err != nil {
		return false, err
	}
	return policy.PodGroupAdmitted(r.cfg.GangScheduler, pg), nil
}

// deletePodGroup deletes job's PodGroup (a finished or suspended job holds no resources);
// a PodGroup of the job's name that is not the job's is left alone.
func (r *Reconciler) deletePodGroup(ctx context.Context, job engine.Job) error {
	pg := &unstructured.Unstructured{}
	pg.SetGroupVersionKind(policy.PodGroupGVK(r.cfg.GangScheduler))
	err := r.reader.Get(ctx, client.ObjectKeyFromObject(job), pg)
	if apierrors.IsNotFound(err) || meta.IsNoMatchError(err) {
		return nil
	}
	if err == nil && !metav1.IsControlledBy(pg, job) {
		return nil
	}
	if err == nil {
		err = r.client.Delete(ctx, pg, client.Preconditions{UID: ptr.To(pg.GetUID())})
	}
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete the PodGroup of %s %s/%s: %w", r.fw.Kind(), job.GetNamespace(), job.GetName(), err)
	}
	r.event(job, corev1.EventTypeNormal, "SuccessfulDeletePodGroup", "DeletePodGroup", "Deleted PodGroup: "+job.GetName())
	return nil
}

// priority returns the value of a PriorityClass (false when it does not exist).
func (r *Reconciler) priority(ctx context.Context) func(string) (int32, bool) {
	return func(name string) (int32, bool) {
		if name == "" {
			return 0, false
		}
		var pc schedulingv1.PriorityClass
		if err := r.reader.Get(ctx, client.ObjectKey{Name: name}, &pc); err != nil {
			return 0, false
		}
		return pc.Value, true
	}
}

// decorateGangPods makes the desired pods members of job's PodGroup; a template that
// names another scheduler keeps it, with a warning event.
func (r *Reconciler) decorateGangPods(job engine.Job, pods []*corev1.Pod) {
	warned := false
	for _, p := range pods {
		rtype := trainingv1.ReplicaType(p.Labels[trainingv1.ReplicaTypeLabel])
		if !policy.DecorateGangPod(p, r.cfg.GangScheduler, job.GetName(), rtype) && !warned {
			warned = true
			r.event(job, corev1.EventTypeWarning, "SetPodTemplateSchedulerName", "DecoratePod",
				fmt.Sprintf("Pod %s names scheduler %q, not the gang scheduler %q: it is not gang-scheduled", p.Name, p.Spec.SchedulerName, r.cfg.GangScheduler))
		}
	}
}
