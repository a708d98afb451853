package engine

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
)

// Replica identifies one replica of a job: its type and index.
type Replica struct {
	Type  trainingv1.ReplicaType
	Index int
}

// String is "Worker-1".
func (r Replica) String() string { return string(r.Type) + "-" + strconv.Itoa(r.Index) }

// Defaulted returns a deep copy of job with the framework's defaults applied; job itself is
// not changed. Every Desired* function starts from it, so callers may pass a job exactly as
// the API server returned it.
func Defaulted(fw Framework, job Job) (Job, error) {
	if job == nil {
		return nil, fmt.Errorf("%s: nil job", fw.Kind())
	}
	if want := reflect.TypeOf(fw.NewJob()); reflect.TypeOf(job) != want {
		return nil, fmt.Errorf("%s framework given a %T, want %v", fw.Kind(), job, want)
	}
	c, ok := job.DeepCopyObject().(Job)
	if !ok {
		return nil, fmt.Errorf("%s: deep copy of %T is not a job", fw.Kind(), job)
	}
	fw.SetDefaults(c)
	return c, nil
}

// Replicas lists every replica the (defaulted) job wants, types in the framework's order
// (unknown types after, sorted), indexes ascending.
func Replicas(fw Framework, job Job) ([]Replica, error) {
	job, err := Defaulted(fw, job)
	if err != nil {
		return nil, err
	}
	if err := checkReplicaCounts(fw, job); err != nil {
		return nil, err
	}
	return replicas(fw, job), nil
}

// checkReplicaCounts refuses a job with a replica type of more than trainingv1.MaxReplicas
// replicas or fewer than 0, which the API server's validation also refuses: a job stored
// before that validation existed must not make the engine build millions of pods.
func checkReplicaCounts(fw Framework, job Job) error {
	specs := fw.ReplicaSpecs(job)
	for _, t := range slices.Sorted(maps.Keys(specs)) {
		if n := ReplicaCount(specs[t]); n < 0 || n > trainingv1.MaxReplicas {
			return fmt.Errorf("%s %s has %d %s replicas: a replica type has 0 to %d; lower spec.*ReplicaSpecs.%s.replicas",
				fw.Kind(), job.GetName(), n, t, trainingv1.MaxReplicas, t)
		}
	}
	return nil
}

func replicas(fw Framework, job Job) []Replica {
	specs := fw.ReplicaSpecs(job)
	var out []Replica
	for _, t := range orderedTypes(fw, specs) {
		for i := range int(ReplicaCount(specs[t])) {
			out = append(out, Replica{Type: t, Index: i})
		}
	}
	return out
}

// orderedTypes is the framework's replica types present in specs, then the others sorted.
func orderedTypes(fw Framework, specs map[trainingv1.ReplicaType]*trainingv1.ReplicaSpec) []trainingv1.ReplicaType {
	known := fw.ReplicaTypes()
	var out []trainingv1.ReplicaType
	for _, t := range known {
		if specs[t] != nil {
			out = append(out, t)
		}
	}
	for _, t := range slices.Sorted(maps.Keys(specs)) {
		if specs[t] != nil && !slices.Contains(known, t) {
			out = append(out, t)
		}
	}
	return out
}

// DesiredPod is the pod of replica (rtype, index) of job: the replica's pod template with
// the framework's environment, the job's labels, the owner reference and the pod-level
// restart policy. It fails when the job has no such replica or the framework cannot compute
// the replica's cluster spec (say, its port is missing).
func DesiredPod(fw Framework, job Job, rtype trainingv1.ReplicaType, index int) (*corev1.Pod, error) {
	job, err := Defaulted(fw, job)
	if err != nil {
		return nil, err
	}
	return desiredPod(fw, job, rtype, index)
}

// DesiredPods is DesiredPod for every replica of job, in Replicas order.
func DesiredPods(fw Framework, job Job) ([]*corev1.Pod, error) {
	job, err := Defaulted(fw, job)
	if err != nil {
		return nil, err
	}
	return desiredPods(fw, job)
}

func desiredPods(fw Framework, job Job) ([]*corev1.Pod, error) {
	if err := checkReplicaCounts(fw, job); err != nil {
		return nil, err
	}
	var pods []*corev1.Pod
	for _, r := range replicas(fw, job) {
		p, err := desiredPod(fw, job, r.Type, r.Index)
		if err != nil {
			return nil, err
		}
		pods = append(pods, p)
	}
	return pods, nil
}

func replicaSpec(fw Framework, job Job, rtype trainingv1.ReplicaType, index int) (*trainingv1.ReplicaSpec, error) {
	spec := fw.ReplicaSpecs(job)[rtype]
	if spec == nil {
		return nil, fmt.Errorf("%s %s has no %s replicas", fw.Kind(), job.GetName(), rtype)
	}
	if n := int(ReplicaCount(spec)); index < 0 || index >= n {
		return nil, fmt.Errorf("%s %s: %s index %d out of range [0,%d)", fw.Kind(), job.GetName(), rtype, index, n)
	}
	return spec, nil
}

