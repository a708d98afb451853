package engine

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"

	"github.com/kfup/kfup/components/pipelines/ir"
)

// reserveVolumeNames takes the volume names the user gave, before kfup derives any.
func (b *builder) reserveVolumeNames() error {
	c := b.cfg
	for i, v := range c.GenericEphemeralVolume {
		f := b.field("genericEphemeralVolume[%d].volumeName", i)
		if err := b.vols.reserve(v.VolumeName, f); err != nil {
			return b.errf(f, "%v", err)
		}
	}
	for i, v := range c.EmptyDirMounts {
		f := b.field("emptyDirMounts[%d].volumeName", i)
		if err := b.vols.reserve(v.VolumeName, f); err != nil {
			return b.errf(f, "%v", err)
		}
	}
	if c.EnabledSharedMemory != nil {
		f := b.field("enabledSharedMemory.volumeName")
		if err := b.vols.reserve(shmName(c.EnabledSharedMemory), f); err != nil {
			return b.errf(f, "%v", err)
		}
	}
	return nil
}

func shmName(s *ir.EnabledSharedMemory) string {
	if s.VolumeName == "" {
		return "shm"
	}
	return s.VolumeName
}

// pvcMounts mounts existing claims (pvcMount).
func (b *builder) pvcMounts() error {
	for i, m := range b.cfg.PVCMount {
		f := b.field("pvcMount[%d]", i)
		spec := m.PVCNameParameter
		if spec == nil { // the deprecated oneof
			switch {
			case m.Constant != "":
				spec = &ir.InputParameterSpec{RuntimeValue: &ir.ValueOrParameter{Constant: m.Constant}}
			case m.TaskOutputParameter != nil:
				spec = &ir.InputParameterSpec{TaskOutputParameter: m.TaskOutputParameter}
			case m.ComponentInputParameter != "":
				spec = &ir.InputParameterSpec{ComponentInputParameter: m.ComponentInputParameter}
			default:
				return b.errf(f, "no PVC: set pvcNameParameter")
			}
		}
		name, skip, err := b.objectName(f+".pvcNameParameter", spec, "", "PVC")
		if err != nil {
			return err
		}
		if skip { // KFP's driver fails here too: a mount without its volume is no option
			return b.errf(f+".pvcNameParameter", "%s has no value: a PVC mount needs its claim", describe(*spec))
		}
		vol := b.vols.generate("pvc", name, f)
		b.vols.add(corev1.Volume{Name: vol, VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: name},
		}}, f)
		if err := b.mount(f+".mountPath", corev1.VolumeMount{Name: vol, MountPath: m.MountPath, SubPath: m.SubPath}); err != nil {
			return err
		}
	}
	return nil
}

// secretVolumes mounts secrets (secretAsVolume).
func (b *builder) secretVolumes() error {
	for i, s := range b.cfg.SecretAsVolume {
		f := b.field("secretAsVolume[%d]", i)
		name, skip, err := b.objectName(f+nameField(s.SecretNameParameter, ".secretName"), s.SecretNameParameter, s.SecretName, "secret")
		if err != nil {
			return err
		}
		if skip {
			continue
		}
		vol := b.vols.generate("secret", name, f)
		b.vols.add(corev1.Volume{Name: vol, VolumeSource: corev1.VolumeSource{
			Secret: &corev1.SecretVolumeSource{SecretName: name, Optional: ptr.To(ptr.Deref(s.Optional, false))},
		}}, f)
		if err := b.mount(f+".mountPath", corev1.VolumeMount{Name: vol, MountPath: s.MountPath}); err != nil {
			return err
		}
	}
	return nil
}

// configMapVolumes mounts config maps (configMapAsVolume).
func (b *builder) configMapVolumes() error {
	for i, c := range b.cfg.ConfigMapAsVolume {
		f := b.field("configMapAsVolume[%d]", i)
		name, skip, err := b.objectName(f+nameField(c.ConfigMapNameParameter, ".configMapName"), c.ConfigMapNameParameter, c.ConfigMapName, "config map")
		if err != nil {
			return err
		}
		if skip {
			continue
		}
		vol := b.vols.generate("configmap", name, f)
		b.vols.add(corev1.Volume{Name: vol, VolumeSource: corev1.VolumeSource{
			ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: name}, Optional: ptr.To(ptr.Deref(c.Optional, false))},
		}}, f)
		if err := b.mount(f+".mountPath", corev1.VolumeMount{Name: vol, MountPath: c.MountPath}); err != nil {
			return err
		}
	}
	return nil
}

