package components

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
)

// DecodeYAML splits a multi-document YAML (or JSON) stream into objects; empty documents
// are skipped. source names the stream in errors.
func DecodeYAML(source string, b []byte) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
	var out []*unstructured.Unstructured
	for i := 0; ; i++ {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, fmt.Errorf("%s: document %d: %w", source, i+1, err)
		}
		if len(u.Object) == 0 {
			continue
		}
		if u.GetKind() == "" || u.GetAPIVersion() == "" {
			return nil, fmt.Errorf("%s: document %d has no kind/apiVersion", source, i+1)
		}
		out = append(out, u)
	}
}

// ToUnstructured converts typed objects (with their GVK from scheme) for applying.
func ToUnstructured(scheme *runtime.Scheme, objs ...client.Object) ([]*unstructured.Unstructured, error) {
	out := make([]*unstructured.Unstructured, 0, len(objs))
	for _, o := range objs {
		gvk, err := apiutil.GVKForObject(o, scheme)
		if err != nil {
			return nil, err
		}
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
		if err != nil {
			return nil, err
		}
		u := &unstructured.Unstructured{Object: m}
		u.SetGroupVersionKind(gvk)
		unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
		unstructured.RemoveNestedField(u.Object, "status")
		out = append(out, u)
	}
	return out, nil
}

// applyRank orders kinds: CRDs, then namespaces, then cluster-wide RBAC, then the rest.
func applyRank(u *unstructured.Unstructured) int {
	switch u.GetKind() {
	case "CustomResourceDefinition":
		return 0
	case "Namespace":
		return 1
	case "ServiceAccount", "ClusterRole", "Role":
		return 2
	case "ClusterRoleBinding", "RoleBinding":
		return 3
	case "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration":
		// last in, first out: the API server calls a webhook as soon as it is
		// configured, so it comes after the Deployment serving it and goes before it
		return 5
	default:
		return 4
	}
}

// Apply server-side applies objs for component (force ownership, field manager "kfup"),
// labelling each kfup.dev/component=<component>. CRDs go first and are waited Established before the
// objects that may use them.
func Apply(ctx context.Context, c client.Client, component string, objs []*unstructured.Unstructured) error {
	sorted := append([]*unstructured.Unstructured(nil), objs...)
	sort.SliceStable(sorted, func(i, j int) bool { return applyRank(sorted[i]) < applyRank(sorted[j]) })
	var crds []string
	crdsWaited := false
	for _, u := range sorted {
		if !crdsWaited && u.GetKind() != "CustomResourceDefinition" && len(crds) > 0 {
			if err := WaitEstablished(ctx, c, crds...); err != nil {
				return err
			}
			crdsWaited = true
		}
		u = u.DeepCopy()
		labels := u.GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		labels[LabelComponent] = component
		u.SetLabels(labels)
		if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(FieldOwner), client.ForceOwnership); err != nil {
			return fmt.Errorf("apply %s %s: %w", u.GetKind(), objectName(u), err)
		}
		if u.GetKind() == "CustomResourceDefinition" {
			crds = append(crds, u.GetName())
		}
	}
	if !crdsWaited && len(crds) > 0 {
		return WaitEstablished(ctx, c, crds...)
	}
	return nil
}

// WaitEstablished waits until every named CRD is Established and its names accepted.
func WaitEstablished(ctx context.Context, c client.Client, names ...string) error {
	for _, n := range names {
		var last string
		err := wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
			crd := &apiextensionsv1.CustomResourceDefinition{}
			if err := c.Get(ctx, client.ObjectKey{Name: n}, crd); err != nil {
				last = err.Error()
				return false, client.IgnoreNotFound(err)
			}
			for _, cond := range crd.Status.Conditions {
				if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
					return true, nil
				}
				if cond.Type == apiextensionsv1.NamesAccepted && cond.Status == apiextensionsv1.ConditionFalse {
					return false, fmt.Errorf("CRD %s: names not accepted: %s", n, cond.Message)
				}
			}
			last = "not Established yet"
			return false, nil
		})
		if err != nil {
			return fmt.Errorf("wait for CRD %s (%s): %w", n, last, err)
		}
	}
	return nil
}

