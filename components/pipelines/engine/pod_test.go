package engine

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	pipelinesv1alpha1 "github.com/kfup/kfup/components/pipelines/api/v1alpha1"
	"github.com/kfup/kfup/components/pipelines/ir"
	"github.com/kfup/kfup/components/pipelines/plan"
	"github.com/kfup/kfup/internal/conformance"
)

const testImage = "kfup.local/kfup-manager:test"

// loadFile parses and validates a conformance pipeline.
func loadFile(t testing.TB, name string) *ir.Pipeline {
	t.Helper()
	f := conformance.Files(t, filepath.Join("pipelines", "valid", name))[0]
	b, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	p, ps := ir.Check(f, b)
	if err := ps.Err(f); err != nil {
		t.Fatal(err)
	}
	return p
}

// parse parses and validates an IR text.
func parse(t testing.TB, text string) *ir.Pipeline {
	t.Helper()
	p, ps := ir.Check("test.yaml", []byte(text))
	if err := ps.Err("test.yaml"); err != nil {
		t.Fatal(err)
	}
	return p
}

// testRun is the run the tests' pods belong to.
func testRun(params map[string]any, outputs map[string]map[string]any) *pipelinesv1alpha1.PipelineRun {
	r := &pipelinesv1alpha1.PipelineRun{
		ObjectMeta: metav1.ObjectMeta{Name: "run-1", Namespace: "ns1", UID: "uid-1"},
		Spec:       pipelinesv1alpha1.PipelineRunSpec{ServiceAccountName: "runner"},
	}
	if len(params) > 0 {
		r.Spec.Parameters = map[string]apiextensionsv1.JSON{}
		for k, v := range params {
			r.Spec.Parameters[k] = apiextensionsv1.JSON{Raw: []byte(mustJSON(v))}
		}
	}
	for id, outs := range outputs {
		ts := pipelinesv1alpha1.TaskStatus{ID: id, Phase: pipelinesv1alpha1.PhaseSucceeded, Parameters: map[string]apiextensionsv1.JSON{}}
		for k, v := range outs {
			ts.Parameters[k] = apiextensionsv1.JSON{Raw: []byte(mustJSON(v))}
		}
		r.Status.Tasks = append(r.Status.Tasks, ts)
	}
	return r
}

// readySteps plans p with the run's parameters and the given finished tasks, by step ID.
func readySteps(t testing.TB, p *ir.Pipeline, params map[string]any, outputs map[string]map[string]any) map[string]plan.Step {
	t.Helper()
	status := map[string]plan.TaskStatus{}
	for id, outs := range outputs {
		status[id] = plan.TaskStatus{Phase: plan.Succeeded, Attempts: 1, Parameters: outs}
	}
	pl, err := plan.Compute(plan.Input{Pipeline: p, Parameters: params, Status: status})
	if err != nil {
		t.Fatal(err)
	}
	steps := map[string]plan.Step{}
	for _, s := range pl.Ready {
		steps[s.ID] = s
	}
	return steps
}

// input is the PodInput of step s, as the run controller makes it.
func input(p *ir.Pipeline, s plan.Step, run *pipelinesv1alpha1.PipelineRun) PodInput {
	return PodInput{
		Pipeline: p, Step: s, Run: run, PodName: "run-1-" + strings.ReplaceAll(s.Task, "_", "-") + "-abc123",
		Image: testImage, ExecutorInput: []byte(`{"inputs":{}}`), RunInfo: []byte(`{"jobName":"run-1"}`),
		ResultKey:   "ns1/run-1/" + s.ID + "/.kfup-result.json",
		StoreEnv:    []corev1.EnvVar{{Name: "KFUP_ARTIFACT_STORE", Value: "http://kfup-artifacts.kfup-system:8890"}},
		Labels:      map[string]string{"kfup.dev/api": "pipelines", "pipelines.kfup.dev/task": s.Task},
		Annotations: map[string]string{"pipelines.kfup.dev/task-id": s.ID},
	}
}

// restricted is the security context of kfup's own containers (Pod Security restricted).
func restricted() *corev1.SecurityContext {
	return &corev1.SecurityContext{
		RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](65532), RunAsGroup: ptr.To[int64](65532),
		AllowPrivilegeEscalation: ptr.To(false),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

func emptyDir(name string) corev1.Volume {
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}
}

