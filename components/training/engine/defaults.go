package engine

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
)

// Helpers for frameworks' SetDefaults and SetClusterSpec. They reproduce upstream's
// defaulting (pkg/apis/kubeflow.org/v1/defaulting_utils.go) so that every framework
// defaults the same way.

// SetDefaultReplicas sets spec.replicas to n when unset; a nil spec is left alone.
func SetDefaultReplicas(spec *trainingv1.ReplicaSpec, n int32) {
	if spec != nil && spec.Replicas == nil {
		spec.Replicas = ptr.To(n)
	}
}

// SetDefaultRestartPolicy sets spec.restartPolicy to p when unset; a nil spec is left alone.
func SetDefaultRestartPolicy(spec *trainingv1.ReplicaSpec, p trainingv1.RestartPolicy) {
	if spec != nil && spec.RestartPolicy == "" {
		spec.RestartPolicy = p
	}
}

// SetDefaultCleanPodPolicy sets runPolicy.cleanPodPolicy to p when unset.
func SetDefaultCleanPodPolicy(rp *trainingv1.RunPolicy, p trainingv1.CleanPodPolicy) {
	if rp.CleanPodPolicy == nil {
		rp.CleanPodPolicy = ptr.To(p)
	}
}

// SetDefaultPort adds the port (name, port) to the container called containerName, or to
// the first container when none is called so, unless that container already has a port of
// that name. Like upstream, the port then shows up in the pod and in the replica's service.
func SetDefaultPort(spec *corev1.PodSpec, containerName, name string, port int32) {
	if len(spec.Containers) == 0 {
		return
	}
	i := 0
	for j := range spec.Containers {
		if spec.Containers[j].Name == containerName {
			i = j
			break
		}
	}
	c := &spec.Containers[i]
	for _, p := range c.Ports {
		if p.Name == name {
			return
		}
	}
	c.Ports = append(c.Ports, corev1.ContainerPort{Name: name, ContainerPort: port})
}

// NormalizeReplicaTypes renames replica types spelled in another case to their canonical
// spelling ("WORKER" and "worker" become "Worker"), as upstream's defaulting does.
func NormalizeReplicaTypes(specs map[trainingv1.ReplicaType]*trainingv1.ReplicaSpec, canonical []trainingv1.ReplicaType) {
	for _, want := range canonical {
		for t, spec := range specs {
			if t != want && strings.EqualFold(string(t), string(want)) {
				delete(specs, t)
				specs[want] = spec
				break
			}
		}
	}
}

// ContainerPort returns the port called portName of the container called containerName in
// the replica's pod template.
func ContainerPort(spec *trainingv1.ReplicaSpec, containerName, portName string) (int32, bool) {
	if spec == nil {
		return 0, false
	}
	for _, c := range spec.Template.Spec.Containers {
		if c.Name != containerName {
			continue
		}
		for _, p := range c.Ports {
			if p.Name == portName {
				return p.ContainerPort, true
			}
		}
	}
	return 0, false
}

// ReplicaCount is spec.replicas, or 0 for a nil spec or an unset count (defaults set it first).
func ReplicaCount(spec *trainingv1.ReplicaSpec) int32 {
	if spec == nil {
		return 0
	}
	return ptr.Deref(spec.Replicas, 0)
}

// TotalReplicas sums the replicas of all types of a job.
func TotalReplicas(specs map[trainingv1.ReplicaType]*trainingv1.ReplicaSpec) int32 {
	var n int32
	for _, s := range specs {
		n += ReplicaCount(s)
	}
	return n
}

// PodRestartPolicy maps a replica restart policy onto the pod's: ExitCode becomes Never
// (the engine, not the kubelet, decides whether a failed pod is replaced); the others are
// the same word.
func PodRestartPolicy(p trainingv1.RestartPolicy) corev1.RestartPolicy {
	if p == trainingv1.RestartPolicyExitCode {
		return corev1.RestartPolicyNever
	}
	return corev1.RestartPolicy(p)
}

// AddEnv appends environment variables to a container.
func AddEnv(c *corev1.Container, env ...corev1.EnvVar) {
	c.Env = append(c.Env, env...)
}

// EnvVar is a name=value environment variable.
func EnvVar(name, value string) corev1.EnvVar {
	return corev1.EnvVar{Name: name, Value: value}
}
