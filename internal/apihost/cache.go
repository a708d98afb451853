package apihost

import (
	"fmt"
	"maps"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// CacheOptions is what the manager's informers keep for apis. Memory grows with the
// objects in the cluster, so they keep only:
//
//   - each API's own objects (jobs, experiments, ...), in that API's namespaces (all when
//     it has none): one API's restriction does not limit another's;
//   - children labelled LabelAPI — the pods, services and deployments kfup's controllers create, for
//     any API — not every pod of the cluster (Istio's, Knative's, the user's Deployments);
//     in the namespaces of all APIs together (all when any API serves all);
//   - of a pod: its metadata, restart policy, ephemeral container names, node name,
//     container names and its whole status — what job status, restart and failure
//     policies, stuck-pod detection and sidecar stopping read; not the container specs,
//     environment, volumes … (the bulk of a pod), which the controllers never read back;
//   - of a service: its metadata;
//   - of a deployment (a served model's): its metadata, replicas and status — what the
//     model's readiness is read from;
//   - the kinds a slice reads that no slice makes (Cacher: the ingress's
//     EndpointSlices), as its rules say, in its namespaces unless a rule names some;
//   - of every object: no managedFields (server-side apply bookkeeping);
//   - nothing else: a cached read of any other kind fails (ReaderFailOnMissingInformer)
//     instead of starting a cluster-wide informer behind the slices' backs; controllers
//     read other kinds from the API server (manager.GetAPIReader).
//
// Code that must write a whole pod back (the ephemeral-containers subresource) reads it
// from the API server first, never from the cache.
func CacheOptions(apis ...API) cache.Options {
	children, err := labels.NewRequirement(LabelAPI, selection.Exists, nil)
	if err != nil {
		panic(fmt.Sprintf("%s selector: %v", LabelAPI, err)) // a constant label key: cannot fail
	}
	sel := labels.NewSelector().Add(*children)
	childNamespaces := map[string]cache.Config{}
	byObject := map[client.Object]cache.ByObject{}
	for _, a := range apis {
		own := namespaceConfigs(a.Namespaces())
		if own == nil {
			childNamespaces = nil // some API serves every namespace
		} else if childNamespaces != nil {
			maps.Copy(childNamespaces, own)
		}
		for _, o := range a.Objects() {
			byObject[o] = cache.ByObject{Namespaces: own}
		}
		if c, ok := a.(Cacher); ok {
			for o, rule := range c.CacheRules() {
				if rule.Namespaces == nil {
					rule.Namespaces = own
				}
				byObject[o] = rule
			}
		}
	}
	if len(apis) == 0 {
		childNamespaces = nil
	}
	byObject[&corev1.Pod{}] = cache.ByObject{Label: sel, Transform: trimPod, Namespaces: childNamespaces}
	byObject[&corev1.Service{}] = cache.ByObject{Label: sel, Transform: trimService, Namespaces: childNamespaces}
	byObject[&appsv1.Deployment{}] = cache.ByObject{Label: sel, Transform: trimDeployment, Namespaces: childNamespaces}
	byObject[&autoscalingv2.HorizontalPodAutoscaler{}] = cache.ByObject{Label: sel, Namespaces: childNamespaces}
	return cache.Options{
		DefaultTransform:            cache.TransformStripManagedFields(),
		ByObject:                    byObject,
		ReaderFailOnMissingInformer: true,
	}
}

// namespaceConfigs is namespaces as a cache's per-namespace configuration; nil for none
// (every namespace).
func namespaceConfigs(namespaces []string) map[string]cache.Config {
	if len(namespaces) == 0 {
		return nil
	}
	out := make(map[string]cache.Config, len(namespaces))
	for _, ns := range namespaces {
		out[ns] = cache.Config{}
	}
	return out
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

// trimDeployment keeps a deployment's metadata, replicas and status (see CacheOptions).
func trimDeployment(obj any) (any, error) {
	d, ok := obj.(*appsv1.Deployment)
	if !ok {
		return obj, nil
	}
	trimmed := &appsv1.Deployment{TypeMeta: d.TypeMeta, ObjectMeta: d.ObjectMeta, Status: d.Status}
	trimmed.Spec.Replicas = d.Spec.Replicas
	trimmed.ManagedFields = nil
	return trimmed, nil
}
