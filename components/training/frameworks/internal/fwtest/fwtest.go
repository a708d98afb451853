// Package fwtest holds helpers for the framework plug-ins' table tests: decoding jobs from
// YAML strictly, and picking environments and names out of desired pods.
package fwtest

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"
)

// Decode decodes doc into a new T, failing the test on unknown or mistyped fields.
func Decode[T any](t testing.TB, doc string) *T {
	t.Helper()
	v := new(T)
	if err := yaml.UnmarshalStrict([]byte(doc), v); err != nil {
		t.Fatalf("decode test job: %v", err)
	}
	return v
}

// Env returns the environment of the container called name in pod (nil if absent).
func Env(pod *corev1.Pod, name string) []corev1.EnvVar {
	for _, c := range pod.Spec.Containers {
		if c.Name == name {
			return c.Env
		}
	}
	return nil
}

// Names lists the names of pods (or any named objects).
func Names[T interface{ GetName() string }](objs []T) []string {
	out := make([]string, 0, len(objs))
	for _, o := range objs {
		out = append(out, o.GetName())
	}
	return out
}

// EquateQuantities compares resource quantities by value.
var EquateQuantities = cmp.Comparer(func(a, b resource.Quantity) bool { return a.Cmp(b) == 0 })

// EnvVar is a name=value environment variable.
func EnvVar(name, value string) corev1.EnvVar { return corev1.EnvVar{Name: name, Value: value} }
