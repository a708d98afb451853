package engine

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

func TestInjectCheckpoint(t *testing.T) {
	ck := Checkpoint{
		ClaimName: "exp-pbt", Dir: "/var/log/katib/checkpoints/", SubPath: "exp/exp-abc",
		Init: corev1.Container{Image: "kfup:1", Command: []string{"/kfup", "agent", "checkpoint", "--dir", CheckpointMountPath + "/exp/exp-abc"}},
	}
	wantInit := corev1.Container{Name: CheckpointContainerName, Image: "kfup:1", Command: ck.Init.Command,
		VolumeMounts: []corev1.VolumeMount{{Name: CheckpointContainerName, MountPath: CheckpointMountPath}},
		// the trainers below set no user: they run as their image's, root, and so does it
		SecurityContext: &corev1.SecurityContext{RunAsUser: ptr.To[int64](0), RunAsGroup: ptr.To[int64](0), RunAsNonRoot: ptr.To(false)}}
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

// The init container takes the trainer's identity and keeps kfup's restrictions.
func TestRunAsTrainer(t *testing.T) {
	restricted := func() *corev1.SecurityContext {
		return &corev1.SecurityContext{
			RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](65532), RunAsGroup: ptr.To[int64](65532),
			AllowPrivilegeEscalation: ptr.To(false), Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		}
	}
	with := func(uid, gid *int64, nonRoot *bool) *corev1.SecurityContext {
		sc := restricted()
		sc.RunAsUser, sc.RunAsGroup, sc.RunAsNonRoot = uid, gid, nonRoot
		return sc
	}
	i64 := func(v int64) *int64 { return &v }
	for _, c := range []struct {
		name    string
		pod     *corev1.PodSecurityContext
		primary *corev1.SecurityContext
		want    *corev1.SecurityContext
	}{
		{"no identity: the image's user, root", nil, nil, with(i64(0), i64(0), ptr.To(false))},
		{"the pod's user and group", &corev1.PodSecurityContext{RunAsUser: i64(1000), RunAsGroup: i64(100)}, nil, with(i64(1000), i64(100), ptr.To(true))},
		{"the container's user over the pod's", &corev1.PodSecurityContext{RunAsUser: i64(1000), RunAsGroup: i64(100)}, &corev1.SecurityContext{RunAsUser: i64(2000)}, with(i64(2000), i64(100), ptr.To(true))},
		{"a user without a group", nil, &corev1.SecurityContext{RunAsUser: i64(1000)}, with(i64(1000), nil, ptr.To(true))},
		{"root set explicitly", &corev1.PodSecurityContext{RunAsUser: i64(0)}, nil, with(i64(0), nil, ptr.To(false))},
		{"a non-root image user: kfup's", &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true)}, nil, restricted()},
		{"runAsNonRoot false in the container: root", &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true)}, &corev1.SecurityContext{RunAsNonRoot: ptr.To(false)}, with(i64(0), i64(0), ptr.To(false))},
	} {
		sc := restricted()
		got := RunAsTrainer(sc, c.pod, c.primary)
		if d := cmp.Diff(c.want, got); d != "" {
			t.Errorf("%s (-want +got):\n%s", c.name, d)
		}
		if d := cmp.Diff(restricted(), sc); d != "" {
			t.Errorf("%s: the given context was changed:\n%s", c.name, d)
		}
	}
}
