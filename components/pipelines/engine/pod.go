// Package engine computes the pipelines slice's desired children: the pod of one executed
// task, from the compiled IR, the planner's step and the run. It is pure (no client, no
// clock) so that the run controller only creates what [TaskPod] returns, and every rule of
// the pod is a table test here.
//
// The pod runs kfup's launcher in front of the component's command: an init container
// from kfup's own image copies kfup into an emptyDir shared with the main container, whose
// command becomes `/kfup-pod/bin/kfup agent launch -- COMMAND ARGS...` in the component's
// image. What KFP's driver patches into its pods from the kfp-kubernetes platform spec
// (secrets, config maps, PVCs, node selection, pod metadata, ...) kfup writes here once;
// a feature kfup cannot honour is an error naming the task and the field, never dropped.
package engine

import (
	"encoding/json"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/api/validate/content"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"

	pipelinesv1alpha1 "github.com/kfup/kfup/components/pipelines/api/v1alpha1"
	"github.com/kfup/kfup/components/pipelines/ir"
	"github.com/kfup/kfup/components/pipelines/plan"
	"github.com/kfup/kfup/internal/agent"
)

// The containers of a task pod.
const (
	// MainContainer runs the component's image; its termination message is the result.
	MainContainer = pipelinesv1alpha1.MainContainer
	// LauncherContainer is the init container that copies kfup into the pod.
	LauncherContainer = "kfup-launcher"
)

// The pod's layout, as package launch and package executor expect it.
const (
	// BinVolume is the emptyDir holding kfup and the task's outputs, at BinMountPath in
	// the main container.
	// Not /kfup: kfup's image holds the binary itself there, and a task may run kfup's
	// image (kfup test's pipeline does).
	BinVolume    = "kfup"
	BinMountPath = "/kfup-pod"
	// launcherPath is where the main container finds kfup (launch.BinPath).
	launcherPath = BinMountPath + "/bin/kfup"
	// copyMountPath is where the init container mounts BinVolume.
	copyMountPath = BinMountPath
	// ImageVolume is kfup's image mounted read-only as a volume (PodInput.ImageVolume),
	// at ImageMountPath in the main container: kfup is then at ImageMountPath/kfup.
	ImageVolume    = "kfup-image"
	ImageMountPath = "/kfup-image"
	// kfupBinary is kfup in its own image.
	kfupBinary = "/kfup"
	// WorkspaceVolume is the run's workspace PVC, at WorkspaceMountPath (KFP's names).
	WorkspaceVolume    = "kfp-workspace"
	WorkspaceMountPath = "/kfp-workspace"
)

// The environment the launcher reads (package launch's Env* names).
const (
	envExecutorInput = "KFUP_EXECUTOR_INPUT"
	envRunInfo       = "KFUP_RUN_INFO"
	envComponentSpec = "KFUP_COMPONENT_SPEC"
	envResultKey     = "KFUP_RESULT_KEY"
)

// artifactDirs are the local roots the kfp SDK maps artifact URIs to (minio://b/k is
// /minio/b/k): emptyDirs, so that they are writable under a read-only root file system.
var artifactDirs = []struct{ volume, path string }{
	{"kfup-minio", "/minio"},
	{"kfup-s3", "/s3"},
	{"kfup-gcs", "/gcs"},
}

// PodInput is everything TaskPod needs.
type PodInput struct {
	Pipeline *ir.Pipeline
	// Step is the task to start; Step.ExecutorLabel selects the container executor and
	// its kfp-kubernetes config.
	Step plan.Step
	// Run owns the pod (namespace, name, UID), names its service account and holds what
	// the platform spec's parameters may name: spec.parameters (the root DAG's inputs)
	// and status.tasks[].parameters (upstream outputs, as the controller knows them now).
	Run     *pipelinesv1alpha1.PipelineRun
	PodName string
	// Image is kfup's image; ImagePullPolicy its pull policy (IfNotPresent when empty).
	Image           string
	ImagePullPolicy corev1.PullPolicy
	// ImageVolume mounts Image into the main container as an image volume (Kubernetes
	// 1.35 and later, with a runtime that supports them: containerd 2.1, CRI-O 1.31) and
	// runs kfup from there; otherwise an init container copies kfup in from Image, which
	// costs the pod a container start.
	ImageVolume bool
	// ExecutorInput and RunInfo are JSON for the launcher (KFUP_EXECUTOR_INPUT and
	// KFUP_RUN_INFO); ResultKey is KFUP_RESULT_KEY.
	ExecutorInput, RunInfo []byte
	ResultKey              string
	// StoreEnv configures the artifact store (KFUP_ARTIFACT_STORE, S3 settings).
	StoreEnv []corev1.EnvVar
	// WorkspaceClaim is the run's workspace PVC, mounted at /kfp-workspace; a pipeline
	// with pipelineConfig.workspace needs one.
	WorkspaceClaim string
	// Labels and Annotations are kfup's own; they win over the platform spec's.
	Labels, Annotations map[string]string
}

