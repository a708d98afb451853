package engine

import (
	"fmt"
	"maps"
	"path"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// CheckpointContainerName names the init container InjectCheckpoint adds and the volume
// it mounts.
const CheckpointContainerName = "kfup-checkpoint"

// CheckpointMountPath is where the init container mounts the whole checkpoint volume.
const CheckpointMountPath = "/kfup-checkpoints"

// Checkpoint is what a pbt trial's pods get: the experiment's volume, the trial's own
// directory of it mounted where the training code reads and writes its checkpoint, and
// an init container that prepares that directory.
type Checkpoint struct {
	// ClaimName is the experiment's PersistentVolumeClaim.
	ClaimName string
	// Dir is the primary container's checkpoint directory (suggestion_trial_dir).
	Dir string
	// SubPath is the trial's directory in the volume (<experiment>/<trial>, upstream's).
	SubPath string
	// Init prepares SubPath; InjectCheckpoint names it and mounts the volume at
	// CheckpointMountPath in it.
	Init corev1.Container
}

// InjectCheckpoint adds c to each pod template of obj that holds the container primary
// (the templates InjectMetricsSidecar changes): the volume, the primary container's mount
// of c.SubPath at c.Dir and c.Init as the first init container, so that the directory is
// ready before any other container starts. It returns how many templates it changed; a
// template that already has a container or volume named CheckpointContainerName, or a
// primary container that already mounts something at c.Dir, is an error, and obj is then
// unchanged.
func InjectCheckpoint(obj *unstructured.Unstructured, primary string, c Checkpoint) (int, error) {
	dir := path.Clean(c.Dir)
	type change struct {
		t   map[string]any
		out map[string]any
	}
	var changes []change
	for _, t := range podTemplates(obj) {
		pt := &corev1.PodTemplateSpec{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(t, pt); err != nil {
			return 0, fmt.Errorf("pod template: %w", err)
		}
		spec := &pt.Spec
		i := slices.IndexFunc(spec.Containers, func(ct corev1.Container) bool { return ct.Name == primary })
		if i < 0 {
			continue
		}
		for _, ct := range slices.Concat(spec.InitContainers, spec.Containers) {
			if ct.Name == CheckpointContainerName {
				return 0, fmt.Errorf("the pod template already has a container named %s, the name of kfup's checkpoint init container: rename it", CheckpointContainerName)
			}
		}
		if slices.ContainsFunc(spec.Volumes, func(v corev1.Volume) bool { return v.Name == CheckpointContainerName }) {
			return 0, fmt.Errorf("the pod template already has a volume named %s, the name of kfup's checkpoint volume: rename it", CheckpointContainerName)
		}
		pc := &spec.Containers[i]
		for _, m := range pc.VolumeMounts {
			if path.Clean(m.MountPath) == dir {
				return 0, fmt.Errorf("container %q already mounts volume %s at %s, the suggestion_trial_dir where kfup mounts the trial's checkpoint: remove that mount or choose another directory", primary, m.Name, dir)
			}
		}
		spec.Volumes = append(spec.Volumes, corev1.Volume{Name: CheckpointContainerName, VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: c.ClaimName},
		}})
		pc.VolumeMounts = append(pc.VolumeMounts, corev1.VolumeMount{Name: CheckpointContainerName, MountPath: dir, SubPath: c.SubPath})
		init := *c.Init.DeepCopy()
		init.Name = CheckpointContainerName
		init.VolumeMounts = append(init.VolumeMounts, corev1.VolumeMount{Name: CheckpointContainerName, MountPath: CheckpointMountPath})
		spec.InitContainers = append([]corev1.Container{init}, spec.InitContainers...)
		out, err := runtime.DefaultUnstructuredConverter.ToUnstructured(pt)
		if err != nil {
			return 0, err
		}
		changes = append(changes, change{t, out})
	}
	for _, ch := range changes {
		clear(ch.t)
		maps.Copy(ch.t, ch.out)
	}
	return len(changes), nil
}
