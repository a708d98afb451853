package policy_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	"github.com/kfup/kfup/components/training/engine"
	"github.com/kfup/kfup/components/training/frameworks"
)

// now is the time of every decision in these tests.
var now = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func ago(d time.Duration) *metav1.Time { t := metav1.NewTime(now.Add(-d)); return &t }

func framework(t testing.TB, kind string) engine.Framework {
	t.Helper()
	fw, ok := frameworks.ForKind(frameworks.Config{}, kind)
	if !ok {
		t.Fatalf("no framework for %s", kind)
	}
	return fw
}

func replica(n int32, container string, policy trainingv1.RestartPolicy) *trainingv1.ReplicaSpec {
	return &trainingv1.ReplicaSpec{
		Replicas:      ptr.To(n),
		RestartPolicy: policy,
		Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: container, Image: "kfup-offline/busybox:1",
		}}}},
	}
}

// ptJob is a PyTorchJob "job" in "ns" with the given master and worker counts (0: no such
// type) and restart policy.
func ptJob(masters, workers int32, policy trainingv1.RestartPolicy, mods ...func(*trainingv1.PyTorchJob)) *trainingv1.PyTorchJob {
	j := &trainingv1.PyTorchJob{
		TypeMeta:   metav1.TypeMeta{APIVersion: "kubeflow.org/v1", Kind: "PyTorchJob"},
		ObjectMeta: metav1.ObjectMeta{Name: "job", Namespace: "ns", UID: "uid-job"},
		Spec:       trainingv1.PyTorchJobSpec{PyTorchReplicaSpecs: map[trainingv1.ReplicaType]*trainingv1.ReplicaSpec{}},
	}
	if masters > 0 {
		j.Spec.PyTorchReplicaSpecs["Master"] = replica(masters, "pytorch", policy)
	}
	if workers > 0 {
		j.Spec.PyTorchReplicaSpecs["Worker"] = replica(workers, "pytorch", policy)
	}
	for _, m := range mods {
		m(j)
	}
	return j
}

func tfJob(specs map[trainingv1.ReplicaType]int32, mods ...func(*trainingv1.TFJob)) *trainingv1.TFJob {
	j := &trainingv1.TFJob{
		ObjectMeta: metav1.ObjectMeta{Name: "job", Namespace: "ns", UID: "uid-job"},
		Spec:       trainingv1.TFJobSpec{TFReplicaSpecs: map[trainingv1.ReplicaType]*trainingv1.ReplicaSpec{}},
	}
	for t, n := range specs {
		j.Spec.TFReplicaSpecs[t] = replica(n, "tensorflow", trainingv1.RestartPolicyNever)
	}
	for _, m := range mods {
		m(j)
	}
	return j
}

type podOpt func(*corev1.Pod)

// pod is the pod of replica (rtype, index) of "job" (index < 0: no index label, as MPI's
// launcher) in phase, its framework container main.
func pod(rtype string, index int, main string, phase corev1.PodPhase, opts ...podOpt) *corev1.Pod {
	name := "job-" + strings.ToLower(rtype)
	labels := map[string]string{
		trainingv1.JobNameLabel:     "job",
		trainingv1.ReplicaTypeLabel: strings.ToLower(rtype),
	}
	if index >= 0 {
		name += "-" + strconv.Itoa(index)
		labels[trainingv1.ReplicaIndexLabel] = strconv.Itoa(index)
	}
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: labels, CreationTimestamp: *ago(time.Hour)},
		Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Containers:    []corev1.Container{{Name: main}},
		},
		Status: corev1.PodStatus{Phase: phase},
	}
	switch phase {
	case corev1.PodRunning:
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: main, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
	case corev1.PodSucceeded:
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: main, State: terminated(0)}}
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func terminated(code int32) corev1.ContainerState {
	return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code}}
}

// exit makes the pod's main container (the first) terminated with code.
func exit(code int32) podOpt {
	return func(p *corev1.Pod) {
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: p.Spec.Containers[0].Name, State: terminated(code)}}
	}
}

// restarts sets the main container's restart count.
func restarts(n int32) podOpt {
	return func(p *corev1.Pod) {
		if len(p.Status.ContainerStatuses) == 0 {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: p.Spec.Containers[0].Name}}
		}
		p.Status.ContainerStatuses[0].RestartCount = n
	}
}

// podRestartPolicy sets the pod's restartPolicy.
func podRestartPolicy(rp corev1.RestartPolicy) podOpt {
	return func(p *corev1.Pod) { p.Spec.RestartPolicy = rp }
}

// sidecar adds a running container called name.
func sidecar(name string) podOpt {
	return func(p *corev1.Pod) {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: name})
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{
			Name: name, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}},
		})
	}
}

// waiting makes the main container wait for reason since the pod started d ago.
func waiting(reason string, d time.Duration) podOpt {
	return func(p *corev1.Pod) {
		p.Status.StartTime = ago(d)
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: p.Spec.Containers[0].Name, State: corev1.ContainerState{
			Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: "image x not found"},
		}}}
	}
}

func deleting() podOpt {
	return func(p *corev1.Pod) { p.DeletionTimestamp = ago(time.Second) }
}

func service(name string) *corev1.Service {
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"}}
}

func cond(t trainingv1.JobConditionType, status corev1.ConditionStatus, reason string) trainingv1.JobCondition {
	return trainingv1.JobCondition{Type: t, Status: status, Reason: reason, Message: reason,
		LastUpdateTime: *ago(time.Minute), LastTransitionTime: *ago(time.Minute)}
}

func names[T interface{ GetName() string }](objs []T) []string {
	var out []string
	for _, o := range objs {
		out = append(out, o.GetName())
	}
	return out
}
