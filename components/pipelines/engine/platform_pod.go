package engine

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/api/validate/content"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"
)

// imagePullPolicy sets the main container's pull policy.
func (b *builder) imagePullPolicy() error {
	switch p := corev1.PullPolicy(b.cfg.ImagePullPolicy); p {
	case "":
	case corev1.PullAlways, corev1.PullNever, corev1.PullIfNotPresent:
		b.main.ImagePullPolicy = p
	default:
		return b.errf(b.field("imagePullPolicy"), "%q: want Always, Never or IfNotPresent", p)
	}
	return nil
}

// imagePullSecrets adds the pull secrets, each once.
func (b *builder) imagePullSecrets() error {
	for i, s := range b.cfg.ImagePullSecret {
		f := b.field("imagePullSecret[%d]", i)
		name, skip, err := b.objectName(f+nameField(s.SecretNameParameter, ".secretName"), s.SecretNameParameter, s.SecretName, "secret")
		if err != nil {
			return err
		}
		if skip {
			continue
		}
		ref := corev1.LocalObjectReference{Name: name}
		if !slices.Contains(b.pod.Spec.ImagePullSecrets, ref) {
			b.pod.Spec.ImagePullSecrets = append(b.pod.Spec.ImagePullSecrets, ref)
		}
	}
	return nil
}

// activeDeadline bounds the pod's run time; 0 is no bound, as in KFP.
func (b *builder) activeDeadline() error {
	if b.cfg.ActiveDeadlineSeconds == nil {
		return nil
	}
	f := b.field("activeDeadlineSeconds")
	n, err := toInt64(b.cfg.ActiveDeadlineSeconds)
	switch {
	case err != nil:
		return b.errf(f, "%v", err)
	case n < 0:
		return b.errf(f, "%d is negative", n)
	case n > 0:
		b.pod.Spec.ActiveDeadlineSeconds = &n
	}
	return nil
}

// securityContext is kfp-kubernetes' SecurityContext: identity only (the privileged and
// capability fields were removed from it for Pod Security; every capability is dropped).
type securityContext struct {
	RunAsUser    any   `json:"runAsUser"`
	RunAsGroup   any   `json:"runAsGroup"`
	RunAsNonRoot *bool `json:"runAsNonRoot"`
}

// securityContext sets the main container's identity and drops every capability, as KFP's driver does.
func (b *builder) securityContext() error {
	if b.cfg.SecurityContext == nil {
		return nil
	}
	f := b.field("securityContext")
	var s securityContext
	if err := decodeStrict(b.cfg.SecurityContext, &s); err != nil {
		return b.errf(f, "%v (kfp-kubernetes sets runAsUser, runAsGroup and runAsNonRoot)", err)
	}
	sc := &corev1.SecurityContext{RunAsNonRoot: s.RunAsNonRoot, Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}
	for _, id := range []struct {
		name string
		v    any
		into **int64
	}{{"runAsUser", s.RunAsUser, &sc.RunAsUser}, {"runAsGroup", s.RunAsGroup, &sc.RunAsGroup}} {
		if id.v == nil {
			continue
		}
		n, err := toInt64(id.v)
		if err == nil && n < 0 {
			err = fmt.Errorf("%d is negative", n)
		}
		if err != nil {
			return b.errf(f+"."+id.name, "%v", err)
		}
		*id.into = &n
	}
	if ptr.Deref(sc.RunAsNonRoot, false) && sc.RunAsUser != nil && *sc.RunAsUser == 0 {
		return b.errf(f, "runAsNonRoot with runAsUser 0")
	}
	b.main.SecurityContext = sc
	return nil
}

// podMetadata puts the platform spec's labels and annotations under kfup's own, which
// win; keys of kfup's own domain are refused.
func (b *builder) podMetadata() error {
	pm := b.cfg.PodMetadata
	if pm == nil {
		return nil
	}
	if err := checkLabels(pm.Labels); err != nil {
		return b.errf(b.field("podMetadata.labels"), "%v", err)
	}
	if err := checkAnnotations(pm.Annotations); err != nil {
		return b.errf(b.field("podMetadata.annotations"), "%v", err)
	}
	for _, m := range []struct {
		field string
		user  map[string]string
		kfup  map[string]string
		into  *map[string]string
	}{
		{"podMetadata.labels", pm.Labels, b.in.Labels, &b.pod.Labels},
		{"podMetadata.annotations", pm.Annotations, b.in.Annotations, &b.pod.Annotations},
	} {
		for _, k := range slices.Sorted(maps.Keys(m.user)) {
			if kfupKey(k) {
				return b.errf(b.field("%s", m.field), "%s is in kfup's own domain kfup.dev", k)
			}
		}
		if len(m.user) == 0 {
			continue
		}
		out := maps.Clone(m.user)
		maps.Copy(out, m.kfup)
		*m.into = out
	}
	return nil
}

