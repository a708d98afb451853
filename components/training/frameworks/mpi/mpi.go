// Package mpi is the MPIJob (kubeflow.org/v1) plug-in of the training engine. It computes
// the same children as the Kubeflow Training Operator v1.9's MPIJob controller:
//
//   - worker pods "<job>-worker-<i>" (labels replica-type=worker and replica-index) whose
//     first container runs "sleep 365d" when it has no command: MPI's daemons are started
//     into them by the launcher;
//   - one launcher pod "<job>-launcher" (replica-type=launcher, job-role=master, no
//     replica-index) that runs mpirun;
//   - no services: the launcher addresses workers by pod name, not by DNS;
//   - the ConfigMap "<job>-config" with the hostfile ("<job>-worker-<i> slots=<n>" per
//     worker, preceded by "<job>-launcher slots=<n>" when the launcher has a GPU), the
//     same without the launcher (workers_hostfile, for the launcher's init container),
//     kubexec.sh and discover_hosts.sh (the running workers, for Horovod elastic);
//   - the launcher's ServiceAccount, Role and RoleBinding "<job>-launcher": read pods,
//     exec into the job's workers.
//
// # Bootstrap without ssh
//
// mpirun starts its daemons (OpenMPI's orted, Intel MPI's hydra_pmi_proxy) on the hosts of
// the hostfile through a "remote shell agent". The usual agent is ssh, which needs sshd and
// host/user keys in every worker image, plus the keys' distribution: the reason many MPI
// images do not run under a plain Kubernetes controller. The v1 MPIJob design, kept here,
// needs none of that:
//
//   - The launcher's environment points both MPI implementations at /etc/mpi/kubexec.sh
//     instead of ssh: OMPI_MCA_plm_rsh_agent for OpenMPI, I_MPI_HYDRA_BOOTSTRAP=rsh with
//     I_MPI_HYDRA_BOOTSTRAP_EXEC for Intel MPI (unless the template sets them), and
//     OMPI_MCA_orte_default_hostfile to /etc/mpi/hostfile, so a bare "mpirun -np 2 prog"
//     finds the workers.
//   - kubexec.sh is called as "kubexec.sh <host> <command...>" and runs
//     "/opt/kube/kubectl exec <host> [--container <mainContainer>] -- /bin/sh -c <command>":
//     the host is a worker pod's name, and the daemon runs in the worker through the API
//     server's exec, authorised by the launcher's Role (pods/exec on exactly the job's
//     worker pods). Daemons then connect back to mpirun over TCP by pod IP, and to each
//     other, as with ssh. Workers need only /bin/sh and the MPI runtime.
//   - The exec client reaches the launcher through an init container ("kubectl-delivery")
//     that copies it to /opt/kube (an emptyDir) and waits until every worker of the
//     hostfile runs, so mpirun does not start against pending pods. Its /etc/mpi/hostfile
//     lists the workers only: a GPU launcher, a host of mpirun's hostfile, must not wait
//     for its own pod, Pending until the init container ends. The image is
//     WithDeliveryImage: upstream's kubeflow/kubectl-delivery by default; kfup's own image
//     can play the part (its binary installed as /opt/kube/kubectl, answering
//     "kubectl exec POD [--container C] -- CMD..." over the exec subresource), which keeps
//     air-gapped clusters free of a third-party image. No key is generated, stored in a
//     Secret or baked into an image.
//
// Launchers without a GPU get NVIDIA_VISIBLE_DEVICES and NVIDIA_DRIVER_CAPABILITIES set
// empty, so a GPU image does not grab the node's GPUs for mpirun.
package mpi

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	"github.com/kfup/kfup/components/training/engine"
)

