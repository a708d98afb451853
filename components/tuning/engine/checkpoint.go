package engine

import (
	"cmp"
	"fmt"
	"path"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
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
	return editTemplates(obj, func(pt *corev1.PodTemplateSpec) (bool, error) {
		spec := &pt.Spec
		i := slices.IndexFunc(spec.Containers, func(ct corev1.Container) bool { return ct.Name == primary })
		if i < 0 {
			return false, nil
		}
		for _, ct := range slices.Concat(spec.InitContainers, spec.Containers) {
			if ct.Name == CheckpointContainerName {
				return false, fmt.Errorf("the pod template already has a container named %s, the name of kfup's checkpoint init container: rename it", CheckpointContainerName)
			}
		}
		if slices.ContainsFunc(spec.Volumes, func(v corev1.Volume) bool { return v.Name == CheckpointContainerName }) {
			return false, fmt.Errorf("the pod template already has a volume named %s, the name of kfup's checkpoint volume: rename it", CheckpointContainerName)
		}
		pc := &spec.Containers[i]
		for _, m := range pc.VolumeMounts {
			if path.Clean(m.MountPath) == dir {
				return false, fmt.Errorf("container %q already mounts volume %s at %s, the suggestion_trial_dir where kfup mounts the trial's checkpoint: remove that mount or choose another directory", primary, m.Name, dir)
			}
		}
		spec.Volumes = append(spec.Volumes, corev1.Volume{Name: CheckpointContainerName, VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: c.ClaimName},
		}})
		pc.VolumeMounts = append(pc.VolumeMounts, corev1.VolumeMount{Name: CheckpointContainerName, MountPath: dir, SubPath: c.SubPath})
		init := *c.Init.DeepCopy()
		init.Name = CheckpointContainerName
		init.SecurityContext = RunAsTrainer(init.SecurityContext, spec.SecurityContext, pc.SecurityContext)
		init.VolumeMounts = append(init.VolumeMounts, corev1.VolumeMount{Name: CheckpointContainerName, MountPath: CheckpointMountPath})
		spec.InitContainers = append([]corev1.Container{init}, spec.InitContainers...)
		return true, nil
	})
}

// RunAsTrainer is the init container's security context sc with the identity of the
// container that trains (primary, within pod): the directory it prepares on the volume
// must belong to whoever writes the checkpoint there, and the volume's root is often
// writable by root alone (kind's host-path provisioner, CSI drivers that ignore fsGroup),
// where kfup's own user could not create it. The rest of sc (no privilege escalation,
// every capability dropped, the seccomp profile) is kept, so a restricted trial stays
// restricted.
//   - A trainer that sets runAsUser (in its container or its pod) lends its user and
//     group; runAsNonRoot follows the user.
//   - One that runs as a non-root user its image names (runAsNonRoot without runAsUser)
//     leaves kfup's user: the volume must then be writable by others, as it must be for
//     that trainer itself.
//   - One that sets neither runs as its image's user, root for most ML images: so does
//     the init container.
func RunAsTrainer(sc *corev1.SecurityContext, pod *corev1.PodSecurityContext, primary *corev1.SecurityContext) *corev1.SecurityContext {
	out := &corev1.SecurityContext{}
	if sc != nil {
		out = sc.DeepCopy()
	}
	var uid, gid *int64
	var nonRoot *bool
	if pod != nil {
		uid, gid, nonRoot = pod.RunAsUser, pod.RunAsGroup, pod.RunAsNonRoot
	}
	if primary != nil {
		uid, gid, nonRoot = cmp.Or(primary.RunAsUser, uid), cmp.Or(primary.RunAsGroup, gid), cmp.Or(primary.RunAsNonRoot, nonRoot)
	}
	switch {
	case uid != nil:
		out.RunAsUser = ptr.To(*uid)
		out.RunAsGroup = nil
		if gid != nil {
			out.RunAsGroup = ptr.To(*gid)
		}
		out.RunAsNonRoot = ptr.To(*uid != 0)
	case nonRoot != nil && *nonRoot:
	default:
		out.RunAsUser, out.RunAsGroup, out.RunAsNonRoot = ptr.To[int64](0), ptr.To[int64](0), ptr.To(false)
	}
	return out
}
