package engine_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	"github.com/kfup/kfup/components/training/engine"
)

// fake is a minimal framework over PyTorchJob: it defaults replicas to 1 and restart
// policies to Never, adds the port fake-port=1234 to container "main", calls Master the
// master, and sets FAKE_RANK on every container.
type fake struct{}

func (fake) Kind() string                 { return "PyTorchJob" }
func (fake) NewJob() engine.Job           { return &trainingv1.PyTorchJob{} }
func (fake) ControllerName() string       { return "fake-controller" }
func (fake) DefaultContainerName() string { return "main" }
func (fake) DefaultPortName() string      { return "fake-port" }
func (fake) DefaultPort() int32           { return 1234 }
func (fake) ReplicaTypes() []trainingv1.ReplicaType {
	return []trainingv1.ReplicaType{"Master", "Worker"}
}
func (fake) ReplicaSpecs(j engine.Job) map[trainingv1.ReplicaType]*trainingv1.ReplicaSpec {
	return j.(*trainingv1.PyTorchJob).Spec.PyTorchReplicaSpecs
}
func (fake) RunPolicy(j engine.Job) *trainingv1.RunPolicy {
	return &j.(*trainingv1.PyTorchJob).Spec.RunPolicy
}
func (fake) Status(j engine.Job) *trainingv1.JobStatus { return &j.(*trainingv1.PyTorchJob).Status }
func (f fake) SetDefaults(j engine.Job) {
	for _, s := range f.ReplicaSpecs(j) {
		engine.SetDefaultReplicas(s, 1)
		engine.SetDefaultRestartPolicy(s, trainingv1.RestartPolicyNever)
		engine.SetDefaultPort(&s.Template.Spec, "main", "fake-port", 1234)
	}
}
func (fake) IsMasterRole(_ map[trainingv1.ReplicaType]*trainingv1.ReplicaSpec, t trainingv1.ReplicaType, _ int) bool {
	return t == "Master"
}
func (fake) SetClusterSpec(_ engine.Job, t trainingv1.ReplicaType, i int, tmpl *corev1.PodTemplateSpec) error {
	for c := range tmpl.Spec.Containers {
		engine.AddEnv(&tmpl.Spec.Containers[c], engine.EnvVar("FAKE_RANK", string(t)+"/"+strconv.Itoa(i)))
	}
	return nil
}

// serviceless renames its pods and has no services.
type serviceless struct{ fake }

func (serviceless) Serviceless() {}
func (serviceless) CustomizePod(_ engine.Job, t trainingv1.ReplicaType, _ int, p *corev1.Pod) error {
	if t == "Master" {
		p.Name = "renamed"
	}
	return nil
}

func decode(t *testing.T, doc string) *trainingv1.PyTorchJob {
	t.Helper()
	j := &trainingv1.PyTorchJob{}
	if err := yaml.UnmarshalStrict([]byte(doc), j); err != nil {
		t.Fatal(err)
	}
	return j
}

const twoTypes = `
apiVersion: kubeflow.org/v1
kind: PyTorchJob
metadata: {name: mnist, namespace: team-a, uid: u-1}
spec:
  pytorchReplicaSpecs:
    Master:
      template:
        metadata:
          labels: {app: mnist, training.kubeflow.org/job-name: spoofed}
          annotations: {note: kept}
          finalizers: [example.com/keep]
        spec:
          containers:
          - name: main
            image: img
            env: [{name: USER_VAR, value: "1"}]
    Worker:
      replicas: 2
      restartPolicy: ExitCode
      template:
        spec:
          containers:
          - {name: main, image: img, ports: [{name: extra, containerPort: 80}]}
          - {name: side, image: side}
`

var owner = metav1.OwnerReference{
	APIVersion: "kubeflow.org/v1", Kind: "PyTorchJob", Name: "mnist", UID: "u-1",
	Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
}