const (
	// ControllerName is the operator-name label of MPIJob children.
	ControllerName = "mpijob-controller"
	// DefaultRestartPolicy is the restart policy of replicas that set none.
	DefaultRestartPolicy = trainingv1.RestartPolicyNever
	// DefaultDeliveryImage is the image of the launcher's init container (upstream's
	// --mpi-kubectl-delivery-image default).
	DefaultDeliveryImage = "kubeflow/kubectl-delivery:latest"

	// ConfigSuffix ends the name of the job's ConfigMap: "<job>-config".
	ConfigSuffix = "-config"
	// DefaultCleanPodPolicy is kfup's cleanPodPolicy for an MPIJob that sets none:
	// Running. Upstream's default is None, which leaves the workers running once the
	// launcher is done: they only ever wait for the launcher's exec (their command is
	// usually a sleep or an sshd), so they would hold their CPUs, memory and GPUs until the
	// job is deleted. Under Running they are deleted when the job finishes; the launcher
	// and any worker that ended keep their pods (and logs). An explicit None keeps them.
	DefaultCleanPodPolicy = trainingv1.CleanPodPolicyRunning
	// LauncherSuffix ends the name of the launcher pod and its RBAC: "<job>-launcher".
	LauncherSuffix = "-launcher"

	// ConfigMountPath is where the ConfigMap is mounted in launcher and workers.
	ConfigMountPath = "/etc/mpi"
	// KubectlMountPath is where the delivered exec client lives in the launcher.
	KubectlMountPath = "/opt/kube"

	// HostfileKey, KubexecKey and DiscoverHostsKey are the ConfigMap's keys (and files).
	HostfileKey      = "hostfile"
	KubexecKey       = "kubexec.sh"
	DiscoverHostsKey = "discover_hosts.sh"
	// WorkersHostfileKey is the hostfile without the launcher's line: the launcher's init
	// container sees it as its /etc/mpi/hostfile and waits for these hosts only.
	WorkersHostfileKey = "workers_hostfile"

	configVolumeName  = "mpi-job-config"
	workersVolumeName = "mpi-job-workers"
	kubectlVolumeName = "mpi-job-kubectl"
	deliveryName      = "kubectl-delivery"
	workerSuffix      = "-worker"
	iMPIBootstrap     = "rsh"
)

// Environment variables set on the launcher's first container.
const (
	EnvOMPIRshAgent             = "OMPI_MCA_plm_rsh_agent"
	EnvOMPIHostfile             = "OMPI_MCA_orte_default_hostfile"
	EnvNvidiaVisibleDevices     = "NVIDIA_VISIBLE_DEVICES"
	EnvNvidiaDriverCapabilities = "NVIDIA_DRIVER_CAPABILITIES"
	EnvIMPIBootstrap            = "I_MPI_HYDRA_BOOTSTRAP"
	EnvIMPIBootstrapExec        = "I_MPI_HYDRA_BOOTSTRAP_EXEC"
)

// kind is the MPIJob kind: its names, default container and port, replica types and
// where the job keeps its replica specs, run policy and status.
var kind = engine.KindSpec[*trainingv1.MPIJob]{
	KindName: trainingv1.MPIJobKind, Controller: ControllerName,
	Container: trainingv1.MPIJobDefaultContainerName,
	Types:     []trainingv1.ReplicaType{trainingv1.MPIJobReplicaTypeLauncher, trainingv1.MPIJobReplicaTypeWorker},
	New:       func() *trainingv1.MPIJob { return &trainingv1.MPIJob{} },
	Specs: func(j *trainingv1.MPIJob) map[trainingv1.ReplicaType]*trainingv1.ReplicaSpec {
		return j.Spec.MPIReplicaSpecs
	},
	Policy:   func(j *trainingv1.MPIJob) *trainingv1.RunPolicy { return &j.Spec.RunPolicy },
	StatusOf: func(j *trainingv1.MPIJob) *trainingv1.JobStatus { return &j.Status },
}

// Framework is the MPIJob plug-in.
type Framework struct {
	engine.KindSpec[*trainingv1.MPIJob]

	deliveryImage   string
	deliveryCommand []string
}

var (
	_ engine.Framework     = (*Framework)(nil)
	_ engine.PodCustomizer = (*Framework)(nil)
	_ engine.Serviceless   = (*Framework)(nil)
	_ engine.ExtraObjects  = (*Framework)(nil)
)

// Option configures the plug-in.
type Option interface{ apply(*Framework) }

type optionFunc func(*Framework)

func (f optionFunc) apply(fw *Framework) { f(fw) }

// WithDeliveryImage sets the image of the launcher's init container, which must install an
// exec client as /opt/kube/kubectl ($TARGET_DIR) and wait for the workers of
// /etc/mpi/hostfile in $NAMESPACE to run.
func WithDeliveryImage(image string) Option {
	return optionFunc(func(fw *Framework) { fw.deliveryImage = image })
}

// WithDeliveryCommand sets that init container's command; nil (the default) runs the
// image's entrypoint, as upstream does.
func WithDeliveryCommand(cmd ...string) Option {
	return optionFunc(func(fw *Framework) { fw.deliveryCommand = cmd })
}

