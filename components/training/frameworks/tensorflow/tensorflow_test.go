package tensorflow_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	"github.com/kfup/kfup/components/training/engine"
	"github.com/kfup/kfup/components/training/frameworks/internal/fwtest"
	"github.com/kfup/kfup/components/training/frameworks/tensorflow"
)

// job is upstream's test TFJob "test-tfjob": the given replica counts of each type, every
// replica one tensorflow container.
func job(t *testing.T, ns string, replicas map[string]int, extraSpec string) *trainingv1.TFJob {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "metadata: {name: test-tfjob, namespace: %s}\nspec:\n%s  tfReplicaSpecs:\n", ns, extraSpec)
	for _, rt := range []string{"Chief", "Master", "PS", "Worker", "Evaluator"} {
		if n, ok := replicas[rt]; ok {
			fmt.Fprintf(&b, "    %s: {replicas: %d, template: {spec: {containers: [{name: tensorflow, image: tf}]}}}\n", rt, n)
		}
	}
	return fwtest.Decode[trainingv1.TFJob](t, b.String())
}

func tfConfig(t *testing.T, fw engine.Framework, j *trainingv1.TFJob, rt trainingv1.ReplicaType, i int) string {
	t.Helper()
	pod, err := engine.DesiredPod(fw, j, rt, i)
	if err != nil {
		t.Fatal(err)
	}
	var v string
	for _, e := range fwtest.Env(pod, "tensorflow") {
		if e.Name == "TF_CONFIG" {
			if v != "" {
				t.Fatalf("TF_CONFIG set twice on %s", pod.Name)
			}
			v = e.Value
		}
	}
	return v
}