// wantPod is the pod of step s without any platform spec, as the tests expect it.
func wantPod(t testing.TB, p *ir.Pipeline, s plan.Step, in PodInput) *corev1.Pod {
	t.Helper()
	ex := p.Spec.DeploymentSpec.Executors[s.ExecutorLabel].Container
	comp := p.Spec.Components[s.Component]
	compJSON, err := json.Marshal(comp)
	if err != nil {
		t.Fatal(err)
	}
	cmd := append([]string{"/kfup-pod/bin/kfup", "agent", "launch", "--"}, ex.Command...)
	var env []corev1.EnvVar
	for _, e := range ex.Env {
		env = append(env, corev1.EnvVar{Name: e.Name, Value: e.Value})
	}
	env = append(env,
		corev1.EnvVar{Name: "KFUP_EXECUTOR_INPUT", Value: string(in.ExecutorInput)},
		corev1.EnvVar{Name: "KFUP_RUN_INFO", Value: string(in.RunInfo)},
		corev1.EnvVar{Name: "KFUP_COMPONENT_SPEC", Value: string(compJSON)},
		corev1.EnvVar{Name: "KFUP_RESULT_KEY", Value: in.ResultKey},
		corev1.EnvVar{Name: "KFUP_ARTIFACT_STORE", Value: "http://kfup-artifacts.kfup-system:8890"},
	)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: in.PodName, Namespace: "ns1",
			Labels:      map[string]string{"kfup.dev/api": "pipelines", "pipelines.kfup.dev/task": s.Task},
			Annotations: map[string]string{"pipelines.kfup.dev/task-id": s.ID},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "pipelines.kfup.dev/v1alpha1", Kind: "PipelineRun", Name: "run-1", UID: "uid-1",
				Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
			}},
		},
		Spec: corev1.PodSpec{
			RestartPolicy:      corev1.RestartPolicyNever,
			EnableServiceLinks: ptr.To(false),
			ServiceAccountName: "runner",
			Volumes:            []corev1.Volume{emptyDir("kfup"), emptyDir("kfup-minio"), emptyDir("kfup-s3"), emptyDir("kfup-gcs")},
			InitContainers: []corev1.Container{{
				Name: "kfup-launcher", Image: testImage, ImagePullPolicy: corev1.PullIfNotPresent,
				Command:      []string{"/kfup", "agent", "copy-self", "/kfup-pod/bin/kfup"},
				VolumeMounts: []corev1.VolumeMount{{Name: "kfup", MountPath: "/kfup-pod"}},
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
					corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("32Mi"),
				}},
				SecurityContext:          restricted(),
				TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
			}},
			Containers: []corev1.Container{{
				Name: "main", Image: ex.Image,
				Command: append(cmd, ex.Args...),
				Env:     env,
				VolumeMounts: []corev1.VolumeMount{
					{Name: "kfup", MountPath: "/kfup-pod"}, {Name: "kfup-minio", MountPath: "/minio"},
					{Name: "kfup-s3", MountPath: "/s3"}, {Name: "kfup-gcs", MountPath: "/gcs"},
				},
				TerminationMessagePolicy: corev1.TerminationMessageReadFile,
			}},
		},
	}
}