// New returns the MPIJob plug-in.
func New(opts ...Option) *Framework {
	fw := &Framework{KindSpec: kind, deliveryImage: DefaultDeliveryImage}
	for _, o := range opts {
		o.apply(fw)
	}
	return fw
}

// Serviceless marks MPIJob as having no services.
func (*Framework) Serviceless() {}

func mpiJob(job engine.Job) *trainingv1.MPIJob { return job.(*trainingv1.MPIJob) }

// SetDefaults applies MPIJob's defaults: cleanPodPolicy DefaultCleanPodPolicy when neither
// spec.cleanPodPolicy nor spec.runPolicy.cleanPodPolicy is set, else both set to the value
// of runPolicy's if set, spec's otherwise (as upstream's reconciler merges them); launcher
// replicas 1, worker replicas 0; restart policy Never.
func (*Framework) SetDefaults(job engine.Job) {
	j := mpiJob(job)
	policy := j.Spec.CleanPodPolicy
	if j.Spec.RunPolicy.CleanPodPolicy != nil {
		policy = j.Spec.RunPolicy.CleanPodPolicy
	}
	if policy == nil {
		policy = ptr.To(DefaultCleanPodPolicy)
	}
	j.Spec.CleanPodPolicy = ptr.To(*policy)
	j.Spec.RunPolicy.CleanPodPolicy = ptr.To(*policy)

	launcher := j.Spec.MPIReplicaSpecs[trainingv1.MPIJobReplicaTypeLauncher]
	worker := j.Spec.MPIReplicaSpecs[trainingv1.MPIJobReplicaTypeWorker]
	engine.SetDefaultReplicas(launcher, 1)
	engine.SetDefaultReplicas(worker, 0)
	engine.SetDefaultRestartPolicy(launcher, DefaultRestartPolicy)
	engine.SetDefaultRestartPolicy(worker, DefaultRestartPolicy)
}

// IsMasterRole is true for the Launcher.
func (*Framework) IsMasterRole(_ map[trainingv1.ReplicaType]*trainingv1.ReplicaSpec, rtype trainingv1.ReplicaType, _ int) bool {
	return rtype == trainingv1.MPIJobReplicaTypeLauncher
}

// LauncherName is "<job>-launcher", the launcher pod's name and its RBAC objects'.
func LauncherName(job string) string { return job + LauncherSuffix }

// WorkerName is "<job>-worker-<i>".
func WorkerName(job string, i int) string { return fmt.Sprintf("%s%s-%d", job, workerSuffix, i) }

// ConfigMapName is "<job>-config".
func ConfigMapName(job string) string { return job + ConfigSuffix }

// SetClusterSpec wires the launcher (exec client, hostfile, MPI environment) or a worker
// (a command that keeps it up, kubexec.sh) to the bootstrap.
func (fw *Framework) SetClusterSpec(job engine.Job, rtype trainingv1.ReplicaType, _ int, tmpl *corev1.PodTemplateSpec) error {
	j := mpiJob(job)
	switch rtype {
	case trainingv1.MPIJobReplicaTypeLauncher:
		return fw.setLauncher(j, tmpl)
	case trainingv1.MPIJobReplicaTypeWorker:
		return setWorker(j, tmpl)
	}
	return nil
}

func setWorker(j *trainingv1.MPIJob, tmpl *corev1.PodTemplateSpec) error {
	if len(tmpl.Spec.Containers) == 0 {
		return fmt.Errorf("worker pod template has no containers")
	}
	c := &tmpl.Spec.Containers[0]
	if len(c.Command) == 0 {
		c.Command = []string{"sleep"}
		c.Args = []string{"365d"}
	}
	c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: configVolumeName, MountPath: ConfigMountPath})
	tmpl.Spec.Volumes = append(tmpl.Spec.Volumes, corev1.Volume{
		Name: configVolumeName,
		VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: ConfigMapName(j.Name)},
			Items:                []corev1.KeyToPath{{Key: KubexecKey, Path: KubexecKey, Mode: ptr.To[int32](0o555)}},
		}},
	})
	return nil
}

