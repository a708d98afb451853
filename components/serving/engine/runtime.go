package engine

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	servingv1alpha1 "github.com/kfup/kfup/components/serving/api/v1alpha1"
	servingv1beta1 "github.com/kfup/kfup/components/serving/api/v1beta1"
)

// The framework names KServe maps the older predictor fields to (constants.SupportedModel*).
const (
	FormatSKLearn     = "sklearn"
	FormatXGBoost     = "xgboost"
	FormatTensorflow  = "tensorflow"
	FormatPyTorch     = "pytorch"
	FormatTriton      = "triton"
	FormatONNX        = "onnx"
	FormatHuggingFace = "huggingface"
	FormatPMML        = "pmml"
	FormatLightGBM    = "lightgbm"
	FormatPaddle      = "paddle"
)

// ModelOf returns the predictor's model as KServe's defaulting webhook makes it: the
// model field as is, or a framework field (sklearn, xgboost, ...) turned into a model of
// that format with the same storage, protocol and container overrides; triton, onnx and
// huggingface default to protocol v2. It returns nil for a custom predictor
// (containers only). p is not modified.
func ModelOf(p *servingv1beta1.PredictorSpec) *servingv1beta1.ModelSpec {
	frameworks := []struct {
		name        string
		ext         *servingv1beta1.PredictorExtensionSpec
		v2ByDefault bool
	}{
		{FormatSKLearn, p.SKLearn, false},
		{FormatTensorflow, p.Tensorflow, false},
		{FormatXGBoost, p.XGBoost, false},
		{FormatPyTorch, p.PyTorch, false},
		{FormatTriton, p.Triton, true},
		{FormatONNX, p.ONNX, true},
		{FormatHuggingFace, p.HuggingFace, true},
		{FormatPMML, p.PMML, false},
		{FormatLightGBM, p.LightGBM, false},
		{FormatPaddle, p.Paddle, false},
	}
	var m *servingv1beta1.ModelSpec
	for _, f := range frameworks {
		if f.ext != nil {
			m = &servingv1beta1.ModelSpec{ModelFormat: servingv1beta1.ModelFormat{Name: f.name}, PredictorExtensionSpec: *f.ext.DeepCopy()}
			if f.v2ByDefault && m.ProtocolVersion == nil {
				v2 := servingv1beta1.ProtocolV2
				m.ProtocolVersion = &v2
			}
			break
		}
	}
	if m == nil && p.Model != nil {
		m = p.Model.DeepCopy()
		// KServe serves triton (and vLLM) models with v2 unless told otherwise
		if m.ProtocolVersion == nil && (m.ModelFormat.Name == FormatTriton || m.ModelFormat.Name == "vLLM") {
			v2 := servingv1beta1.ProtocolV2
			m.ProtocolVersion = &v2
		}
	}
	return m
}

// Protocol returns the model's protocol: its protocolVersion, v1 when unset.
func Protocol(m *servingv1beta1.ModelSpec) servingv1beta1.InferenceServiceProtocol {
	if m.ProtocolVersion != nil && *m.ProtocolVersion != "" {
		return *m.ProtocolVersion
	}
	return servingv1beta1.ProtocolV1
}

// Runtime is a ServingRuntime (Namespaced) or ClusterServingRuntime, by name.
type Runtime struct {
	// Name of the runtime.
	Name string
	// Namespaced is true for a ServingRuntime of the InferenceService's namespace.
	Namespaced bool
	// Annotations are the runtime object's (serving.kserve.io/server-type).
	Annotations map[string]string
	// Spec is the runtime's spec.
	Spec servingv1alpha1.ServingRuntimeSpec
}

// Runtimes lists the runtimes an InferenceService may use: its namespace's and the
// cluster's, each list in KServe's order (runtimes serving the oldest protocol first,
// then the newest, then by name).
type Runtimes struct {
	Namespaced []servingv1alpha1.ServingRuntime
	Cluster    []servingv1alpha1.ClusterServingRuntime
}

// NoRuntimeError says that no runtime serves a model, and which formats are served.
type NoRuntimeError struct {
	// Reason is KServe's failure reason (NoSupportingRuntime, RuntimeNotRecognized, ...).
	Reason servingv1beta1.FailureReason
	// Message says what is wrong and what is served.
	Message string
}

func (e *NoRuntimeError) Error() string { return e.Message }

