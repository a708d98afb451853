package controller

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	content "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pipelinesv1alpha1 "github.com/kfup/kfup/components/pipelines/api/v1alpha1"
	"github.com/kfup/kfup/components/pipelines/ir"
	"github.com/kfup/kfup/components/pipelines/plan"
	"github.com/kfup/kfup/internal/apihost"
)

// The images kfp-kubernetes compiles its CreatePVC and DeletePVC tasks to: KFP's driver
// runs them, not a pod; so does kfup's controller.
const (
	imageCreatePVC = "argostub/createpvc"
	imageDeletePVC = "argostub/deletepvc"
)

// workspaceSuffix names a run's workspace claim: <run>-kfp-workspace.
const workspaceSuffix = "-kfp-workspace"

// claimTask says whether exec is a CreatePVC or DeletePVC task.
func claimTask(exec ir.ExecutorSpec) bool {
	return exec.Container != nil && (exec.Container.Image == imageCreatePVC || exec.Container.Image == imageDeletePVC)
}

// ownedClaim says whether pvc is one this controller made for run.
func ownedClaim(pvc *corev1.PersistentVolumeClaim, run *pipelinesv1alpha1.PipelineRun) bool {
	return pvc.Labels[apihost.LabelAPI] == APIName && metav1.IsControlledBy(pvc, run)
}

// ensureClaim creates pvc for run (owned by it: deleted with it) unless it exists; one
// of that name that is not this run's is an error naming it, never taken over.
func (r *RunReconciler) ensureClaim(ctx context.Context, run *pipelinesv1alpha1.PipelineRun, pvc *corev1.PersistentVolumeClaim) error {
	apihost.MarkChild(pvc, APIName)
	labels := pvc.Labels
	labels[LabelRun] = run.Name
	if err := ctrl.SetControllerReference(run, pvc, r.client.Scheme()); err != nil {
		return err
	}
	err := r.client.Create(ctx, pvc)
	if err == nil {
		return nil
	}
	if !apierrors.IsAlreadyExists(err) {
		if apierrors.IsInvalid(err) || apierrors.IsForbidden(err) {
			return permanent{fmt.Errorf("create PersistentVolumeClaim %s/%s: %w", pvc.Namespace, pvc.Name, err)}
		}
		return fmt.Errorf("create PersistentVolumeClaim %s/%s: %w", pvc.Namespace, pvc.Name, err)
	}
	got := &corev1.PersistentVolumeClaim{}
	if err := r.reader.Get(ctx, client.ObjectKeyFromObject(pvc), got); err != nil {
		return err
	}
	if !ownedClaim(got, run) {
		return permanent{fmt.Errorf("PersistentVolumeClaim %s/%s exists and is not this run's: kfup does not take it over; pick another name, or mount it with kubernetes.mount_pvc", pvc.Namespace, pvc.Name)}
	}
	return nil
}

// workspaceClaim is the run's workspace claim when its pipeline has
// pipelineConfig.workspace ("" otherwise), made on first use: spec.resources from size,
// ReadWriteOnce unless pvcSpecPatch says otherwise, with pvcSpecPatch over it.
func (r *RunReconciler) workspaceClaim(ctx context.Context, run *pipelinesv1alpha1.PipelineRun, p *ir.Pipeline) (string, error) {
	ws := workspaceConfig(p)
	if ws == nil {
		return "", nil
	}
	pvc, err := WorkspaceClaim(run, ws)
	if err != nil {
		return "", permanent{err}
	}
	if err := r.ensureClaim(ctx, run, pvc); err != nil {
		return "", err
	}
	return pvc.Name, nil
}

func workspaceConfig(p *ir.Pipeline) *ir.WorkspaceConfig {
	if p.Platform == nil {
		return nil
	}
	if k, ok := p.Platform.Platforms["kubernetes"]; ok && k.PipelineConfig != nil {
		return k.PipelineConfig.Workspace
	}
	return nil
}