func (fw *Framework) setLauncher(j *trainingv1.MPIJob, tmpl *corev1.PodTemplateSpec) error {
	if len(tmpl.Spec.Containers) == 0 {
		return fmt.Errorf("launcher pod template has no containers")
	}
	if tmpl.Spec.ServiceAccountName == "" {
		tmpl.Spec.ServiceAccountName = LauncherName(j.Name)
	}

	tmpl.Spec.InitContainers = append(tmpl.Spec.InitContainers, corev1.Container{
		Name:            deliveryName,
		Image:           fw.deliveryImage,
		Command:         slices.Clone(fw.deliveryCommand),
		ImagePullPolicy: corev1.PullIfNotPresent,
		Env: []corev1.EnvVar{
			engine.EnvVar("TARGET_DIR", KubectlMountPath),
			engine.EnvVar("NAMESPACE", j.Namespace),
		},
		VolumeMounts: []corev1.VolumeMount{
			{Name: kubectlVolumeName, MountPath: KubectlMountPath},
			{Name: workersVolumeName, MountPath: ConfigMountPath},
		},
		Resources:       corev1.ResourceRequirements{Limits: deliveryResources.DeepCopy(), Requests: deliveryResources.DeepCopy()},
		SecurityContext: engine.HelperSecurityContext(),
	})

	c := &tmpl.Spec.Containers[0]
	kubexec := ConfigMountPath + "/" + KubexecKey
	engine.AddEnv(c,
		engine.EnvVar(EnvOMPIRshAgent, kubexec),
		engine.EnvVar(EnvOMPIHostfile, ConfigMountPath+"/"+HostfileKey),
	)
	if !IsGPULauncher(j) {
		engine.AddEnv(c,
			engine.EnvVar(EnvNvidiaVisibleDevices, ""),
			engine.EnvVar(EnvNvidiaDriverCapabilities, ""),
		)
	}
	hasBootstrap := slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == EnvIMPIBootstrap })
	hasExec := slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == EnvIMPIBootstrapExec })
	if !hasBootstrap {
		engine.AddEnv(c, engine.EnvVar(EnvIMPIBootstrap, iMPIBootstrap))
	}
	if !hasExec {
		engine.AddEnv(c, engine.EnvVar(EnvIMPIBootstrapExec, kubexec))
	}
	c.VolumeMounts = append(c.VolumeMounts,
		corev1.VolumeMount{Name: kubectlVolumeName, MountPath: KubectlMountPath},
		corev1.VolumeMount{Name: configVolumeName, MountPath: ConfigMountPath},
	)

	tmpl.Spec.Volumes = append(tmpl.Spec.Volumes,
		corev1.Volume{Name: kubectlVolumeName, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		corev1.Volume{Name: configVolumeName, VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: ConfigMapName(j.Name)},
			Items: []corev1.KeyToPath{
				{Key: KubexecKey, Path: KubexecKey, Mode: ptr.To[int32](0o555)},
				{Key: HostfileKey, Path: HostfileKey, Mode: ptr.To[int32](0o444)},
				{Key: DiscoverHostsKey, Path: DiscoverHostsKey, Mode: ptr.To[int32](0o555)},
			},
		}}},
		corev1.Volume{Name: workersVolumeName, VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: ConfigMapName(j.Name)},
			Items:                []corev1.KeyToPath{{Key: WorkersHostfileKey, Path: HostfileKey, Mode: ptr.To[int32](0o444)}},
		}}},
	)
	return nil
}

// deliveryResources are the delivery init container's requests and limits, as upstream's.
var deliveryResources = corev1.ResourceList{
	corev1.ResourceCPU:              resource.MustParse("100m"),
	corev1.ResourceMemory:           resource.MustParse("512Mi"),
	corev1.ResourceEphemeralStorage: resource.MustParse("5Gi"),
}

// CustomizePod names the launcher "<job>-launcher" and drops its replica-index label, as
// upstream's launcher has neither index in name nor label.
func (*Framework) CustomizePod(job engine.Job, rtype trainingv1.ReplicaType, _ int, pod *corev1.Pod) error {
	if rtype == trainingv1.MPIJobReplicaTypeLauncher {
		pod.Name = LauncherName(job.GetName())
		delete(pod.Labels, trainingv1.ReplicaIndexLabel)
	}
	return nil
}

// IsGPULauncher says whether a launcher container asks for a GPU: a resource limit named
// "*.com/gpu" or containing "gpu". A GPU launcher is also listed in the hostfile.
func IsGPULauncher(j *trainingv1.MPIJob) bool {
	launcher := j.Spec.MPIReplicaSpecs[trainingv1.MPIJobReplicaTypeLauncher]
	if launcher == nil {
		return false
	}
	for _, c := range launcher.Template.Spec.Containers {
		for name := range c.Resources.Limits {
			if strings.HasSuffix(string(name), ".com/gpu") || strings.Contains(string(name), "gpu") {
				return true
			}
		}
	}
	return false
}