// SelectRuntime picks the runtime that serves m, as KServe does: an explicit
// model.runtime names a ServingRuntime of the namespace, else a ClusterServingRuntime,
// which must not be disabled or multi-model and must list the model's format (and
// version, when set) and protocol; with no runtime named, among the runtimes that
// auto-select the format and serve the protocol, namespace runtimes come before cluster
// ones, each by descending priority for the format (runtimes with one before those
// without), ties kept in list order. A runtime with a worker spec (multi-node) is never
// auto-selected. When nothing fits the error is a *NoRuntimeError naming the formats
// that are served.
func SelectRuntime(m *servingv1beta1.ModelSpec, rts Runtimes) (Runtime, error) {
	protocol := Protocol(m)
	all := make([]Runtime, 0, len(rts.Namespaced)+len(rts.Cluster))
	ns := sortedRuntimes(rts.Namespaced, true)
	cl := sortedClusterRuntimes(rts.Cluster)
	all = append(append(all, ns...), cl...)

	if m.Runtime != nil && *m.Runtime != "" {
		name := *m.Runtime
		i := slices.IndexFunc(all, func(r Runtime) bool { return r.Name == name })
		if i < 0 {
			return Runtime{}, &NoRuntimeError{Reason: servingv1beta1.RuntimeNotRecognized,
				Message: fmt.Sprintf("no ServingRuntime or ClusterServingRuntime named %q (served: %s)", name, servedFormats(all))}
		}
		r := all[i]
		switch {
		case isTrue(r.Spec.Disabled):
			return Runtime{}, &NoRuntimeError{Reason: servingv1beta1.RuntimeDisabled,
				Message: fmt.Sprintf("runtime %q is disabled", name)}
		case isTrue(r.Spec.MultiModel):
			return Runtime{}, &NoRuntimeError{Reason: servingv1beta1.InvalidPredictorSpec,
				Message: fmt.Sprintf("runtime %q is a multi-model (ModelMesh) runtime, which kfup does not serve", name)}
		case m.ProtocolVersion != nil && !supportsProtocol(r.Spec, protocol): // KServe checks only an explicit one
			return Runtime{}, &NoRuntimeError{Reason: servingv1beta1.NoSupportingRuntime,
				Message: fmt.Sprintf("runtime %q does not serve protocol %s (it serves: %s)", name, protocol, strings.Join(r.Spec.ProtocolVersions, ", "))}
		case !supportsFormat(r.Spec, m.ModelFormat, true):
			return Runtime{}, &NoRuntimeError{Reason: servingv1beta1.NoSupportingRuntime,
				Message: fmt.Sprintf("runtime %q does not serve model format %s (it serves: %s)", name, formatString(m.ModelFormat), strings.Join(formatsOf(r.Spec), ", "))}
		}
		return r, nil
	}

	var fit []Runtime
	for _, r := range all {
		if !isTrue(r.Spec.Disabled) && !isTrue(r.Spec.MultiModel) && r.Spec.WorkerSpec == nil &&
			supportsFormat(r.Spec, m.ModelFormat, false) && supportsProtocol(r.Spec, protocol) {
			fit = append(fit, r)
		}
	}
	// priority orders the namespace runtimes and the cluster runtimes separately
	slices.SortStableFunc(fit, func(a, b Runtime) int {
		if a.Namespaced != b.Namespaced {
			if a.Namespaced {
				return -1
			}
			return 1
		}
		pa, pb := priority(a.Spec, m.ModelFormat.Name), priority(b.Spec, m.ModelFormat.Name)
		switch {
		case pa == nil && pb == nil:
			return 0
		case pa == nil:
			return 1
		case pb == nil:
			return -1
		}
		return cmp.Compare(*pb, *pa)
	})
	if len(fit) == 0 {
		return Runtime{}, &NoRuntimeError{Reason: servingv1beta1.NoSupportingRuntime,
			Message: fmt.Sprintf("no runtime auto-selects model format %s with protocol %s; served: %s (name one with model.runtime, or add a ServingRuntime)",
				formatString(m.ModelFormat), protocol, servedFormats(all))}
	}
	return fit[0], nil
}