// Delete deletes objs (in reverse apply order) and ignores those already gone. Objects of
// kinds the server does not know (their CRD went first) count as gone, and so do objects
// in namespaces that do not exist: each kind and each namespace is asked about once, so
// removing a component that was never installed — every create does so for each disabled
// one — costs a few requests, not one per object (and a discovery refresh per unknown
// kind).
func Delete(ctx context.Context, c client.Client, objs []*unstructured.Unstructured) error {
	sorted := append([]*unstructured.Unstructured(nil), objs...)
	sort.SliceStable(sorted, func(i, j int) bool { return applyRank(sorted[i]) > applyRank(sorted[j]) })
	unknownKind := map[schema.GroupKind]bool{}
	goneNamespace := map[string]bool{}
	var problems []error
	for _, u := range sorted {
		gk := u.GroupVersionKind().GroupKind()
		unknown, seen := unknownKind[gk]
		if !seen {
			_, err := c.RESTMapper().RESTMapping(gk, u.GroupVersionKind().Version)
			unknown = meta.IsNoMatchError(err)
			unknownKind[gk] = unknown
		}
		if unknown { // the server serves no such kind
			continue
		}
		if ns := u.GetNamespace(); ns != "" {
			gone, seen := goneNamespace[ns]
			if !seen {
				err := c.Get(ctx, client.ObjectKey{Name: ns}, &metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"}})
				gone = apierrors.IsNotFound(err)
				goneNamespace[ns] = gone
			}
			if gone {
				continue
			}
		}
		err := c.Delete(ctx, u.DeepCopy(), client.PropagationPolicy("Background"))
		if err != nil && !apierrors.IsNotFound(err) && !meta.IsNoMatchError(err) {
			problems = append(problems, fmt.Errorf("delete %s %s: %w", u.GetKind(), objectName(u), err))
		}
	}
	return errors.Join(problems...)
}

func objectName(u *unstructured.Unstructured) string {
	if ns := u.GetNamespace(); ns != "" {
		return ns + "/" + u.GetName()
	}
	return u.GetName()
}

// ContainerImages returns the container images of the workloads (Deployments, DaemonSets,
// StatefulSets, Jobs) among objs, init containers included.
func ContainerImages(objs []*unstructured.Unstructured) []string {
	var out []string
	for _, o := range objs {
		switch o.GetKind() {
		case "Deployment", "DaemonSet", "StatefulSet", "Job":
		default:
			continue
		}
		for _, field := range []string{"initContainers", "containers"} {
			cs, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", field)
			for _, c := range cs {
				if m, ok := c.(map[string]any); ok {
					if img, ok := m["image"].(string); ok && img != "" {
						out = append(out, img)
					}
				}
			}
		}
	}
	return out
}

// MapContainerImages replaces the image of every container and init container of o (a
// Deployment, DaemonSet, StatefulSet or Job; other kinds are left alone) for which f
// answers a replacement.
func MapContainerImages(o *unstructured.Unstructured, f func(image string) (string, bool)) error {
	switch o.GetKind() {
	case "Deployment", "DaemonSet", "StatefulSet", "Job":
	default:
		return nil
	}
	for _, field := range []string{"initContainers", "containers"} {
		cs, found, err := unstructured.NestedSlice(o.Object, "spec", "template", "spec", field)
		if err != nil || !found {
			continue
		}
		changed := false
		for _, c := range cs {
			m, ok := c.(map[string]any)
			if !ok {
				continue
			}
			if img, ok := m["image"].(string); ok {
				if to, ok := f(img); ok {
					m["image"] = to
					changed = true
				}
			}
		}
		if changed {
			if err := unstructured.SetNestedSlice(o.Object, cs, "spec", "template", "spec", field); err != nil {
				return err
			}
		}
	}
	return nil
}
