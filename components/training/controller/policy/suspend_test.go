package policy_test

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	"github.com/kfup/kfup/components/training/controller/policy"
)

func TestIsSuspended(t *testing.T) {
	for _, tc := range []struct {
		suspend *bool
		want    bool
	}{{nil, false}, {ptr.To(false), false}, {ptr.To(true), true}} {
		if got := policy.IsSuspended(&trainingv1.RunPolicy{Suspend: tc.suspend}); got != tc.want {
			t.Errorf("IsSuspended(%v) = %v", ptr.Deref(tc.suspend, false), got)
		}
	}
}

// Suspending a finished job changes nothing: its pods stay (cleanPodPolicy None) and no
// Suspended condition appears.
func TestSuspendFinishedJob(t *testing.T) {
	job := ptJob(1, 0, "", withStatus([]trainingv1.JobCondition{createdCond, succeededCond}, ago(time.Hour), ago(time.Minute)),
		func(j *trainingv1.PyTorchJob) { j.Spec.RunPolicy.Suspend = ptr.To(true) })
	plan, err := policy.Decide(policy.Input{Framework: framework(t, "PyTorchJob"), Job: job, Now: now,
		Pods: []*corev1.Pod{pod("Master", 0, "pytorch", corev1.PodSucceeded)}, Services: []*corev1.Service{service("job-master-0")}})
	if err != nil {
		t.Fatal(err)
	}
	if policy.StatusChanged(&job.Status, &plan.Status) || len(plan.DeletePods) > 0 || len(plan.DeleteServices) > 0 || plan.CreateChildren || len(plan.Events) > 0 {
		t.Errorf("plan for a suspended finished job: %+v", plan)
	}
}

// A suspended job's pods that failed are deleted like the others, without a restart.
func TestSuspendDeletesFailedPodsWithoutRestart(t *testing.T) {
	job := ptJob(0, 1, trainingv1.RestartPolicyExitCode, withStatus([]trainingv1.JobCondition{createdCond, runningCond}, ago(time.Minute), nil),
		func(j *trainingv1.PyTorchJob) { j.Spec.RunPolicy.Suspend = ptr.To(true) })
	plan, err := policy.Decide(policy.Input{Framework: framework(t, "PyTorchJob"), Job: job, Now: now,
		Pods: []*corev1.Pod{pod("Worker", 0, "pytorch", corev1.PodFailed, exit(137))}})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Restarts != 0 || len(plan.DeletePods) != 1 || policy.IsTrue(&plan.Status, trainingv1.JobRestarting) {
		t.Errorf("restarts %d, deletes %v, conditions %+v", plan.Restarts, names(plan.DeletePods), plan.Status.Conditions)
	}
}
