package engine

import (
	"fmt"
	"maps"
	"path"
	"regexp"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// MetricsContainerName names the metrics sidecar InjectMetricsSidecar adds, and the
// emptyDir volume it shares with the primary container when it needs one.
const MetricsContainerName = "kfup-metrics"

// InjectMetricsSidecar adds sidecar as a native sidecar (an init container with
// restartPolicy Always, named MetricsContainerName) to each pod template of obj that
// holds the container primary: spec.template of a batch/v1 Job,
// spec.<x>ReplicaSpecs.<type>.template of the kubeflow.org/v1 training kinds. The
// sidecar reads dir, an absolute directory of the primary container: when the primary
// container mounts a volume at dir or above it, the sidecar mounts that volume (with a
// subPath below it, and the primary's variables a subPathExpr names) read-only; otherwise an emptyDir MetricsContainerName is mounted at
// dir in both. It returns how many templates it changed; a template that already has a
// container or volume named MetricsContainerName is an error, and obj is then unchanged.
func InjectMetricsSidecar(obj *unstructured.Unstructured, primary string, sidecar corev1.Container, dir string) (int, error) {
	dir = path.Clean(dir)
	return editTemplates(obj, func(pt *corev1.PodTemplateSpec) (bool, error) {
		return injectPod(&pt.Spec, primary, sidecar, dir)
	})
}

// editTemplates calls edit on each pod template of obj (podTemplates), typed. It writes
// back the templates edit changed (true) once every one was edited without an error, so
// that obj is unchanged on an error, and returns how many it changed.
func editTemplates(obj *unstructured.Unstructured, edit func(*corev1.PodTemplateSpec) (bool, error)) (int, error) {
	type change struct{ t, out map[string]any }
	var changes []change
	for _, t := range podTemplates(obj) {
		pt := &corev1.PodTemplateSpec{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(t, pt); err != nil {
			return 0, fmt.Errorf("pod template: %w", err)
		}
		ok, err := edit(pt)
		if err != nil {
			return 0, err
		}
		if !ok {
			continue
		}
		out, err := runtime.DefaultUnstructuredConverter.ToUnstructured(pt)
		if err != nil {
			return 0, err
		}
		changes = append(changes, change{t, out})
	}
	for _, c := range changes {
		clear(c.t)
		maps.Copy(c.t, c.out)
	}
	return len(changes), nil
}

// injectPod adds the sidecar to spec when it holds the container primary.
func injectPod(spec *corev1.PodSpec, primary string, sidecar corev1.Container, dir string) (bool, error) {
	i := slices.IndexFunc(spec.Containers, func(c corev1.Container) bool { return c.Name == primary })
	if i < 0 {
		return false, nil
	}
	for _, c := range slices.Concat(spec.InitContainers, spec.Containers) {
		if c.Name == MetricsContainerName {
			return false, fmt.Errorf("the pod template already has a container named %s, the name of kfup's metrics collector sidecar: rename it", MetricsContainerName)
		}
	}
	sidecar = *sidecar.DeepCopy()
	sidecar.Name = MetricsContainerName
	sidecar.RestartPolicy = new(corev1.ContainerRestartPolicyAlways)
	c := &spec.Containers[i]
	if m, ok := mountAbove(c.VolumeMounts, dir); ok {
		rel := strings.TrimPrefix(strings.TrimPrefix(dir, path.Clean(m.MountPath)), "/")
		mount := corev1.VolumeMount{Name: m.Name, MountPath: dir, ReadOnly: true}
		switch {
		case m.SubPathExpr != "":
			// expanded with the sidecar's environment: give it the variables it names
			mount.SubPathExpr = path.Join(m.SubPathExpr, rel)
			for _, ref := range envRef.FindAllStringSubmatch(m.SubPathExpr, -1) {
				if j := slices.IndexFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == ref[1] }); j >= 0 &&
					!slices.ContainsFunc(sidecar.Env, func(e corev1.EnvVar) bool { return e.Name == ref[1] }) {
					sidecar.Env = append(sidecar.Env, *c.Env[j].DeepCopy())
				}
			}
		case m.SubPath != "" || rel != "":
			mount.SubPath = path.Join(m.SubPath, rel)
		}
		sidecar.VolumeMounts = append(sidecar.VolumeMounts, mount)
	} else {
		if slices.ContainsFunc(spec.Volumes, func(v corev1.Volume) bool { return v.Name == MetricsContainerName }) {
			return false, fmt.Errorf("the pod template already has a volume named %s, the name of kfup's metrics volume: rename it", MetricsContainerName)
		}
		spec.Volumes = append(spec.Volumes, corev1.Volume{Name: MetricsContainerName, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: MetricsContainerName, MountPath: dir})
		sidecar.VolumeMounts = append(sidecar.VolumeMounts, corev1.VolumeMount{Name: MetricsContainerName, MountPath: dir, ReadOnly: true})
	}
	spec.InitContainers = append(spec.InitContainers, sidecar)
	return true, nil
}

// envRef finds the $(VAR) references of a subPathExpr.
var envRef = regexp.MustCompile(`\$\(([-._a-zA-Z][-._a-zA-Z0-9]*)\)`)

// mountAbove returns the mount of mounts at dir or the nearest directory above it.
func mountAbove(mounts []corev1.VolumeMount, dir string) (corev1.VolumeMount, bool) {
	var best corev1.VolumeMount
	found := false
	for _, m := range mounts {
		mp := path.Clean(m.MountPath)
		if (mp == dir || mp == "/" || strings.HasPrefix(dir, mp+"/")) && (!found || len(mp) > len(path.Clean(best.MountPath))) {
			best, found = m, true
		}
	}
	return best, found
}

// MetricsDir is the directory a File or TensorFlowEvent collector's sidecar shares with
// the primary container: the file's directory, or the directory itself.
func MetricsDir(p string, directory bool) string {
	if directory {
		return path.Clean(p)
	}
	return path.Dir(path.Clean(p))
}

// podTemplates returns the pod templates of obj kfup knows how to change in place:
// spec.template of a batch/v1 Job, spec.<x>ReplicaSpecs.<type>.template (by type) of
// the kubeflow.org/v1 training kinds.
func podTemplates(obj *unstructured.Unstructured) []map[string]any {
	var templates []map[string]any
	switch gv := obj.GetAPIVersion(); {
	case gv == "batch/v1" && obj.GetKind() == "Job":
		if t, ok, _ := unstructured.NestedFieldNoCopy(obj.Object, "spec", "template"); ok {
			if m, ok := t.(map[string]any); ok {
				templates = append(templates, m)
			}
		}
	case gv == "kubeflow.org/v1" && trainingKinds[obj.GetKind()] != "":
		specs, _, _ := unstructured.NestedFieldNoCopy(obj.Object, "spec", trainingKinds[obj.GetKind()])
		if m, ok := specs.(map[string]any); ok {
			for _, rtype := range slices.Sorted(maps.Keys(m)) {
				if rs, ok := m[rtype].(map[string]any); ok {
					if t, ok := rs["template"].(map[string]any); ok {
						templates = append(templates, t)
					}
				}
			}
		}
	}
	return templates
}