func TestDesiredPods(t *testing.T) {
	job := decode(t, twoTypes)
	before := job.DeepCopy()
	pods, err := engine.DesiredPods(fake{}, job)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, job); diff != "" {
		t.Fatalf("DesiredPods changed its input (-before +after):\n%s", diff)
	}
	want := []*corev1.Pod{
		{
			TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
			ObjectMeta: metav1.ObjectMeta{
				Name: "mnist-master-0", Namespace: "team-a",
				Labels: map[string]string{
					"app":                                 "mnist",
					"training.kubeflow.org/job-name":      "mnist",
					"training.kubeflow.org/operator-name": "fake-controller",
					"training.kubeflow.org/replica-type":  "master",
					"training.kubeflow.org/replica-index": "0",
					"training.kubeflow.org/job-role":      "master",
				},
				Annotations:     map[string]string{"note": "kept", "sidecar.istio.io/inject": "false"},
				Finalizers:      []string{"example.com/keep"},
				OwnerReferences: []metav1.OwnerReference{owner},
			},
			Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyNever,
				Containers: []corev1.Container{{
					Name: "main", Image: "img",
					Ports: []corev1.ContainerPort{{Name: "fake-port", ContainerPort: 1234}},
					Env:   []corev1.EnvVar{{Name: "USER_VAR", Value: "1"}, {Name: "FAKE_RANK", Value: "Master/0"}},
				}},
			},
		},
	}
	for i := range 2 {
		want = append(want, &corev1.Pod{
			TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
			ObjectMeta: metav1.ObjectMeta{
				Name: "mnist-worker-" + strconv.Itoa(i), Namespace: "team-a",
				Labels: map[string]string{
					"training.kubeflow.org/job-name":      "mnist",
					"training.kubeflow.org/operator-name": "fake-controller",
					"training.kubeflow.org/replica-type":  "worker",
					"training.kubeflow.org/replica-index": strconv.Itoa(i),
				},
				Annotations:     map[string]string{"sidecar.istio.io/inject": "false"},
				OwnerReferences: []metav1.OwnerReference{owner},
			},
			Spec: corev1.PodSpec{
				// ExitCode is the engine's business: the kubelet never restarts.
				RestartPolicy: corev1.RestartPolicyNever,
				Containers: []corev1.Container{
					{
						Name: "main", Image: "img",
						Ports: []corev1.ContainerPort{{Name: "extra", ContainerPort: 80}, {Name: "fake-port", ContainerPort: 1234}},
						Env:   []corev1.EnvVar{{Name: "FAKE_RANK", Value: "Worker/" + strconv.Itoa(i)}},
					},
					{Name: "side", Image: "side", Env: []corev1.EnvVar{{Name: "FAKE_RANK", Value: "Worker/" + strconv.Itoa(i)}}},
				},
			},
		})
	}
	if diff := cmp.Diff(want, pods); diff != "" {
		t.Errorf("DesiredPods (-want +got):\n%s", diff)
	}
}

func TestDesiredServices(t *testing.T) {
	job := decode(t, twoTypes)
	svcs, err := engine.DesiredServices(fake{}, job)
	if err != nil {
		t.Fatal(err)
	}
	labels := func(rt, i string) map[string]string {
		return map[string]string{
			"training.kubeflow.org/job-name":      "mnist",
			"training.kubeflow.org/operator-name": "fake-controller",
			"training.kubeflow.org/replica-type":  rt,
			"training.kubeflow.org/replica-index": i,
		}
	}
	svc := func(name, rt, i string, ports ...corev1.ServicePort) *corev1.Service {
		return &corev1.Service{
			TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
			ObjectMeta: metav1.ObjectMeta{
				Name: name, Namespace: "team-a", Labels: labels(rt, i),
				OwnerReferences: []metav1.OwnerReference{owner},
			},
			Spec: corev1.ServiceSpec{ClusterIP: "None", Selector: labels(rt, i), Ports: ports},
		}
	}
	want := []*corev1.Service{
		svc("mnist-master-0", "master", "0", corev1.ServicePort{Name: "fake-port", Port: 1234}),
		svc("mnist-worker-0", "worker", "0", corev1.ServicePort{Name: "extra", Port: 80}, corev1.ServicePort{Name: "fake-port", Port: 1234}),
		svc("mnist-worker-1", "worker", "1", corev1.ServicePort{Name: "extra", Port: 80}, corev1.ServicePort{Name: "fake-port", Port: 1234}),
	}
	if diff := cmp.Diff(want, svcs); diff != "" {
		t.Errorf("DesiredServices (-want +got):\n%s", diff)
	}

	// A service selects exactly its pod.
	pods, err := engine.DesiredPods(fake{}, job)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range svcs {
		sel, _ := metav1.LabelSelectorAsSelector(&metav1.LabelSelector{MatchLabels: s.Spec.Selector})
		for j, p := range pods {
			if got := sel.Matches(labelSet(p.Labels)); got != (i == j) {
				t.Errorf("service %s selects pod %s: %v", s.Name, p.Name, got)
			}
		}
	}
}

