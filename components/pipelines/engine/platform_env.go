package engine

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/validate/content"
	"k8s.io/apimachinery/pkg/util/validation"
)

// secretEnv maps secret keys to variables (secretAsEnv).
func (b *builder) secretEnv() error {
	for i, s := range b.cfg.SecretAsEnv {
		f := b.field("secretAsEnv[%d]", i)
		name, skip, err := b.objectName(f+nameField(s.SecretNameParameter, ".secretName"), s.SecretNameParameter, s.SecretName, "secret")
		if err != nil {
			return err
		}
		if skip {
			continue
		}
		for j, k := range s.KeyToEnv {
			kf := fmt.Sprintf("%s.keyToEnv[%d]", f, j)
			if errs := validation.IsConfigMapKey(k.SecretKey); len(errs) > 0 {
				return b.errf(kf+".secretKey", "%q: %s", k.SecretKey, strings.Join(errs, "; "))
			}
			e := corev1.EnvVar{Name: k.EnvVar, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: name}, Key: k.SecretKey, Optional: ptrCopy(s.Optional),
			}}}
			if err := b.userEnv(kf+".envVar", e); err != nil {
				return err
			}
		}
	}
	return nil
}

// configMapEnv maps config map keys to variables (configMapAsEnv).
func (b *builder) configMapEnv() error {
	for i, c := range b.cfg.ConfigMapAsEnv {
		f := b.field("configMapAsEnv[%d]", i)
		name, skip, err := b.objectName(f+nameField(c.ConfigMapNameParameter, ".configMapName"), c.ConfigMapNameParameter, c.ConfigMapName, "config map")
		if err != nil {
			return err
		}
		if skip {
			continue
		}
		for j, k := range c.KeyToEnv {
			kf := fmt.Sprintf("%s.keyToEnv[%d]", f, j)
			if errs := validation.IsConfigMapKey(k.ConfigMapKey); len(errs) > 0 {
				return b.errf(kf+".configMapKey", "%q: %s", k.ConfigMapKey, strings.Join(errs, "; "))
			}
			e := corev1.EnvVar{Name: k.EnvVar, ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: name}, Key: k.ConfigMapKey, Optional: ptrCopy(c.Optional),
			}}}
			if err := b.userEnv(kf+".envVar", e); err != nil {
				return err
			}
		}
	}
	return nil
}

// fieldPaths are the pod fields the downward API gives an environment variable.
var fieldPaths = []string{
	"metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName", "spec.serviceAccountName",
	"status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs",
}

// fieldPathEnv exposes pod fields as variables (fieldPathAsEnv).
func (b *builder) fieldPathEnv() error {
	for i, e := range b.cfg.FieldPathAsEnv {
		f := b.field("fieldPathAsEnv[%d]", i)
		if !validFieldPath(e.FieldPath) {
			return b.errf(f+".fieldPath", "%q: want one of %s, metadata.labels['KEY'] or metadata.annotations['KEY']", e.FieldPath, strings.Join(fieldPaths, ", "))
		}
		v := corev1.EnvVar{Name: e.Name, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: e.FieldPath}}}
		if err := b.userEnv(f+".name", v); err != nil {
			return err
		}
	}
	return nil
}

func validFieldPath(p string) bool {
	if slices.Contains(fieldPaths, p) {
		return true
	}
	for _, pre := range []string{"metadata.labels['", "metadata.annotations['"} {
		if k, ok := strings.CutPrefix(p, pre); ok {
			k, ok = strings.CutSuffix(k, "']")
			return ok && len(content.IsLabelKey(strings.ToLower(k))) == 0
		}
	}
	return false
}
