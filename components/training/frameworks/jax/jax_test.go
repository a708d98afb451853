package jax_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	"github.com/kfup/kfup/components/training/engine"
	"github.com/kfup/kfup/components/training/frameworks/internal/fwtest"
	"github.com/kfup/kfup/components/training/frameworks/jax"
)

var ev = fwtest.EnvVar

func TestEnv(t *testing.T) {
	cases := []struct {
		name  string
		ports string
		index int
		want  []corev1.EnvVar
	}{
		{"worker 0, default port", "[]", 0, []corev1.EnvVar{
			ev("PYTHONUNBUFFERED", "1"), ev("COORDINATOR_PORT", "6666"), ev("COORDINATOR_ADDRESS", "jj-worker-0"),
			ev("NUM_PROCESSES", "3"), ev("PROCESS_ID", "0"),
		}},
		{"worker 2, custom port", "[{name: jaxjob-port, containerPort: 1234}]", 2, []corev1.EnvVar{
			ev("PYTHONUNBUFFERED", "1"), ev("COORDINATOR_PORT", "1234"), ev("COORDINATOR_ADDRESS", "jj-worker-0"),
			ev("NUM_PROCESSES", "3"), ev("PROCESS_ID", "2"),
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			j := fwtest.Decode[trainingv1.JAXJob](t, `
metadata: {name: jj, namespace: ns}
spec:
  jaxReplicaSpecs:
    Worker:
      replicas: 3
      template:
        spec:
          containers: [{name: jax, image: j, ports: `+tc.ports+`}, {name: other, image: o}]`)
			pod, err := engine.DesiredPod(jax.New(), j, "Worker", tc.index)
			if err != nil {
				t.Fatal(err)
			}
			// Every container gets the environment.
			for _, c := range []string{"jax", "other"} {
				if diff := cmp.Diff(tc.want, fwtest.Env(pod, c)); diff != "" {
					t.Errorf("%s env (-want +got):\n%s", c, diff)
				}
			}
			if got, want := pod.Labels[trainingv1.JobRoleLabel] == "master", tc.index == 0; got != want {
				t.Errorf("job-role master: %v, want %v", got, want)
			}
			if pod.Spec.RestartPolicy != corev1.RestartPolicyNever || pod.Labels[trainingv1.OperatorNameLabel] != "jaxjob-controller" {
				t.Errorf("restartPolicy %q, labels %v", pod.Spec.RestartPolicy, pod.Labels)
			}
		})
	}
}
