// Package run is the core of `kfup run`: it turns the user's code (an archive of the
// working directory, stored in the cluster in ConfigMaps) and a command into a real
// kubeflow.org/v1 training job whose pods unpack the archive into /workspace, follows the
// job's pods (logs with replica prefixes, warnings, termination reasons) to its end and
// brings back what the job wrote to $KFUP_OUTPUT_DIR.
package run

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	"github.com/kfup/kfup/internal/agent"
)

// Labels and annotations of kfup run's objects.
const (
	// RunLabel holds the run's name on its job, the job's pods and nothing else: runs are
	// the jobs with this label.
	RunLabel = "kfup.dev/run"
	// ArchiveLabel holds the first 12 hex digits of an archive's digest on its ConfigMaps.
	ArchiveLabel = "kfup.dev/run-archive"
	// ChunkLabel holds a ConfigMap's index among its archive's chunks.
	ChunkLabel = "kfup.dev/run-archive-chunk"
	// ManagedByLabel marks every object kfup run creates.
	ManagedByLabel = "app.kubernetes.io/managed-by"
	// ManagedBy is ManagedByLabel's value.
	ManagedBy = "kfup"
	// DigestAnnotation holds the full digest of the run's archive (on its job and
	// ConfigMaps) and ChunksAnnotation their number.
	DigestAnnotation = "kfup.dev/run-archive-digest"
	ChunksAnnotation = "kfup.dev/run-archive-chunks"
	// CommandAnnotation holds the command the run runs, as JSON, for `kfup run list`.
	CommandAnnotation = "kfup.dev/run-command"
)

// Paths inside a run's pods. Not under /kfup: that is the kfup binary in kfup's image.
const (
	// WorkspaceDir is where the archive is unpacked: the main container's workingDir.
	WorkspaceDir = "/workspace"
	// OutputDir is $KFUP_OUTPUT_DIR: what the job writes there comes back.
	OutputDir = "/kfup-run/outputs"
	// OutputEnv names the variable holding OutputDir.
	OutputEnv = "KFUP_OUTPUT_DIR"
	// SourceDir holds the archive's chunks (a projected volume of its ConfigMaps).
	SourceDir = "/kfup-run/src"
	// StateDir is the outputs sidecar's own: the CLI marks there that it has fetched the
	// outputs.
	StateDir = "/kfup-run/state"
	// PipCacheDir holds the packages of requirements files, by the file's hash.
	PipCacheDir = "/kfup-run/pip"
)

// Names of the containers kfup adds.
const (
	UnpackContainer  = "kfup-unpack"
	OutputsContainer = "kfup-outputs"
)

// Kinds are the --kind values and their job kinds.
var Kinds = []string{"pytorch", "tfjob", "xgboost", "mpi", "jax", "paddle"}

// kindInfo is what kfup run needs to know of a job kind.
type kindInfo struct {
	kind      string // PyTorchJob
	container string // the framework container's name
	// leader is the replica type that runs alone (Master, Launcher), "" when none; then
	// workers is the only type.
	leader trainingv1.ReplicaType
	ps     bool // --ps is accepted (TFJob)
	procs  bool // --procs-per-worker is accepted (PyTorch nprocPerNode, MPI slotsPerWorker)
	// minWorkers is the least --workers: 1 when the workers run the job alone.
	minWorkers int32
}

var kinds = map[string]kindInfo{
	"pytorch": {kind: trainingv1.PyTorchJobKind, container: trainingv1.PyTorchJobDefaultContainerName, leader: trainingv1.PyTorchJobReplicaTypeMaster, procs: true},
	"tfjob":   {kind: trainingv1.TFJobKind, container: trainingv1.TFJobDefaultContainerName, ps: true, minWorkers: 1},
	"xgboost": {kind: trainingv1.XGBoostJobKind, container: trainingv1.XGBoostJobDefaultContainerName, leader: trainingv1.XGBoostJobReplicaTypeMaster},
	"mpi":     {kind: trainingv1.MPIJobKind, container: trainingv1.MPIJobDefaultContainerName, leader: trainingv1.MPIJobReplicaTypeLauncher, procs: true, minWorkers: 1},
	"jax":     {kind: trainingv1.JAXJobKind, container: trainingv1.JAXJobDefaultContainerName, minWorkers: 1},
	"paddle":  {kind: trainingv1.PaddleJobKind, container: trainingv1.PaddleJobDefaultContainerName, minWorkers: 1},
}

