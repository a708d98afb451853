package pytorch_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	"github.com/kfup/kfup/components/training/engine"
	"github.com/kfup/kfup/components/training/frameworks/internal/fwtest"
	"github.com/kfup/kfup/components/training/frameworks/pytorch"
)

var ev = fwtest.EnvVar

const masterWorker = `
metadata: {name: test-job, namespace: ns}
spec:
  %SPEC%
  pytorchReplicaSpecs:
    Master:
      replicas: 1
      template:
        spec:
          containers: [{name: pytorch, image: test-image, ports: [{name: pytorchjob-port, containerPort: 8080, protocol: TCP}]}]
    Worker:
      replicas: 2
      template:
        spec:
          containers: [{name: pytorch, image: test-image, ports: [{name: pytorchjob-port, containerPort: 8080, protocol: TCP}]}]
`

const workersOnly = `
metadata: {name: elastic, namespace: ns}
spec:
  %SPEC%
  pytorchReplicaSpecs:
    Worker:
      replicas: 2
      template:
        spec:
          containers: [{name: pytorch, image: test-image}]
`

func decode(t *testing.T, tmpl, spec string) *trainingv1.PyTorchJob {
	t.Helper()
	return fwtest.Decode[trainingv1.PyTorchJob](t, strings.Replace(tmpl, "%SPEC%", spec, 1))
}

