package manager

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
)

// CacheOptions is what the manager's informers keep. Memory grows with the pods and
// services in the cluster, so they keep only:
//
//   - pods and services of kfup's jobs (label training.kubeflow.org/job-name), not every
//     pod of the cluster (Istio's, Knative's, the user's Deployments);
//   - of a pod: its metadata, restart policy, ephemeral container names, node name,
//     container names and its whole status — what job status, restart and failure
//     policies, stuck-pod detection and sidecar stopping read; not the container specs,
//     environment, volumes … (the bulk of a pod), which the controllers never read back;
//   - of a service: its metadata;
//   - of every object: no managedFields (server-side apply bookkeeping).
//
// Code that must write a whole pod back (the ephemeral-containers subresource) reads it
// from the API server first, never from the cache.
//
// namespaces, when given, restrict every cache (jobs, pods, services) to those
// namespaces, as upstream's --namespace does; none means the whole cluster.
func CacheOptions(namespaces ...string) cache.Options {
	jobChildren, err := labels.NewRequirement(trainingv1.JobNameLabel, selection.Exists, nil)
	if err != nil {
		panic(fmt.Sprintf("job-name selector: %v", err)) // a constant label key: cannot fail
	}
	sel := labels.NewSelector().Add(*jobChildren)
	var only map[string]cache.Config
	for _, ns := range namespaces {
		if only == nil {
			only = map[string]cache.Config{}
		}
		only[ns] = cache.Config{}
	}
	return cache.Options{
		DefaultNamespaces: only,
		DefaultTransform:  cache.TransformStripManagedFields(),
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Pod{}:     {Label: sel, Transform: trimPod},
			&corev1.Service{}: {Label: sel, Transform: trimService},
		},
	}
}

// trimPod keeps what the controllers read of a pod (see CacheOptions).
func trimPod(obj any) (any, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil // a tombstone: DeletedFinalStateUnknown
	}
	trimmed := &corev1.Pod{
		TypeMeta:   pod.TypeMeta,
		ObjectMeta: pod.ObjectMeta,
		Spec: corev1.PodSpec{
			RestartPolicy: pod.Spec.RestartPolicy,
			NodeName:      pod.Spec.NodeName,
		},
		Status: pod.Status,
	}
	trimmed.ManagedFields = nil
	for _, c := range pod.Spec.Containers {
		trimmed.Spec.Containers = append(trimmed.Spec.Containers, corev1.Container{Name: c.Name})
	}
	for _, c := range pod.Spec.EphemeralContainers {
		trimmed.Spec.EphemeralContainers = append(trimmed.Spec.EphemeralContainers,
			corev1.EphemeralContainer{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: c.Name}})
	}
	return trimmed, nil
}

// trimService keeps a service's metadata (see CacheOptions).
func trimService(obj any) (any, error) {
	svc, ok := obj.(*corev1.Service)
	if !ok {
		return obj, nil
	}
	trimmed := &corev1.Service{TypeMeta: svc.TypeMeta, ObjectMeta: svc.ObjectMeta}
	trimmed.ManagedFields = nil
	return trimmed, nil
}
