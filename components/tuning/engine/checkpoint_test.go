package engine

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
)

func TestInjectCheckpoint(t *testing.T) {
	ck := Checkpoint{
		ClaimName: "exp-pbt", Dir: "/var/log/katib/checkpoints/", SubPath: "exp/exp-abc",
		Init: corev1.Container{Image: "kfup:1", Command: []string{"/kfup", "agent", "checkpoint", "--dir", CheckpointMountPath + "/exp/exp-abc"}},
	}
	wantInit := corev1.Container{Name: CheckpointContainerName, Image: "kfup:1", Command: ck.Init.Command,
		VolumeMounts: []corev1.VolumeMount{{Name: CheckpointContainerName, MountPath: CheckpointMountPath}}}
	wantVolume := corev1.Volume{Name: CheckpointContainerName, VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "exp-pbt"}}}
	wantMount := corev1.VolumeMount{Name: CheckpointContainerName, MountPath: "/var/log/katib/checkpoints", SubPath: "exp/exp-abc"}

	t.Run("batch Job, then the metrics sidecar under the checkpoint", func(t *testing.T) {
		job := decode(t, `
apiVersion: batch/v1
kind: Job
spec:
  template:
    spec:
      initContainers: [{name: setup, image: mine}]
      containers:
      - name: training-container
        image: train
        volumeMounts: [{name: data, mountPath: /data}]
      volumes: [{name: data, emptyDir: {}}]
`)
		n, err := InjectCheckpoint(job, "training-container", ck)
		if err != nil || n != 1 {
			t.Fatalf("InjectCheckpoint = %d, %v", n, err)
		}
		// metrics written beside the checkpoint: the sidecar reads them from the volume
		if _, err := InjectMetricsSidecar(job, "training-container", corev1.Container{Image: "kfup:1"}, "/var/log/katib/checkpoints/metrics"); err != nil {
			t.Fatal(err)
		}
		s := podSpecs(t, job, []string{"spec", "template"})[0]
		if len(s.InitContainers) != 3 {
			t.Fatalf("init containers %+v: want checkpoint, setup, metrics", s.InitContainers)
		}
		if d := cmp.Diff(wantInit, s.InitContainers[0]); d != "" {
			t.Errorf("the first init container (-want +got):\n%s", d)
		}
		if s.InitContainers[1].Name != "setup" || s.InitContainers[2].Name != MetricsContainerName {
			t.Errorf("init containers %s, %s: want setup, then %s", s.InitContainers[1].Name, s.InitContainers[2].Name, MetricsContainerName)
		}
		if d := cmp.Diff([]corev1.VolumeMount{{Name: CheckpointContainerName, MountPath: "/var/log/katib/checkpoints/metrics", SubPath: "exp/exp-abc/metrics", ReadOnly: true}}, s.InitContainers[2].VolumeMounts); d != "" {
			t.Errorf("the metrics sidecar's mounts (-want +got):\n%s", d)
		}
		if d := cmp.Diff([]corev1.VolumeMount{{Name: "data", MountPath: "/data"}, wantMount}, s.Containers[0].VolumeMounts); d != "" {
			t.Errorf("primary mounts (-want +got):\n%s", d)
		}
		if len(s.Volumes) != 2 || !cmp.Equal(wantVolume, s.Volumes[1]) {
			t.Errorf("volumes %+v: want data and %+v", s.Volumes, wantVolume)
		}
	})

	t.Run("training job replicas with the primary container", func(t *testing.T) {
		job := decode(t, `
apiVersion: kubeflow.org/v1
kind: PyTorchJob
spec:
  pytorchReplicaSpecs:
    Master:
      template:
        spec:
          containers: [{name: pytorch, image: train}]
    Worker:
      template:
        spec:
          containers: [{name: pytorch, image: train}]
    Helper:
      template:
        spec:
          containers: [{name: helper, image: other}]
`)
		n, err := InjectCheckpoint(job, "pytorch", ck)
		if err != nil || n != 2 {
			t.Fatalf("InjectCheckpoint = %d, %v: want the Master and Worker templates", n, err)
		}
		specs := podSpecs(t, job, []string{"spec", "pytorchReplicaSpecs", "Master", "template"},
			[]string{"spec", "pytorchReplicaSpecs", "Worker", "template"}, []string{"spec", "pytorchReplicaSpecs", "Helper", "template"})
		for i, s := range specs[:2] {
			if d := cmp.Diff([]corev1.Container{wantInit}, s.InitContainers); d != "" {
				t.Errorf("template %d init containers (-want +got):\n%s", i, d)
			}
			if d := cmp.Diff([]corev1.VolumeMount{wantMount}, s.Containers[0].VolumeMounts); d != "" {
				t.Errorf("template %d primary mounts (-want +got):\n%s", i, d)
			}
		}
		if len(specs[2].InitContainers) != 0 || len(specs[2].Volumes) != 0 {
			t.Errorf("Helper has no primary container but got %+v", specs[2])
		}
	})

	for _, tc := range []struct{ name, spec, want string }{
		{"container name taken", `
      initContainers: [{name: kfup-checkpoint, image: mine}]
      containers: [{name: training-container, image: train}]`, "already has a container named kfup-checkpoint"},
		{"volume name taken", `
      containers: [{name: training-container, image: train}]
      volumes: [{name: kfup-checkpoint, emptyDir: {}}]`, "already has a volume named kfup-checkpoint"},
		{"checkpoint directory mounted", `
      containers:
      - name: training-container
        image: train
        volumeMounts: [{name: ckpt, mountPath: /var/log/katib/checkpoints}]
      volumes: [{name: ckpt, emptyDir: {}}]`, "already mounts volume ckpt at /var/log/katib/checkpoints"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			job := decode(t, "apiVersion: batch/v1\nkind: Job\nspec:\n  template:\n    spec:"+tc.spec+"\n")
			before := job.DeepCopy()
			if _, err := InjectCheckpoint(job, "training-container", ck); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v: want %q", err, tc.want)
			}
			if d := cmp.Diff(before.Object, job.Object); d != "" {
				t.Errorf("the job changed (-before +after):\n%s", d)
			}
		})
	}
}