var accessModes = map[string]corev1.PersistentVolumeAccessMode{
	"ReadWriteOnce": corev1.ReadWriteOnce, "ReadOnlyMany": corev1.ReadOnlyMany,
	"ReadWriteMany": corev1.ReadWriteMany, "ReadWriteOncePod": corev1.ReadWriteOncePod,
}

// ephemeralVolumes mounts per-pod claims (genericEphemeralVolume).
func (b *builder) ephemeralVolumes() error {
	for i, v := range b.cfg.GenericEphemeralVolume {
		f := b.field("genericEphemeralVolume[%d]", i)
		if n := len(b.in.PodName) + 1 + len(v.VolumeName); n > validation.DNS1123SubdomainMaxLength {
			return b.errf(f+".volumeName", "the claim's name %s-%s would be %d characters, over %d", b.in.PodName, v.VolumeName, n, validation.DNS1123SubdomainMaxLength)
		}
		var modes []corev1.PersistentVolumeAccessMode
		for j, m := range v.AccessModes {
			am, ok := accessModes[m]
			if !ok {
				return b.errf(fmt.Sprintf("%s.accessModes[%d]", f, j), "%q: want ReadWriteOnce, ReadOnlyMany, ReadWriteMany or ReadWriteOncePod", m)
			}
			modes = append(modes, am)
		}
		if len(modes) == 0 {
			return b.errf(f+".accessModes", "an ephemeral volume needs an access mode")
		}
		if v.Size == "" {
			return b.errf(f+".size", "an ephemeral volume needs a size")
		}
		size, err := b.quantity(f+".size", v.Size)
		if err != nil {
			return err
		}
		var class *string
		if !v.DefaultStorageClass {
			class = ptr.To(v.StorageClassName)
		}
		var meta metav1.ObjectMeta
		if v.Metadata != nil {
			if err := checkLabels(v.Metadata.Labels); err != nil {
				return b.errf(f+".metadata.labels", "%v", err)
			}
			if err := checkAnnotations(v.Metadata.Annotations); err != nil {
				return b.errf(f+".metadata.annotations", "%v", err)
			}
			meta.Labels, meta.Annotations = copyMap(v.Metadata.Labels), copyMap(v.Metadata.Annotations)
		}
		b.vols.add(corev1.Volume{Name: v.VolumeName, VolumeSource: corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{
			VolumeClaimTemplate: &corev1.PersistentVolumeClaimTemplate{ObjectMeta: meta, Spec: corev1.PersistentVolumeClaimSpec{
				AccessModes:      modes,
				Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: size}},
				StorageClassName: class,
			}},
		}}}, f)
		if err := b.mount(f+".mountPath", corev1.VolumeMount{Name: v.VolumeName, MountPath: v.MountPath}); err != nil {
			return err
		}
	}
	return nil
}

// emptyDirs mounts emptyDir volumes (emptyDirMounts).
func (b *builder) emptyDirs() error {
	for i, v := range b.cfg.EmptyDirMounts {
		f := b.field("emptyDirMounts[%d]", i)
		src := &corev1.EmptyDirVolumeSource{}
		if v.Medium != nil {
			m := corev1.StorageMedium(*v.Medium)
			if m != corev1.StorageMediumDefault && m != corev1.StorageMediumMemory && m != corev1.StorageMediumHugePages && !strings.HasPrefix(string(m), string(corev1.StorageMediumHugePagesPrefix)) {
				return b.errf(f+".medium", "%q: want \"\" or Memory", m)
			}
			src.Medium = m
		}
		if v.SizeLimit != nil && *v.SizeLimit != "" {
			q, err := b.quantity(f+".sizeLimit", *v.SizeLimit)
			if err != nil {
				return err
			}
			src.SizeLimit = &q
		}
		b.vols.add(corev1.Volume{Name: v.VolumeName, VolumeSource: corev1.VolumeSource{EmptyDir: src}}, f)
		if err := b.mount(f+".mountPath", corev1.VolumeMount{Name: v.VolumeName, MountPath: v.MountPath}); err != nil {
			return err
		}
	}
	return nil
}

// sharedMemory mounts a memory-backed emptyDir at /dev/shm (enabledSharedMemory).
func (b *builder) sharedMemory() error {
	s := b.cfg.EnabledSharedMemory
	if s == nil {
		return nil
	}
	f := b.field("enabledSharedMemory")
	src := &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}
	if s.Size != "" {
		q, err := b.quantity(f+".size", s.Size)
		if err != nil {
			return err
		}
		src.SizeLimit = &q
	}
	name := shmName(s)
	b.vols.add(corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{EmptyDir: src}}, f)
	return b.mount(f, corev1.VolumeMount{Name: name, MountPath: "/dev/shm"})
}