// The cases of upstream's "should generate desired cluster spec" test (pod_test.go), plus
// dynamic workers (tensorflow_test.go) and custom ports.
func TestTFConfig(t *testing.T) {
	cases := []struct {
		name     string
		domain   string
		job      *trainingv1.TFJob
		rt       trainingv1.ReplicaType
		index    int
		expected string
	}{
		{
			name: "one worker is not distributed",
			job:  job(t, "ns0", map[string]int{"Worker": 1}, ""),
			rt:   "Worker", expected: "",
		},
		{
			name: "one worker, custom domain", domain: "tf.training.com",
			job: job(t, "ns1", map[string]int{"Worker": 1}, ""),
			rt:  "Worker", expected: "",
		},
		{
			name: "worker and ps, custom domain", domain: "tf.training.org",
			job: job(t, "ns2", map[string]int{"Worker": 1, "PS": 1}, ""),
			rt:  "Worker",
			expected: `{"cluster":{"ps":["test-tfjob-ps-0.ns2.svc.tf.training.org:2222"],` +
				`"worker":["test-tfjob-worker-0.ns2.svc.tf.training.org:2222"]},"task":{"type":"worker","index":0},"environment":"cloud"}`,
		},
		{
			name: "evaluator is part of the cluster spec, custom domain", domain: "tf.training.io",
			job: job(t, "ns3", map[string]int{"Worker": 1, "PS": 1, "Evaluator": 1}, ""),
			rt:  "Worker",
			expected: `{"cluster":{"evaluator":["test-tfjob-evaluator-0.ns3.svc.tf.training.io:2222"],` +
				`"ps":["test-tfjob-ps-0.ns3.svc.tf.training.io:2222"],"worker":["test-tfjob-worker-0.ns3.svc.tf.training.io:2222"]},` +
				`"task":{"type":"worker","index":0},"environment":"cloud"}`,
		},
		{
			name: "evaluator is part of the cluster spec",
			job:  job(t, "ns3", map[string]int{"Worker": 1, "PS": 1, "Evaluator": 1}, ""),
			rt:   "Worker",
			expected: `{"cluster":{"evaluator":["test-tfjob-evaluator-0.ns3.svc:2222"],` +
				`"ps":["test-tfjob-ps-0.ns3.svc:2222"],"worker":["test-tfjob-worker-0.ns3.svc:2222"]},` +
				`"task":{"type":"worker","index":0},"environment":"cloud"}`,
		},
		{
			name: "the evaluator's own task",
			job:  job(t, "default", map[string]int{"Worker": 1, "Evaluator": 1}, ""),
			rt:   "Evaluator",
			expected: `{"cluster":{"evaluator":["test-tfjob-evaluator-0.default.svc:2222"],"worker":["test-tfjob-worker-0.default.svc:2222"]},` +
				`"task":{"type":"evaluator","index":0},"environment":"cloud"}`,
		},
		{
			name: "chief, ps and workers: the second ps",
			job:  job(t, "default", map[string]int{"Chief": 1, "PS": 2, "Worker": 2}, ""),
			rt:   "PS", index: 1,
			expected: `{"cluster":{"chief":["test-tfjob-chief-0.default.svc:2222"],` +
				`"ps":["test-tfjob-ps-0.default.svc:2222","test-tfjob-ps-1.default.svc:2222"],` +
				`"worker":["test-tfjob-worker-0.default.svc:2222","test-tfjob-worker-1.default.svc:2222"]},` +
				`"task":{"type":"ps","index":1},"environment":"cloud"}`,
		},
		{
			name: "a chief alone with a worker type of zero replicas is not distributed",
			job:  job(t, "default", map[string]int{"Chief": 1, "Worker": 0}, ""),
			rt:   "Chief", expected: "",
		},
		{
			name: "dynamic worker sees the ps and itself",
			job:  job(t, "default", map[string]int{"PS": 2, "Worker": 2}, "  enableDynamicWorker: true\n"),
			rt:   "Worker", index: 1,
			expected: `{"cluster":{"worker":{"1":"test-tfjob-worker-1.default.svc:2222"},` +
				`"ps":["test-tfjob-ps-0.default.svc:2222","test-tfjob-ps-1.default.svc:2222"]},"task":{"type":"worker","index":1}}`,
		},
		{
			name: "dynamic ps sees itself",
			job:  job(t, "default", map[string]int{"PS": 2, "Worker": 2}, "  enableDynamicWorker: true\n"),
			rt:   "PS", index: 0,
			expected: `{"cluster":{"worker":{},"ps":["test-tfjob-ps-0.default.svc:2222"]},"task":{"type":"ps","index":0}}`,
		},
		{
			name: "dynamic worker without ps",
			job:  job(t, "default", map[string]int{"Worker": 2}, "  enableDynamicWorker: true\n"),
			rt:   "Worker", index: 0,
			expected: `{"cluster":{"worker":{"0":"test-tfjob-worker-0.default.svc:2222"},"ps":null},"task":{"type":"worker","index":0}}`,
		},
		{
			name: "dynamic chief sees nobody",
			job:  job(t, "default", map[string]int{"Chief": 1, "Worker": 2}, "  enableDynamicWorker: true\n"),
			rt:   "Chief", index: 0,
			expected: `{"cluster":{"worker":{},"ps":[]},"task":{"type":"chief","index":0}}`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fw := tensorflow.New(tensorflow.WithClusterDomain(tc.domain))
			if got := tfConfig(t, fw, tc.job, tc.rt, tc.index); got != tc.expected {
				t.Errorf("TF_CONFIG\n got %s\nwant %s", got, tc.expected)
			}
		})
	}
}

// A replica type's own tfjob-port is its address's port; only the tensorflow container
// gets TF_CONFIG.
func TestTFConfigPortsAndContainers(t *testing.T) {
	j := fwtest.Decode[trainingv1.TFJob](t, `
metadata: {name: tj, namespace: ml}
spec:
  tfReplicaSpecs:
    PS:
      template:
        spec:
          containers: [{name: tensorflow, image: tf, ports: [{name: tfjob-port, containerPort: 3333}]}]
    Worker:
      replicas: 2
      template:
        spec:
          containers:
          - {name: sidecar, image: s}
          - {name: tensorflow, image: tf, env: [{name: A, value: b}]}
`)
	pod, err := engine.DesiredPod(tensorflow.New(), j, "Worker", 1)
	if err != nil {
		t.Fatal(err)
	}
	want := []corev1.EnvVar{
		fwtest.EnvVar("A", "b"),
		fwtest.EnvVar("TF_CONFIG", `{"cluster":{"ps":["tj-ps-0.ml.svc:3333"],"worker":["tj-worker-0.ml.svc:2222","tj-worker-1.ml.svc:2222"]},`+
			`"task":{"type":"worker","index":1},"environment":"cloud"}`),
	}
	if diff := cmp.Diff(want, fwtest.Env(pod, "tensorflow")); diff != "" {
		t.Errorf("tensorflow env (-want +got):\n%s", diff)
	}
	if env := fwtest.Env(pod, "sidecar"); env != nil {
		t.Errorf("sidecar env %v, want none", env)
	}
	// The default port went to the tensorflow container (not the first one) and to the service.
	if diff := cmp.Diff([]corev1.ContainerPort{{Name: "tfjob-port", ContainerPort: 2222}}, pod.Spec.Containers[1].Ports); diff != "" {
		t.Errorf("tensorflow ports (-want +got):\n%s", diff)
	}
	svc, err := engine.DesiredService(tensorflow.New(), j, "PS", 0)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]corev1.ServicePort{{Name: "tfjob-port", Port: 3333}}, svc.Spec.Ports); diff != "" {
		t.Errorf("ps service ports (-want +got):\n%s", diff)
	}
}

