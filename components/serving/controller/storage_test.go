package controller_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	servingv1beta1 "github.com/kfup/kfup/components/serving/api/v1beta1"
	"github.com/kfup/kfup/components/serving/engine"
)

// An s3:// model whose service account lists a secret annotated for S3: the storage
// initializer references the secret's keys and carries its endpoint, as KServe injects
// them; the model server mounts the downloaded model read-only.
func TestStorageInitializerCredentials(t *testing.T) {
	start(t)
	ns := env.Namespace(t)
	ctx := context.Background()
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "minio-creds", Namespace: ns, Annotations: map[string]string{
			engine.S3EndpointAnnotation: "minio.minio:9000", engine.S3UseHTTPSAnnotation: "0",
		}},
		StringData: map[string]string{"AWS_ACCESS_KEY_ID": "minio", "AWS_SECRET_ACCESS_KEY": "minio123"},
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "models", Namespace: ns}, Secrets: []corev1.ObjectReference{{Name: "gone"}, {Name: "minio-creds"}}}
	if err := env.Client.Create(ctx, secret); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Create(ctx, sa); err != nil {
		t.Fatal(err)
	}
	createISVC(t, ns, `
metadata: {name: s3model}
spec:
  predictor:
    serviceAccountName: models
    sklearn: {storageUri: "s3://models/sklearn/iris"}
`)
	d := &appsv1.Deployment{}
	get(t, d, ns, "s3model-predictor")
	pod := d.Spec.Template.Spec
	if len(pod.InitContainers) != 1 || pod.InitContainers[0].Name != engine.StorageInitializerName {
		t.Fatalf("init containers %+v", pod.InitContainers)
	}
	var env []string
	for _, e := range pod.InitContainers[0].Env {
		if e.ValueFrom != nil {
			env = append(env, e.Name+"<-"+e.ValueFrom.SecretKeyRef.Name+"/"+e.ValueFrom.SecretKeyRef.Key)
		} else {
			env = append(env, e.Name+"="+e.Value)
		}
	}
	want := []string{
		"AWS_ACCESS_KEY_ID<-minio-creds/AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY<-minio-creds/AWS_SECRET_ACCESS_KEY",
		"S3_USE_HTTPS=0", "S3_ENDPOINT=minio.minio:9000", "AWS_ENDPOINT_URL=http://minio.minio:9000",
	}
	if d := cmp.Diff(want, env); d != "" {
		t.Errorf("storage initializer env (-want +got):\n%s", d)
	}
	if m := pod.Containers[0].VolumeMounts; len(m) != 1 || m[0].Name != engine.ProvisionVolume || !m[0].ReadOnly || m[0].MountPath != "/mnt/models" {
		t.Errorf("model server mounts %+v", m)
	}
}

// A storage initializer that exited with an error (the kubelet's part played by hand)
// makes the model FailedToLoad with its one-line message, as KServe reports it.
func TestStorageInitializerFailureReported(t *testing.T) {
	start(t)
	ns := env.Namespace(t)
	createISVC(t, ns, `
metadata: {name: missing}
spec:
  predictor:
    sklearn: {storageUri: "gs://kfup-none/models/iris"}
`)
	d := &appsv1.Deployment{}
	get(t, d, ns, "missing-predictor")
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "missing-predictor-1", Namespace: ns, Labels: d.Spec.Template.Labels},
		Spec:       d.Spec.Template.Spec,
	}
	if err := env.Client.Create(context.Background(), pod); err != nil {
		t.Fatal(err)
	}
	const msg = `gs://kfup-none/models/iris: bucket kfup-none not found (404)`
	pod.Status.InitContainerStatuses = []corev1.ContainerStatus{{
		Name: engine.StorageInitializerName, Image: testImage, ImageID: "x",
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error", Message: msg}},
	}}
	pod.Status.ContainerStatuses = []corev1.ContainerStatus{{
		Name: "kserve-container", Image: "kserve/sklearnserver", ImageID: "y",
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "PodInitializing"}},
	}}
	if err := env.Client.Status().Update(context.Background(), pod); err != nil {
		t.Fatal(err)
	}
	isvc := waitCondition(t, ns, "missing", servingv1beta1.Ready, "False", string(servingv1beta1.ModelLoadFailed))
	if c := condition(isvc, servingv1beta1.PredictorReady); c.Reason != string(servingv1beta1.ModelLoadFailed) || !strings.Contains(c.Message, "the storage initializer in pod missing-predictor-1 failed (exit code 1): "+msg) {
		t.Errorf("PredictorReady message %q", c.Message)
	}
	if f := isvc.Status.ModelStatus.LastFailureInfo; f == nil || f.Message != msg || f.Location != "missing-predictor-1" ||
		isvc.Status.ModelStatus.TransitionStatus != servingv1beta1.BlockedByFailedLoad {
		t.Errorf("model status %+v", isvc.Status.ModelStatus)
	}
}
