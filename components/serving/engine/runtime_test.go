package engine

import (
	"errors"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	servingv1alpha1 "github.com/kfup/kfup/components/serving/api/v1alpha1"
	servingv1beta1 "github.com/kfup/kfup/components/serving/api/v1beta1"
	"github.com/kfup/kfup/components/serving/runtimeimages"
)

func sr(name string, protocols []string, formats ...servingv1alpha1.SupportedModelFormat) servingv1alpha1.ServingRuntime {
	return servingv1alpha1.ServingRuntime{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       servingv1alpha1.ServingRuntimeSpec{SupportedModelFormats: formats, ProtocolVersions: protocols},
	}
}

func csr(name string, protocols []string, formats ...servingv1alpha1.SupportedModelFormat) servingv1alpha1.ClusterServingRuntime {
	r := sr(name, protocols, formats...)
	return servingv1alpha1.ClusterServingRuntime{ObjectMeta: r.ObjectMeta, Spec: r.Spec}
}

func auto(name, version string, prio int32) servingv1alpha1.SupportedModelFormat {
	f := servingv1alpha1.SupportedModelFormat{Name: name, AutoSelect: ptr.To(true)}
	if version != "" {
		f.Version = ptr.To(version)
	}
	if prio > 0 {
		f.Priority = ptr.To(prio)
	}
	return f
}

func manual(name string) servingv1alpha1.SupportedModelFormat {
	return servingv1alpha1.SupportedModelFormat{Name: name}
}

func model(format, version, protocol, runtime string) *servingv1beta1.ModelSpec {
	m := &servingv1beta1.ModelSpec{ModelFormat: servingv1beta1.ModelFormat{Name: format}}
	if version != "" {
		m.ModelFormat.Version = ptr.To(version)
	}
	if protocol != "" {
		m.ProtocolVersion = ptr.To(servingv1beta1.InferenceServiceProtocol(protocol))
	}
	if runtime != "" {
		m.Runtime = ptr.To(runtime)
	}
	return m
}

var v1v2 = []string{"v1", "v2"}

