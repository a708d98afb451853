package engine_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	"github.com/kfup/kfup/components/training/engine"
)

func TestClassifyExitCode(t *testing.T) {
	cases := []struct {
		code      int32
		want      engine.ExitClass
		retryable bool
	}{
		// Upstream's TestIsRetryableExitCode: 1, 2, 3 no; 130, 138 yes.
		{0, engine.ExitSucceeded, false},
		{1, engine.ExitPermanent, false},
		{2, engine.ExitPermanent, false},
		{3, engine.ExitPermanent, false},
		{127, engine.ExitPermanent, false},
		{128, engine.ExitRetryable, true},
		{130, engine.ExitRetryable, true},
		{137, engine.ExitRetryable, true}, // SIGKILL: OOM, preemption
		{138, engine.ExitRetryable, true},
		{143, engine.ExitRetryable, true}, // SIGTERM
		{255, engine.ExitRetryable, true},
		{engine.UnknownExitCode, engine.ExitRetryable, true},
		{-1, engine.ExitPermanent, false},
	}
	for _, tc := range cases {
		if got := engine.ClassifyExitCode(tc.code); got != tc.want {
			t.Errorf("ClassifyExitCode(%d) = %v, want %v", tc.code, got, tc.want)
		}
		if got := engine.IsRetryableExitCode(tc.code); got != tc.retryable {
			t.Errorf("IsRetryableExitCode(%d) = %v, want %v", tc.code, got, tc.retryable)
		}
	}
}

func TestOnPodFailed(t *testing.T) {
	cases := []struct {
		policy trainingv1.RestartPolicy
		code   int32
		want   engine.FailureAction
	}{
		{trainingv1.RestartPolicyExitCode, 1, engine.FailJob},
		{trainingv1.RestartPolicyExitCode, 127, engine.FailJob},
		{trainingv1.RestartPolicyExitCode, 137, engine.RestartPod},
		{trainingv1.RestartPolicyExitCode, 130, engine.RestartPod},
		{trainingv1.RestartPolicyExitCode, engine.UnknownExitCode, engine.RestartPod},
		{trainingv1.RestartPolicyOnFailure, 1, engine.RestartPod},
		{trainingv1.RestartPolicyAlways, 1, engine.RestartPod},
		{trainingv1.RestartPolicyNever, 1, engine.KeepFailedPod},
		{trainingv1.RestartPolicyNever, 137, engine.KeepFailedPod},
	}
	for _, tc := range cases {
		if got := engine.OnPodFailed(tc.policy, tc.code); got != tc.want {
			t.Errorf("OnPodFailed(%s, %d) = %v, want %v", tc.policy, tc.code, got, tc.want)
		}
	}
}

func terminated(name string, code int32) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code}}}
}

func running(name string) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}
}

func TestContainerExitCode(t *testing.T) {
	pod := &corev1.Pod{Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{
		running("istio-proxy"), terminated("pytorch", 137),
	}}}
	if got := engine.ContainerExitCode(pod, "pytorch"); got != 137 {
		t.Errorf("exit code %d, want 137", got)
	}
	if got := engine.ContainerExitCode(pod, "istio-proxy"); got != engine.UnknownExitCode {
		t.Errorf("exit code of a running container %d, want UnknownExitCode", got)
	}
}

func TestLingeringSidecars(t *testing.T) {
	cases := []struct {
		name     string
		policy   corev1.RestartPolicy
		statuses []corev1.ContainerStatus
		want     []string
	}{
		{"main running", corev1.RestartPolicyNever, []corev1.ContainerStatus{running("main"), running("istio-proxy")}, nil},
		{"main done, sidecar up", corev1.RestartPolicyNever, []corev1.ContainerStatus{terminated("main", 1), running("istio-proxy")}, []string{"istio-proxy"}},
		{"all done", corev1.RestartPolicyNever, []corev1.ContainerStatus{terminated("main", 0), terminated("istio-proxy", 0)}, nil},
		{"OnFailure success", corev1.RestartPolicyOnFailure, []corev1.ContainerStatus{terminated("main", 0), running("istio-proxy")}, []string{"istio-proxy"}},
		{"OnFailure failure restarts main", corev1.RestartPolicyOnFailure, []corev1.ContainerStatus{terminated("main", 1), running("istio-proxy")}, nil},
		{"Always restarts main", corev1.RestartPolicyAlways, []corev1.ContainerStatus{terminated("main", 0), running("istio-proxy")}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pod := &corev1.Pod{Spec: corev1.PodSpec{RestartPolicy: tc.policy}, Status: corev1.PodStatus{ContainerStatuses: tc.statuses}}
			if diff := cmp.Diff(tc.want, engine.LingeringSidecars(pod, "main")); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestSetDefaultPort(t *testing.T) {
	cases := []struct {
		name       string
		containers []corev1.Container
		want       []corev1.Container
	}{
		{"no containers", nil, nil},
		{"added to the named container",
			[]corev1.Container{{Name: "side"}, {Name: "main"}},
			[]corev1.Container{{Name: "side"}, {Name: "main", Ports: []corev1.ContainerPort{{Name: "p", ContainerPort: 1}}}}},
		{"first container when none is named so",
			[]corev1.Container{{Name: "a"}, {Name: "b"}},
			[]corev1.Container{{Name: "a", Ports: []corev1.ContainerPort{{Name: "p", ContainerPort: 1}}}, {Name: "b"}}},
		{"kept when present",
			[]corev1.Container{{Name: "main", Ports: []corev1.ContainerPort{{Name: "p", ContainerPort: 7}}}},
			[]corev1.Container{{Name: "main", Ports: []corev1.ContainerPort{{Name: "p", ContainerPort: 7}}}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spec := &corev1.PodSpec{Containers: tc.containers}
			engine.SetDefaultPort(spec, "main", "p", 1)
			if diff := cmp.Diff(tc.want, spec.Containers); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestNormalizeReplicaTypes(t *testing.T) {
	w := &trainingv1.ReplicaSpec{Replicas: ptr.To[int32](3)}
	specs := map[trainingv1.ReplicaType]*trainingv1.ReplicaSpec{"WORKER": w, "ps": {}}
	engine.NormalizeReplicaTypes(specs, []trainingv1.ReplicaType{"PS", "Worker"})
	if _, ok := specs["WORKER"]; ok || specs["Worker"] != w || specs["PS"] == nil || len(specs) != 2 {
		t.Errorf("specs after normalizing: %v", specs)
	}
}

func TestReplicaDefaults(t *testing.T) {
	var nilSpec *trainingv1.ReplicaSpec
	engine.SetDefaultReplicas(nilSpec, 1) // no panic
	engine.SetDefaultRestartPolicy(nilSpec, trainingv1.RestartPolicyNever)

	s := &trainingv1.ReplicaSpec{}
	engine.SetDefaultReplicas(s, 1)
	engine.SetDefaultRestartPolicy(s, trainingv1.RestartPolicyOnFailure)
	if *s.Replicas != 1 || s.RestartPolicy != trainingv1.RestartPolicyOnFailure {
		t.Errorf("defaults not applied: %+v", s)
	}
	s = &trainingv1.ReplicaSpec{Replicas: ptr.To[int32](0), RestartPolicy: trainingv1.RestartPolicyExitCode}
	engine.SetDefaultReplicas(s, 1)
	engine.SetDefaultRestartPolicy(s, trainingv1.RestartPolicyOnFailure)
	if *s.Replicas != 0 || s.RestartPolicy != trainingv1.RestartPolicyExitCode {
		t.Errorf("set values overwritten: %+v", s)
	}
}