func slots(j *trainingv1.MPIJob) int {
	if j.Spec.SlotsPerWorker != nil {
		return int(*j.Spec.SlotsPerWorker)
	}
	return 1
}

// Hostfile is the OpenMPI hostfile: "<job>-worker-<i> slots=<slotsPerWorker>" per worker,
// preceded by the launcher's line when it has a GPU.
func Hostfile(j *trainingv1.MPIJob) string {
	if IsGPULauncher(j) {
		return fmt.Sprintf("%s slots=%d\n", LauncherName(j.Name), slots(j)) + WorkersHostfile(j)
	}
	return WorkersHostfile(j)
}

// WorkersHostfile is the hostfile's worker lines: the hosts the launcher waits for.
func WorkersHostfile(j *trainingv1.MPIJob) string {
	var b strings.Builder
	n := slots(j)
	for i := range int(engine.ReplicaCount(j.Spec.MPIReplicaSpecs[trainingv1.MPIJobReplicaTypeWorker])) {
		fmt.Fprintf(&b, "%s slots=%d\n", WorkerName(j.Name, i), n)
	}
	return b.String()
}

// Kubexec is kubexec.sh, mpirun's remote shell agent: it runs its arguments in the pod
// named by its first argument (in mainContainer when the job names one).
func Kubexec(j *trainingv1.MPIJob) string {
	s := "#!/bin/sh\nset -x\nPOD_NAME=$1\nshift\n" + KubectlMountPath + "/kubectl exec ${POD_NAME}"
	if j.Spec.MainContainer != "" {
		s += " --container " + j.Spec.MainContainer
	}
	return s + ` -- /bin/sh -c "$*"`
}

// DiscoverHosts is discover_hosts.sh, Horovod elastic's host discovery script: it echoes
// "<pod>:<slots>" for each running worker (sorted by name), after the launcher's line when
// it has a GPU.
func DiscoverHosts(j *trainingv1.MPIJob, runningWorkers []string) string {
	n := slots(j)
	s := "#!/bin/sh"
	if IsGPULauncher(j) {
		s += fmt.Sprintf("\necho %s:%d\n", LauncherName(j.Name), n)
	}
	for _, w := range slices.Sorted(slices.Values(runningWorkers)) {
		s += fmt.Sprintf("\necho %s:%d", w, n)
	}
	return s
}

// RunningWorkers names the pods among pods that are this job's running workers.
func RunningWorkers(j *trainingv1.MPIJob, pods []*corev1.Pod) []string {
	var names []string
	for _, p := range pods {
		if p.Status.Phase == corev1.PodRunning && isWorker(j, p) {
			names = append(names, p.Name)
		}
	}
	return names
}

// isWorker says whether p is a worker pod of j: its labels, and j as its controller when
// p has owner references (desired-state tests pass bare pods).
func isWorker(j *trainingv1.MPIJob, p *corev1.Pod) bool {
	if c := metav1.GetControllerOfNoCopy(p); c != nil && c.UID != j.UID {
		return false
	}
	return p.Labels[trainingv1.JobNameLabel] == j.Name &&
		p.Labels[trainingv1.OperatorNameLabel] == ControllerName &&
		p.Labels[trainingv1.ReplicaTypeLabel] == strings.ToLower(string(trainingv1.MPIJobReplicaTypeWorker))
}

// objectMeta is the metadata of an extra child: upstream's "app" label plus the job's
// labels (an orphan of an earlier job of the name is adopted by them), the job as owner.
func objectMeta(j *trainingv1.MPIJob, name string) metav1.ObjectMeta {
	labels := engine.JobLabels(New(), j.Name)
	labels["app"] = j.Name
	return metav1.ObjectMeta{
		Name:            name,
		Namespace:       j.Namespace,
		Labels:          labels,
		OwnerReferences: []metav1.OwnerReference{engine.OwnerReference(New(), j)},
	}
}