// WorkspaceClaim is the claim of run's workspace ws (not yet owned or labelled).
func WorkspaceClaim(run *pipelinesv1alpha1.PipelineRun, ws *ir.WorkspaceConfig) (*corev1.PersistentVolumeClaim, error) {
	const field = "platformSpec.platforms.kubernetes.pipelineConfig.workspace"
	if ws.Size == "" {
		return nil, fmt.Errorf("%s.size is empty: set the workspace's size, such as 1Gi (dsl.WorkspaceConfig(size=...))", field)
	}
	q, err := resource.ParseQuantity(ws.Size)
	if err != nil || q.Sign() <= 0 {
		return nil, fmt.Errorf("%s.size %q is not a positive size such as 1Gi", field, ws.Size)
	}
	spec := corev1.PersistentVolumeClaimSpec{
		AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
		Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: q}},
	}
	if ws.Kubernetes != nil && len(ws.Kubernetes.PVCSpecPatch) > 0 {
		if spec, err = patchClaimSpec(spec, ws.Kubernetes.PVCSpecPatch); err != nil {
			return nil, fmt.Errorf("%s.kubernetes.pvcSpecPatch: %w", field, err)
		}
	}
	return &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: run.Name + workspaceSuffix, Namespace: run.Namespace},
		Spec:       spec,
	}, nil
}

// patchClaimSpec sets the top-level fields of patch over spec (KFP's pvcSpecPatch), each
// read strictly: an unknown field is an error.
func patchClaimSpec(spec corev1.PersistentVolumeClaimSpec, patch map[string]any) (corev1.PersistentVolumeClaimSpec, error) {
	base, err := json.Marshal(spec)
	if err != nil {
		return spec, err
	}
	m := map[string]any{}
	if err := json.Unmarshal(base, &m); err != nil {
		return spec, err
	}
	for k, v := range patch {
		m[k] = v
	}
	merged, err := json.Marshal(m)
	if err != nil {
		return spec, err
	}
	var out corev1.PersistentVolumeClaimSpec
	dec := json.NewDecoder(bytes.NewReader(merged))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		return spec, fmt.Errorf("not a PersistentVolumeClaim spec: %w", err)
	}
	return out, nil
}

// runClaimTask completes a CreatePVC or DeletePVC task itself, as KFP's driver does: no
// pod. CreatePVC's one output, "name", is the claim's name.
func (r *RunReconciler) runClaimTask(ctx context.Context, run *pipelinesv1alpha1.PipelineRun, t *pipelinesv1alpha1.TaskStatus, s plan.Step, image string, now metav1.Time) error {
	t.Attempts, t.CompletionTime = int32(s.Attempt), &now
	var err error
	var name string
	if image == imageCreatePVC {
		var pvc *corev1.PersistentVolumeClaim
		if pvc, err = CreatePVCClaim(run, s.Parameters); err == nil {
			name = pvc.Name
			err = r.ensureClaim(ctx, run, pvc)
		}
	} else {
		name, err = r.deleteClaim(ctx, run, s.Parameters)
	}
	var perm permanent
	var bad badInput
	switch {
	case err == nil:
		t.Phase, t.Message = pipelinesv1alpha1.PhaseSucceeded, ""
		if image == imageCreatePVC {
			raw, _ := json.Marshal(name) // a string: cannot fail
			t.Parameters = map[string]apiextensionsv1.JSON{"name": {Raw: raw}}
		}
		return nil
	case errors.As(err, &perm) || errors.As(err, &bad):
		t.Phase, t.Message = pipelinesv1alpha1.PhaseFailed, fmt.Sprintf("task %s: %v", s.ID, err)
		return nil
	default:
		t.CompletionTime = nil
		return err
	}
}

// badInput marks an error in a task's parameters: the task fails, the run goes on as
// its other tasks allow.
type badInput struct{ error }

