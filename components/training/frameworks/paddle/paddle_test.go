package paddle_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	"github.com/kfup/kfup/components/training/engine"
	"github.com/kfup/kfup/components/training/frameworks/internal/fwtest"
	"github.com/kfup/kfup/components/training/frameworks/paddle"
)

var ev = fwtest.EnvVar

var podIP = corev1.EnvVar{Name: "POD_IP_DUMMY", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}}

const collective = `
metadata: {name: pd, namespace: ns}
spec:
  paddleReplicaSpecs:
    Worker:
      replicas: 2
      template:
        spec:
          containers: [{name: paddle, image: p, ports: [{name: master, containerPort: 37777}]}]
`

const psMode = `
metadata: {name: pd, namespace: ns}
spec:
  paddleReplicaSpecs:
    Master:
      replicas: 2
      template:
        spec:
          containers: [{name: paddle, image: p}]
    Worker:
      replicas: 3
      template:
        spec:
          containers: [{name: paddle, image: p}]
`

func TestEnv(t *testing.T) {
	cases := []struct {
		name  string
		job   string
		rt    trainingv1.ReplicaType
		index int
		want  []corev1.EnvVar
	}{
		{"collective: worker 0 is the rendezvous", collective, "Worker", 0, []corev1.EnvVar{
			ev("PYTHONUNBUFFERED", "1"), ev("PADDLE_JOB_ID", "pd"), ev("PADDLE_NNODES", "2"),
			podIP, ev("PADDLE_MASTER", "$(POD_IP_DUMMY):37777"),
		}},
		{"collective: worker 1 joins worker 0", collective, "Worker", 1, []corev1.EnvVar{
			ev("PYTHONUNBUFFERED", "1"), ev("PADDLE_JOB_ID", "pd"), ev("PADDLE_NNODES", "2"),
			ev("PADDLE_MASTER", "pd-worker-0:37777"),
		}},
		{"ps mode: master 0 is the rendezvous", psMode, "Master", 0, []corev1.EnvVar{
			ev("PYTHONUNBUFFERED", "1"), ev("PADDLE_JOB_ID", "pd"), ev("PADDLE_NNODES", "5"),
			podIP, ev("PADDLE_MASTER", "$(POD_IP_DUMMY):36543"), ev("PADDLE_SERVER_NUM", "1"),
		}},
		{"ps mode: master 1", psMode, "Master", 1, []corev1.EnvVar{
			ev("PYTHONUNBUFFERED", "1"), ev("PADDLE_JOB_ID", "pd"), ev("PADDLE_NNODES", "5"),
			ev("PADDLE_MASTER", "pd-master-0:36543"), ev("PADDLE_SERVER_NUM", "1"),
		}},
		{"ps mode: worker 0 is a trainer", psMode, "Worker", 0, []corev1.EnvVar{
			ev("PYTHONUNBUFFERED", "1"), ev("PADDLE_JOB_ID", "pd"), ev("PADDLE_NNODES", "5"),
			ev("PADDLE_MASTER", "pd-master-0:36543"), ev("PADDLE_TRAINER_NUM", "1"),
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			j := fwtest.Decode[trainingv1.PaddleJob](t, tc.job)
			pod, err := engine.DesiredPod(paddle.New(), j, tc.rt, tc.index)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, fwtest.Env(pod, "paddle")); diff != "" {
				t.Errorf("env (-want +got):\n%s", diff)
			}
			if got, want := pod.Labels[trainingv1.JobRoleLabel] == "master", tc.rt == "Master"; got != want {
				t.Errorf("job-role master %v, want %v", got, want)
			}
			if pod.Spec.RestartPolicy != corev1.RestartPolicyOnFailure || pod.Labels[trainingv1.OperatorNameLabel] != "paddlejob-controller" {
				t.Errorf("restartPolicy %q, labels %v", pod.Spec.RestartPolicy, pod.Labels)
			}
		})
	}
}

func TestServicePortAndElasticDefaults(t *testing.T) {
	j := fwtest.Decode[trainingv1.PaddleJob](t, collective)
	j.Spec.ElasticPolicy = &trainingv1.PaddleElasticPolicy{MaxReplicas: ptr.To[int32](4)}
	svc, err := engine.DesiredService(paddle.New(), j, "Worker", 1)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]corev1.ServicePort{{Name: "master", Port: 37777}}, svc.Spec.Ports); diff != "" {
		t.Errorf("ports (-want +got):\n%s", diff)
	}
	d, err := engine.Defaulted(paddle.New(), j)
	if err != nil {
		t.Fatal(err)
	}
	ep := d.(*trainingv1.PaddleJob).Spec.ElasticPolicy
	if *ep.MinReplicas != 4 || *ep.MaxReplicas != 4 {
		t.Errorf("elastic min/max %d/%d, want 4/4", *ep.MinReplicas, *ep.MaxReplicas)
	}
}
