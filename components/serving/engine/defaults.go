package engine

import (
	"maps"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	servingv1beta1 "github.com/kfup/kfup/components/serving/api/v1beta1"
)

// ServerTypeAnnotation names a runtime's server type (KServe's), which decides the
// defaults applied once it is chosen.
const ServerTypeAnnotation = "serving.kserve.io/server-type"

// serverType is rt's server type: its annotation, else (KServe's fallback) the type of
// an upstream runtime's name.
func serverType(rt *Runtime) string {
	if t, ok := rt.Annotations[ServerTypeAnnotation]; ok {
		return t
	}
	return map[string]string{"kserve-torchserve": "torchserve", "kserve-tritonserver": "tritonserver", "kserve-mlserver": "mlserver"}[rt.Name]
}

// runtimeDefaults applies KServe's server-specific defaults (SetRuntimeDefaults) once rt
// is chosen: it returns the model with them and the labels the InferenceService would
// carry. TorchServe: protocol v1 by default, label serviceEnvelope kserve (kservev2 for
// v2 and grpc-v2), env PROTOCOL_VERSION. Triton: protocol v2 by default, and
// --model-control-mode=explicit when no storage is given. m and labels are not modified.
func runtimeDefaults(m *servingv1beta1.ModelSpec, rt *Runtime, labels map[string]string) (*servingv1beta1.ModelSpec, map[string]string) {
	m = m.DeepCopy()
	labels = maps.Clone(labels)
	switch serverType(rt) {
	case "torchserve":
		if m.ProtocolVersion == nil {
			m.ProtocolVersion = ptr.To(servingv1beta1.ProtocolV1)
		}
		if labels == nil {
			labels = map[string]string{}
		}
		labels["serviceEnvelope"] = "kserve"
		if p := *m.ProtocolVersion; p == servingv1beta1.ProtocolV2 || p == servingv1beta1.ProtocolGRPCV2 {
			labels["serviceEnvelope"] = "kservev2"
		}
		m.Env = append(m.Env, corev1.EnvVar{Name: "PROTOCOL_VERSION", Value: string(*m.ProtocolVersion)})
	case "tritonserver":
		if m.ProtocolVersion == nil {
			m.ProtocolVersion = ptr.To(servingv1beta1.ProtocolV2)
		}
		if m.StorageURI == nil && m.Storage == nil {
			m.Args = append(m.Args, "--model-control-mode=explicit")
		}
	}
	return m, labels
}