func TestEnv(t *testing.T) {
	cases := []struct {
		name  string
		job   *trainingv1.PyTorchJob
		rt    trainingv1.ReplicaType
		index int
		want  []corev1.EnvVar
	}{
		{
			// Upstream's controller test: MASTER_PORT is the master service's port, MASTER_ADDR
			// its name, PET_NPROC_PER_NODE the default "auto".
			name: "master",
			job:  decode(t, masterWorker, ""),
			rt:   "Master",
			want: []corev1.EnvVar{
				ev("PYTHONUNBUFFERED", "1"),
				ev("MASTER_PORT", "8080"), ev("PET_MASTER_PORT", "8080"),
				ev("MASTER_ADDR", "test-job-master-0"), ev("PET_MASTER_ADDR", "test-job-master-0"),
				ev("WORLD_SIZE", "3"), ev("RANK", "0"), ev("PET_NODE_RANK", "0"),
				ev("PET_NPROC_PER_NODE", "auto"),
				ev("PET_NNODES", "3"),
			},
		},
		{
			name: "worker 1 is rank 2",
			job:  decode(t, masterWorker, ""),
			rt:   "Worker", index: 1,
			want: []corev1.EnvVar{
				ev("PYTHONUNBUFFERED", "1"),
				ev("MASTER_PORT", "8080"), ev("PET_MASTER_PORT", "8080"),
				ev("MASTER_ADDR", "test-job-master-0"), ev("PET_MASTER_ADDR", "test-job-master-0"),
				ev("WORLD_SIZE", "3"), ev("RANK", "2"), ev("PET_NODE_RANK", "2"),
				ev("PET_NPROC_PER_NODE", "auto"),
				ev("PET_NNODES", "3"),
			},
		},
		{
			name: "numeric nprocPerNode multiplies the world size",
			job:  decode(t, masterWorker, `nprocPerNode: "4"`),
			rt:   "Worker", index: 0,
			want: []corev1.EnvVar{
				ev("PYTHONUNBUFFERED", "1"),
				ev("MASTER_PORT", "8080"), ev("PET_MASTER_PORT", "8080"),
				ev("MASTER_ADDR", "test-job-master-0"), ev("PET_MASTER_ADDR", "test-job-master-0"),
				ev("WORLD_SIZE", "12"), ev("RANK", "1"), ev("PET_NODE_RANK", "1"),
				ev("PET_NPROC_PER_NODE", "4"),
				ev("PET_NNODES", "3"),
			},
		},
		{
			name: "gpu nprocPerNode counts as one",
			job:  decode(t, masterWorker, `nprocPerNode: gpu`),
			rt:   "Master",
			want: []corev1.EnvVar{
				ev("PYTHONUNBUFFERED", "1"),
				ev("MASTER_PORT", "8080"), ev("PET_MASTER_PORT", "8080"),
				ev("MASTER_ADDR", "test-job-master-0"), ev("PET_MASTER_ADDR", "test-job-master-0"),
				ev("WORLD_SIZE", "3"), ev("RANK", "0"), ev("PET_NODE_RANK", "0"),
				ev("PET_NPROC_PER_NODE", "gpu"),
				ev("PET_NNODES", "3"),
			},
		},
		{
			// Upstream's TestElasticGenerate "With ElasticPolicy" (there in any order).
			name: "elastic, everything set",
			job: decode(t, workersOnly, `elasticPolicy:
    minReplicas: 1
    maxReplicas: 3
    rdzvBackend: c10d
    rdzvPort: 1234
    rdzvHost: localhost
    rdzvId: rdzv-id
    rdzvConf: [{key: rdzv-conf-name, value: rdzv-conf-value}, {key: rdzv-conf-name-1, value: rdzv-conf-value-1}]
    maxRestarts: 3`),
			rt: "Worker", index: 1,
			want: []corev1.EnvVar{
				ev("PYTHONUNBUFFERED", "1"),
				ev("PET_NPROC_PER_NODE", "auto"),
				ev("PET_RDZV_ENDPOINT", "localhost:1234"),
				ev("PET_RDZV_BACKEND", "c10d"),
				ev("PET_NNODES", "1:3"),
				ev("PET_MAX_RESTARTS", "3"),
				ev("PET_RDZV_ID", "rdzv-id"),
				ev("PET_RDZV_CONF", "rdzv-conf-name=rdzv-conf-value,rdzv-conf-name-1=rdzv-conf-value-1"),
			},
		},
		{
			name: "elastic defaults: worker 0 rendezvous on the default port, c10d, min=max=workers",
			job:  decode(t, workersOnly, `elasticPolicy: {}`),
			rt:   "Worker", index: 0,
			want: []corev1.EnvVar{
				ev("PYTHONUNBUFFERED", "1"),
				ev("PET_NPROC_PER_NODE", "auto"),
				ev("PET_RDZV_ENDPOINT", "elastic-worker-0:23456"),
				ev("PET_RDZV_BACKEND", "c10d"),
				ev("PET_NNODES", "2:2"),
			},
		},
		{
			name: "elastic maxReplicas only: min follows",
			job:  decode(t, workersOnly, `elasticPolicy: {maxReplicas: 4, rdzvBackend: etcd-v2}`),
			rt:   "Worker", index: 0,
			want: []corev1.EnvVar{
				ev("PYTHONUNBUFFERED", "1"),
				ev("PET_NPROC_PER_NODE", "auto"),
				ev("PET_RDZV_ENDPOINT", "elastic-worker-0:23456"),
				ev("PET_RDZV_BACKEND", "etcd-v2"),
				ev("PET_NNODES", "4:4"),
			},
		},
		{
			name: "deprecated elastic nProcPerNode replaces the auto default; standalone",
			job:  decode(t, workersOnly, `elasticPolicy: {minReplicas: 1, maxReplicas: 2, nProcPerNode: 8, standalone: true}`),
			rt:   "Worker", index: 0,
			want: []corev1.EnvVar{
				ev("PYTHONUNBUFFERED", "1"),
				ev("PET_RDZV_ENDPOINT", "elastic-worker-0:23456"),
				ev("PET_RDZV_BACKEND", "c10d"),
				ev("PET_NNODES", "1:2"),
				ev("PET_NPROC_PER_NODE", "8"),
				ev("PET_STANDALONE", ""),
			},
		},
		{
			name: "elastic with a master",
			job:  decode(t, masterWorker, `elasticPolicy: {minReplicas: 2, maxReplicas: 4}`),
			rt:   "Worker", index: 0,
			want: []corev1.EnvVar{
				ev("PYTHONUNBUFFERED", "1"),
				ev("MASTER_PORT", "8080"), ev("PET_MASTER_PORT", "8080"),
				ev("MASTER_ADDR", "test-job-master-0"), ev("PET_MASTER_ADDR", "test-job-master-0"),
				ev("WORLD_SIZE", "3"), ev("RANK", "1"), ev("PET_NODE_RANK", "1"),
				ev("PET_NPROC_PER_NODE", "auto"),
				ev("PET_RDZV_ENDPOINT", "test-job-worker-0:8080"),
				ev("PET_RDZV_BACKEND", "c10d"),
				ev("PET_NNODES", "2:4"),
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pod, err := engine.DesiredPod(pytorch.New(), tc.job, tc.rt, tc.index)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, fwtest.Env(pod, "pytorch")); diff != "" {
				t.Errorf("env (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEnvOnEveryContainer(t *testing.T) {
	j := fwtest.Decode[trainingv1.PyTorchJob](t, `
metadata: {name: j, namespace: ns}
spec:
  pytorchReplicaSpecs:
    Worker:
      template:
        spec:
          containers: [{name: pytorch, image: i}, {name: logger, image: l, env: [{name: X, value: "1"}]}]`)
	pod, err := engine.DesiredPod(pytorch.New(), j, "Worker", 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []corev1.EnvVar{ev("X", "1"), ev("PYTHONUNBUFFERED", "1"), ev("PET_NPROC_PER_NODE", "auto"), ev("PET_NNODES", "1")}
	if diff := cmp.Diff(want, fwtest.Env(pod, "logger")); diff != "" {
		t.Errorf("logger env (-want +got):\n%s", diff)
	}
	// The lone worker 0 leads a job without master.
	if pod.Labels[trainingv1.JobRoleLabel] != "master" {
		t.Errorf("worker 0 of a masterless job: labels %v", pod.Labels)
	}
}

func initContainer(image string, tries string, master string) corev1.Container {
	return corev1.Container{
		Name:            "init-pytorch",
		Image:           image,
		ImagePullPolicy: corev1.PullIfNotPresent,
		Command: []string{"sh", "-c", "err=1;for i in $(seq " + tries + "); do if nslookup " + master +
			"; then err=0 && break; fi;echo waiting for master; sleep 2; done; exit $err"},
		Resources: corev1.ResourceRequirements{
			Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("20Mi")},
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("50m"), corev1.ResourceMemory: resource.MustParse("10Mi")},
		},
		SecurityContext: &corev1.SecurityContext{
			RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](65532), RunAsGroup: ptr.To[int64](65532),
			AllowPrivilegeEscalation: ptr.To(false),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
	}
}

func TestInitContainer(t *testing.T) {
	cases := []struct {
		name  string
		fw    *pytorch.Framework
		job   string
		rt    trainingv1.ReplicaType
		want  []corev1.Container
		extra string
	}{
		{"worker waits for the master", pytorch.New(), masterWorker, "Worker",
			[]corev1.Container{initContainer("alpine:3.10", "100", "test-job-master-0")}, ""},
		{"configured image and tries", pytorch.New(pytorch.WithInitContainerImage("kfup/busybox:1"), pytorch.WithInitContainerMaxTries(5)),
			masterWorker, "Worker", []corev1.Container{initContainer("kfup/busybox:1", "5", "test-job-master-0")}, ""},
		{"turned off", pytorch.New(pytorch.WithInitContainerImage("")), masterWorker, "Worker", nil, ""},
		{"not on the master", pytorch.New(), masterWorker, "Master", nil, ""},
		{"not without a master", pytorch.New(), workersOnly, "Worker", nil, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pod, err := engine.DesiredPod(tc.fw, decode(t, tc.job, tc.extra), tc.rt, 0)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, pod.Spec.InitContainers, fwtest.EquateQuantities); diff != "" {
				t.Errorf("init containers (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPodsServicesAndLabels(t *testing.T) {
	j := decode(t, masterWorker, "")
	j.UID = "uid-1"
	c, err := engine.Desired(pytorch.New(), j, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"test-job-master-0", "test-job-worker-0", "test-job-worker-1"}, fwtest.Names(c.Pods)); diff != "" {
		t.Errorf("pods (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"test-job-master-0", "test-job-worker-0", "test-job-worker-1"}, fwtest.Names(c.Services)); diff != "" {
		t.Errorf("services (-want +got):\n%s", diff)
	}
	if len(c.Extras) != 0 {
		t.Errorf("extras %v, want none", c.Extras)
	}
	master := c.Pods[0]
	wantLabels := map[string]string{
		"training.kubeflow.org/operator-name": "pytorchjob-controller",
		"training.kubeflow.org/job-name":      "test-job",
		"training.kubeflow.org/replica-type":  "master",
		"training.kubeflow.org/replica-index": "0",
		"training.kubeflow.org/job-role":      "master",
	}
	if diff := cmp.Diff(wantLabels, master.Labels); diff != "" {
		t.Errorf("master labels (-want +got):\n%s", diff)
	}
	// Upstream's controller test: the owner reference and the master service's port.
	wantOwner := []metav1.OwnerReference{{APIVersion: "kubeflow.org/v1", Kind: "PyTorchJob", Name: "test-job", UID: "uid-1",
		Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}}
	if diff := cmp.Diff(wantOwner, master.OwnerReferences); diff != "" {
		t.Errorf("owner (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantOwner, c.Services[0].OwnerReferences); diff != "" {
		t.Errorf("service owner (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]corev1.ServicePort{{Name: "pytorchjob-port", Port: 8080}}, c.Services[0].Spec.Ports); diff != "" {
		t.Errorf("master service ports (-want +got):\n%s", diff)
	}
	// PyTorchJob replicas default to OnFailure.
	if master.Spec.RestartPolicy != corev1.RestartPolicyOnFailure {
		t.Errorf("restartPolicy %q, want OnFailure", master.Spec.RestartPolicy)
	}
	if c.Pods[1].Labels[trainingv1.JobRoleLabel] != "" {
		t.Errorf("worker 0 of a job with master has job-role %q", c.Pods[1].Labels[trainingv1.JobRoleLabel])
	}
}

func TestMasterWithoutPort(t *testing.T) {
	// A master whose framework container is not called pytorch gets the default port on its
	// first container, where MASTER_PORT is not looked for: upstream fails the same way.
	j := fwtest.Decode[trainingv1.PyTorchJob](t, `
metadata: {name: j, namespace: ns}
spec:
  pytorchReplicaSpecs:
    Master: {template: {spec: {containers: [{name: trainer, image: i}]}}}`)
	_, err := engine.DesiredPods(pytorch.New(), j)
	if err == nil || !strings.Contains(err.Error(), `no port "pytorchjob-port"`) {
		t.Errorf("error %v, want a missing port", err)
	}
}

func TestHPA(t *testing.T) {
	metrics := `metrics: [{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 80}}}]`
	cases := []struct {
		name string
		spec string
		want *autoscalingv2.HorizontalPodAutoscaler
	}{
		{"no elastic policy", ``, nil},
		{"elastic without metrics", `elasticPolicy: {minReplicas: 1, maxReplicas: 3}`, nil},
		{"suspended", "runPolicy: {suspend: true}\n  elasticPolicy: {minReplicas: 1, maxReplicas: 3, " + metrics + "}", nil},
		{"elastic with metrics", `elasticPolicy: {minReplicas: 1, maxReplicas: 3, ` + metrics + `}`,
			&autoscalingv2.HorizontalPodAutoscaler{
				TypeMeta: metav1.TypeMeta{APIVersion: "autoscaling/v2", Kind: "HorizontalPodAutoscaler"},
				ObjectMeta: metav1.ObjectMeta{Name: "elastic", Namespace: "ns", Labels: map[string]string{
					"training.kubeflow.org/operator-name": "pytorchjob-controller", "training.kubeflow.org/job-name": "elastic",
				}, OwnerReferences: []metav1.OwnerReference{{
					APIVersion: "kubeflow.org/v1", Kind: "PyTorchJob", Name: "elastic", Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
				}}},
				Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
					ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "kubeflow.org/v1", Kind: "PyTorchJob", Name: "elastic"},
					MinReplicas:    ptr.To[int32](1),
					MaxReplicas:    3,
					Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
						Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](80)},
					}}},
				},
			}},
		{"elastic with metrics, min and max from the workers", `elasticPolicy: {` + metrics + `}`,
			&autoscalingv2.HorizontalPodAutoscaler{
				TypeMeta: metav1.TypeMeta{APIVersion: "autoscaling/v2", Kind: "HorizontalPodAutoscaler"},
				ObjectMeta: metav1.ObjectMeta{Name: "elastic", Namespace: "ns", Labels: map[string]string{
					"training.kubeflow.org/operator-name": "pytorchjob-controller", "training.kubeflow.org/job-name": "elastic",
				}, OwnerReferences: []metav1.OwnerReference{{
					APIVersion: "kubeflow.org/v1", Kind: "PyTorchJob", Name: "elastic", Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
				}}},
				Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
					ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "kubeflow.org/v1", Kind: "PyTorchJob", Name: "elastic"},
					MinReplicas:    ptr.To[int32](2),
					MaxReplicas:    2,
					Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
						Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](80)},
					}}},
				},
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			extras, err := engine.DesiredExtras(pytorch.New(), decode(t, workersOnly, tc.spec), nil)
			if err != nil {
				t.Fatal(err)
			}
			var got *autoscalingv2.HorizontalPodAutoscaler
			if len(extras) > 1 {
				t.Fatalf("extras %v, want at most an HPA", extras)
			}
			if len(extras) == 1 {
				got = extras[0].(*autoscalingv2.HorizontalPodAutoscaler)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("HPA (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	cases := []struct {
		name       string
		spec       string
		wantNproc  *string
		wantMinMax [2]*int32
	}{
		{"nprocPerNode auto", ``, ptr.To("auto"), [2]*int32{}},
		{"nprocPerNode kept", `nprocPerNode: "2"`, ptr.To("2"), [2]*int32{}},
		{"elastic nProcPerNode: no auto", `elasticPolicy: {nProcPerNode: 2}`, nil, [2]*int32{ptr.To[int32](2), ptr.To[int32](2)}},
		{"elastic min only", `elasticPolicy: {minReplicas: 1}`, ptr.To("auto"), [2]*int32{ptr.To[int32](1), ptr.To[int32](1)}},
		{"elastic both", `elasticPolicy: {minReplicas: 1, maxReplicas: 5}`, ptr.To("auto"), [2]*int32{ptr.To[int32](1), ptr.To[int32](5)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, err := engine.Defaulted(pytorch.New(), decode(t, workersOnly, tc.spec))
			if err != nil {
				t.Fatal(err)
			}
			j := d.(*trainingv1.PyTorchJob)
			if diff := cmp.Diff(tc.wantNproc, j.Spec.NprocPerNode); diff != "" {
				t.Errorf("nprocPerNode (-want +got):\n%s", diff)
			}
			var got [2]*int32
			if ep := j.Spec.ElasticPolicy; ep != nil {
				got = [2]*int32{ep.MinReplicas, ep.MaxReplicas}
			}
			if diff := cmp.Diff(tc.wantMinMax, got); diff != "" {
				t.Errorf("elastic min/max (-want +got):\n%s", diff)
			}
			w := j.Spec.PyTorchReplicaSpecs["Worker"]
			if w.RestartPolicy != trainingv1.RestartPolicyOnFailure || *j.Spec.RunPolicy.CleanPodPolicy != trainingv1.CleanPodPolicyNone {
				t.Errorf("defaults: %+v", j.Spec)
			}
			if diff := cmp.Diff([]corev1.ContainerPort{{Name: "pytorchjob-port", ContainerPort: 23456}}, w.Template.Spec.Containers[0].Ports); diff != "" {
				t.Errorf("ports (-want +got):\n%s", diff)
			}
		})
	}
}

func TestInitContainerCommand(t *testing.T) {
	fw := pytorch.New(pytorch.WithInitContainerImage("kfup.local/kfup-manager:abc"), pytorch.WithInitContainerCommand([]string{"/kfup", "agent", "wait-for-host"}))
	job := &trainingv1.PyTorchJob{
		ObjectMeta: metav1.ObjectMeta{Name: "j", Namespace: "ns"},
		Spec: trainingv1.PyTorchJobSpec{PyTorchReplicaSpecs: map[trainingv1.ReplicaType]*trainingv1.ReplicaSpec{
			"Master": {Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "pytorch", Image: "x"}}}}},
			"Worker": {Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "pytorch", Image: "x"}}}}},
		}},
	}
	pods, err := engine.DesiredPods(fw, job)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods {
		if p.Name != "j-worker-0" {
			continue
		}
		ic := p.Spec.InitContainers
		if len(ic) != 1 || ic[0].Image != "kfup.local/kfup-manager:abc" ||
			strings.Join(ic[0].Command, " ") != "/kfup agent wait-for-host j-master-0" {
			t.Fatalf("init containers: %+v", ic)
		}
		return
	}
	t.Fatal("no worker pod")
}
