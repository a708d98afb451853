package controller_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pipelinesv1alpha1 "github.com/kfup/kfup/components/pipelines/api/v1alpha1"
	"github.com/kfup/kfup/components/pipelines/controller"
	"github.com/kfup/kfup/components/pipelines/executor"
)

// pvcPipeline is kfp-kubernetes' CreatePVC → a task mounting the claim → DeletePVC, as
// the SDK compiles `kubernetes.CreatePVC`, `mount_pvc` and `kubernetes.DeletePVC`.
func pvcPipeline(t *testing.T, name, ns string) *pipelinesv1alpha1.PipelineRun {
	t.Helper()
	str := map[string]any{"parameterType": "STRING"}
	opt := map[string]any{"parameterType": "STRING", "isOptional": true}
	spec := map[string]any{
		"pipelineInfo": map[string]any{"name": "pvc"}, "schemaVersion": "2.1.0",
		"components": map[string]any{
			"comp-createpvc": map[string]any{"executorLabel": "exec-createpvc",
				"inputDefinitions": map[string]any{"parameters": map[string]any{
					"access_modes": map[string]any{"parameterType": "LIST"}, "size": str, "pvc_name_suffix": opt, "storage_class_name": opt,
				}},
				"outputDefinitions": map[string]any{"parameters": map[string]any{"name": str}}},
			"comp-use":       map[string]any{"executorLabel": "exec-use"},
			"comp-deletepvc": map[string]any{"executorLabel": "exec-deletepvc", "inputDefinitions": map[string]any{"parameters": map[string]any{"pvc_name": str}}},
		},
		"deploymentSpec": map[string]any{"executors": map[string]any{
			"exec-createpvc": map[string]any{"container": map[string]any{"image": "argostub/createpvc"}},
			"exec-use":       map[string]any{"container": map[string]any{"image": "kfup-offline/busybox:1", "command": []any{"ls", "/data"}}},
			"exec-deletepvc": map[string]any{"container": map[string]any{"image": "argostub/deletepvc"}},
		}},
		"root": map[string]any{"dag": map[string]any{"tasks": map[string]any{
			"createpvc": map[string]any{"taskInfo": map[string]any{"name": "createpvc"}, "componentRef": map[string]any{"name": "comp-createpvc"},
				"inputs": map[string]any{"parameters": map[string]any{
					"access_modes":    map[string]any{"runtimeValue": map[string]any{"constant": []any{"ReadWriteOnce"}}},
					"size":            map[string]any{"runtimeValue": map[string]any{"constant": "1Gi"}},
					"pvc_name_suffix": map[string]any{"runtimeValue": map[string]any{"constant": "-my-pvc"}},
				}}},
			"use": map[string]any{"taskInfo": map[string]any{"name": "use"}, "componentRef": map[string]any{"name": "comp-use"},
				"dependentTasks": []any{"createpvc"}},
			"deletepvc": map[string]any{"taskInfo": map[string]any{"name": "deletepvc"}, "componentRef": map[string]any{"name": "comp-deletepvc"},
				"dependentTasks": []any{"use"},
				"inputs": map[string]any{"parameters": map[string]any{
					"pvc_name": map[string]any{"taskOutputParameter": map[string]any{"producerTask": "createpvc", "outputParameterKey": "name"}},
				}}},
		}}},
	}
	platform := map[string]any{"platforms": map[string]any{"kubernetes": map[string]any{"deploymentSpec": map[string]any{"executors": map[string]any{
		"exec-use": map[string]any{"pvcMount": []any{map[string]any{
			"mountPath": "/data", "taskOutputParameter": map[string]any{"producerTask": "createpvc", "outputParameterKey": "name"},
		}}},
	}}}}}
	raw, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	plat, err := json.Marshal(platform)
	if err != nil {
		t.Fatal(err)
	}
	return &pipelinesv1alpha1.PipelineRun{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       pipelinesv1alpha1.PipelineRunSpec{PipelineSpec: &runtime.RawExtension{Raw: raw}, PlatformSpec: &runtime.RawExtension{Raw: plat}},
	}
}