// kfupKey reports whether a label or annotation key is in kfup's domain.
func kfupKey(k string) bool {
	prefix, _, ok := strings.Cut(k, "/")
	return ok && (prefix == "kfup.dev" || strings.HasSuffix(prefix, ".kfup.dev"))
}

// initContainer is kfp-kubernetes' InitContainer (add_init_container).
type initContainer struct {
	Name          string              `json:"name"`
	Image         string              `json:"image"`
	Command       []string            `json:"command"`
	Args          []string            `json:"args"`
	Env           []initEnvVar        `json:"env"`
	VolumeMounts  []initVolumeMount   `json:"volumeMounts"`
	RestartPolicy *string             `json:"restartPolicy"`
	Resources     *initResourceLimits `json:"resources"`
}

type initEnvVar struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type initVolumeMount struct {
	VolumeName string `json:"volumeName"`
	MountPath  string `json:"mountPath"`
}

type initResourceLimits struct {
	Requests map[string]string `json:"requests"`
	Limits   map[string]string `json:"limits"`
}

// initContainers runs the user's init containers after kfup's launcher.
func (b *builder) initContainers() error {
	names := map[string]bool{LauncherContainer: true, MainContainer: true}
	for i, raw := range b.cfg.InitContainers {
		f := b.field("initContainers[%d]", i)
		var ic initContainer
		if err := decodeStrict(raw, &ic); err != nil {
			return b.errf(f, "not a kfp-kubernetes init container: %v", err)
		}
		if errs := content.IsDNS1123Label(ic.Name); len(errs) > 0 {
			return b.errf(f+".name", "%q: %s", ic.Name, strings.Join(errs, "; "))
		}
		if names[ic.Name] {
			return b.errf(f+".name", "container name %s is taken", ic.Name)
		}
		names[ic.Name] = true
		if ic.Image == "" {
			return b.errf(f+".image", "an init container needs an image")
		}
		c := corev1.Container{Name: ic.Name, Image: ic.Image, Command: ic.Command, Args: ic.Args,
			TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError}
		for j, e := range ic.Env {
			if msgs := validation.IsRelaxedEnvVarName(e.Name); len(msgs) > 0 {
				return b.errf(fmt.Sprintf("%s.env[%d].name", f, j), "%q: %s", e.Name, msgs[0])
			}
			c.Env = append(c.Env, corev1.EnvVar{Name: e.Name, Value: e.Value})
		}
		paths := map[string]bool{}
		for j, m := range ic.VolumeMounts {
			mf := fmt.Sprintf("%s.volumeMounts[%d]", f, j)
			vol, ok := b.vols.kfpNames[m.VolumeName]
			if !ok {
				return b.errf(mf+".volumeName", "the pod has no volume %q (define it with pvcMount, emptyDirMounts, genericEphemeralVolume, secretAsVolume or configMapAsVolume)", m.VolumeName)
			}
			if !strings.HasPrefix(m.MountPath, "/") || paths[m.MountPath] {
				return b.errf(mf+".mountPath", "%q is not an absolute path used once", m.MountPath)
			}
			paths[m.MountPath] = true
			c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: vol, MountPath: m.MountPath})
		}
		if rp := ic.RestartPolicy; rp != nil && *rp != "" {
			if *rp != string(corev1.ContainerRestartPolicyAlways) {
				return b.errf(f+".restartPolicy", "%q: the only restart policy of an init container is Always (a sidecar)", *rp)
			}
			c.RestartPolicy = ptr.To(corev1.ContainerRestartPolicyAlways)
		}
		if r := ic.Resources; r != nil {
			var err error
			if c.Resources.Requests, err = b.resourceList(f+".resources.requests", r.Requests); err != nil {
				return err
			}
			if c.Resources.Limits, err = b.resourceList(f+".resources.limits", r.Limits); err != nil {
				return err
			}
		}
		b.pod.Spec.InitContainers = append(b.pod.Spec.InitContainers, c)
	}
	return nil
}

// resourceList parses an init container's requests or limits.
func (b *builder) resourceList(field string, m map[string]string) (corev1.ResourceList, error) {
	if len(m) == 0 {
		return nil, nil
	}
	out := corev1.ResourceList{}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if errs := content.IsLabelKey(k); len(errs) > 0 {
			return nil, b.errf(field, "resource name %q: %s", k, strings.Join(errs, "; "))
		}
		q, err := resource.ParseQuantity(m[k])
		if err != nil || q.Sign() < 0 {
			return nil, b.errf(field+"."+k, "%q is not a quantity (like 500m, 2, 1Gi)", m[k])
		}
		out[corev1.ResourceName(k)] = q
	}
	return out, nil
}

// resourceClaims refuses DRA claims, which kfup does not run yet.
func (b *builder) resourceClaims() error {
	if len(b.cfg.PodResourceClaims) > 0 {
		return b.errf(b.field("podResourceClaims"), "kfup does not run Dynamic Resource Allocation claims yet: ask for the accelerator with set_accelerator_type and set_accelerator_limit")
	}
	return nil
}