// Upstream's "Test IsDistributed".
func TestIsDistributed(t *testing.T) {
	cases := []struct {
		replicas map[string]int
		want     bool
	}{
		{map[string]int{"Worker": 1}, false},
		{map[string]int{"Worker": 1, "PS": 1}, true},
		{map[string]int{"PS": 1}, false},
		{map[string]int{"Chief": 1, "Worker": 1}, true},
	}
	for _, tc := range cases {
		if got := tensorflow.IsDistributed(job(t, "default", tc.replicas, "")); got != tc.want {
			t.Errorf("IsDistributed(%v) = %v, want %v", tc.replicas, got, tc.want)
		}
	}
	unset := fwtest.Decode[trainingv1.TFJob](t, `
spec:
  tfReplicaSpecs:
    Worker: {template: {spec: {containers: [{name: tensorflow, image: tf}]}}}
    PS: {template: {spec: {containers: [{name: tensorflow, image: tf}]}}}`)
	if !tensorflow.IsDistributed(unset) {
		t.Errorf("unset replicas count as one each: want distributed")
	}
}

func TestMasterRoleAndRestartPolicy(t *testing.T) {
	cases := []struct {
		name       string
		replicas   map[string]int
		wantMaster []string
	}{
		{"worker 0 without chief", map[string]int{"PS": 1, "Worker": 2}, []string{"test-tfjob-worker-0"}},
		{"chief", map[string]int{"Chief": 1, "PS": 1, "Worker": 2}, []string{"test-tfjob-chief-0"}},
		{"master", map[string]int{"Master": 1, "Worker": 2}, []string{"test-tfjob-master-0"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pods, err := engine.DesiredPods(tensorflow.New(), job(t, "default", tc.replicas, ""))
			if err != nil {
				t.Fatal(err)
			}
			var masters []string
			for _, p := range pods {
				if p.Labels[trainingv1.JobRoleLabel] == "master" {
					masters = append(masters, p.Name)
				}
				if p.Labels[trainingv1.OperatorNameLabel] != "tfjob-controller" {
					t.Errorf("%s: operator-name %q", p.Name, p.Labels[trainingv1.OperatorNameLabel])
				}
				// TFJob replicas default to restart policy Never.
				if p.Spec.RestartPolicy != corev1.RestartPolicyNever {
					t.Errorf("%s: restartPolicy %q, want Never", p.Name, p.Spec.RestartPolicy)
				}
			}
			if diff := cmp.Diff(tc.wantMaster, masters); diff != "" {
				t.Errorf("job-role=master (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	j := fwtest.Decode[trainingv1.TFJob](t, `
spec:
  tfReplicaSpecs:
    worker: {template: {spec: {containers: [{name: tensorflow, image: tf, ports: [{name: custom, containerPort: 1234}]}]}}}`)
	d, err := engine.Defaulted(tensorflow.New(), j)
	if err != nil {
		t.Fatal(err)
	}
	got := d.(*trainingv1.TFJob)
	w := got.Spec.TFReplicaSpecs["Worker"]
	if w == nil {
		t.Fatalf("worker not renamed to Worker: %v", got.Spec.TFReplicaSpecs)
	}
	if *w.Replicas != 1 || w.RestartPolicy != trainingv1.RestartPolicyNever ||
		*got.Spec.RunPolicy.CleanPodPolicy != trainingv1.CleanPodPolicyNone || *got.Spec.SuccessPolicy != "" {
		t.Errorf("defaults: %+v", got.Spec)
	}
	want := []corev1.ContainerPort{{Name: "custom", ContainerPort: 1234}, {Name: "tfjob-port", ContainerPort: 2222}}
	if diff := cmp.Diff(want, w.Template.Spec.Containers[0].Ports); diff != "" {
		t.Errorf("ports (-want +got):\n%s", diff)
	}
}