// KindOf returns the job kind (PyTorchJob) of a --kind value, or false.
func KindOf(k string) (string, bool) {
	i, ok := kinds[k]
	return i.kind, ok
}

// GVK is the group, version and kind of a job kind (PyTorchJob).
func GVK(kind string) schema.GroupVersionKind { return trainingv1.GroupVersion.WithKind(kind) }

// JobKinds are the job kinds a run can be, in --kind order.
func JobKinds() []string {
	var out []string
	for _, k := range Kinds {
		out = append(out, kinds[k].kind)
	}
	return out
}

// Spec is one run: what to run, where and how.
type Spec struct {
	// Name is the run's and its job's name; Namespace the job's.
	Name, Namespace string
	// Kind is a --kind value (pytorch, tfjob, ...).
	Kind string
	// Image runs the command; AgentImage is kfup's own (unpack, outputs).
	Image, AgentImage string
	// Command runs in /workspace.
	Command []string
	// Workers and PS are replica counts; ProcsPerWorker processes per worker (0: the
	// framework's default); GPUs are requested by every replica.
	Workers, PS, ProcsPerWorker, GPUs int32
	Env                               []corev1.EnvVar
	// Digest and Chunks name the archive (its ConfigMaps: ChunkName(digest, i)).
	Digest string
	Chunks int
	// Baked says the archive's files are in Image already, at /workspace (--bake): no
	// chunks are mounted and nothing is unpacked.
	Baked bool
	// Requirements is a requirements file inside the workspace to pip-install before the
	// command ("": none); RequirementsHash its sha256, the key of the cache.
	Requirements, RequirementsHash string
	// TTL keeps the finished job (0: the controller's default, kept).
	TTL time.Duration
	// OutputWait bounds how long a finished pod waits for its outputs to be fetched.
	OutputWait time.Duration
}

// Validate checks the spec's replica flags against its kind, before anything is made.
func (s *Spec) Validate() error {
	info, ok := kinds[s.Kind]
	if !ok {
		return fmt.Errorf("--kind %q: use one of %s", s.Kind, strings.Join(Kinds, ", "))
	}
	if s.PS != 0 && !info.ps {
		return fmt.Errorf("--ps %d: a %s has no parameter servers (only --kind tfjob does)", s.PS, info.kind)
	}
	if s.PS < 0 || s.Workers < 0 || s.GPUs < 0 || s.ProcsPerWorker < 0 {
		return fmt.Errorf("--workers, --ps, --gpus and --procs-per-worker cannot be negative")
	}
	if s.ProcsPerWorker != 0 && !info.procs {
		return fmt.Errorf("--procs-per-worker %d: a %s starts one process per replica (--kind pytorch and mpi take it)", s.ProcsPerWorker, info.kind)
	}
	if s.Workers < info.minWorkers {
		return fmt.Errorf("--workers %d: a %s needs at least %d worker", s.Workers, info.kind, info.minWorkers)
	}
	if s.Workers > trainingv1.MaxReplicas || s.PS > trainingv1.MaxReplicas {
		return fmt.Errorf("--workers and --ps are at most %d", trainingv1.MaxReplicas)
	}
	if s.Kind == "mpi" && s.ProcsPerWorker > trainingv1.MaxSlotsPerWorker {
		return fmt.Errorf("--procs-per-worker is at most %d", trainingv1.MaxSlotsPerWorker)
	}
	if len(s.Command) == 0 {
		return fmt.Errorf("no command to run")
	}
	return nil
}

// DefaultWorkers is --workers when it is not given: none beside a leader, else one.
func DefaultWorkers(kind string) int32 { return kinds[kind].minWorkers }

// ChunkName is the name of chunk i of the archive with digest d.
func ChunkName(d string, i int) string {
	return fmt.Sprintf("kfup-run-src-%s-%d", shortDigest(d), i)
}

