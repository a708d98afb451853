package engine

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

func podSpecs(t *testing.T, obj *unstructured.Unstructured, paths ...[]string) []corev1.PodSpec {
	t.Helper()
	var out []corev1.PodSpec
	for _, p := range paths {
		m, ok, err := unstructured.NestedMap(obj.Object, p...)
		if !ok || err != nil {
			t.Fatalf("no pod template at %v: %v", p, err)
		}
		pt := corev1.PodTemplateSpec{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(m, &pt); err != nil {
			t.Fatal(err)
		}
		out = append(out, pt.Spec)
	}
	return out
}

func decode(t *testing.T, y string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(y), &u.Object); err != nil {
		t.Fatal(err)
	}
	return u
}

func TestInjectMetricsSidecar(t *testing.T) {
	sidecar := corev1.Container{Image: "kfup:1", Command: []string{"/kfup", "agent", "metrics"}}
	always := corev1.ContainerRestartPolicyAlways
	want := func(mounts ...corev1.VolumeMount) corev1.Container {
		c := sidecar
		c.Name, c.RestartPolicy, c.VolumeMounts = MetricsContainerName, &always, mounts
		return c
	}

	t.Run("emptyDir", func(t *testing.T) {
		job := decode(t, `
apiVersion: batch/v1
kind: Job
spec:
  template:
    spec:
      containers:
      - {name: training-container, image: train}
      restartPolicy: Never
`)
		n, err := InjectMetricsSidecar(job, "training-container", sidecar, "/katib")
		if err != nil || n != 1 {
			t.Fatalf("InjectMetricsSidecar = %d, %v", n, err)
		}
		s := podSpecs(t, job, []string{"spec", "template"})[0]
		if d := cmp.Diff([]corev1.Container{want(corev1.VolumeMount{Name: MetricsContainerName, MountPath: "/katib", ReadOnly: true})}, s.InitContainers); d != "" {
			t.Errorf("init containers (-want +got):\n%s", d)
		}
		if d := cmp.Diff([]corev1.VolumeMount{{Name: MetricsContainerName, MountPath: "/katib"}}, s.Containers[0].VolumeMounts); d != "" {
			t.Errorf("primary mounts (-want +got):\n%s", d)
		}
		if len(s.Volumes) != 1 || s.Volumes[0].Name != MetricsContainerName || s.Volumes[0].EmptyDir == nil {
			t.Errorf("volumes %+v: want the emptyDir %s", s.Volumes, MetricsContainerName)
		}
	})

	t.Run("primary's own volume, training job replicas", func(t *testing.T) {
		job := decode(t, `
apiVersion: kubeflow.org/v1
kind: PyTorchJob
spec:
  pytorchReplicaSpecs:
    Master:
      template:
        spec:
          containers:
          - name: pytorch
            image: train
            volumeMounts: [{name: logs, mountPath: /var/log, subPath: run1}, {name: other, mountPath: /var}]
          volumes: [{name: logs, emptyDir: {}}, {name: other, emptyDir: {}}]
    Worker:
      template:
        spec:
          containers: [{name: pytorch, image: train}]
    Helper:
      template:
        spec:
          containers: [{name: helper, image: other}]
`)
		n, err := InjectMetricsSidecar(job, "pytorch", sidecar, "/var/log/katib/tfevent/")
		if err != nil || n != 2 {
			t.Fatalf("InjectMetricsSidecar = %d, %v: want the Master and Worker templates", n, err)
		}
		specs := podSpecs(t, job, []string{"spec", "pytorchReplicaSpecs", "Master", "template"},
			[]string{"spec", "pytorchReplicaSpecs", "Worker", "template"}, []string{"spec", "pytorchReplicaSpecs", "Helper", "template"})
		if d := cmp.Diff([]corev1.Container{want(corev1.VolumeMount{Name: "logs", MountPath: "/var/log/katib/tfevent", SubPath: "run1/katib/tfevent", ReadOnly: true})}, specs[0].InitContainers); d != "" {
			t.Errorf("Master init containers (-want +got):\n%s", d)
		}
		if len(specs[0].Volumes) != 2 || len(specs[0].Containers[0].VolumeMounts) != 2 {
			t.Errorf("Master: volumes %+v, mounts %+v: want them unchanged", specs[0].Volumes, specs[0].Containers[0].VolumeMounts)
		}
		if len(specs[1].InitContainers) != 1 || len(specs[1].Volumes) != 1 {
			t.Errorf("Worker: %+v: want the sidecar and its emptyDir", specs[1])
		}
		if len(specs[2].InitContainers) != 0 {
			t.Errorf("Helper has no primary container but got %+v", specs[2].InitContainers)
		}
	})

	t.Run("subPathExpr", func(t *testing.T) {
		job := decode(t, `
apiVersion: batch/v1
kind: Job
spec:
  template:
    spec:
      containers:
      - name: training-container
        image: train
        env:
        - {name: OTHER, value: x}
        - name: POD
          valueFrom: {fieldRef: {fieldPath: metadata.name}}
        volumeMounts: [{name: runs, mountPath: /runs, subPathExpr: $(POD)}]
      volumes: [{name: runs, persistentVolumeClaim: {claimName: runs}}]
`)
		if _, err := InjectMetricsSidecar(job, "training-container", sidecar, "/runs/katib"); err != nil {
			t.Fatal(err)
		}
		sc := want(corev1.VolumeMount{Name: "runs", MountPath: "/runs/katib", SubPathExpr: "$(POD)/katib", ReadOnly: true})
		sc.Env = []corev1.EnvVar{{Name: "POD", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}}
		if d := cmp.Diff([]corev1.Container{sc}, podSpecs(t, job, []string{"spec", "template"})[0].InitContainers); d != "" {
			t.Errorf("init containers (-want +got):\n%s", d)
		}
	})

	t.Run("name taken", func(t *testing.T) {
		job := decode(t, `
apiVersion: batch/v1
kind: Job
spec:
  template:
    spec:
      initContainers: [{name: kfup-metrics, image: mine}]
      containers: [{name: training-container, image: train}]
`)
		before := job.DeepCopy()
		if _, err := InjectMetricsSidecar(job, "training-container", sidecar, "/katib"); err == nil || !strings.Contains(err.Error(), "already has a container named kfup-metrics") {
			t.Fatalf("err %v: want the name conflict", err)
		}
		if d := cmp.Diff(before.Object, job.Object); d != "" {
			t.Errorf("the job changed (-before +after):\n%s", d)
		}
	})
}