// TestTaskPod checks the whole pod of every first task of a few conformance pipelines
// without a platform spec.
func TestTaskPod(t *testing.T) {
	for _, tc := range []struct {
		file   string
		params map[string]any
	}{
		{"pipeline_with_env.yaml", nil},
		{"pipeline_with_placeholders.yaml", nil},
		{"add_numbers.yaml", map[string]any{"a": 1.0, "b": 2.0}},
		{"two_step_pipeline_containerized.yaml", nil},
	} {
		p := loadFile(t, tc.file)
		steps := readySteps(t, p, tc.params, nil)
		if len(steps) == 0 {
			t.Fatalf("%s: nothing to run", tc.file)
		}
		for id, s := range steps {
			t.Run(tc.file+"/"+id, func(t *testing.T) {
				in := input(p, s, testRun(tc.params, nil))
				got, err := TaskPod(in)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(wantPod(t, p, s, in), got); diff != "" {
					t.Errorf("pod (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// With ImageVolume, kfup's image is mounted into the main container, read-only, and run
// from there: no init container, nothing copied.
func TestTaskPodImageVolume(t *testing.T) {
	p := loadFile(t, "pipeline_with_env.yaml")
	s := readySteps(t, p, nil, nil)["print-env"]
	in := input(p, s, testRun(nil, nil))
	in.ImageVolume = true
	got, err := TaskPod(in)
	if err != nil {
		t.Fatal(err)
	}
	want := wantPod(t, p, s, in)
	want.Spec.InitContainers = nil
	want.Spec.Volumes = append([]corev1.Volume{want.Spec.Volumes[0], {Name: "kfup-image", VolumeSource: corev1.VolumeSource{
		Image: &corev1.ImageVolumeSource{Reference: testImage, PullPolicy: corev1.PullIfNotPresent},
	}}}, want.Spec.Volumes[1:]...)
	main := &want.Spec.Containers[0]
	main.VolumeMounts = append([]corev1.VolumeMount{main.VolumeMounts[0], {Name: "kfup-image", MountPath: "/kfup-image", ReadOnly: true}}, main.VolumeMounts[1:]...)
	main.Command[0] = "/kfup-image/kfup"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("pod (-want +got):\n%s", diff)
	}
}

// TestTaskPodInputs checks what PodInput adds beyond the IR.
func TestTaskPodInputs(t *testing.T) {
	p := loadFile(t, "pipeline_with_env.yaml")
	s := readySteps(t, p, nil, nil)["print-env"]
	in := input(p, s, testRun(nil, nil))
	in.ImagePullPolicy = corev1.PullNever
	in.WorkspaceClaim = "run-1-kfp-workspace"
	got, err := TaskPod(in)
	if err != nil {
		t.Fatal(err)
	}
	want := wantPod(t, p, s, in)
	want.Spec.InitContainers[0].ImagePullPolicy = corev1.PullNever
	want.Spec.Volumes = append(want.Spec.Volumes, corev1.Volume{Name: "kfp-workspace", VolumeSource: corev1.VolumeSource{
		PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "run-1-kfp-workspace"},
	}})
	main := &want.Spec.Containers[0]
	main.VolumeMounts = append(main.VolumeMounts, corev1.VolumeMount{Name: "kfp-workspace", MountPath: "/kfp-workspace"})
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("pod (-want +got):\n%s", diff)
	}
	// the component spec travels whole, for the launcher to type the outputs
	var comp ir.ComponentSpec
	for _, e := range got.Spec.Containers[0].Env {
		if e.Name == "KFUP_COMPONENT_SPEC" {
			if err := json.Unmarshal([]byte(e.Value), &comp); err != nil {
				t.Fatal(err)
			}
		}
	}
	if comp.ExecutorLabel != "exec-print-env" {
		t.Errorf("KFUP_COMPONENT_SPEC: %+v", comp)
	}
}

// TestConformanceTasks makes the pod of every task the first plan of each valid pipeline
// starts: each is made, or refused with a reason kfup documents.
func TestConformanceTasks(t *testing.T) {
	refused := map[string]string{
		"pipeline_with_workspace.yaml":          "asks for a workspace",
		"pipeline_with_importer_workspace.yaml": "asks for a workspace",
	}
	for _, f := range conformance.Files(t, "pipelines/valid/*.yaml") {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			p := loadFile(t, name)
			params := map[string]any{}
			if in := p.Spec.Root.InputDefinitions; in != nil {
				for k, d := range in.Parameters {
					if d.DefaultValue == nil && !d.IsOptional {
						params[k] = map[ir.ParameterType]any{ir.TypeString: "x", ir.TypeInteger: 1.0, ir.TypeDouble: 1.5, ir.TypeBoolean: true, ir.TypeList: []any{"a"}, ir.TypeStruct: map[string]any{}}[d.ParameterType]
					}
				}
			}
			for id, s := range readySteps(t, p, params, nil) {
				if ex := p.Spec.DeploymentSpec.Executors[s.ExecutorLabel]; ex.Container == nil {
					continue // importers start no pod
				}
				pod, err := TaskPod(input(p, s, testRun(params, nil)))
				switch {
				case refused[name] != "":
					if err == nil || !strings.Contains(err.Error(), refused[name]) {
						t.Errorf("%s: error %v, want %q", id, err, refused[name])
					}
				case strings.HasPrefix(p.Spec.DeploymentSpec.Executors[s.ExecutorLabel].Container.Image, "argostub/"):
					if err == nil || !strings.Contains(err.Error(), "CreatePVC or DeletePVC") {
						t.Errorf("%s: error %v, want CreatePVC refused", id, err)
					}
				case err != nil:
					t.Errorf("%s: %v", id, err)
				default:
					checkPod(t, pod)
				}
			}
		})
	}
}

// checkPod checks what every task pod must hold: valid, unique volume names, mounts of
// existing volumes at distinct paths, the launcher first.
func checkPod(t testing.TB, pod *corev1.Pod) {
	t.Helper()
	vols := map[string]bool{}
	for _, v := range pod.Spec.Volumes {
		if vols[v.Name] {
			t.Errorf("volume %s twice", v.Name)
		}
		if len(v.Name) > 63 || sanitize(v.Name) != v.Name {
			t.Errorf("volume name %q is no DNS label", v.Name)
		}
		vols[v.Name] = true
	}
	names := map[string]bool{}
	for _, c := range append(append([]corev1.Container{}, pod.Spec.InitContainers...), pod.Spec.Containers...) {
		if names[c.Name] {
			t.Errorf("container %s twice", c.Name)
		}
		names[c.Name] = true
		paths := map[string]bool{}
		for _, m := range c.VolumeMounts {
			if !vols[m.Name] {
				t.Errorf("container %s mounts missing volume %s", c.Name, m.Name)
			}
			if paths[m.MountPath] {
				t.Errorf("container %s mounts %s twice", c.Name, m.MountPath)
			}
			paths[m.MountPath] = true
		}
	}
	if len(pod.Spec.InitContainers) == 0 || pod.Spec.InitContainers[0].Name != LauncherContainer {
		t.Errorf("the launcher is not the first init container")
	}
	if len(pod.Spec.Containers) != 1 || pod.Spec.Containers[0].Name != MainContainer {
		t.Errorf("containers %v", names)
	}
}