func shortDigest(d string) string {
	d = strings.TrimPrefix(d, "sha256:")
	return d[:min(len(d), 12)]
}

// Job returns the run's job: an object of the kind's Go type (a *trainingv1.PyTorchJob,
// ...), labelled with the run, restart policy Never and no retries (a failing script
// fails the run), its pods unpacking the archive and running an outputs sidecar.
func Job(s *Spec) (client.Object, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	info := kinds[s.Kind]
	meta := metav1.ObjectMeta{
		Name: s.Name, Namespace: s.Namespace,
		Labels:      map[string]string{RunLabel: s.Name, ManagedByLabel: ManagedBy},
		Annotations: map[string]string{DigestAnnotation: s.Digest, CommandAnnotation: commandJSON(s.Command)},
	}
	policy := trainingv1.RunPolicy{BackoffLimit: ptr.To[int32](0)}
	if s.TTL > 0 {
		policy.TTLSecondsAfterFinished = ptr.To(int32(min(s.TTL.Seconds(), trainingv1.MaxTTLSecondsAfterFinished)))
	}
	// pods that keep running once the job is done (a TFJob's parameter servers, MPI's
	// idle workers) are deleted; finished ones stay, with their logs
	policy.CleanPodPolicy = ptr.To(trainingv1.CleanPodPolicyRunning)
	replicas := map[trainingv1.ReplicaType]*trainingv1.ReplicaSpec{}
	add := func(t trainingv1.ReplicaType, n int32, command []string) {
		if n > 0 {
			replicas[t] = &trainingv1.ReplicaSpec{Replicas: ptr.To(n), RestartPolicy: trainingv1.RestartPolicyNever, Template: podTemplate(s, info.container, command)}
		}
	}
	cmd := s.Command
	switch s.Kind {
	case "pytorch":
		add(trainingv1.PyTorchJobReplicaTypeMaster, 1, cmd)
		add(trainingv1.PyTorchJobReplicaTypeWorker, s.Workers, cmd)
		j := &trainingv1.PyTorchJob{ObjectMeta: meta, Spec: trainingv1.PyTorchJobSpec{RunPolicy: policy, PyTorchReplicaSpecs: replicas}}
		if s.ProcsPerWorker > 0 {
			j.Spec.NprocPerNode = ptr.To(strconv.Itoa(int(s.ProcsPerWorker)))
		}
		return j, nil
	case "tfjob":
		add(trainingv1.TFJobReplicaTypePS, s.PS, cmd)
		add(trainingv1.TFJobReplicaTypeWorker, s.Workers, cmd)
		return &trainingv1.TFJob{ObjectMeta: meta, Spec: trainingv1.TFJobSpec{RunPolicy: policy, TFReplicaSpecs: replicas}}, nil
	case "xgboost":
		add(trainingv1.XGBoostJobReplicaTypeMaster, 1, cmd)
		add(trainingv1.XGBoostJobReplicaTypeWorker, s.Workers, cmd)
		return &trainingv1.XGBoostJob{ObjectMeta: meta, Spec: trainingv1.XGBoostJobSpec{RunPolicy: policy, XGBReplicaSpecs: replicas}}, nil
	case "mpi":
		slots := max(s.ProcsPerWorker, 1)
		add(trainingv1.MPIJobReplicaTypeLauncher, 1, MPILauncherCommand(s.Workers*slots, cmd))
		// the launcher only runs mpirun: no GPUs (a GPU launcher would be in the hostfile)
		replicas[trainingv1.MPIJobReplicaTypeLauncher].Template.Spec.Containers[0].Resources = corev1.ResourceRequirements{}
		add(trainingv1.MPIJobReplicaTypeWorker, s.Workers, nil) // the framework runs them idle; mpirun starts the processes
		j := &trainingv1.MPIJob{ObjectMeta: meta, Spec: trainingv1.MPIJobSpec{RunPolicy: policy, MPIReplicaSpecs: replicas}}
		if s.ProcsPerWorker > 0 {
			j.Spec.SlotsPerWorker = ptr.To(s.ProcsPerWorker)
		}
		return j, nil
	case "jax":
		add(trainingv1.JAXJobReplicaTypeWorker, s.Workers, cmd)
		return &trainingv1.JAXJob{ObjectMeta: meta, Spec: trainingv1.JAXJobSpec{RunPolicy: policy, JAXReplicaSpecs: replicas}}, nil
	case "paddle":
		add(trainingv1.PaddleJobReplicaTypeWorker, s.Workers, cmd)
		return &trainingv1.PaddleJob{ObjectMeta: meta, Spec: trainingv1.PaddleJobSpec{RunPolicy: policy, PaddleReplicaSpecs: replicas}}, nil
	}
	return nil, fmt.Errorf("--kind %q: unknown", s.Kind)
}