// TaskPod returns the pod that runs in.Step, or an error naming the task and the field of
// the IR that kfup cannot turn into a valid pod.
func TaskPod(in PodInput) (*corev1.Pod, error) {
	if err := in.check(); err != nil {
		return nil, err
	}
	b := &builder{in: &in, scope: &scope{in: &in}}
	return b.build()
}

func (in *PodInput) check() error {
	switch {
	case in.Pipeline == nil:
		return fmt.Errorf("task %s: no pipeline", in.Step.ID)
	case in.Run == nil:
		return fmt.Errorf("task %s: no run", in.Step.ID)
	case in.Image == "":
		return fmt.Errorf("task %s: kfup's image is not known", in.Step.ID)
	}
	if errs := content.IsDNS1123Subdomain(in.PodName); len(errs) > 0 {
		return fmt.Errorf("task %s: pod name %q: %s", in.Step.ID, in.PodName, strings.Join(errs, "; "))
	}
	return nil
}

// builder assembles one pod; its methods add one part each.
type builder struct {
	in       *PodInput
	scope    *scope
	exec     *ir.ContainerSpec
	cfg      *ir.KubernetesExecutorConfig
	pod      *corev1.Pod
	main     *corev1.Container
	vols     volumes
	mounts   map[string]string // the main container's mount paths, by the field that set them
	kfupEnv  []corev1.EnvVar
	env      []corev1.EnvVar // the user's: the IR's and the platform spec's
	envField map[string]string
	launcher string // where the main container finds kfup
}

// errf is an error about field of the task's IR.
func (b *builder) errf(field, format string, args ...any) error {
	return fmt.Errorf("task %s: %s: %s", b.in.Step.ID, field, fmt.Sprintf(format, args...))
}

// execField is the path of a field of the task's container executor.
func (b *builder) execField(f string) string {
	return "deploymentSpec.executors." + b.in.Step.ExecutorLabel + ".container" + f
}

// build makes the pod: the base, the resources, the platform spec, the environment.
func (b *builder) build() (*corev1.Pod, error) {
	in := b.in
	label := in.Step.ExecutorLabel
	ex, ok := in.Pipeline.Spec.DeploymentSpec.Executors[label]
	if !ok {
		return nil, b.errf("deploymentSpec.executors", "no executor %q", label)
	}
	if ex.Container == nil {
		return nil, b.errf("deploymentSpec.executors."+label, "not a container executor: importers and resolvers start no pod")
	}
	b.exec = ex.Container
	b.cfg = in.Pipeline.Kubernetes(label)
	comp, ok := in.Pipeline.Spec.Components[in.Step.Component]
	if !ok {
		return nil, b.errf("components", "no component %q", in.Step.Component)
	}
	if len(comp.SinglePlatformSpecs) > 0 {
		return nil, b.errf("components."+in.Step.Component+".singlePlatformSpecs", "kfup reads the platform spec of the pipeline's second document only")
	}
	if err := b.checkInputs(); err != nil {
		return nil, err
	}
	if err := b.basePod(&comp); err != nil {
		return nil, err
	}
	if err := b.resources(); err != nil {
		return nil, err
	}
	if b.cfg != nil {
		if err := b.platform(); err != nil {
			return nil, err
		}
	}
	if err := b.finishEnv(); err != nil {
		return nil, err
	}
	b.pod.Spec.Volumes = b.vols.list
	return b.pod, nil
}

