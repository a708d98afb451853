package engine

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"

	servingv1beta1 "github.com/kfup/kfup/components/serving/api/v1beta1"
	"github.com/kfup/kfup/internal/agent"
)

func secretEnv(name, secret, key string) corev1.EnvVar {
	return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: secret}, Key: key, Optional: ptr.To(true),
	}}}
}

// A model that is not on a PVC is downloaded by kfup's storage initializer into the
// emptyDir kserve-provision-location, mounted read-only at /mnt/models in the model
// server, with the credentials KServe would inject for its scheme.
func TestDesiredStorageInitializer(t *testing.T) {
	s3Secret := CredentialSecret{Name: "minio", Annotations: map[string]string{
		S3EndpointAnnotation: "minio.minio:9000", S3UseHTTPSAnnotation: "0", S3VerifySSLAnnotation: "0", S3RegionAnnotation: "eu-west-1",
	}}
	hfSecret := CredentialSecret{Name: "hf"}
	secrets := []CredentialSecret{hfSecret, s3Secret}
	hfFromContainer := secretEnv("HF_TOKEN", "hf-token", "token")
	tests := []struct {
		name, uri string
		env       []corev1.EnvVar // the model container's
		secrets   []CredentialSecret
		want      []corev1.EnvVar
	}{
		{name: "gs, no credentials", uri: "gs://kfserving-examples/models/sklearn/1.0/model", secrets: secrets},
		{name: "https", uri: "https://example.com/models/iris.tar.gz", secrets: secrets},
		{name: "file", uri: "file:///mnt/data/iris"},
		{name: "s3 from the annotated secret", uri: "s3://models/iris", secrets: secrets, want: []corev1.EnvVar{
			secretEnv("AWS_ACCESS_KEY_ID", "minio", "AWS_ACCESS_KEY_ID"),
			secretEnv("AWS_SECRET_ACCESS_KEY", "minio", "AWS_SECRET_ACCESS_KEY"),
			{Name: "S3_USE_HTTPS", Value: "0"},
			{Name: "S3_ENDPOINT", Value: "minio.minio:9000"},
			{Name: "AWS_ENDPOINT_URL", Value: "http://minio.minio:9000"},
			{Name: "S3_VERIFY_SSL", Value: "0"},
			{Name: "AWS_DEFAULT_REGION", Value: "eu-west-1"},
		}},
		{name: "s3, https endpoint by default", uri: "s3://models/iris", secrets: []CredentialSecret{{Name: "aws", Annotations: map[string]string{S3EndpointAnnotation: "s3.example.com"}}}, want: []corev1.EnvVar{
			secretEnv("AWS_ACCESS_KEY_ID", "aws", "AWS_ACCESS_KEY_ID"),
			secretEnv("AWS_SECRET_ACCESS_KEY", "aws", "AWS_SECRET_ACCESS_KEY"),
			{Name: "S3_ENDPOINT", Value: "s3.example.com"},
			{Name: "AWS_ENDPOINT_URL", Value: "https://s3.example.com"},
		}},
		{name: "s3 anonymous without an annotated secret", uri: "s3://models/iris", secrets: []CredentialSecret{hfSecret}},
		{name: "hf from the first secret not for s3", uri: "hf://org/model", secrets: []CredentialSecret{s3Secret, hfSecret},
			want: []corev1.EnvVar{secretEnv("HF_TOKEN", "hf", "HF_TOKEN")}},
		{name: "hf as the model container has it", uri: "hf://org/model:v1", env: []corev1.EnvVar{hfFromContainer}, secrets: secrets,
			want: []corev1.EnvVar{hfFromContainer}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := isvc(servingv1beta1.PredictorSpec{SKLearn: &servingv1beta1.PredictorExtensionSpec{
				StorageURI: ptr.To(tt.uri), Container: servingv1beta1.Container{Env: tt.env},
			}})
			got, err := Desired(in, builtin(t, "kserve-sklearnserver"), StorageInit{Image: "kfup:dev", Secrets: tt.secrets})
			if err != nil {
				t.Fatal(err)
			}
			pod := got[0].Deployment.Spec.Template.Spec
			wantInit := []corev1.Container{{
				Name:    "storage-initializer",
				Image:   "kfup:dev",
				Command: []string{"/kfup", "agent", "storage-initializer"},
				Args:    []string{tt.uri, "/mnt/models"},
				Env:     tt.want,
				Resources: corev1.ResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("100Mi")},
					Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("1Gi")},
				},
				VolumeMounts:             []corev1.VolumeMount{{Name: "kserve-provision-location", MountPath: "/mnt/models"}},
				SecurityContext:          agent.SecurityContext(),
				TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
			}}
			if d := cmp.Diff(wantInit, pod.InitContainers); d != "" {
				t.Errorf("init containers (-want +got):\n%s", d)
			}
			if d := cmp.Diff([]corev1.Volume{{Name: "kserve-provision-location", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}, pod.Volumes); d != "" {
				t.Errorf("volumes (-want +got):\n%s", d)
			}
			if d := cmp.Diff([]corev1.VolumeMount{{Name: "kserve-provision-location", MountPath: "/mnt/models", ReadOnly: true}}, pod.Containers[0].VolumeMounts); d != "" {
				t.Errorf("model server's mounts (-want +got):\n%s", d)
			}
		})
	}
}

// A custom predictor's STORAGE_URI is downloaded the same way, ahead of its own init
// containers.
func TestDesiredStorageInitializerCustomPredictor(t *testing.T) {
	in := isvc(servingv1beta1.PredictorSpec{PodSpec: servingv1beta1.PodSpec{
		InitContainers: []corev1.Container{{Name: "warmup", Image: "busybox"}},
		Containers: []corev1.Container{{Name: "kserve-container", Image: "me/server",
			Env: []corev1.EnvVar{{Name: "STORAGE_URI", Value: "s3://models/custom"}}}},
	}})
	if got := StorageURIOf(&in.Spec.Predictor); got != "s3://models/custom" {
		t.Errorf("StorageURIOf = %q", got)
	}
	got, err := Desired(in, nil, StorageInit{Image: "kfup:dev"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range got[0].Deployment.Spec.Template.Spec.InitContainers {
		names = append(names, c.Name)
	}
	if d := cmp.Diff([]string{"storage-initializer", "warmup"}, names); d != "" {
		t.Errorf("init containers (-want +got):\n%s", d)
	}
}