// MPILauncherCommand is the launcher's mpirun of command over np processes: in
// /workspace on every worker, with the run's variables passed on, over TCP on the pods'
// network (no InfiniBand or shared memory between pods).
func MPILauncherCommand(np int32, command []string) []string {
	return append([]string{"mpirun", "-np", strconv.Itoa(int(np)), "--allow-run-as-root", "-wdir", WorkspaceDir,
		"-x", OutputEnv, "-x", "PYTHONPATH", "-x", "PYTHONUNBUFFERED", "-x", "KFUP_RUN",
		"-mca", "btl", "tcp,self", "-mca", "oob_tcp_if_include", "eth0", "-mca", "btl_tcp_if_include", "eth0"}, command...)
}

func commandJSON(cmd []string) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, c := range cmd {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Quote(c))
	}
	b.WriteByte(']')
	return b.String()
}

// podTemplate is every replica's pod: the archive unpacked into /workspace by kfup's
// image, the outputs sidecar, and the framework container running command there (none:
// the framework's default).
func podTemplate(s *Spec, container string, command []string) corev1.PodTemplateSpec {
	var sources []corev1.VolumeProjection
	for i := range s.Chunks {
		sources = append(sources, corev1.VolumeProjection{ConfigMap: &corev1.ConfigMapProjection{
			LocalObjectReference: corev1.LocalObjectReference{Name: ChunkName(s.Digest, i)},
			Items:                []corev1.KeyToPath{{Key: ChunkKey, Path: fmt.Sprintf("%04d", i)}},
		}})
	}
	mounts := []corev1.VolumeMount{{Name: "kfup-workspace", MountPath: WorkspaceDir}, {Name: "kfup-outputs", MountPath: OutputDir}}
	volumes := []corev1.Volume{
		{Name: "kfup-src", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: sources}}},
		{Name: "kfup-workspace", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		{Name: "kfup-outputs", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		{Name: "kfup-state", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory, SizeLimit: ptr.To(resource.MustParse("1Mi"))}}},
	}
	if s.Requirements != "" {
		volumes = append(volumes, corev1.Volume{Name: "kfup-pip", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
		mounts = append(mounts, corev1.VolumeMount{Name: "kfup-pip", MountPath: PipCacheDir})
	}
	env := []corev1.EnvVar{
		{Name: OutputEnv, Value: OutputDir},
		{Name: "KFUP_RUN", Value: s.Name},
		// print() reaches the log at once, not when a buffer fills
		{Name: "PYTHONUNBUFFERED", Value: "1"},
		// the workspace's modules import from any directory of it
		{Name: "PYTHONPATH", Value: WorkspaceDir},
	}
	env = append(env, s.Env...)
	main := corev1.Container{
		Name: container, Image: s.Image, ImagePullPolicy: corev1.PullIfNotPresent,
		WorkingDir: WorkspaceDir, Env: env, VolumeMounts: mounts,
		Command: command,
	}
	if s.Requirements != "" && len(command) > 0 {
		main.Command = RequirementsCommand(s.Requirements, s.RequirementsHash, command)
	}
	if s.GPUs > 0 {
		main.Resources.Limits = corev1.ResourceList{"nvidia.com/gpu": *resource.NewQuantity(int64(s.GPUs), resource.DecimalSI)}
	}
	small := corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("16Mi")},
		Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("128Mi")},
	}
	wait := s.OutputWait
	if wait <= 0 {
		wait = DefaultOutputWait
	}
	inits := []corev1.Container{
		{
			Name: UnpackContainer, Image: s.AgentImage, ImagePullPolicy: corev1.PullIfNotPresent,
			Args:            []string{"agent", "unpack", "--from", SourceDir, "--digest", s.Digest, "--to", WorkspaceDir},
			VolumeMounts:    []corev1.VolumeMount{{Name: "kfup-src", MountPath: SourceDir, ReadOnly: true}, {Name: "kfup-workspace", MountPath: WorkspaceDir}},
			Resources:       small,
			SecurityContext: agent.SecurityContext(),
		},
		{
			// a native sidecar: the kubelet stops it (SIGTERM) once the framework
			// container has exited; it then waits for the CLI to fetch the outputs
			Name: OutputsContainer, Image: s.AgentImage, ImagePullPolicy: corev1.PullIfNotPresent,
			RestartPolicy:   ptr.To(corev1.ContainerRestartPolicyAlways),
			Args:            []string{"agent", "outputs", "--dir", OutputDir, "--state", StateDir, "--wait", wait.String()},
			VolumeMounts:    []corev1.VolumeMount{{Name: "kfup-outputs", MountPath: OutputDir, ReadOnly: true}, {Name: "kfup-state", MountPath: StateDir}},
			Resources:       small,
			SecurityContext: agent.SecurityContext(),
		},
	}
	if s.Baked {
		// the image holds the files at /workspace: no chunks, no unpacking
		inits, volumes, main.VolumeMounts = inits[1:], volumes[2:], main.VolumeMounts[1:]
	}
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{RunLabel: s.Name, ManagedByLabel: ManagedBy}},
		Spec: corev1.PodSpec{
			InitContainers: inits,
			Containers:     []corev1.Container{main},
			Volumes:        volumes,
			// the outputs sidecar's wait happens within the pod's grace period
			TerminationGracePeriodSeconds: ptr.To(int64(wait.Seconds()) + 10),
		},
	}
}