type labelSet map[string]string

func (l labelSet) Has(k string) bool              { _, ok := l[k]; return ok }
func (l labelSet) Get(k string) string            { return l[k] }
func (l labelSet) Lookup(k string) (string, bool) { v, ok := l[k]; return v, ok }

func TestServicePorts(t *testing.T) {
	cases := []struct {
		name  string
		ports string
		want  []corev1.ServicePort
	}{
		// SetDefaults adds fake-port when main has none of that name.
		{"default port added", `[]`, []corev1.ServicePort{{Name: "fake-port", Port: 1234}}},
		{"user's port of the default name kept", `[{name: fake-port, containerPort: 9}]`, []corev1.ServicePort{{Name: "fake-port", Port: 9}}},
		{"same name twice: last wins, first place", `[{name: a, containerPort: 1}, {name: fake-port, containerPort: 2}, {name: a, containerPort: 3}]`,
			[]corev1.ServicePort{{Name: "a", Port: 3}, {Name: "fake-port", Port: 2}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			job := decode(t, `
metadata: {name: j, namespace: ns}
spec:
  pytorchReplicaSpecs:
    Worker:
      template:
        spec:
          containers: [{name: main, image: i, ports: `+tc.ports+`}]`)
			svc, err := engine.DesiredService(fake{}, job, "Worker", 0)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, svc.Spec.Ports); diff != "" {
				t.Errorf("ports (-want +got):\n%s", diff)
			}
		})
	}
}