func TestSelectRuntime(t *testing.T) {
	disabled := csr("off", nil, auto("sklearn", "", 9))
	disabled.Spec.Disabled = ptr.To(true)
	multi := csr("mm", nil, auto("sklearn", "", 9))
	multi.Spec.MultiModel = ptr.To(true)
	worker := csr("multinode", nil, auto("sklearn", "", 9))
	worker.Spec.WorkerSpec = &servingv1alpha1.WorkerSpec{}
	old := sr("old", v1v2, auto("sklearn", "", 0))
	old.CreationTimestamp = metav1.NewTime(time.Unix(100, 0))
	newer := sr("newer", v1v2, auto("sklearn", "", 0))
	newer.CreationTimestamp = metav1.NewTime(time.Unix(200, 0))

	builtins := BuiltinRuntimes("kfup:dev")
	tests := []struct {
		name       string
		model      *servingv1beta1.ModelSpec
		rts        Runtimes
		want       string
		namespaced bool
		reason     servingv1beta1.FailureReason
		msg        []string
	}{
		{name: "kfup's runtime wins xgboost by priority", model: model("xgboost", "", "", ""),
			rts: Runtimes{Cluster: builtins}, want: KfupRuntime},
		{name: "xgboost v2 protocol still kfup's", model: model("xgboost", "", "v2", ""),
			rts: Runtimes{Cluster: builtins}, want: KfupRuntime},
		{name: "xgboost over gRPC: kfup's server speaks grpc-v2", model: model("xgboost", "", "grpc-v2", ""),
			rts: Runtimes{Cluster: builtins}, want: KfupRuntime},
		{name: "xgboost version 2 only upstream lists it", model: model("xgboost", "2", "", ""),
			rts: Runtimes{Cluster: builtins}, want: "kserve-xgbserver"},
		{name: "sklearn upstream", model: model("sklearn", "", "", ""),
			rts: Runtimes{Cluster: builtins}, want: "kserve-sklearnserver"},
		{name: "tensorflow v1: tf-serving priority 2 over triton", model: model("tensorflow", "", "", ""),
			rts: Runtimes{Cluster: builtins}, want: "kserve-tensorflow-serving"},
		{name: "tensorflow v2: only triton serves it", model: model("tensorflow", "", "v2", ""),
			rts: Runtimes{Cluster: builtins}, want: "kserve-tritonserver"},
		{name: "pytorch: torchserve; triton lists it without autoSelect", model: model("pytorch", "", "v2", ""),
			rts: Runtimes{Cluster: builtins}, want: "kserve-torchserve"},
		{name: "explicit runtime may use a format without autoSelect", model: model("pytorch", "", "v2", "kserve-tritonserver"),
			rts: Runtimes{Cluster: builtins}, want: "kserve-tritonserver"},
		{name: "namespace runtime before a cluster runtime of higher priority", model: model("sklearn", "", "", ""),
			rts:  Runtimes{Namespaced: []servingv1alpha1.ServingRuntime{sr("mine", nil, auto("sklearn", "", 0))}, Cluster: []servingv1alpha1.ClusterServingRuntime{csr("theirs", nil, auto("sklearn", "", 10))}},
			want: "mine", namespaced: true},
		{name: "explicit runtime: namespace before cluster of the same name", model: model("sklearn", "", "", "same"),
			rts:  Runtimes{Namespaced: []servingv1alpha1.ServingRuntime{sr("same", nil, manual("sklearn"))}, Cluster: []servingv1alpha1.ClusterServingRuntime{csr("same", nil, auto("sklearn", "", 1))}},
			want: "same", namespaced: true},
		{name: "higher priority first", model: model("sklearn", "", "", ""),
			rts:  Runtimes{Cluster: []servingv1alpha1.ClusterServingRuntime{csr("low", nil, auto("sklearn", "", 1)), csr("high", nil, auto("sklearn", "", 5))}},
			want: "high"},
		{name: "a priority beats none", model: model("sklearn", "", "", ""),
			rts:  Runtimes{Cluster: []servingv1alpha1.ClusterServingRuntime{csr("a-none", nil, auto("sklearn", "", 0)), csr("b-some", nil, auto("sklearn", "", 1))}},
			want: "b-some"},
		{name: "no priorities: v1 runtimes before v2-only ones", model: model("sklearn", "", "v2", ""),
			rts:  Runtimes{Cluster: []servingv1alpha1.ClusterServingRuntime{csr("a-v2", []string{"v2"}, auto("sklearn", "", 0)), csr("b-v1v2", v1v2, auto("sklearn", "", 0))}},
			want: "b-v1v2"},
		{name: "no priorities: newest first", model: model("sklearn", "", "", ""),
			rts:  Runtimes{Namespaced: []servingv1alpha1.ServingRuntime{old, newer}},
			want: "newer", namespaced: true},
		{name: "version must match when the model names one", model: model("sklearn", "1", "", ""),
			rts:  Runtimes{Cluster: []servingv1alpha1.ClusterServingRuntime{csr("unversioned", nil, auto("sklearn", "", 9)), csr("v1", nil, auto("sklearn", "1", 1))}},
			want: "v1"},
		{name: "disabled, multi-model and multi-node runtimes are skipped", model: model("sklearn", "", "", ""),
			rts:  Runtimes{Cluster: []servingv1alpha1.ClusterServingRuntime{disabled, multi, worker, csr("ok", nil, auto("sklearn", "", 1))}},
			want: "ok"},
		{name: "no runtime for the format names the served ones", model: model("catboost", "", "", ""),
			rts: Runtimes{Cluster: builtins}, reason: servingv1beta1.NoSupportingRuntime,
			msg: []string{"catboost", "xgboost (kfup-modelserver)", "xgboost:2 (kserve-xgbserver)", "sklearn:1 (kserve-sklearnserver)"}},
		{name: "no runtime for the protocol", model: model("sklearn", "", "grpc-v2", ""),
			rts: Runtimes{Cluster: builtins}, reason: servingv1beta1.NoSupportingRuntime, msg: []string{"protocol grpc-v2"}},
		{name: "format without autoSelect is not chosen", model: model("sklearn", "", "", ""),
			rts: Runtimes{Cluster: []servingv1alpha1.ClusterServingRuntime{csr("manual", nil, manual("sklearn"))}}, reason: servingv1beta1.NoSupportingRuntime, msg: []string{"served: none"}},
		{name: "explicit unknown runtime", model: model("sklearn", "", "", "nope"),
			rts: Runtimes{Cluster: builtins}, reason: servingv1beta1.RuntimeNotRecognized, msg: []string{`"nope"`}},
		{name: "explicit disabled runtime", model: model("sklearn", "", "", "off"),
			rts: Runtimes{Cluster: []servingv1alpha1.ClusterServingRuntime{disabled}}, reason: servingv1beta1.RuntimeDisabled},
		{name: "explicit runtime of another format", model: model("onnx", "", "", "kserve-sklearnserver"),
			rts: Runtimes{Cluster: builtins}, reason: servingv1beta1.NoSupportingRuntime, msg: []string{"does not serve model format onnx", "sklearn:1"}},
		{name: "explicit runtime of another protocol", model: model("sklearn", "", "grpc-v1", "kserve-sklearnserver"),
			rts: Runtimes{Cluster: builtins}, reason: servingv1beta1.NoSupportingRuntime, msg: []string{"protocol grpc-v1"}},
		{name: "nothing installed", model: model("sklearn", "", "", ""), reason: servingv1beta1.NoSupportingRuntime, msg: []string{"served: none"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SelectRuntime(tt.model, tt.rts)
			if tt.reason != "" {
				var nr *NoRuntimeError
				if !errors.As(err, &nr) {
					t.Fatalf("got %v, %v; want a NoRuntimeError", got.Name, err)
				}
				if nr.Reason != tt.reason {
					t.Errorf("reason %s, want %s (%s)", nr.Reason, tt.reason, nr.Message)
				}
				for _, m := range tt.msg {
					if !strings.Contains(nr.Message, m) {
						t.Errorf("message %q does not say %q", nr.Message, m)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Name != tt.want || got.Namespaced != tt.namespaced {
				t.Errorf("got %s (namespaced %v), want %s (namespaced %v)", got.Name, got.Namespaced, tt.want, tt.namespaced)
			}
		})
	}
}

// The older framework fields become a model of that format, as KServe's defaulting
// webhook does; triton, onnx and huggingface default to protocol v2.
func TestModelOf(t *testing.T) {
	uri := ptr.To("pvc://models/iris")
	ext := &servingv1beta1.PredictorExtensionSpec{StorageURI: uri}
	v2 := ptr.To(servingv1beta1.ProtocolV2)
	tests := []struct {
		name string
		pred servingv1beta1.PredictorSpec
		want *servingv1beta1.ModelSpec
	}{
		{"sklearn", servingv1beta1.PredictorSpec{SKLearn: ext},
			&servingv1beta1.ModelSpec{ModelFormat: servingv1beta1.ModelFormat{Name: "sklearn"}, PredictorExtensionSpec: *ext}},
		{"xgboost", servingv1beta1.PredictorSpec{XGBoost: ext},
			&servingv1beta1.ModelSpec{ModelFormat: servingv1beta1.ModelFormat{Name: "xgboost"}, PredictorExtensionSpec: *ext}},
		{"onnx defaults to v2", servingv1beta1.PredictorSpec{ONNX: ext},
			&servingv1beta1.ModelSpec{ModelFormat: servingv1beta1.ModelFormat{Name: "onnx"}, PredictorExtensionSpec: servingv1beta1.PredictorExtensionSpec{StorageURI: uri, ProtocolVersion: v2}}},
		{"triton model defaults to v2", servingv1beta1.PredictorSpec{Model: &servingv1beta1.ModelSpec{ModelFormat: servingv1beta1.ModelFormat{Name: "triton"}}},
			&servingv1beta1.ModelSpec{ModelFormat: servingv1beta1.ModelFormat{Name: "triton"}, PredictorExtensionSpec: servingv1beta1.PredictorExtensionSpec{ProtocolVersion: v2}}},
		{"huggingface keeps v1 when asked", servingv1beta1.PredictorSpec{HuggingFace: &servingv1beta1.PredictorExtensionSpec{ProtocolVersion: ptr.To(servingv1beta1.ProtocolV1)}},
			&servingv1beta1.ModelSpec{ModelFormat: servingv1beta1.ModelFormat{Name: "huggingface"}, PredictorExtensionSpec: servingv1beta1.PredictorExtensionSpec{ProtocolVersion: ptr.To(servingv1beta1.ProtocolV1)}}},
		{"custom predictor", servingv1beta1.PredictorSpec{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, ModelOf(&tt.pred)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseStorageURI(t *testing.T) {
	tests := []struct {
		uri  string
		want Storage
		err  string
	}{
		{uri: "pvc://models/xgb/iris", want: Storage{Claim: "models", SubPath: "xgb/iris"}},
		{uri: "pvc://models", want: Storage{Claim: "models"}},
		{uri: "pvc://models/", want: Storage{Claim: "models"}},
		{uri: "gs://kfserving-examples/models/sklearn/1.0/model", want: Storage{URI: "gs://kfserving-examples/models/sklearn/1.0/model", Scheme: "gs"}},
		{uri: "s3://bucket/m", want: Storage{URI: "s3://bucket/m", Scheme: "s3"}},
		{uri: "https://example.com/m.tar.gz", want: Storage{URI: "https://example.com/m.tar.gz", Scheme: "https"}},
		{uri: "hf://org/model:v1", want: Storage{URI: "hf://org/model:v1", Scheme: "hf"}},
		{uri: "file:///mnt/data/m", want: Storage{URI: "file:///mnt/data/m", Scheme: "file"}},
		{uri: "azure://acct/m", err: "scheme azure:// is not served by kfup; it serves pvc://, file://, http://, https://, s3://, gs://, hf://"},
		{uri: "s3://", err: "names nothing after s3://"},
		{uri: "/mnt/local", err: "no scheme"},
		{uri: "pvc://Bad_Claim/m", err: "not a PersistentVolumeClaim name"},
		{uri: "pvc://models/../etc", err: ".."},
	}
	for _, tt := range tests {
		got, err := ParseStorageURI(tt.uri)
		if tt.err != "" {
			var se *StorageError
			if !errors.As(err, &se) || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: got %v, want a StorageError saying %q", tt.uri, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s: got %+v, %v; want %+v", tt.uri, got, err, tt.want)
		}
	}
}

// With an explicit runtime KServe checks the protocol only when the model names one.
func TestSelectExplicitRuntimeWithoutProtocol(t *testing.T) {
	got, err := SelectRuntime(model("tensorflow", "", "", "kserve-tritonserver"), Runtimes{Cluster: BuiltinRuntimes("")})
	if err != nil || got.Name != "kserve-tritonserver" || got.Annotations[ServerTypeAnnotation] != "tritonserver" {
		t.Fatalf("got %+v, %v", got.Name, err)
	}
}

// The upstream built-in runtimes run exactly the images runtimeimages names (what
// bundles carry), one for each.
func TestBuiltinImagesAreBundleable(t *testing.T) {
	var upstream []string
	for _, r := range BuiltinRuntimes("kfup:dev") {
		if r.Name == KfupRuntime {
			continue
		}
		upstream = append(upstream, r.Name)
		if got, want := r.Spec.Containers[0].Image, runtimeimages.Image(r.Name); got != want || want == "" {
			t.Errorf("%s runs %q, runtimeimages names %q", r.Name, got, want)
		}
	}
	sort.Strings(upstream)
	if d := cmp.Diff(runtimeimages.Names(), upstream); d != "" {
		t.Errorf("runtimeimages vs the built-in runtimes (-images +runtimes):\n%s", d)
	}
}
