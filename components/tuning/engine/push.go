package engine

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kfup/kfup/internal/agent"
)

// InjectTrialName sets agent.TrialNameEnv (KATIB_TRIAL_NAME, which Katib's SDK reads)
// to trial in the container primary of each pod template of obj (those
// InjectMetricsSidecar changes), replacing a value the template had, as Katib's webhook
// does for the Push collector; no sidecar. It returns how many templates it changed.
func InjectTrialName(obj *unstructured.Unstructured, primary, trial string) (int, error) {
	return editTemplates(obj, func(pt *corev1.PodTemplateSpec) (bool, error) {
		found := false
		for i := range pt.Spec.Containers {
			c := &pt.Spec.Containers[i]
			if c.Name != primary {
				continue
			}
			found = true
			env := c.Env[:0:0]
			for _, e := range c.Env {
				if e.Name != agent.TrialNameEnv {
					env = append(env, e)
				}
			}
			c.Env = append(env, corev1.EnvVar{Name: agent.TrialNameEnv, Value: trial})
		}
		return found, nil
	})
}