// waitClaim waits until claim ns/name satisfies ok.
func waitClaim(t *testing.T, ns, name, what string, ok func(*corev1.PersistentVolumeClaim, error) bool) *corev1.PersistentVolumeClaim {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		pvc := &corev1.PersistentVolumeClaim{}
		err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, pvc)
		if ok(pvc, err) {
			return pvc
		}
		if time.Now().After(deadline) {
			t.Fatalf("claim %s/%s: timed out waiting for %s (%v)", ns, name, what, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// CreatePVC and DeletePVC run in the controller, no pod: the claim is made, owned by the
// run, mounted by the task naming CreatePVC's output, and deleted after it.
func TestCreateAndDeletePVC(t *testing.T) {
	start(t)
	ctx := context.Background()
	ns := env.Namespace(t)
	run := pvcPipeline(t, "vol", ns)
	if err := env.Client.Create(ctx, run); err != nil {
		t.Fatal(err)
	}
	pvc := waitClaim(t, ns, "vol-my-pvc", "its creation", func(_ *corev1.PersistentVolumeClaim, err error) bool { return err == nil })
	if !metav1.IsControlledBy(pvc, run) {
		t.Errorf("claim owners %v: want the run", pvc.OwnerReferences)
	}
	if pvc.Labels[controller.LabelRun] != "vol" || pvc.Spec.AccessModes[0] != corev1.ReadWriteOnce || pvc.Spec.Resources.Requests.Storage().String() != "1Gi" {
		t.Errorf("claim: labels %v, spec %+v", pvc.Labels, pvc.Spec)
	}
	use := waitPod(t, ns, "vol", "use", 1)
	mounted := false
	for _, v := range use.Spec.Volumes {
		if v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == "vol-my-pvc" {
			mounted = true
		}
	}
	if !mounted {
		t.Errorf("the task's pod does not mount the claim: %+v", use.Spec.Volumes)
	}
	pods := &corev1.PodList{}
	if err := env.Client.List(ctx, pods, client.InNamespace(ns)); err != nil || len(pods.Items) != 1 {
		t.Errorf("want one pod (CreatePVC runs in the controller), got %d (%v)", len(pods.Items), err)
	}
	got := waitRun(t, client.ObjectKeyFromObject(run), "createpvc's output", func(r *pipelinesv1alpha1.PipelineRun) bool {
		c := r.Status.Task("createpvc")
		return c != nil && c.Phase == pipelinesv1alpha1.PhaseSucceeded
	})
	if n := string(got.Status.Task("createpvc").Parameters["name"].Raw); n != `"vol-my-pvc"` {
		t.Errorf("createpvc's output name = %s", n)
	}
	finishPod(t, use, 0, &executor.Result{})
	done := waitRun(t, client.ObjectKeyFromObject(run), "the run to end", final)
	if done.Status.Phase != pipelinesv1alpha1.PhaseSucceeded {
		t.Fatalf("run ended %s: %s", done.Status.Phase, done.Status.Error)
	}
	// envtest runs no controller to drop the pvc-protection finalizer: deleted means marked
	waitClaim(t, ns, "vol-my-pvc", "its deletion", func(p *corev1.PersistentVolumeClaim, err error) bool {
		return err != nil || !p.DeletionTimestamp.IsZero()
	})
}

// A claim of CreatePVC's name that kfup did not make is not taken over: the task fails,
// naming it, and the claim is left as it was.
func TestClaimsNotTakenOver(t *testing.T) {
	start(t)
	ctx := context.Background()
	ns := env.Namespace(t)
	theirs := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "vol-my-pvc", Namespace: ns, Labels: map[string]string{"app": "theirs"}},
		Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("2Gi")}}},
	}
	if err := env.Client.Create(ctx, theirs); err != nil {
		t.Fatal(err)
	}
	run := pvcPipeline(t, "vol", ns)
	if err := env.Client.Create(ctx, run); err != nil {
		t.Fatal(err)
	}
	done := waitRun(t, client.ObjectKeyFromObject(run), "the run to fail", final)
	c := done.Status.Task("createpvc")
	if done.Status.Phase != pipelinesv1alpha1.PhaseFailed || c == nil || !strings.Contains(c.Message, "exists and is not this run's") {
		t.Fatalf("run %s, createpvc %+v: want it failed, naming the claim", done.Status.Phase, c)
	}
	got := waitClaim(t, ns, "vol-my-pvc", "to stay", func(_ *corev1.PersistentVolumeClaim, err error) bool { return err == nil })
	if got.Labels["app"] != "theirs" || len(got.OwnerReferences) != 0 || !got.DeletionTimestamp.IsZero() {
		t.Errorf("the user's claim was changed: %+v", got.ObjectMeta)
	}
}

// A pipeline with a workspace gets one claim per run, <run>-kfp-workspace as its
// pvcSpecPatch says, mounted at /kfp-workspace in every task pod, which is told the path.
func TestRunWorkspace(t *testing.T) {
	start(t)
	ctx := context.Background()
	ns := env.Namespace(t)
	run := irRun(t, "ws", ns, "pipeline_with_workspace.yaml", nil)
	if err := env.Client.Create(ctx, run); err != nil {
		t.Fatal(err)
	}
	pvc := waitClaim(t, ns, "ws-kfp-workspace", "its creation", func(_ *corev1.PersistentVolumeClaim, err error) bool { return err == nil })
	if !metav1.IsControlledBy(pvc, run) || pvc.Spec.StorageClassName == nil || *pvc.Spec.StorageClassName != "standard" ||
		pvc.Spec.Resources.Requests.Storage().String() != "1Gi" || pvc.Spec.AccessModes[0] != corev1.ReadWriteOnce {
		t.Errorf("workspace claim: owners %v, spec %+v", pvc.OwnerReferences, pvc.Spec)
	}
	pod := waitPod(t, ns, "ws", "write-to-workspace", 1)
	var mounted bool
	for _, m := range pod.Spec.Containers[0].VolumeMounts {
		mounted = mounted || (m.Name == "kfp-workspace" && m.MountPath == "/kfp-workspace")
	}
	if !mounted {
		t.Errorf("the task pod does not mount the workspace: %+v", pod.Spec.Containers[0].VolumeMounts)
	}
	for _, e := range pod.Spec.Containers[0].Env {
		if e.Name == "KFUP_RUN_INFO" && !strings.Contains(e.Value, `"workspacePath":"/kfp-workspace"`) {
			t.Errorf("run info %s: want the workspace path", e.Value)
		}
	}
}