// checkInputs refuses input artifacts the pod cannot give the component.
func (b *builder) checkInputs() error {
	for _, name := range slices.Sorted(maps.Keys(b.in.Step.Artifacts)) {
		for _, a := range b.in.Step.Artifacts[name] {
			if strings.HasPrefix(a.URI, "oci://") {
				return fmt.Errorf("task %s: input artifact %s: %s is a model image (KFP's modelcar): kfup does not mount OCI artifacts yet", b.in.Step.ID, name, a.URI)
			}
		}
	}
	return nil
}

// basePod is the pod without the platform spec: the launcher, the main container, kfup's
// volumes and environment.
func (b *builder) basePod(comp *ir.ComponentSpec) error {
	in := b.in
	pull := in.ImagePullPolicy
	if pull == "" {
		pull = corev1.PullIfNotPresent
	}
	run := in.Run
	b.pod = &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: in.PodName, Namespace: run.Namespace,
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: pipelinesv1alpha1.GroupVersion.String(), Kind: "PipelineRun",
				Name: run.Name, UID: run.UID, Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
			}},
		},
		Spec: corev1.PodSpec{
			RestartPolicy:      corev1.RestartPolicyNever,
			EnableServiceLinks: ptr.To(false),
			ServiceAccountName: run.Spec.ServiceAccountName,
		},
	}
	b.vols.init()
	b.mounts = map[string]string{}
	b.envField = map[string]string{}
	b.vols.add(corev1.Volume{Name: BinVolume, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}, "kfup")
	mounts := []corev1.VolumeMount{{Name: BinVolume, MountPath: BinMountPath}}
	b.launcher = launcherPath
	if in.ImageVolume {
		b.vols.add(corev1.Volume{Name: ImageVolume, VolumeSource: corev1.VolumeSource{Image: &corev1.ImageVolumeSource{Reference: in.Image, PullPolicy: pull}}}, "kfup")
		mounts = append(mounts, corev1.VolumeMount{Name: ImageVolume, MountPath: ImageMountPath, ReadOnly: true})
		b.launcher = ImageMountPath + kfupBinary
	} else {
		b.pod.Spec.InitContainers = []corev1.Container{{
			Name:            LauncherContainer,
			Image:           in.Image,
			ImagePullPolicy: pull,
			Command:         []string{kfupBinary, "agent", "copy-self", copyMountPath + "/bin/kfup"},
			VolumeMounts:    []corev1.VolumeMount{{Name: BinVolume, MountPath: copyMountPath}},
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("32Mi"),
			}},
			SecurityContext:          agent.SecurityContext(),
			TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
		}}
	}
	for _, d := range artifactDirs {
		b.vols.add(corev1.Volume{Name: d.volume, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}, "kfup")
		mounts = append(mounts, corev1.VolumeMount{Name: d.volume, MountPath: d.path})
	}
	if err := b.workspace(&mounts); err != nil {
		return err
	}
	for _, m := range mounts {
		b.mounts[m.MountPath] = "kfup's " + m.Name + " volume"
	}
	if strings.HasPrefix(b.exec.Image, "argostub/") {
		return b.errf(b.execField(".image"), "%s is kfp-kubernetes' CreatePVC or DeletePVC, which the run controller carries out itself: it has no pod", b.exec.Image)
	}
	image, err := b.expand(b.execField(".image"), b.exec.Image)
	if err != nil {
		return err
	}
	if len(b.exec.Command)+len(b.exec.Args) == 0 {
		return b.errf(b.execField(""), "no command and no args: kfup runs the component's command behind its launcher, not the image's entrypoint")
	}
	cmd := append([]string{b.launcher, "agent", "launch", "--"}, b.exec.Command...)
	b.main = &corev1.Container{
		Name:                     MainContainer,
		Image:                    image,
		Command:                  append(cmd, b.exec.Args...),
		VolumeMounts:             mounts,
		TerminationMessagePolicy: corev1.TerminationMessageReadFile,
	}
	for i, e := range b.exec.Env {
		if err := b.userEnv(fmt.Sprintf("%s.env[%d]", b.execField(""), i), corev1.EnvVar{Name: e.Name, Value: e.Value}); err != nil {
			return err
		}
	}
	spec := *comp
	spec.SinglePlatformSpecs = nil
	compJSON, err := json.Marshal(spec)
	if err != nil {
		return fmt.Errorf("task %s: encode its component: %w", in.Step.ID, err)
	}
	b.kfupEnv = []corev1.EnvVar{
		{Name: envExecutorInput, Value: string(in.ExecutorInput)},
		{Name: envRunInfo, Value: string(in.RunInfo)},
		{Name: envComponentSpec, Value: string(compJSON)},
		{Name: envResultKey, Value: in.ResultKey},
	}
	for _, e := range in.StoreEnv {
		b.kfupEnv = append(b.kfupEnv, *e.DeepCopy())
	}
	b.pod.Labels = copyMap(in.Labels)
	b.pod.Annotations = copyMap(in.Annotations)
	return nil
}

