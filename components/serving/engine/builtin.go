package engine

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	servingv1alpha1 "github.com/kfup/kfup/components/serving/api/v1alpha1"
	"github.com/kfup/kfup/components/serving/runtimeimages"
	"github.com/kfup/kfup/internal/agent"
)

// KfupRuntime is the name of kfup's own ClusterServingRuntime: `kfup modelserver` from
// kfup's image.
const KfupRuntime = "kfup-modelserver"

// KServeVersion is the KServe release whose runtime images the built-in upstream
// ClusterServingRuntimes run.
const KServeVersion = runtimeimages.KServeVersion

// ModelMountPath is where a predictor's model is mounted (KServe's /mnt/models).
const ModelMountPath = "/mnt/models"

// ContainerName is the name of the container serving the model (KServe's).
const ContainerName = "kserve-container"

// BuiltinRuntimes returns kfup's built-in ClusterServingRuntimes: kfup's own model
// server, run from image (kfup's image), for the formats it evaluates (XGBoost), with a
// higher priority than KServe's server for them; and KServe's upstream runtimes with
// their images, arguments and priorities, so upstream samples run where those images can
// be pulled. Without image (outside a cluster) kfup's runtime is left out.
func BuiltinRuntimes(image string) []servingv1alpha1.ClusterServingRuntime {
	var out []servingv1alpha1.ClusterServingRuntime
	if image != "" {
		out = append(out, runtime(KfupRuntime, "kfup-modelserver", []string{"v1", "v2", "grpc-v2"},
			[]servingv1alpha1.SupportedModelFormat{format(FormatXGBoost, "", 2)},
			corev1.Container{
				Image:   image,
				Command: []string{"/kfup", "modelserver"},
				Args:    []string{"--model-name={{.Name}}", "--model-dir=" + ModelMountPath, "--http-port=8080", "--grpc-port=8081"},
				// REST first (the Service's port 80), then the OIP v2 gRPC API on its own port
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}, {Name: "grpc", ContainerPort: 8081, Protocol: corev1.ProtocolTCP}},
				// Ready (and the InferenceService with it) once the model is loaded and
				// served, not when the process starts
				ReadinessProbe: &corev1.Probe{
					ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/v2/health/ready", Port: intstr.FromString("http")}},
					PeriodSeconds: 2, FailureThreshold: 3, TimeoutSeconds: 1,
				},
				Resources: corev1.ResourceRequirements{
					Requests: resources("100m", "64Mi"),
					Limits:   resources("1", "512Mi"),
				},
				SecurityContext: agent.SecurityContext(), // kfup's image runs as its non-root user
				// a model that fails to load ends the server with the error: its last
				// lines become the termination message, which the status reports
				TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
			}))
	}
	img := runtimeimages.Image
	v1v2 := []string{"v1", "v2"}
	modelArgs := []string{"--model_name={{.Name}}", "--model_dir=" + ModelMountPath, "--http_port=8080"}
	out = append(out,
		runtime("kserve-sklearnserver", "sklearnserver", v1v2,
			[]servingv1alpha1.SupportedModelFormat{format(FormatSKLearn, "1", 1)},
			upstream(img("kserve-sklearnserver"), nil, modelArgs, nil)),
		runtime("kserve-xgbserver", "xgbserver", v1v2,
			[]servingv1alpha1.SupportedModelFormat{format(FormatXGBoost, "2", 1)},
			upstream(img("kserve-xgbserver"), nil, append(modelArgs, "--nthread=1"), nil)),
		runtime("kserve-lgbserver", "lgbserver", v1v2,
			[]servingv1alpha1.SupportedModelFormat{format(FormatLightGBM, "4", 1)},
			upstream(img("kserve-lgbserver"), nil, append(modelArgs, "--nthread=1"), nil)),
		runtime("kserve-pmmlserver", "pmmlserver", v1v2,
			[]servingv1alpha1.SupportedModelFormat{format(FormatPMML, "3", 1), format(FormatPMML, "4", 1)},
			upstream(img("kserve-pmmlserver"), nil, modelArgs, nil)),
		runtime("kserve-tensorflow-serving", "tensorflow-serving", []string{"v1", "grpc-v1"},
			[]servingv1alpha1.SupportedModelFormat{format(FormatTensorflow, "1", 2), format(FormatTensorflow, "2", 2)},
			upstream(img("kserve-tensorflow-serving"), []string{"/usr/bin/tensorflow_model_server"},
				[]string{"--model_name={{.Name}}", "--port=9000", "--rest_api_port=8080", "--model_base_path=" + ModelMountPath, "--rest_api_timeout_in_ms=60000"},
				ptr.To[int64](1000))),
		runtime("kserve-torchserve", "torchserve", []string{"v1", "v2", "grpc-v2"},
			[]servingv1alpha1.SupportedModelFormat{format(FormatPyTorch, "1", 2)},
			withEnv(upstream(img("kserve-torchserve"), nil,
				[]string{"torchserve", "--start", "--model-store=" + ModelMountPath + "/model-store", "--ts-config=" + ModelMountPath + "/config/config.properties"},
				ptr.To[int64](1000)), corev1.EnvVar{Name: "TS_SERVICE_ENVELOPE", Value: "{{.Labels.serviceEnvelope}}"})),
		runtime("kserve-tritonserver", "tritonserver", []string{"v2", "grpc-v2"},
			[]servingv1alpha1.SupportedModelFormat{
				format("tensorrt", "8", 1), format(FormatTensorflow, "1", 1), format(FormatTensorflow, "2", 1),
				format(FormatONNX, "1", 1), {Name: FormatPyTorch, Version: ptr.To("1")}, format(FormatTriton, "2", 1),
			},
			upstream(img("kserve-tritonserver"), nil,
				[]string{"tritonserver", "--model-store=" + ModelMountPath, "--grpc-port=9000", "--http-port=8080", "--allow-grpc=true", "--allow-http=true"},
				ptr.To[int64](1000))),
		huggingface(img("kserve-huggingfaceserver")),
	)
	return out
}

