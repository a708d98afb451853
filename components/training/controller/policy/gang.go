package policy

import (
	"cmp"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	"github.com/kfup/kfup/components/training/engine"
)

// Gang scheduling, as the upstream operator's --gang-scheduler-name does it: each job gets
// a PodGroup (the job's name, owned by the job) saying how many of its pods must be
// scheduled together, and its pods name the gang scheduler and their group.
//
//   - "volcano": Volcano's scheduling.volcano.sh/v1beta1 PodGroup (minMember, queue,
//     priorityClassName, minResources); pods get the annotations
//     scheduling.k8s.io/group-name and volcano.sh/task-spec (the replica type), and are
//     created only once Volcano has admitted the group (phase neither empty nor Pending).
//   - any other name: the scheduler-plugins coscheduling scheduler of that name, with its
//     scheduling.x-k8s.io/v1alpha1 PodGroup (minMember, minResources,
//     scheduleTimeoutSeconds); pods get the label scheduling.x-k8s.io/pod-group.
//
// Pods whose template names another scheduler keep it (with a warning event).

// GangVolcano is the gang scheduler name that selects Volcano.
const GangVolcano = "volcano"

// Keys the gang schedulers read on pods.
const (
	VolcanoGroupNameAnnotation = "scheduling.k8s.io/group-name"
	VolcanoTaskSpecAnnotation  = "volcano.sh/task-spec"
	CoschedulingPodGroupLabel  = "scheduling.x-k8s.io/pod-group"
)

// DefaultVolcanoQueue is the queue of a Volcano PodGroup whose job names none.
const DefaultVolcanoQueue = "default"

// PodGroupGVK is the PodGroup kind of gang scheduler name.
func PodGroupGVK(scheduler string) schema.GroupVersionKind {
	if scheduler == GangVolcano {
		return schema.GroupVersionKind{Group: "scheduling.volcano.sh", Version: "v1beta1", Kind: "PodGroup"}
	}
	return schema.GroupVersionKind{Group: "scheduling.x-k8s.io", Version: "v1alpha1", Kind: "PodGroup"}
}

// MinMember is how many pods must be scheduled together: schedulingPolicy.minAvailable,
// else every replica of the job.
func MinMember(specs map[trainingv1.ReplicaType]*trainingv1.ReplicaSpec, sp *trainingv1.SchedulingPolicy) int32 {
	if sp != nil && sp.MinAvailable != nil {
		return *sp.MinAvailable
	}
	var n int32
	for _, s := range specs {
		if s != nil && s.Replicas != nil {
			n += *s.Replicas
		}
	}
	return n
}

// MinResources is what the first minMember pods request (limits where a container has no
// request), taking replica types by descending priority (priority returns the value of a
// PriorityClass, false when unknown: 0), then by name.
func MinResources(specs map[trainingv1.ReplicaType]*trainingv1.ReplicaSpec, minMember int32, priority func(string) (int32, bool)) corev1.ResourceList {
	type typed struct {
		rtype    trainingv1.ReplicaType
		spec     *trainingv1.ReplicaSpec
		priority int32
	}
	var order []typed
	for t, s := range specs {
		if s == nil || s.Replicas == nil {
			continue
		}
		p, _ := priority(s.Template.Spec.PriorityClassName)
		order = append(order, typed{t, s, p})
	}
	slices.SortFunc(order, func(a, b typed) int {
		if c := cmp.Compare(b.priority, a.priority); c != 0 {
			return c
		}
		return cmp.Compare(a.rtype, b.rtype)
	})
	total := corev1.ResourceList{}
	count := int32(0)
	for _, o := range order {
		for i := int32(0); i < *o.spec.Replicas && count < minMember; i++ {
			count++
			for _, c := range o.spec.Template.Spec.Containers {
				for name, q := range c.Resources.Limits {
					if _, ok := c.Resources.Requests[name]; ok {
						continue
					}
					addQuantity(total, name, q)
				}
				for name, q := range c.Resources.Requests {
					addQuantity(total, name, q)
				}
			}
		}
	}
	return total
}

func addQuantity(l corev1.ResourceList, name corev1.ResourceName, q resource.Quantity) {
	sum := l[name]
	sum.Add(q)
	l[name] = sum
}

// PodGroup is the PodGroup of job for gang scheduler name (see the package comment),
// owned by the job. minResources are MinResources unless schedulingPolicy names them.
func PodGroup(fw engine.Framework, job engine.Job, scheduler string, priority func(string) (int32, bool)) (*unstructured.Unstructured, error) {
	specs := fw.ReplicaSpecs(job)
	sp := fw.RunPolicy(job).SchedulingPolicy
	minMember := MinMember(specs, sp)
	var minResources corev1.ResourceList
	if sp != nil && sp.MinResources != nil {
		minResources = corev1.ResourceList(*sp.MinResources)
	} else {
		minResources = MinResources(specs, minMember, priority)
	}
	resources := map[string]any{}
	for name, q := range minResources {
		resources[string(name)] = q.String()
	}
	spec := map[string]any{"minMember": int64(minMember), "minResources": resources}
	if scheduler == GangVolcano {
		spec["queue"] = DefaultVolcanoQueue
		if sp != nil && sp.Queue != "" {
			spec["queue"] = sp.Queue
		}
		if sp != nil && sp.PriorityClass != "" {
			spec["priorityClassName"] = sp.PriorityClass
		}
	} else if sp != nil && sp.ScheduleTimeoutSeconds != nil {
		spec["scheduleTimeoutSeconds"] = int64(*sp.ScheduleTimeoutSeconds)
	}
	pg := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
	pg.SetGroupVersionKind(PodGroupGVK(scheduler))
	pg.SetName(job.GetName())
	pg.SetNamespace(job.GetNamespace())
	pg.SetOwnerReferences([]metav1.OwnerReference{engine.OwnerReference(fw, job)})
	pg.SetLabels(engine.JobLabels(fw, job.GetName())) // an orphaned PodGroup is adopted by them
	return pg, nil
}

// PodGroupAdmitted says whether the gang scheduler lets the job's pods be created:
// Volcano once it has given the group a phase other than Pending; scheduler-plugins
// always (its scheduler holds the pods back itself).
func PodGroupAdmitted(scheduler string, pg *unstructured.Unstructured) bool {
	if scheduler != GangVolcano {
		return true
	}
	phase, _, _ := unstructured.NestedString(pg.Object, "status", "phase")
	return phase != "" && phase != "Pending"
}

// DecorateGangPod makes pod (of replica type rtype) a member of job's group: the gang
// scheduler's name unless the template names another scheduler (then it reports false
// and leaves it), and the group annotation or label.
func DecorateGangPod(pod *corev1.Pod, scheduler, job string, rtype trainingv1.ReplicaType) (schedulerKept bool) {
	schedulerKept = true
	switch pod.Spec.SchedulerName {
	case "", corev1.DefaultSchedulerName:
		pod.Spec.SchedulerName = scheduler
	case scheduler:
	default:
		schedulerKept = false
	}
	if scheduler == GangVolcano {
		if pod.Annotations == nil {
			pod.Annotations = map[string]string{}
		}
		pod.Annotations[VolcanoGroupNameAnnotation] = job
		pod.Annotations[VolcanoTaskSpecAnnotation] = strings.ToLower(string(rtype))
		return schedulerKept
	}
	if pod.Labels == nil {
		pod.Labels = map[string]string{}
	}
	pod.Labels[CoschedulingPodGroupLabel] = job
	return schedulerKept
}
