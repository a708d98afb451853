package engine

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// StorageVolume is the name of the volume a pvc:// model is mounted from.
const StorageVolume = "kserve-pvc-source"

// StorageError says that a storageUri cannot be served (yet).
type StorageError struct{ Message string }

func (e *StorageError) Error() string { return e.Message }

// Storage is where a model's files come from: for now a PVC, mounted read-only.
type Storage struct {
	// Claim is the PersistentVolumeClaim.
	Claim string
	// SubPath is the path in the claim ("" for its root).
	SubPath string
}

// ParseStorageURI parses uri. pvc://<claim>[/<path>] is served by mounting the claim
// read-only at /mnt/models (the path as subPath); every other scheme is a *StorageError
// saying its storage initializer is not yet in kfup.
func ParseStorageURI(uri string) (Storage, error) {
	scheme, rest, ok := strings.Cut(uri, "://")
	if !ok {
		return Storage{}, &StorageError{Message: fmt.Sprintf("storageUri %q has no scheme: kfup serves pvc://<claim>/<path>", uri)}
	}
	if scheme != "pvc" {
		return Storage{}, &StorageError{Message: fmt.Sprintf("storageUri %q: the storage initializer for %s:// is not yet in kfup; copy the model onto a PersistentVolumeClaim and use pvc://<claim>/<path>", uri, scheme)}
	}
	claim, path, _ := strings.Cut(rest, "/")
	if errs := validation.IsDNS1123Subdomain(claim); len(errs) > 0 {
		return Storage{}, &StorageError{Message: fmt.Sprintf("storageUri %q: %q is not a PersistentVolumeClaim name: %s", uri, claim, strings.Join(errs, "; "))}
	}
	path = strings.Trim(path, "/")
	for _, seg := range strings.Split(path, "/") {
		if seg == ".." {
			return Storage{}, &StorageError{Message: fmt.Sprintf("storageUri %q: the path may not contain ..", uri)}
		}
	}
	return Storage{Claim: claim, SubPath: path}, nil
}

// mount adds s's volume to pod and mounts it into c at /mnt/models.
func (s Storage) mount(pod *corev1.PodSpec, c *corev1.Container) {
	pod.Volumes = append(pod.Volumes, corev1.Volume{
		Name: StorageVolume,
		VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{
			ClaimName: s.Claim, ReadOnly: true,
		}},
	})
	c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{
		Name: StorageVolume, MountPath: ModelMountPath, SubPath: s.SubPath, ReadOnly: true,
	})
}