// sortedRuntimes orders runtimes as KServe lists them: by the oldest protocol they serve
// (v1 before v2 before grpc; none last), newest first, then by name.
func sortedRuntimes(in []servingv1alpha1.ServingRuntime, namespaced bool) []Runtime {
	items := slices.Clone(in)
	slices.SortStableFunc(items, func(a, b servingv1alpha1.ServingRuntime) int {
		if c := cmp.Compare(protocolRank(a.Spec.ProtocolVersions), protocolRank(b.Spec.ProtocolVersions)); c != 0 {
			return c
		}
		if c := b.CreationTimestamp.Compare(a.CreationTimestamp.Time); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	out := make([]Runtime, len(items))
	for i, r := range items {
		out[i] = Runtime{Name: r.Name, Namespaced: namespaced, Annotations: r.Annotations, Spec: r.Spec}
	}
	return out
}

func sortedClusterRuntimes(in []servingv1alpha1.ClusterServingRuntime) []Runtime {
	as := make([]servingv1alpha1.ServingRuntime, len(in))
	for i, r := range in {
		as[i] = servingv1alpha1.ServingRuntime{ObjectMeta: r.ObjectMeta, Spec: r.Spec}
	}
	return sortedRuntimes(as, false)
}

// protocolRank is KServe's GetProtocolVersionPriority: the rank of the oldest protocol
// served (v1 1, v2 2, grpc-v1 3, grpc-v2 4), 5 for none or only unknown ones.
func protocolRank(ps []string) int {
	best := 5
	for _, p := range ps {
		r := 5
		switch servingv1beta1.InferenceServiceProtocol(p) {
		case servingv1beta1.ProtocolV1:
			r = 1
		case servingv1beta1.ProtocolV2:
			r = 2
		case servingv1beta1.ProtocolGRPCV1:
			r = 3
		case servingv1beta1.ProtocolGRPCV2:
			r = 4
		}
		best = min(best, r)
	}
	return best
}

// supportsFormat says whether spec lists format: its name, and its version when the
// model names one (KServe's "mt:<name>[:<version>]" labels). Without an explicit
// runtime only auto-selecting formats count.
func supportsFormat(spec servingv1alpha1.ServingRuntimeSpec, f servingv1beta1.ModelFormat, explicit bool) bool {
	for _, s := range spec.SupportedModelFormats {
		if !explicit && !isTrue(s.AutoSelect) {
			continue
		}
		if s.Name != f.Name {
			continue
		}
		if f.Version == nil || (s.Version != nil && *s.Version == *f.Version) {
			return true
		}
	}
	return false
}

// supportsProtocol is KServe's IsProtocolVersionSupported: a runtime listing none serves
// every protocol.
func supportsProtocol(spec servingv1alpha1.ServingRuntimeSpec, p servingv1beta1.InferenceServiceProtocol) bool {
	return len(spec.ProtocolVersions) == 0 || slices.Contains(spec.ProtocolVersions, string(p))
}

// priority is KServe's GetPriority: that of the first supported format of that name.
func priority(spec servingv1alpha1.ServingRuntimeSpec, format string) *int32 {
	for _, s := range spec.SupportedModelFormats {
		if s.Name == format {
			return s.Priority
		}
	}
	return nil
}

func formatString(f servingv1beta1.ModelFormat) string {
	if f.Version != nil {
		return f.Name + " version " + *f.Version
	}
	return f.Name
}

func formatsOf(spec servingv1alpha1.ServingRuntimeSpec) []string {
	var out []string
	for _, s := range spec.SupportedModelFormats {
		n := s.Name
		if s.Version != nil {
			n += ":" + *s.Version
		}
		out = append(out, n)
	}
	return out
}

// servedFormats lists, sorted, the formats the usable runtimes auto-select, each with
// its runtimes, or says there are none.
func servedFormats(rts []Runtime) string {
	by := map[string][]string{}
	for _, r := range rts {
		if isTrue(r.Spec.Disabled) || isTrue(r.Spec.MultiModel) {
			continue
		}
		for _, s := range r.Spec.SupportedModelFormats {
			if !isTrue(s.AutoSelect) {
				continue
			}
			n := s.Name
			if s.Version != nil {
				n += ":" + *s.Version
			}
			if !slices.Contains(by[n], r.Name) {
				by[n] = append(by[n], r.Name)
			}
		}
	}
	if len(by) == 0 {
		return "none (no ServingRuntime or ClusterServingRuntime auto-selects any format)"
	}
	keys := make([]string, 0, len(by))
	for k := range by {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + " (" + strings.Join(by[k], ", ") + ")"
	}
	return strings.Join(parts, ", ")
}

func isTrue(b *bool) bool { return b != nil && *b }
