package engine

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"

	servingv1beta1 "github.com/kfup/kfup/components/serving/api/v1beta1"
	"github.com/kfup/kfup/internal/agent"
	"github.com/kfup/kfup/internal/agent/storage"
)

// Names of what serves a model's storage, as KServe names them.
const (
	// StorageVolume is the name of the volume a pvc:// model is mounted from.
	StorageVolume = "kserve-pvc-source"
	// ProvisionVolume is the emptyDir the storage initializer fills, mounted at /mnt/models.
	ProvisionVolume = "kserve-provision-location"
	// StorageInitializerName is the init container that downloads the model.
	StorageInitializerName = "storage-initializer"
)

// Annotations of a service account's secret that configure S3 access (KServe's).
const (
	S3EndpointAnnotation  = "serving.kserve.io/s3-endpoint"
	S3UseHTTPSAnnotation  = "serving.kserve.io/s3-usehttps"
	S3VerifySSLAnnotation = "serving.kserve.io/s3-verifyssl"
	S3RegionAnnotation    = "serving.kserve.io/s3-region"
	S3VirtualAnnotation   = "serving.kserve.io/s3-usevirtualbucket"
	S3CABundleAnnotation  = "serving.kserve.io/s3-cabundle"
)

// StorageError says that a storageUri cannot be served.
type StorageError struct{ Message string }

func (e *StorageError) Error() string { return e.Message }

// Storage is where a model's files come from: a PVC mounted read-only, or a URI the
// storage initializer downloads into an emptyDir.
type Storage struct {
	// Claim is the PersistentVolumeClaim ("" when the initializer downloads the model).
	Claim string
	// SubPath is the path in the claim ("" for its root).
	SubPath string
	// URI is what the storage initializer downloads (file://, http(s)://, s3://, gs://, hf://).
	URI string
	// Scheme is URI's scheme.
	Scheme string
}

// CredentialSecret is one secret of the predictor's service account as kfup sees it:
// its name and annotations (kfup never reads a secret's data; the pod references its
// keys).
type CredentialSecret struct {
	Name        string
	Annotations map[string]string
}

// StorageInit is what the storage initializer needs beyond the InferenceService.
type StorageInit struct {
	// Image is kfup's image, which runs `kfup agent storage-initializer`.
	Image string
	// Secrets are the secrets of the predictor's service account, in its order.
	Secrets []CredentialSecret
}

// ParseStorageURI parses uri. pvc://<claim>[/<path>] is mounted read-only at
// /mnt/models (the path as subPath); file://, http(s)://, s3://, gs:// and hf:// are
// downloaded by the storage initializer; any other scheme is a *StorageError naming
// those served.
func ParseStorageURI(uri string) (Storage, error) {
	served := "pvc://, " + strings.Join(schemes(), ", ")
	scheme, rest, ok := strings.Cut(uri, "://")
	if !ok {
		return Storage{}, &StorageError{Message: fmt.Sprintf("storageUri %q has no scheme: kfup serves %s", uri, served)}
	}
	if scheme != "pvc" {
		if !slices.Contains(storage.Schemes, scheme) {
			return Storage{}, &StorageError{Message: fmt.Sprintf("storageUri %q: scheme %s:// is not served by kfup; it serves %s", uri, scheme, served)}
		}
		if rest == "" {
			return Storage{}, &StorageError{Message: fmt.Sprintf("storageUri %q names nothing after %s://", uri, scheme)}
		}
		return Storage{URI: uri, Scheme: scheme}, nil
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

// StorageURIOf is the predictor's model location: its model's storageUri, or a custom
// predictor's STORAGE_URI env of kserve-container (else its first container); "" when
// none.
func StorageURIOf(pred *servingv1beta1.PredictorSpec) string {
	if m := ModelOf(pred); m != nil {
		return ptr.Deref(m.StorageURI, "")
	}
	if len(pred.Containers) == 0 {
		return ""
	}
	c := pred.Containers[0]
	if i := slices.IndexFunc(pred.Containers, func(c corev1.Container) bool { return c.Name == ContainerName }); i >= 0 {
		c = pred.Containers[i]
	}
	for _, e := range c.Env {
		if e.Name == "STORAGE_URI" {
			return e.Value
		}
	}
	return ""
}

// NeedsCredentials says whether the storage initializer of uri takes credentials from
// the service account's secrets (s3:// and hf://).
func NeedsCredentials(uri string) bool {
	s, err := ParseStorageURI(uri)
	return err == nil && (s.Scheme == "s3" || s.Scheme == "hf")
}

func schemes() []string {
	out := make([]string, len(storage.Schemes))
	for i, s := range storage.Schemes {
		out[i] = s + "://"
	}
	return out
}

// mount adds s's volume to pod and mounts it read-only into c at /mnt/models; for a
// download, the storage initializer that fills it comes first (KServe's injection).
func (s Storage) mount(pod *corev1.PodSpec, c *corev1.Container, si StorageInit) error {
	if s.Claim != "" {
		pod.Volumes = append(pod.Volumes, corev1.Volume{
			Name: StorageVolume,
			VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{
				ClaimName: s.Claim, ReadOnly: true,
			}},
		})
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{
			Name: StorageVolume, MountPath: ModelMountPath, SubPath: s.SubPath, ReadOnly: true,
		})
		return nil
	}
	if si.Image == "" {
		return &StorageError{Message: fmt.Sprintf("storageUri %q needs the storage initializer, and kfup's image is not known to this controller", s.URI)}
	}
	pod.Volumes = append(pod.Volumes, corev1.Volume{Name: ProvisionVolume, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
	c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: ProvisionVolume, MountPath: ModelMountPath, ReadOnly: true})
	init := corev1.Container{
		Name:    StorageInitializerName,
		Image:   si.Image,
		Command: []string{"/kfup", "agent", "storage-initializer"},
		Args:    []string{s.URI, ModelMountPath},
		Env:     credentialEnv(s.Scheme, c, si.Secrets),
		Resources: corev1.ResourceRequirements{ // KServe's defaults
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("100Mi")},
			Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("1Gi")},
		},
		VolumeMounts:             []corev1.VolumeMount{{Name: ProvisionVolume, MountPath: ModelMountPath}},
		SecurityContext:          agent.SecurityContext(),
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
	}
	pod.InitContainers = append([]corev1.Container{init}, pod.InitContainers...)
	return nil
}

