package xgboost_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	"github.com/kfup/kfup/components/training/engine"
	"github.com/kfup/kfup/components/training/frameworks/internal/fwtest"
	"github.com/kfup/kfup/components/training/frameworks/xgboost"
)

var ev = fwtest.EnvVar

func job(t *testing.T, workers string, masterPorts string) *trainingv1.XGBoostJob {
	t.Helper()
	doc := `
metadata: {name: xgb, namespace: ns}
spec:
  xgbReplicaSpecs:
    Master:
      template:
        spec:
          containers: [{name: xgboost, image: x, ports: ` + masterPorts + `}]
`
	if workers != "" {
		doc += `    Worker:
      replicas: ` + workers + `
      template:
        spec:
          containers: [{name: xgboost, image: x}]
`
	}
	return fwtest.Decode[trainingv1.XGBoostJob](t, doc)
}

func TestEnv(t *testing.T) {
	cases := []struct {
		name  string
		job   *trainingv1.XGBoostJob
		rt    trainingv1.ReplicaType
		index int
		want  []corev1.EnvVar
	}{
		{
			name: "master alone: no worker variables",
			job:  job(t, "", "[]"),
			rt:   "Master",
			want: []corev1.EnvVar{
				ev("MASTER_PORT", "9999"), ev("MASTER_ADDR", "xgb-master-0"),
				ev("WORLD_SIZE", "1"), ev("RANK", "0"), ev("PYTHONUNBUFFERED", "1"),
			},
		},
		{
			name: "master with two workers, custom master port",
			job:  job(t, "2", "[{name: xgboostjob-port, containerPort: 9991}]"),
			rt:   "Master",
			want: []corev1.EnvVar{
				ev("MASTER_PORT", "9991"), ev("MASTER_ADDR", "xgb-master-0"),
				ev("WORLD_SIZE", "3"), ev("RANK", "0"), ev("PYTHONUNBUFFERED", "1"),
				ev("WORKER_PORT", "9999"), ev("WORKER_ADDRS", "xgb-worker-0,xgb-worker-1"),
			},
		},
		{
			name: "worker 1 ranks after the master",
			job:  job(t, "2", "[]"),
			rt:   "Worker", index: 1,
			want: []corev1.EnvVar{
				ev("MASTER_PORT", "9999"), ev("MASTER_ADDR", "xgb-master-0"),
				ev("WORLD_SIZE", "3"), ev("RANK", "2"), ev("PYTHONUNBUFFERED", "1"),
				ev("WORKER_PORT", "9999"), ev("WORKER_ADDRS", "xgb-worker-0,xgb-worker-1"),
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pod, err := engine.DesiredPod(xgboost.New(), tc.job, tc.rt, tc.index)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, fwtest.Env(pod, "xgboost")); diff != "" {
				t.Errorf("env (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPodsAndServices(t *testing.T) {
	c, err := engine.Desired(xgboost.New(), job(t, "2", "[]"), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"xgb-master-0", "xgb-worker-0", "xgb-worker-1"}
	if diff := cmp.Diff(want, fwtest.Names(c.Pods)); diff != "" {
		t.Errorf("pods (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, fwtest.Names(c.Services)); diff != "" {
		t.Errorf("services (-want +got):\n%s", diff)
	}
	for _, p := range c.Pods {
		isMaster := p.Labels[trainingv1.JobRoleLabel] == "master"
		if isMaster != strings.Contains(p.Name, "master") {
			t.Errorf("%s: job-role label %v", p.Name, p.Labels)
		}
		if p.Labels[trainingv1.OperatorNameLabel] != "xgboostjob-controller" || p.Spec.RestartPolicy != corev1.RestartPolicyNever {
			t.Errorf("%s: labels %v, restartPolicy %q", p.Name, p.Labels, p.Spec.RestartPolicy)
		}
	}
	if diff := cmp.Diff([]corev1.ServicePort{{Name: "xgboostjob-port", Port: 9999}}, c.Services[1].Spec.Ports); diff != "" {
		t.Errorf("worker service ports (-want +got):\n%s", diff)
	}
}

func TestNoMaster(t *testing.T) {
	j := fwtest.Decode[trainingv1.XGBoostJob](t, `
metadata: {name: xgb, namespace: ns}
spec:
  xgbReplicaSpecs:
    Worker: {template: {spec: {containers: [{name: xgboost, image: x}]}}}`)
	if _, err := engine.DesiredPods(xgboost.New(), j); err == nil || !strings.Contains(err.Error(), "no Master") {
		t.Errorf("error %v, want no Master", err)
	}
}