// huggingface is KServe's Hugging Face runtime, with its shared-memory volume.
func huggingface(image string) servingv1alpha1.ClusterServingRuntime {
	c := withEnv(upstream(image, nil, []string{"--model_name={{.Name}}"}, nil), corev1.EnvVar{Name: "LMCACHE_USE_EXPERIMENTAL", Value: "True"})
	c.VolumeMounts = []corev1.VolumeMount{{Name: "devshm", MountPath: "/dev/shm"}}
	r := runtime("kserve-huggingfaceserver", "huggingfaceserver", []string{"v2", "v1"},
		[]servingv1alpha1.SupportedModelFormat{format(FormatHuggingFace, "1", 1)}, c)
	r.Spec.Volumes = []corev1.Volume{{Name: "devshm", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}}}}
	return r
}

func runtime(name, serverType string, protocols []string, formats []servingv1alpha1.SupportedModelFormat, c corev1.Container) servingv1alpha1.ClusterServingRuntime {
	c.Name = ContainerName
	return servingv1alpha1.ClusterServingRuntime{
		TypeMeta: metav1.TypeMeta{APIVersion: servingv1alpha1.GroupVersion.String(), Kind: servingv1alpha1.ClusterServingRuntimeKind},
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Annotations: map[string]string{"serving.kserve.io/server-type": serverType},
		},
		Spec: servingv1alpha1.ServingRuntimeSpec{
			SupportedModelFormats: formats,
			ProtocolVersions:      protocols,
			ServingRuntimePodSpec: servingv1alpha1.ServingRuntimePodSpec{
				Containers:  []corev1.Container{c},
				Annotations: map[string]string{"prometheus.kserve.io/port": "8080", "prometheus.kserve.io/path": "/metrics"},
			},
		},
	}
}

func format(name, version string, prio int32) servingv1alpha1.SupportedModelFormat {
	f := servingv1alpha1.SupportedModelFormat{Name: name, AutoSelect: ptr.To(true), Priority: ptr.To(prio)}
	if version != "" {
		f.Version = ptr.To(version)
	}
	return f
}

// upstream is a KServe runtime's container: 1 CPU and 2Gi, as upstream asks.
func upstream(image string, command, args []string, uid *int64) corev1.Container {
	return corev1.Container{
		Image: image, Command: command, Args: args,
		Resources: corev1.ResourceRequirements{
			Requests: resources("1", "2Gi"),
			Limits:   resources("1", "2Gi"),
		},
		SecurityContext: restricted(uid),
	}
}

func withEnv(c corev1.Container, env ...corev1.EnvVar) corev1.Container {
	c.Env = append(c.Env, env...)
	return c
}

func resources(cpu, memory string) corev1.ResourceList {
	return corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(memory)}
}

// restricted is a container security context that Pod Security "restricted" admits.
func restricted(uid *int64) *corev1.SecurityContext {
	return &corev1.SecurityContext{
		AllowPrivilegeEscalation: ptr.To(false),
		Privileged:               ptr.To(false),
		RunAsNonRoot:             ptr.To(true),
		RunAsUser:                uid,
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}