// CreatePVCClaim is the claim a CreatePVC task with params asks for: pvc_name, or the run's
// name joined to pvc_name_suffix; access_modes, size, storage_class_name (empty: the
// cluster's default), volume_name, annotations and data_source.
func CreatePVCClaim(run *pipelinesv1alpha1.PipelineRun, params map[string]any) (*corev1.PersistentVolumeClaim, error) {
	str := func(k string) (string, error) {
		v, ok := params[k]
		if !ok || v == nil {
			return "", nil
		}
		s, ok := v.(string)
		if !ok {
			return "", badInput{fmt.Errorf("input %s: %v is not a string", k, v)}
		}
		return s, nil
	}
	name, err := str("pvc_name")
	if err != nil {
		return nil, err
	}
	suffix, err := str("pvc_name_suffix")
	if err != nil {
		return nil, err
	}
	switch {
	case name != "" && suffix != "":
		return nil, badInput{fmt.Errorf("set pvc_name or pvc_name_suffix, not both")}
	case name == "" && suffix == "":
		return nil, badInput{fmt.Errorf("set pvc_name or pvc_name_suffix")}
	case name == "":
		name = run.Name + "-" + strings.TrimPrefix(suffix, "-")
	}
	if errs := content.IsDNS1123Subdomain(name); len(errs) > 0 {
		return nil, badInput{fmt.Errorf("claim name %q: %s", name, strings.Join(errs, "; "))}
	}
	size, err := str("size")
	if err != nil {
		return nil, err
	}
	q, qerr := resource.ParseQuantity(size)
	if qerr != nil || q.Sign() <= 0 {
		return nil, badInput{fmt.Errorf("input size %q is not a positive size such as 5Gi", size)}
	}
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: run.Namespace},
		Spec:       corev1.PersistentVolumeClaimSpec{Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: q}}},
	}
	modes, _ := params["access_modes"].([]any)
	if len(modes) == 0 {
		return nil, badInput{fmt.Errorf("input access_modes is empty: list one or more of ReadWriteOnce, ReadOnlyMany, ReadWriteMany, ReadWriteOncePod")}
	}
	for _, m := range modes {
		switch mode := corev1.PersistentVolumeAccessMode(fmt.Sprint(m)); mode {
		case corev1.ReadWriteOnce, corev1.ReadOnlyMany, corev1.ReadWriteMany, corev1.ReadWriteOncePod:
			pvc.Spec.AccessModes = append(pvc.Spec.AccessModes, mode)
		default:
			return nil, badInput{fmt.Errorf("input access_modes: %q is not ReadWriteOnce, ReadOnlyMany, ReadWriteMany or ReadWriteOncePod", m)}
		}
	}
	if sc, err := str("storage_class_name"); err != nil {
		return nil, err
	} else if sc != "" {
		pvc.Spec.StorageClassName = ptr.To(sc)
	}
	if vn, err := str("volume_name"); err != nil {
		return nil, err
	} else if vn != "" {
		pvc.Spec.VolumeName = vn
	}
	if a, ok := params["annotations"].(map[string]any); ok {
		pvc.Annotations = map[string]string{}
		for k, v := range a {
			pvc.Annotations[k] = fmt.Sprint(v)
		}
	}
	if ds, ok := params["data_source"].(map[string]any); ok && len(ds) > 0 {
		if ds["kind"] == nil || ds["name"] == nil {
			return nil, badInput{fmt.Errorf("input data_source needs kind and name (and apiGroup for a VolumeSnapshot)")}
		}
		ref := &corev1.TypedLocalObjectReference{Kind: fmt.Sprint(ds["kind"]), Name: fmt.Sprint(ds["name"])}
		if g, ok := ds["apiGroup"].(string); ok && g != "" {
			ref.APIGroup = ptr.To(g)
		}
		pvc.Spec.DataSource = ref
	}
	return pvc, nil
}

// deleteClaim deletes the claim a DeletePVC task names (pvc_name), if it is one kfup
// made for a pipeline run (any run of the namespace: CreatePVC's claims outlive none of
// them, but a later run may delete an earlier one's); a claim kfup did not make is
// refused, one already gone is fine.
func (r *RunReconciler) deleteClaim(ctx context.Context, run *pipelinesv1alpha1.PipelineRun, params map[string]any) (string, error) {
	name, ok := params["pvc_name"].(string)
	if !ok || name == "" {
		return "", badInput{fmt.Errorf("input pvc_name is not set: name the claim to delete (often CreatePVC's output name)")}
	}
	got := &corev1.PersistentVolumeClaim{}
	if err := r.reader.Get(ctx, client.ObjectKey{Namespace: run.Namespace, Name: name}, got); err != nil {
		if apierrors.IsNotFound(err) {
			return name, nil
		}
		return "", err
	}
	if got.Labels[apihost.LabelAPI] != APIName || got.Labels[LabelRun] == "" {
		return "", badInput{fmt.Errorf("PersistentVolumeClaim %s/%s was not made by a pipeline run (CreatePVC): kfup deletes only its own claims", run.Namespace, name)}
	}
	if err := r.client.Delete(ctx, got, client.Preconditions{UID: ptr.To(got.UID)}); err != nil && !apierrors.IsNotFound(err) {
		return "", fmt.Errorf("delete PersistentVolumeClaim %s/%s: %w", run.Namespace, name, err)
	}
	return name, nil
}
