package run

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
)

const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func spec(kind string, mutate ...func(*Spec)) *Spec {
	s := &Spec{
		Name: "train-x7k2p", Namespace: "ml", Kind: kind, Image: "kfup-offline/python-ml:bookworm", AgentImage: "kfup/kfup:abc",
		Command: []string{"python3", "train.py", "--epochs", "3"}, Workers: DefaultWorkers(kind),
		Digest: digest, Chunks: 2, TTL: 24 * time.Hour,
	}
	for _, m := range mutate {
		m(s)
	}
	return s
}

// replicaSpecs returns a job's replica specs and run policy.
func replicaSpecs(t *testing.T, obj client.Object) (map[trainingv1.ReplicaType]*trainingv1.ReplicaSpec, trainingv1.RunPolicy) {
	t.Helper()
	switch j := obj.(type) {
	case *trainingv1.PyTorchJob:
		return j.Spec.PyTorchReplicaSpecs, j.Spec.RunPolicy
	case *trainingv1.TFJob:
		return j.Spec.TFReplicaSpecs, j.Spec.RunPolicy
	case *trainingv1.XGBoostJob:
		return j.Spec.XGBReplicaSpecs, j.Spec.RunPolicy
	case *trainingv1.MPIJob:
		return j.Spec.MPIReplicaSpecs, j.Spec.RunPolicy
	case *trainingv1.JAXJob:
		return j.Spec.JAXReplicaSpecs, j.Spec.RunPolicy
	case *trainingv1.PaddleJob:
		return j.Spec.PaddleReplicaSpecs, j.Spec.RunPolicy
	}
	t.Fatalf("not a job: %T", obj)
	return nil, trainingv1.RunPolicy{}
}

func counts(specs map[trainingv1.ReplicaType]*trainingv1.ReplicaSpec) map[trainingv1.ReplicaType]int32 {
	m := map[trainingv1.ReplicaType]int32{}
	for t, s := range specs {
		m[t] = *s.Replicas
	}
	return m
}