// DefaultOutputWait is how long a finished pod waits for the CLI to fetch its outputs.
const DefaultOutputWait = time.Minute

// RequirementsCommand wraps command: pip installs the requirements file (req, relative
// to the workspace) into a directory named by its hash, once per pod, then runs command
// with those packages on PYTHONPATH. Without pip, or without a reachable package index,
// it exits 3 with a message that says so.
func RequirementsCommand(req, hash string, command []string) []string {
	h := shortDigest(hash)
	script := `set -u
req="$1"; dir="` + PipCacheDir + `/` + h + `"; shift
if [ ! -f "$dir/.done" ]; then
  if ! python3 -m pip --version >/dev/null 2>&1; then
    echo "kfup: the image has no pip (python3 -m pip): cannot install $req; use an image with pip, or one that has the packages (--image, or --bake onto it)" >&2; exit 3
  fi
  echo "kfup: installing $req (sha256 ` + h + `)" >&2
  if ! python3 -m pip install --disable-pip-version-check --no-input --quiet --timeout 10 --retries 1 --target "$dir.tmp" -r "$req" >&2; then
    echo "kfup: pip could not install $req: is a package index reachable from the cluster? Offline, use an image that has the packages (--image), or set PIP_INDEX_URL with --env to a mirror in reach" >&2; exit 3
  fi
  mv "$dir.tmp" "$dir" && touch "$dir/.done"
fi
export PYTHONPATH="$dir${PYTHONPATH:+:$PYTHONPATH}"
exec "$@"`
	return append([]string{"sh", "-c", script, "kfup-requirements", req}, command...)
}

// ChunkKey is the binaryData key of each archive ConfigMap.
const ChunkKey = "chunk"

// ReplicaName is a pod's replica as the logs prefix it: "master-0", "worker-1",
// "launcher".
func ReplicaName(pod *corev1.Pod) string {
	t, i := pod.Labels[trainingv1.ReplicaTypeLabel], pod.Labels[trainingv1.ReplicaIndexLabel]
	switch {
	case t == "":
		return pod.Name
	case i == "":
		return t
	}
	return t + "-" + i
}

// MainContainer is the framework container of a job kind's pods.
func MainContainer(kind string) string {
	for _, k := range Kinds {
		if kinds[k].kind == kind {
			return kinds[k].container
		}
	}
	return ""
}