// workspace mounts the run's workspace PVC when the pipeline has one.
func (b *builder) workspace(mounts *[]corev1.VolumeMount) error {
	var ws *ir.WorkspaceConfig
	if p := b.in.Pipeline.Platform; p != nil {
		if k, ok := p.Platforms["kubernetes"]; ok && k.PipelineConfig != nil {
			ws = k.PipelineConfig.Workspace
		}
	}
	if b.in.WorkspaceClaim == "" {
		if ws != nil {
			return b.errf("platformSpec.platforms.kubernetes.pipelineConfig.workspace", "the pipeline asks for a workspace and the run has none: kfup does not make run workspaces yet")
		}
		return nil
	}
	b.vols.add(corev1.Volume{Name: WorkspaceVolume, VolumeSource: corev1.VolumeSource{
		PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: b.in.WorkspaceClaim},
	}}, "kfup")
	b.vols.kfpNames[WorkspaceVolume] = WorkspaceVolume
	*mounts = append(*mounts, corev1.VolumeMount{Name: WorkspaceVolume, MountPath: WorkspaceMountPath})
	return nil
}

// userEnv adds a variable of the user's (the IR's or the platform spec's).
func (b *builder) userEnv(field string, e corev1.EnvVar) error {
	if e.Name == "" {
		return b.errf(field, "an environment variable needs a name")
	}
	if msgs := validation.IsRelaxedEnvVarName(e.Name); len(msgs) > 0 {
		return b.errf(field, "environment variable %q: %s", e.Name, msgs[0])
	}
	b.env = append(b.env, e)
	b.envField[e.Name] = field
	return nil
}

// finishEnv puts kfup's variables after the user's, refusing a user variable of the
// same name (it would change what the launcher or its store reads).
func (b *builder) finishEnv() error {
	for _, e := range b.kfupEnv {
		if f, ok := b.envField[e.Name]; ok {
			return b.errf(f, "environment variable %s is kfup's own (the launcher and its artifact store read it)", e.Name)
		}
	}
	b.main.Env = append(b.env, b.kfupEnv...)
	b.pod.Spec.Containers = []corev1.Container{*b.main}
	return nil
}

// mount adds a mount to the main container, refusing a path mounted twice or one of kfup's.
func (b *builder) mount(field string, m corev1.VolumeMount) error {
	if !path.IsAbs(m.MountPath) {
		return b.errf(field, "mountPath %q is not an absolute path", m.MountPath)
	}
	p := path.Clean(m.MountPath)
	for _, own := range []string{BinMountPath, ImageMountPath} {
		if p == own || strings.HasPrefix(p, own+"/") {
			return b.errf(field, "mountPath %s: kfup's launcher uses %s and what is under it", p, own)
		}
	}
	if p == "/dev/termination-log" {
		return b.errf(field, "mountPath %s: the launcher reports the task's result there", p)
	}
	if other, ok := b.mounts[p]; ok {
		return b.errf(field, "mountPath %s is already taken by %s", p, other)
	}
	if m.SubPath != "" {
		if path.IsAbs(m.SubPath) || slices.Contains(strings.Split(m.SubPath, "/"), "..") {
			return b.errf(field, "subPath %q must be a relative path without '..'", m.SubPath)
		}
	}
	b.mounts[p] = field
	m.MountPath = p
	b.main.VolumeMounts = append(b.main.VolumeMounts, m)
	return nil
}

func copyMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return maps.Clone(m)
}
