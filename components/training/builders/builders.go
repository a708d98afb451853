// Package builders makes Kubernetes and kfup objects for tests, jobset-style:
// MakeX(name, namespace).Option(...).Obj(). The same builders serve the unit, integration
// and e2e tiers, so a test reads as the object it needs and nothing else.
package builders

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
)

// PodWrapper builds a Pod.
type PodWrapper struct{ corev1.Pod }

// MakePod returns a pod with one container "main" running busybox's true, never restarted.
func MakePod(name, ns string) *PodWrapper {
	return &PodWrapper{corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Containers:    []corev1.Container{{Name: "main", Image: "kfup-offline/busybox:1", Command: []string{"true"}}},
		},
	}}
}

// Image sets the image of the first container (pulled only if absent: offline clusters).
func (p *PodWrapper) Image(img string) *PodWrapper {
	p.Spec.Containers[0].Image = img
	p.Spec.Containers[0].ImagePullPolicy = corev1.PullIfNotPresent
	return p
}

// Command sets the command of the first container.
func (p *PodWrapper) Command(cmd ...string) *PodWrapper {
	p.Spec.Containers[0].Command = cmd
	return p
}

// Env adds an environment variable to the first container.
func (p *PodWrapper) Env(name, value string) *PodWrapper {
	p.Spec.Containers[0].Env = append(p.Spec.Containers[0].Env, corev1.EnvVar{Name: name, Value: value})
	return p
}

// Label sets a label.
func (p *PodWrapper) Label(k, v string) *PodWrapper {
	if p.Labels == nil {
		p.Labels = map[string]string{}
	}
	p.Labels[k] = v
	return p
}

// Resources sets the first container's CPU/memory request and memory limit.
func (p *PodWrapper) Resources(cpuRequest, memRequest, memLimit string) *PodWrapper {
	p.Spec.Containers[0].Resources = corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpuRequest), corev1.ResourceMemory: resource.MustParse(memRequest)},
		Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(memLimit)},
	}
	return p
}

// Obj returns the pod.
func (p *PodWrapper) Obj() *corev1.Pod { return &p.Pod }

// ReplicaWrapper builds a training ReplicaSpec.
type ReplicaWrapper struct{ trainingv1.ReplicaSpec }

// MakeReplica returns a replica spec with n replicas of one container.
func MakeReplica(n int32, container, image string, command ...string) *ReplicaWrapper {
	return &ReplicaWrapper{trainingv1.ReplicaSpec{
		Replicas: ptr.To(n),
		Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: container, Image: image, Command: command, ImagePullPolicy: corev1.PullIfNotPresent,
		}}}},
	}}
}

// RestartPolicy sets the restart policy.
func (r *ReplicaWrapper) RestartPolicy(p trainingv1.RestartPolicy) *ReplicaWrapper {
	r.ReplicaSpec.RestartPolicy = p
	return r
}

// Obj returns the replica spec.
func (r *ReplicaWrapper) Obj() *trainingv1.ReplicaSpec { return &r.ReplicaSpec }

// PyTorchJobWrapper builds a PyTorchJob.
type PyTorchJobWrapper struct{ trainingv1.PyTorchJob }

// MakePyTorchJob returns a PyTorchJob with no replicas.
func MakePyTorchJob(name, ns string) *PyTorchJobWrapper {
	return &PyTorchJobWrapper{trainingv1.PyTorchJob{
		TypeMeta:   metav1.TypeMeta{APIVersion: trainingv1.GroupVersion.String(), Kind: trainingv1.PyTorchJobKind},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       trainingv1.PyTorchJobSpec{PyTorchReplicaSpecs: map[trainingv1.ReplicaType]*trainingv1.ReplicaSpec{}},
	}}
}

// Replica sets the spec of replica type t.
func (j *PyTorchJobWrapper) Replica(t trainingv1.ReplicaType, r *ReplicaWrapper) *PyTorchJobWrapper {
	j.Spec.PyTorchReplicaSpecs[t] = r.Obj()
	return j
}

// BackoffLimit sets runPolicy.backoffLimit.
func (j *PyTorchJobWrapper) BackoffLimit(n int32) *PyTorchJobWrapper {
	j.Spec.RunPolicy.BackoffLimit = ptr.To(n)
	return j
}

// Suspend sets runPolicy.suspend.
func (j *PyTorchJobWrapper) Suspend(s bool) *PyTorchJobWrapper {
	j.Spec.RunPolicy.Suspend = ptr.To(s)
	return j
}

// Obj returns the job.
func (j *PyTorchJobWrapper) Obj() *trainingv1.PyTorchJob { return &j.PyTorchJob }

// TFJobWrapper builds a TFJob.
type TFJobWrapper struct{ trainingv1.TFJob }

// MakeTFJob returns a TFJob with no replicas.
func MakeTFJob(name, ns string) *TFJobWrapper {
	return &TFJobWrapper{trainingv1.TFJob{
		TypeMeta:   metav1.TypeMeta{APIVersion: trainingv1.GroupVersion.String(), Kind: trainingv1.TFJobKind},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       trainingv1.TFJobSpec{TFReplicaSpecs: map[trainingv1.ReplicaType]*trainingv1.ReplicaSpec{}},
	}}
}

// Replica sets the spec of replica type t.
func (j *TFJobWrapper) Replica(t trainingv1.ReplicaType, r *ReplicaWrapper) *TFJobWrapper {
	j.Spec.TFReplicaSpecs[t] = r.Obj()
	return j
}

// Obj returns the job.
func (j *TFJobWrapper) Obj() *trainingv1.TFJob { return &j.TFJob }