func desiredPod(fw Framework, job Job, rtype trainingv1.ReplicaType, index int) (*corev1.Pod, error) {
	spec, err := replicaSpec(fw, job, rtype, index)
	if err != nil {
		return nil, err
	}
	tmpl := spec.Template.DeepCopy()
	name := ReplicaName(job.GetName(), rtype, index)

	labels := make(map[string]string, len(tmpl.Labels)+5)
	maps.Copy(labels, tmpl.Labels)
	maps.Copy(labels, ReplicaLabels(fw, job.GetName(), rtype, index))
	if fw.IsMasterRole(fw.ReplicaSpecs(job), rtype, index) {
		labels[trainingv1.JobRoleLabel] = trainingv1.JobRoleMaster
	}
	tmpl.Labels = labels

	if err := fw.SetClusterSpec(job, rtype, index, tmpl); err != nil {
		return nil, fmt.Errorf("%s %s: %s %d: %w", fw.Kind(), job.GetName(), rtype, index, err)
	}
	tmpl.Spec.RestartPolicy = PodRestartPolicy(spec.RestartPolicy)

	annotations := make(map[string]string, len(tmpl.Annotations)+1)
	maps.Copy(annotations, tmpl.Annotations)
	DefaultIstioInjection(tmpl.Labels, annotations)

	pod := &corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{
			Name:            name,
			Namespace:       job.GetNamespace(),
			Labels:          tmpl.Labels,
			Annotations:     annotations,
			Finalizers:      slices.Clone(tmpl.Finalizers),
			OwnerReferences: []metav1.OwnerReference{OwnerReference(fw, job)},
		},
		Spec: tmpl.Spec,
	}
	if c, ok := fw.(PodCustomizer); ok {
		if err := c.CustomizePod(job, rtype, index, pod); err != nil {
			return nil, fmt.Errorf("%s %s: %s %d: %w", fw.Kind(), job.GetName(), rtype, index, err)
		}
	}
	return pod, nil
}

// DesiredService is the headless service of replica (rtype, index): named like its pod,
// selecting exactly that pod, exposing the ports of the framework's container. It returns
// nil, nil for frameworks that are Serviceless.
func DesiredService(fw Framework, job Job, rtype trainingv1.ReplicaType, index int) (*corev1.Service, error) {
	job, err := Defaulted(fw, job)
	if err != nil {
		return nil, err
	}
	return desiredService(fw, job, rtype, index)
}

// DesiredServices is DesiredService for every replica of job, in Replicas order.
func DesiredServices(fw Framework, job Job) ([]*corev1.Service, error) {
	job, err := Defaulted(fw, job)
	if err != nil {
		return nil, err
	}
	return desiredServices(fw, job)
}

func desiredServices(fw Framework, job Job) ([]*corev1.Service, error) {
	if _, ok := fw.(Serviceless); ok {
		return nil, nil
	}
	if err := checkReplicaCounts(fw, job); err != nil {
		return nil, err
	}
	var svcs []*corev1.Service
	for _, r := range replicas(fw, job) {
		s, err := desiredService(fw, job, r.Type, r.Index)
		if err != nil {
			return nil, err
		}
		svcs = append(svcs, s)
	}
	return svcs, nil
}

func desiredService(fw Framework, job Job, rtype trainingv1.ReplicaType, index int) (*corev1.Service, error) {
	if _, ok := fw.(Serviceless); ok {
		return nil, nil
	}
	spec, err := replicaSpec(fw, job, rtype, index)
	if err != nil {
		return nil, err
	}
	return &corev1.Service{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{
			Name:            ReplicaName(job.GetName(), rtype, index),
			Namespace:       job.GetNamespace(),
			Labels:          ReplicaLabels(fw, job.GetName(), rtype, index),
			OwnerReferences: []metav1.OwnerReference{OwnerReference(fw, job)},
		},
		Spec: corev1.ServiceSpec{
			ClusterIP: corev1.ClusterIPNone,
			Selector:  ReplicaLabels(fw, job.GetName(), rtype, index),
			Ports:     servicePorts(spec, fw.DefaultContainerName()),
		},
	}, nil
}

// servicePorts are the ports of the framework's container, one service port per distinct
// port name (a later port of the same name wins, as in upstream's map), in container order.
func servicePorts(spec *trainingv1.ReplicaSpec, container string) []corev1.ServicePort {
	ports := []corev1.ServicePort{}
	for _, c := range spec.Template.Spec.Containers {
		if c.Name != container {
			continue
		}
		at := map[string]int{}
		for _, p := range c.Ports {
			if i, ok := at[p.Name]; ok {
				ports[i].Port = p.ContainerPort
				continue
			}
			at[p.Name] = len(ports)
			ports = append(ports, corev1.ServicePort{Name: p.Name, Port: p.ContainerPort})
		}
		break
	}
	return ports
}

// DesiredExtras are the framework's children beyond pods and services (nil for most).
// pods are the job's current pods.
func DesiredExtras(fw Framework, job Job, pods []*corev1.Pod) ([]Object, error) {
	x, ok := fw.(ExtraObjects)
	if !ok {
		return nil, nil
	}
	job, err := Defaulted(fw, job)
	if err != nil {
		return nil, err
	}
	return x.DesiredExtras(job, pods)
}

// Children is everything a job wants to exist while it runs.
type Children struct {
	Pods     []*corev1.Pod
	Services []*corev1.Service
	Extras   []Object
}

// Desired computes all of a job's children at once (one copy and defaulting of the job).
// pods are the job's current pods, passed to the framework's extras.
func Desired(fw Framework, job Job, pods []*corev1.Pod) (*Children, error) {
	job, err := Defaulted(fw, job)
	if err != nil {
		return nil, err
	}
	var c Children
	if c.Pods, err = desiredPods(fw, job); err != nil {
		return nil, err
	}
	if c.Services, err = desiredServices(fw, job); err != nil {
		return nil, err
	}
	if x, ok := fw.(ExtraObjects); ok {
		if c.Extras, err = x.DesiredExtras(job, pods); err != nil {
			return nil, err
		}
	}
	return &c, nil
}