// DesiredConfigMap is "<job>-config": hostfile, workers_hostfile, kubexec.sh and
// discover_hosts.sh listing runningWorkers.
func DesiredConfigMap(j *trainingv1.MPIJob, runningWorkers []string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: objectMeta(j, ConfigMapName(j.Name)),
		Data: map[string]string{
			HostfileKey:        Hostfile(j),
			WorkersHostfileKey: WorkersHostfile(j),
			KubexecKey:         Kubexec(j),
			DiscoverHostsKey:   DiscoverHosts(j, runningWorkers),
		},
	}
}

// launcherServiceAccountName is the template's service account, or "<job>-launcher".
func launcherServiceAccountName(j *trainingv1.MPIJob) string {
	if l := j.Spec.MPIReplicaSpecs[trainingv1.MPIJobReplicaTypeLauncher]; l != nil && l.Template.Spec.ServiceAccountName != "" {
		return l.Template.Spec.ServiceAccountName
	}
	return LauncherName(j.Name)
}

// DesiredServiceAccount is the launcher's service account "<job>-launcher", or nil when
// the launcher template names its own (which must then exist: kfup does not own, and so
// will not delete, a service account the user named).
func DesiredServiceAccount(j *trainingv1.MPIJob) *corev1.ServiceAccount {
	if launcherServiceAccountName(j) != LauncherName(j.Name) {
		return nil
	}
	return &corev1.ServiceAccount{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"},
		ObjectMeta: objectMeta(j, LauncherName(j.Name)),
	}
}

// DesiredRole is the launcher's Role "<job>-launcher": get/list/watch pods, and create
// pods/exec on the job's worker pods only: the workers among pods (the job's current
// pods), never a name the job wants but someone else's pod holds. A job without such
// workers gets no exec rule (an empty resourceNames list would allow exec into every pod
// of the namespace); the Role grows as the workers are created.
func DesiredRole(j *trainingv1.MPIJob, pods []*corev1.Pod) *rbacv1.Role {
	rules := []rbacv1.PolicyRule{{
		Verbs:     []string{"get", "list", "watch"},
		APIGroups: []string{""},
		Resources: []string{"pods"},
	}}
	n := int(engine.ReplicaCount(j.Spec.MPIReplicaSpecs[trainingv1.MPIJobReplicaTypeWorker]))
	var names []string
	for i := range n {
		if slices.ContainsFunc(pods, func(p *corev1.Pod) bool { return isWorker(j, p) && p.Name == WorkerName(j.Name, i) }) {
			names = append(names, WorkerName(j.Name, i))
		}
	}
	if len(names) > 0 {
		rules = append(rules, rbacv1.PolicyRule{
			Verbs:         []string{"create"},
			APIGroups:     []string{""},
			Resources:     []string{"pods/exec"},
			ResourceNames: names,
		})
	}
	return &rbacv1.Role{
		TypeMeta:   metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: "Role"},
		ObjectMeta: objectMeta(j, LauncherName(j.Name)),
		Rules:      rules,
	}
}

// DesiredRoleBinding binds the launcher's Role to its service account.
func DesiredRoleBinding(j *trainingv1.MPIJob) *rbacv1.RoleBinding {
	return &rbacv1.RoleBinding{
		TypeMeta:   metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: "RoleBinding"},
		ObjectMeta: objectMeta(j, LauncherName(j.Name)),
		Subjects: []rbacv1.Subject{{
			Kind:      rbacv1.ServiceAccountKind,
			Name:      launcherServiceAccountName(j),
			Namespace: j.Namespace,
		}},
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: LauncherName(j.Name)},
	}
}

// DesiredExtras are the ConfigMap (its discover_hosts.sh listing the running workers among
// pods), the launcher's ServiceAccount (unless the template names one), Role (exec into
// the workers among pods) and RoleBinding.
func (*Framework) DesiredExtras(job engine.Job, pods []*corev1.Pod) ([]engine.Object, error) {
	j := mpiJob(job)
	if c := j.Spec.MainContainer; c != "" {
		// kubexec.sh is a shell script: only a container name may reach it (the API
		// server checks this too, but not for jobs stored before it did)
		if errs := validation.IsDNS1123Label(c); len(errs) > 0 {
			return nil, fmt.Errorf("spec.mainContainer %q is not a container name: %s", c, strings.Join(errs, "; "))
		}
	}
	out := []engine.Object{DesiredConfigMap(j, RunningWorkers(j, pods))}
	if sa := DesiredServiceAccount(j); sa != nil {
		out = append(out, sa)
	}
	return append(out, DesiredRole(j, pods), DesiredRoleBinding(j)), nil
}
