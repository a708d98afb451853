package controller_test

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	"github.com/kfup/kfup/components/training/controller/policy"
	"github.com/kfup/kfup/components/training/engine"
	"github.com/kfup/kfup/components/training/frameworks"
)

// Each kind runs and completes by its own rules: TF's worker 0, MPI's launcher (with
// cleanPodPolicy Running deleting the sleeping workers), XGBoost's and Paddle's master,
// JAX's workers.
func TestKindsLifecycle(t *testing.T) {
	cfg := testConfig()
	start(t, cfg)
	tests := []struct {
		kind, doc string
		pods      []string
		run       []string // pods to run first
		succeed   []string // then pods to succeed
		running   string   // the Running reason expected after run
		after     []string // pods left after success
	}{
		{"TFJob", `
spec:
  tfReplicaSpecs:
    PS: {replicas: 1, template: {spec: {containers: [{name: tensorflow, image: img}]}}}
    Worker: {replicas: 2, template: {spec: {containers: [{name: tensorflow, image: img}]}}}`,
			[]string{"k-ps-0", "k-worker-0", "k-worker-1"}, []string{"k-ps-0", "k-worker-0", "k-worker-1"}, []string{"k-worker-0"},
			"TFJobRunning", []string{"k-ps-0", "k-worker-0", "k-worker-1"}},
		{"MPIJob", `
spec:
  runPolicy: {cleanPodPolicy: Running}
  mpiReplicaSpecs:
    Launcher: {replicas: 1, template: {spec: {containers: [{name: mpi, image: img, command: [mpirun]}]}}}
    Worker: {replicas: 2, template: {spec: {containers: [{name: mpi, image: img}]}}}`,
			[]string{"k-launcher", "k-worker-0", "k-worker-1"}, []string{"k-worker-0", "k-worker-1", "k-launcher"}, []string{"k-launcher"},
			"MPIJobRunning", []string{"k-launcher"}},
		{"XGBoostJob", `
spec:
  xgbReplicaSpecs:
    Master: {replicas: 1, template: {spec: {containers: [{name: xgboost, image: img}]}}}
    Worker: {replicas: 1, template: {spec: {containers: [{name: xgboost, image: img}]}}}`,
			[]string{"k-master-0", "k-worker-0"}, []string{"k-master-0"}, []string{"k-master-0"},
			"XGBoostJobRunning", []string{"k-master-0", "k-worker-0"}},
		{"JAXJob", `
spec:
  jaxReplicaSpecs:
    Worker: {replicas: 2, template: {spec: {containers: [{name: jax, image: img}]}}}`,
			[]string{"k-worker-0", "k-worker-1"}, []string{"k-worker-0"}, []string{"k-worker-0", "k-worker-1"},
			"JAXJobRunning", []string{"k-worker-0", "k-worker-1"}},
		{"PaddleJob", `
spec:
  paddleReplicaSpecs:
    Master: {replicas: 1, template: {spec: {containers: [{name: paddle, image: img}]}}}
    Worker: {replicas: 1, template: {spec: {containers: [{name: paddle, image: img}]}}}`,
			[]string{"k-master-0", "k-worker-0"}, []string{"k-master-0"}, []string{"k-master-0"},
			"PaddleJobRunning", []string{"k-master-0", "k-worker-0"}},
	}
	for _, tc := range tests {
		t.Run(tc.kind, func(t *testing.T) {
			ns := env.Namespace(t)
			fw, _ := frameworks.ForKind(cfg.Frameworks(), tc.kind)
			job := fw.NewJob()
			if err := yaml.UnmarshalStrict([]byte(fmt.Sprintf("apiVersion: kubeflow.org/v1\nkind: %s\nmetadata: {name: k, namespace: %s}%s", tc.kind, ns, tc.doc)), job); err != nil {
				t.Fatal(err)
			}
			create(t, job.(client.Object))
			waitPods(t, ns, "k", tc.pods...)
			main := fw.DefaultContainerName()
			for _, p := range tc.run {
				run(t, ns, p, main)
			}
			waitKindCondition(t, fw, ns, trainingv1.JobRunning, tc.running)
			for _, p := range tc.succeed {
				succeed(t, ns, p, main)
			}
			waitKindCondition(t, fw, ns, trainingv1.JobSucceeded, tc.kind+"Succeeded")
			waitPods(t, ns, "k", tc.after...)
		})
	}
}

// waitKindCondition waits until job "k" in ns (of fw's kind) has condition typ True with
// reason.
func waitKindCondition(t *testing.T, fw engine.Framework, ns string, typ trainingv1.JobConditionType, reason string) {
	t.Helper()
	eventually(t, fmt.Sprintf("%s=True(%s)", typ, reason), func(ctx context.Context) (bool, string) {
		j := fw.NewJob()
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "k"}, j.(client.Object)); err != nil {
			return false, err.Error()
		}
		c := policy.FindCondition(fw.Status(j), typ)
		return c != nil && c.Status == corev1.ConditionTrue && c.Reason == reason, conditions(fw.Status(j))
	})
}

// An MPIJob's workers only serve its launcher: once the launcher succeeded, workers still
// running are deleted unless the job asks for cleanPodPolicy None (kfup's default is
// Running, upstream's None left them holding their resources until the job was deleted).
func TestMPIWorkersStopWhenTheLauncherIsDone(t *testing.T) {
	cfg := testConfig()
	start(t, cfg)
	fw, _ := frameworks.ForKind(cfg.Frameworks(), "MPIJob")
	for _, tc := range []struct {
		name, policy string
		after        []string
	}{
		{"unset", "", []string{"k-launcher"}},
		{"None", "\n  runPolicy: {cleanPodPolicy: None}", []string{"k-launcher", "k-worker-0", "k-worker-1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := env.Namespace(t)
			job := fw.NewJob()
			doc := fmt.Sprintf(`apiVersion: kubeflow.org/v1
kind: MPIJob
metadata: {name: k, namespace: %s}
spec:%s
  mpiReplicaSpecs:
    Launcher: {replicas: 1, template: {spec: {containers: [{name: mpi, image: img, command: [mpirun]}]}}}
    Worker: {replicas: 2, template: {spec: {containers: [{name: mpi, image: img, command: [sleep, infinity]}]}}}`, ns, tc.policy)
			if err := yaml.UnmarshalStrict([]byte(doc), job); err != nil {
				t.Fatal(err)
			}
			create(t, job.(client.Object))
			waitPods(t, ns, "k", "k-launcher", "k-worker-0", "k-worker-1")
			for _, p := range []string{"k-worker-0", "k-worker-1", "k-launcher"} {
				run(t, ns, p, "mpi")
			}
			waitKindCondition(t, fw, ns, trainingv1.JobRunning, "MPIJobRunning")
			succeed(t, ns, "k-launcher", "mpi")
			waitKindCondition(t, fw, ns, trainingv1.JobSucceeded, "MPIJobSucceeded")
			waitPods(t, ns, "k", tc.after...)
		})
	}
}