func TestIstioInjectionDefault(t *testing.T) {
	cases := []struct {
		name, meta      string
		wantAnnotations map[string]string
	}{
		{"off by default", `{}`, map[string]string{"sidecar.istio.io/inject": "false"}},
		{"template annotation wins", `{annotations: {sidecar.istio.io/inject: "true"}}`, map[string]string{"sidecar.istio.io/inject": "true"}},
		{"template label decides", `{labels: {sidecar.istio.io/inject: "true"}}`, map[string]string{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			job := decode(t, `
metadata: {name: j, namespace: ns}
spec:
  pytorchReplicaSpecs:
    Worker:
      template:
        metadata: `+tc.meta+`
        spec: {containers: [{name: main, image: i}]}`)
			pod, err := engine.DesiredPod(fake{}, job, "Worker", 0)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.wantAnnotations, pod.Annotations); diff != "" {
				t.Errorf("annotations (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRestartPolicyMapping(t *testing.T) {
	for policy, want := range map[trainingv1.RestartPolicy]corev1.RestartPolicy{
		"":                                corev1.RestartPolicyNever, // fake's default
		trainingv1.RestartPolicyNever:     corev1.RestartPolicyNever,
		trainingv1.RestartPolicyOnFailure: corev1.RestartPolicyOnFailure,
		trainingv1.RestartPolicyAlways:    corev1.RestartPolicyAlways,
		trainingv1.RestartPolicyExitCode:  corev1.RestartPolicyNever,
	} {
		job := decode(t, `
metadata: {name: j, namespace: ns}
spec:
  pytorchReplicaSpecs:
    Worker:
      restartPolicy: "`+string(policy)+`"
      template:
        spec: {restartPolicy: Always, containers: [{name: main, image: i}]}`)
		pod, err := engine.DesiredPod(fake{}, job, "Worker", 0)
		if err != nil {
			t.Fatal(err)
		}
		if pod.Spec.RestartPolicy != want {
			t.Errorf("replica restartPolicy %q: pod restartPolicy %q, want %q", policy, pod.Spec.RestartPolicy, want)
		}
	}
}

func TestReplicasOrderAndZero(t *testing.T) {
	job := decode(t, `
metadata: {name: j, namespace: ns}
spec:
  pytorchReplicaSpecs:
    Zed: {replicas: 1, template: {spec: {containers: [{name: main, image: i}]}}}
    Worker: {replicas: 2, template: {spec: {containers: [{name: main, image: i}]}}}
    Alpha: {replicas: 0, template: {spec: {containers: [{name: main, image: i}]}}}
    Master: {template: {spec: {containers: [{name: main, image: i}]}}}
`)
	got, err := engine.Replicas(fake{}, job)
	if err != nil {
		t.Fatal(err)
	}
	want := []engine.Replica{{"Master", 0}, {"Worker", 0}, {"Worker", 1}, {"Zed", 0}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Replicas (-want +got):\n%s", diff)
	}
	pods, err := engine.DesiredPods(fake{}, job)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range pods {
		names = append(names, p.Name)
	}
	if diff := cmp.Diff([]string{"j-master-0", "j-worker-0", "j-worker-1", "j-zed-0"}, names); diff != "" {
		t.Errorf("pod names (-want +got):\n%s", diff)
	}
}

func TestDesiredErrors(t *testing.T) {
	job := decode(t, twoTypes)
	cases := []struct {
		name string
		call func() error
		want string
	}{
		{"index out of range", func() error { _, err := engine.DesiredPod(fake{}, job, "Worker", 2); return err }, "index 2 out of range"},
		{"negative index", func() error { _, err := engine.DesiredService(fake{}, job, "Worker", -1); return err }, "out of range"},
		{"unknown type", func() error { _, err := engine.DesiredPod(fake{}, job, "Chief", 0); return err }, "has no Chief replicas"},
		{"wrong job type", func() error { _, err := engine.DesiredPods(fake{}, &trainingv1.TFJob{}); return err }, "given a *v1.TFJob"},
		{"nil job", func() error { _, err := engine.DesiredPods(fake{}, nil); return err }, "nil job"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestServicelessAndCustomizer(t *testing.T) {
	job := decode(t, twoTypes)
	c, err := engine.Desired(serviceless{}, job, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Services) != 0 || len(c.Extras) != 0 {
		t.Errorf("services %v, extras %v: want none", c.Services, c.Extras)
	}
	if len(c.Pods) != 3 || c.Pods[0].Name != "renamed" || c.Pods[1].Name != "mnist-worker-0" {
		t.Errorf("pods %v", c.Pods)
	}
	svc, err := engine.DesiredService(serviceless{}, job, "Master", 0)
	if svc != nil || err != nil {
		t.Errorf("DesiredService of a serviceless framework = %v, %v; want nil, nil", svc, err)
	}
}

func TestLabelHelpers(t *testing.T) {
	sel := engine.ReplicaTypeSelector(fake{}, "mnist", "Worker")
	if got, want := metav1.FormatLabelSelector(sel),
		"training.kubeflow.org/job-name=mnist,training.kubeflow.org/operator-name=fake-controller,training.kubeflow.org/replica-type=worker"; got != want {
		t.Errorf("selector %q, want %q", got, want)
	}
	if got := engine.ReplicaName("ns/job", "PS", 3); got != "ns-job-ps-3" {
		t.Errorf("ReplicaName = %q", got)
	}
}
