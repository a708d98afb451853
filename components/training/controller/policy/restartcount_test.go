package policy_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	"github.com/kfup/kfup/components/training/controller/policy"
)

func withUID(uid string) podOpt { return func(p *corev1.Pod) { p.UID = types.UID(uid) } }

// A restart is counted once per pod, also when the manager dies between recording the
// count and deleting the pod: the next decision finds the failed pod's UID among the
// recorded ones and deletes it without counting it again (nor failing the job on
// backoffLimit for it). UIDs of pods that are gone are dropped from the record.
func TestRestartCountedOncePerPod(t *testing.T) {
	started := withStatus([]trainingv1.JobCondition{createdCond, runningCond}, ago(time.Minute), nil)
	record := func(n, uids string, limit *int32) func(*trainingv1.PyTorchJob) {
		return func(j *trainingv1.PyTorchJob) {
			j.Annotations = map[string]string{policy.RestartsAnnotation: n}
			if uids != "" {
				j.Annotations[policy.RestartedPodsAnnotation] = uids
			}
			j.Spec.RunPolicy.BackoffLimit = limit
		}
	}
	worker := func(i int, phase corev1.PodPhase, o ...podOpt) *corev1.Pod {
		return pod("Worker", i, "pytorch", phase, o...)
	}
	cases := []struct {
		name         string
		job          *trainingv1.PyTorchJob
		pods         []*corev1.Pod
		wantRestarts int32
		wantPods     []types.UID
		wantDelete   []string
		wantFailed   bool
	}{
		{name: "a new failure is counted and recorded",
			job:          ptJob(0, 2, trainingv1.RestartPolicyExitCode, started, record("0", "", nil)),
			pods:         []*corev1.Pod{worker(0, corev1.PodFailed, exit(137), withUID("a")), worker(1, corev1.PodRunning, withUID("b"))},
			wantRestarts: 1, wantPods: []types.UID{"a"}, wantDelete: []string{"job-worker-0"}},
		{name: "the same pod after a crash between the count and the delete: deleted, not counted again",
			job:          ptJob(0, 2, trainingv1.RestartPolicyExitCode, started, record("1", "a", nil)),
			pods:         []*corev1.Pod{worker(0, corev1.PodFailed, exit(137), withUID("a")), worker(1, corev1.PodRunning, withUID("b"))},
			wantRestarts: 1, wantPods: []types.UID{"a"}, wantDelete: []string{"job-worker-0"}},
		{name: "the same pod at the backoffLimit: deleted, the job does not fail for it",
			job:          ptJob(0, 1, trainingv1.RestartPolicyExitCode, started, record("1", "a", ptr.To[int32](1))),
			pods:         []*corev1.Pod{worker(0, corev1.PodFailed, exit(137), withUID("a"))},
			wantRestarts: 1, wantPods: []types.UID{"a"}, wantDelete: []string{"job-worker-0"}},
		{name: "the recreated pod fails too: counted, the gone pod dropped from the record",
			job:          ptJob(0, 1, trainingv1.RestartPolicyExitCode, started, record("1", "a", nil)),
			pods:         []*corev1.Pod{worker(0, corev1.PodFailed, exit(137), withUID("c"))},
			wantRestarts: 2, wantPods: []types.UID{"c"}, wantDelete: []string{"job-worker-0"}},
		{name: "the recreated pod past the backoffLimit fails the job",
			job:          ptJob(0, 1, trainingv1.RestartPolicyExitCode, started, record("1", "a", ptr.To[int32](1))),
			pods:         []*corev1.Pod{worker(0, corev1.PodFailed, exit(137), withUID("c"))},
			wantRestarts: 1, wantFailed: true},
		{name: "pods gone: the record empties",
			job:          ptJob(0, 1, trainingv1.RestartPolicyExitCode, started, record("1", "a,b", nil)),
			pods:         []*corev1.Pod{worker(0, corev1.PodRunning, withUID("c"))},
			wantRestarts: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := policy.Decide(policy.Input{Framework: framework(t, "PyTorchJob"), Job: tc.job, Pods: tc.pods, Now: now})
			if err != nil {
				t.Fatal(err)
			}
			if p.Restarts != tc.wantRestarts {
				t.Errorf("Restarts = %d, want %d", p.Restarts, tc.wantRestarts)
			}
			if diff := cmp.Diff(tc.wantPods, p.RestartedPods); diff != "" {
				t.Errorf("RestartedPods (-want +got):\n%s", diff)
			}
			if tc.wantFailed != policy.IsFinished(&p.Status) {
				t.Errorf("finished = %v, want %v: %v", policy.IsFinished(&p.Status), tc.wantFailed, p.Status.Conditions)
			}
			if !tc.wantFailed {
				if diff := cmp.Diff(tc.wantDelete, names(p.DeletePods)); diff != "" {
					t.Errorf("DeletePods (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestRecordedRestartedPods(t *testing.T) {
	cases := map[string][]types.UID{"": nil, "a": {"a"}, "b,a": {"a", "b"}, "a,,a, b": {"a", "b"}}
	for in, want := range cases {
		got := policy.RecordedRestartedPods(map[string]string{policy.RestartedPodsAnnotation: in})
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%q (-want +got):\n%s", in, diff)
		}
		if back := policy.RecordedRestartedPods(map[string]string{policy.RestartedPodsAnnotation: policy.FormatRestartedPods(got)}); !cmp.Equal(back, got) {
			t.Errorf("%q: round trip %v, want %v", in, back, got)
		}
	}
}
