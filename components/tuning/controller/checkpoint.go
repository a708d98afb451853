package controller

import (
	"context"
	"fmt"
	"path"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	tuningv1beta1 "github.com/kfup/kfup/components/tuning/api/v1beta1"
	"github.com/kfup/kfup/components/tuning/engine"
	"github.com/kfup/kfup/components/tuning/suggest"
	"github.com/kfup/kfup/internal/agent"
	"github.com/kfup/kfup/internal/apihost"
)

// The pbt checkpoint contract, upstream's paths: the experiment has one volume, a
// PersistentVolumeClaim <suggestion>-pbt owned by its Suggestion; each trial's directory
// <experiment>/<trial> of it is mounted in the primary container at suggestion_trial_dir.
// Katib's suggestion pod copies a parent's directory into its child's; kfup has none, so
// the trial's pod does it first, in the init container engine.CheckpointContainerName
// (`kfup agent checkpoint`, kfup's image).

// ExperimentResourceExistsReason ends an Experiment whose checkpoint volume's name is
// taken by a claim that is not its Suggestion's: kfup never changes or deletes it.
const ExperimentResourceExistsReason = "ResourceExists"

// checkpointVolumeSize is what the checkpoint claim asks for (upstream's default).
var checkpointVolumeSize = resource.MustParse("1Gi")

// checkpointDir is the experiment's suggestion_trial_dir when its algorithm is pbt.
func checkpointDir(a *tuningv1beta1.AlgorithmSpec) (string, bool) {
	if a == nil || a.AlgorithmName != "pbt" {
		return "", false
	}
	for _, s := range a.AlgorithmSettings {
		if s.Name == suggest.PBTTrialDirSetting && s.Value != "" {
			return s.Value, true
		}
	}
	return "", false
}

// checkpointClaimName is upstream's name of the suggestion's volume claim.
func checkpointClaimName(sug string) string { return sug + "-pbt" }

// desiredCheckpointClaim is the checkpoint volume claim of sug: ReadWriteOnce, 1Gi, the
// cluster's default storage class, labelled and controlled by sug.
func desiredCheckpointClaim(sug *tuningv1beta1.Suggestion) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: checkpointClaimName(sug.Name), Namespace: sug.Namespace, Labels: map[string]string{
			tuningv1beta1.LabelExperimentName: sug.Name, apihost.LabelAPI: APIName,
		}},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: checkpointVolumeSize.DeepCopy()}},
		},
	}
}

// ensureCheckpointVolume creates a pbt experiment's checkpoint claim, owned by its
// Suggestion, before any trial; a claim of that name that is not the Suggestion's ends
// the experiment Failed/ResourceExists, naming it.
func (r *ExperimentReconciler) ensureCheckpointVolume(ctx context.Context, exp *tuningv1beta1.Experiment, sug *tuningv1beta1.Suggestion, now metav1.Time) error {
	if _, ok := checkpointDir(exp.Spec.Algorithm); !ok || sug == nil {
		return nil
	}
	want := desiredCheckpointClaim(sug)
	have := &corev1.PersistentVolumeClaim{}
	err := r.reader.Get(ctx, client.ObjectKeyFromObject(want), have)
	switch {
	case err == nil:
		if metav1.IsControlledBy(have, sug) {
			return nil
		}
		setExpCond(exp, tuningv1beta1.ExperimentFailed, ExperimentResourceExistsReason, fmt.Sprintf(
			"persistentvolumeclaim %s/%s, the name of this pbt experiment's checkpoint volume, exists and is not suggestion %s's: kfup leaves it alone; delete or rename it, or rename the experiment",
			have.Namespace, have.Name, sug.Name), now)
		clearExpCond(exp, tuningv1beta1.ExperimentRunning, now)
		exp.Status.CompletionTime = &now
		return nil
	case !apierrors.IsNotFound(err):
		return err
	}
	if err := controllerutil.SetControllerReference(sug, want, r.client.Scheme()); err != nil {
		return err
	}
	if err := r.client.Create(ctx, want); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create the checkpoint volume claim %s: %w", want.Name, err)
	}
	return nil
}

// checkpointFor is what the pods of trial (of experiment exp, bred from parent, "" in
// generation 0) get: the trial's directory of the experiment's volume at dir, prepared by
// kfup's image.
func checkpointFor(exp, trial, parent, dir, image string) (engine.Checkpoint, error) {
	if image == "" {
		return engine.Checkpoint{}, fmt.Errorf("pbt copies checkpoints with kfup's image, and the manager does not know it: set KFUP_IMAGE on the manager")
	}
	cmd := []string{"/kfup", "agent", "checkpoint", "--dir", path.Join(engine.CheckpointMountPath, exp, trial)}
	if parent != "" {
		cmd = append(cmd, "--parent", path.Join(engine.CheckpointMountPath, exp, parent))
	}
	return engine.Checkpoint{
		ClaimName: checkpointClaimName(exp),
		Dir:       dir,
		SubPath:   path.Join(exp, trial),
		Init: corev1.Container{
			Image:           image,
			ImagePullPolicy: corev1.PullIfNotPresent,
			Command:         cmd,
			Resources:       corev1.ResourceRequirements{Requests: sidecarRequests.DeepCopy(), Limits: sidecarLimits.DeepCopy()},
			SecurityContext: agent.SecurityContext(),
		},
	}, nil
}

// injectCheckpoint gives run, the run of trial t of experiment exp, the trial's
// checkpoint when exp's algorithm is pbt.
func injectCheckpoint(run *unstructured.Unstructured, exp *tuningv1beta1.Experiment, trial, parent, primary, image string) error {
	dir, ok := checkpointDir(exp.Spec.Algorithm)
	if !ok {
		return nil
	}
	c, err := checkpointFor(exp.Name, trial, parent, dir, image)
	if err != nil {
		return err
	}
	n, err := engine.InjectCheckpoint(run, primary, c)
	if err != nil {
		return fmt.Errorf("pbt checkpoint: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("pbt needs a pod template with the primary container %q to mount the checkpoint in: kfup mounts it in batch Jobs and kubeflow.org/v1 training jobs", primary)
	}
	return nil
}

// errCheckpoint is a checkpoint the trial's run cannot have: the trial fails.
type errCheckpoint struct{ error }

// trialCheckpoint gives the run of trial t its checkpoint when t is a pbt trial.
func (r *TrialReconciler) trialCheckpoint(ctx context.Context, t *tuningv1beta1.Trial, run *unstructured.Unstructured) error {
	if _, ok := t.Labels[suggest.PBTGenerationLabel]; !ok {
		return nil
	}
	exp := &tuningv1beta1.Experiment{}
	if err := r.client.Get(ctx, client.ObjectKey{Namespace: t.Namespace, Name: t.Labels[tuningv1beta1.LabelExperimentName]}, exp); err != nil {
		return err
	}
	if err := injectCheckpoint(run, exp, t.Name, t.Labels[suggest.PBTParentLabel], t.Spec.PrimaryContainerName, r.cfg.Image); err != nil {
		return errCheckpoint{err}
	}
	return nil
}