// credentialEnv is the storage initializer's credentials for scheme, as KServe injects
// them from the service account's secrets, referenced by secretKeyRef:
//   - s3://: the first secret annotated serving.kserve.io/s3-*: AWS_ACCESS_KEY_ID and
//     AWS_SECRET_ACCESS_KEY from its keys of those names (optional: without them the
//     initializer goes anonymous and says so), the endpoint, https, SSL verification,
//     region, virtual-host and CA-bundle settings from its annotations;
//   - hf://: HF_TOKEN as the serving container has it (KServe's samples set it there),
//     else the key HF_TOKEN of the first secret not annotated for S3 (optional).
func credentialEnv(scheme string, serving *corev1.Container, secrets []CredentialSecret) []corev1.EnvVar {
	ref := func(name, secret, key string) corev1.EnvVar {
		return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: secret}, Key: key, Optional: ptr.To(true),
		}}}
	}
	switch scheme {
	case "s3":
		i := slices.IndexFunc(secrets, isS3Secret)
		if i < 0 {
			return nil
		}
		s := secrets[i]
		env := []corev1.EnvVar{ref("AWS_ACCESS_KEY_ID", s.Name, "AWS_ACCESS_KEY_ID"), ref("AWS_SECRET_ACCESS_KEY", s.Name, "AWS_SECRET_ACCESS_KEY")}
		a := s.Annotations
		if ep, ok := a[S3EndpointAnnotation]; ok {
			url := "https://" + ep
			if v, ok := a[S3UseHTTPSAnnotation]; ok {
				if v == "0" {
					url = "http://" + ep
				}
				env = append(env, corev1.EnvVar{Name: "S3_USE_HTTPS", Value: v})
			}
			env = append(env, corev1.EnvVar{Name: "S3_ENDPOINT", Value: ep}, corev1.EnvVar{Name: "AWS_ENDPOINT_URL", Value: url})
		}
		for _, kv := range [][2]string{
			{S3VerifySSLAnnotation, "S3_VERIFY_SSL"}, {S3RegionAnnotation, "AWS_DEFAULT_REGION"},
			{S3VirtualAnnotation, "S3_USER_VIRTUAL_BUCKET"}, {S3CABundleAnnotation, "AWS_CA_BUNDLE"},
		} {
			if v, ok := a[kv[0]]; ok {
				env = append(env, corev1.EnvVar{Name: kv[1], Value: v})
			}
		}
		return env
	case "hf":
		if i := slices.IndexFunc(serving.Env, func(e corev1.EnvVar) bool { return e.Name == "HF_TOKEN" }); i >= 0 {
			return []corev1.EnvVar{*serving.Env[i].DeepCopy()}
		}
		if i := slices.IndexFunc(secrets, func(s CredentialSecret) bool { return !isS3Secret(s) }); i >= 0 {
			return []corev1.EnvVar{ref("HF_TOKEN", secrets[i].Name, "HF_TOKEN")}
		}
	}
	return nil
}

func isS3Secret(s CredentialSecret) bool {
	for k := range s.Annotations {
		if strings.HasPrefix(k, "serving.kserve.io/s3-") {
			return true
		}
	}
	return false
}