func TestJobPerKind(t *testing.T) {
	tests := []struct {
		name      string
		spec      *Spec
		kind      string
		replicas  map[trainingv1.ReplicaType]int32
		container string
		// command of each replica type, nil: the framework's default
		commands map[trainingv1.ReplicaType][]string
	}{
		{
			name: "default: a single-replica PyTorchJob", spec: spec("pytorch"), kind: "PyTorchJob", container: "pytorch",
			replicas: map[trainingv1.ReplicaType]int32{"Master": 1},
			commands: map[trainingv1.ReplicaType][]string{"Master": {"python3", "train.py", "--epochs", "3"}},
		},
		{
			name: "pytorch 1 + 2", spec: spec("pytorch", func(s *Spec) { s.Workers = 2; s.Command = []string{"torchrun", "train.py"} }),
			kind: "PyTorchJob", container: "pytorch",
			replicas: map[trainingv1.ReplicaType]int32{"Master": 1, "Worker": 2},
			commands: map[trainingv1.ReplicaType][]string{"Master": {"torchrun", "train.py"}, "Worker": {"torchrun", "train.py"}},
		},
		{
			name: "tfjob 1 ps + 2 workers", spec: spec("tfjob", func(s *Spec) { s.PS, s.Workers = 1, 2 }), kind: "TFJob", container: "tensorflow",
			replicas: map[trainingv1.ReplicaType]int32{"PS": 1, "Worker": 2},
			commands: map[trainingv1.ReplicaType][]string{"PS": {"python3", "train.py", "--epochs", "3"}, "Worker": {"python3", "train.py", "--epochs", "3"}},
		},
		{
			name: "xgboost master + 1", spec: spec("xgboost", func(s *Spec) { s.Workers = 1 }), kind: "XGBoostJob", container: "xgboost",
			replicas: map[trainingv1.ReplicaType]int32{"Master": 1, "Worker": 1},
			commands: map[trainingv1.ReplicaType][]string{"Master": {"python3", "train.py", "--epochs", "3"}, "Worker": {"python3", "train.py", "--epochs", "3"}},
		},
		{
			name: "mpi: mpirun on the launcher over workers × procs", spec: spec("mpi", func(s *Spec) { s.Workers, s.ProcsPerWorker = 2, 3 }),
			kind: "MPIJob", container: "mpi",
			replicas: map[trainingv1.ReplicaType]int32{"Launcher": 1, "Worker": 2},
			commands: map[trainingv1.ReplicaType][]string{"Launcher": MPILauncherCommand(6, []string{"python3", "train.py", "--epochs", "3"}), "Worker": nil},
		},
		{
			name: "jax workers", spec: spec("jax", func(s *Spec) { s.Workers = 2 }), kind: "JAXJob", container: "jax",
			replicas: map[trainingv1.ReplicaType]int32{"Worker": 2},
			commands: map[trainingv1.ReplicaType][]string{"Worker": {"python3", "train.py", "--epochs", "3"}},
		},
		{
			name: "paddle workers", spec: spec("paddle"), kind: "PaddleJob", container: "paddle",
			replicas: map[trainingv1.ReplicaType]int32{"Worker": 1},
			commands: map[trainingv1.ReplicaType][]string{"Worker": {"python3", "train.py", "--epochs", "3"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj, err := Job(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			if KindName(obj) != tt.kind || MainContainer(tt.kind) != tt.container {
				t.Fatalf("kind %s, container %s", KindName(obj), MainContainer(tt.kind))
			}
			if obj.GetName() != "train-x7k2p" || obj.GetNamespace() != "ml" || obj.GetLabels()[RunLabel] != "train-x7k2p" || obj.GetAnnotations()[DigestAnnotation] != digest {
				t.Errorf("meta %+v %+v", obj.GetLabels(), obj.GetAnnotations())
			}
			specs, policy := replicaSpecs(t, obj)
			if diff := cmp.Diff(tt.replicas, counts(specs)); diff != "" {
				t.Errorf("replicas (-want +got):\n%s", diff)
			}
			if *policy.BackoffLimit != 0 || *policy.TTLSecondsAfterFinished != 86400 || *policy.CleanPodPolicy != trainingv1.CleanPodPolicyRunning {
				t.Errorf("run policy %+v", policy)
			}
			for rt, rs := range specs {
				if rs.RestartPolicy != trainingv1.RestartPolicyNever {
					t.Errorf("%s: restart policy %s", rt, rs.RestartPolicy)
				}
				checkPod(t, string(rt), &rs.Template.Spec, tt.container, tt.commands[rt])
				if rs.Template.Labels[RunLabel] != "train-x7k2p" {
					t.Errorf("%s: pod labels %v", rt, rs.Template.Labels)
				}
			}
		})
	}
}

// checkPod checks what every replica's pod gets: the workspace unpacked by kfup's image
// from the archive's chunks, the outputs sidecar, the framework container in /workspace.
func checkPod(t *testing.T, rt string, pod *corev1.PodSpec, container string, command []string) {
	t.Helper()
	if len(pod.Containers) != 1 || pod.Containers[0].Name != container {
		t.Fatalf("%s: containers %+v", rt, pod.Containers)
	}
	c := pod.Containers[0]
	if diff := cmp.Diff(command, c.Command); diff != "" {
		t.Errorf("%s: command (-want +got):\n%s", rt, diff)
	}
	if c.WorkingDir != WorkspaceDir || c.Image != "kfup-offline/python-ml:bookworm" {
		t.Errorf("%s: workingDir %q image %q", rt, c.WorkingDir, c.Image)
	}
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	if env[OutputEnv] != OutputDir || env["PYTHONUNBUFFERED"] != "1" || env["KFUP_RUN"] != "train-x7k2p" {
		t.Errorf("%s: env %v", rt, env)
	}
	if len(pod.InitContainers) != 2 {
		t.Fatalf("%s: init containers %+v", rt, pod.InitContainers)
	}
	un, out := pod.InitContainers[0], pod.InitContainers[1]
	if un.Name != UnpackContainer || un.Image != "kfup/kfup:abc" || !cmp.Equal(un.Args, []string{"agent", "unpack", "--from", SourceDir, "--digest", digest, "--to", WorkspaceDir}) || un.RestartPolicy != nil {
		t.Errorf("%s: unpack %+v", rt, un)
	}
	if out.Name != OutputsContainer || out.Image != "kfup/kfup:abc" || out.RestartPolicy == nil || *out.RestartPolicy != corev1.ContainerRestartPolicyAlways {
		t.Errorf("%s: outputs sidecar %+v", rt, out)
	}
	for _, h := range []corev1.Container{un, out} {
		if sc := h.SecurityContext; sc == nil || !*sc.RunAsNonRoot || *sc.AllowPrivilegeEscalation || sc.Capabilities.Drop[0] != "ALL" {
			t.Errorf("%s: %s security context %+v", rt, h.Name, sc)
		}
	}
	var chunks []string
	for _, v := range pod.Volumes {
		if v.Projected != nil {
			for _, s := range v.Projected.Sources {
				chunks = append(chunks, s.ConfigMap.Name+"/"+s.ConfigMap.Items[0].Key+"->"+s.ConfigMap.Items[0].Path)
			}
		}
	}
	if want := []string{"kfup-run-src-0123456789ab-0/chunk->0000", "kfup-run-src-0123456789ab-1/chunk->0001"}; !cmp.Equal(want, chunks) {
		t.Errorf("%s: chunks %v", rt, chunks)
	}
	if *pod.TerminationGracePeriodSeconds != int64(DefaultOutputWait.Seconds())+10 {
		t.Errorf("%s: grace %d", rt, *pod.TerminationGracePeriodSeconds)
	}
}

func TestJobReplicaFlagsMustFitTheKind(t *testing.T) {
	for _, tt := range []struct {
		spec *Spec
		want string
	}{
		{spec("pytorch", func(s *Spec) { s.PS = 1 }), "--ps 1: a PyTorchJob has no parameter servers (only --kind tfjob does)"},
		{spec("xgboost", func(s *Spec) { s.ProcsPerWorker = 2 }), "--procs-per-worker 2: a XGBoostJob starts one process per replica"},
		{spec("tfjob", func(s *Spec) { s.Workers = 0 }), "--workers 0: a TFJob needs at least 1 worker"},
		{spec("mpi", func(s *Spec) { s.Workers = 0 }), "--workers 0: a MPIJob needs at least 1 worker"},
		{spec("ray"), `--kind "ray": use one of pytorch, tfjob, xgboost, mpi, jax, paddle`},
		{spec("pytorch", func(s *Spec) { s.Workers = 1001 }), "at most 1000"},
		{spec("pytorch", func(s *Spec) { s.GPUs = -1 }), "cannot be negative"},
		{spec("pytorch", func(s *Spec) { s.Command = nil }), "no command"},
	} {
		_, err := Job(tt.spec)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s %+v: error %v, want %q", tt.spec.Kind, tt.spec, err, tt.want)
		}
	}
}

func TestJobOptions(t *testing.T) {
	obj, err := Job(spec("pytorch", func(s *Spec) {
		s.Workers, s.ProcsPerWorker, s.GPUs = 1, 4, 2
		s.Env = []corev1.EnvVar{{Name: "LR", Value: "0.1"}}
		s.Requirements, s.RequirementsHash = "requirements.txt", "sha256:feedbeef0000ffff"
		s.OutputWait = 30 * time.Second
	}))
	if err != nil {
		t.Fatal(err)
	}
	j := obj.(*trainingv1.PyTorchJob)
	if *j.Spec.NprocPerNode != "4" {
		t.Errorf("nprocPerNode %v", *j.Spec.NprocPerNode)
	}
	pod := j.Spec.PyTorchReplicaSpecs["Worker"].Template.Spec
	c := pod.Containers[0]
	if q := c.Resources.Limits["nvidia.com/gpu"]; q.Value() != 2 {
		t.Errorf("gpu limit %v", c.Resources.Limits)
	}
	if e := c.Env[len(c.Env)-1]; e.Name != "LR" || e.Value != "0.1" {
		t.Errorf("env %+v", c.Env)
	}
	if c.Command[0] != "sh" || c.Command[3] != "kfup-requirements" || c.Command[4] != "requirements.txt" || !cmp.Equal(c.Command[5:], []string{"python3", "train.py", "--epochs", "3"}) ||
		!strings.Contains(c.Command[2], PipCacheDir+"/feedbeef0000") || !strings.Contains(c.Command[2], "a package index reachable") {
		t.Errorf("requirements command %q", c.Command)
	}
	if *pod.TerminationGracePeriodSeconds != 40 || !strings.Contains(strings.Join(pod.InitContainers[1].Args, " "), "--wait 30s") {
		t.Errorf("output wait: grace %d args %v", *pod.TerminationGracePeriodSeconds, pod.InitContainers[1].Args)
	}
}

func TestReplicaName(t *testing.T) {
	pod := func(labels map[string]string) *corev1.Pod {
		p := &corev1.Pod{}
		p.Name, p.Labels = "p", labels
		return p
	}
	for want, labels := range map[string]map[string]string{
		"master-0": {trainingv1.ReplicaTypeLabel: "master", trainingv1.ReplicaIndexLabel: "0"},
		"worker-1": {trainingv1.ReplicaTypeLabel: "worker", trainingv1.ReplicaIndexLabel: "1"},
		"launcher": {trainingv1.ReplicaTypeLabel: "launcher"},
		"p":        nil,
	} {
		if got := ReplicaName(pod(labels)); got != want {
			t.Errorf("%v: %q, want %q", labels, got, want)
		}
	}
}

func TestMPILauncherGetsNoGPUs(t *testing.T) {
	obj, err := Job(spec("mpi", func(s *Spec) { s.Workers, s.GPUs = 2, 1 }))
	if err != nil {
		t.Fatal(err)
	}
	specs := obj.(*trainingv1.MPIJob).Spec.MPIReplicaSpecs
	if l := specs["Launcher"].Template.Spec.Containers[0].Resources.Limits; len(l) != 0 {
		t.Errorf("launcher limits %v", l)
	}
	if q := specs["Worker"].Template.Spec.Containers[0].Resources.Limits["nvidia.com/gpu"]; q.Value() != 1 {
		t.Errorf("worker limits %v", specs["Worker"].Template.Spec.Containers[0].Resources.Limits)
	}
}
