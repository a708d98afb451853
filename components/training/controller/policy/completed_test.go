package policy_test

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	"github.com/kfup/kfup/components/training/controller/policy"
)

// The annotation round-trips, canonically, and what does not parse is left out.
func TestRecordedCompleted(t *testing.T) {
	for in, want := range map[string]string{
		"":                           "",
		"Worker=2,0;Master=0":        "Master=0;Worker=0,2",
		"Worker=1,1, 3":              "Worker=1,3",
		"Worker=x,-1,2;=3;PS;Chief=": "Worker=2",
		" Worker = 4 ":               "Worker=4",
		"Worker=4":                   "Worker=4",
	} {
		got := policy.RecordedCompleted(map[string]string{policy.SucceededReplicasAnnotation: in}).String()
		if got != want {
			t.Errorf("%q: got %q, want %q", in, got, want)
		}
	}
}

// A worker whose pod succeeded is recorded; once its pod is gone it stays counted as
// succeeded, and the job's success rules still see it.
func TestCompletedReplicas(t *testing.T) {
	fw := framework(t, "PyTorchJob")
	job := ptJob(1, 2, trainingv1.RestartPolicyNever)
	pods := []*corev1.Pod{pod("Master", 0, "pytorch", corev1.PodRunning),
		pod("Worker", 0, "pytorch", corev1.PodRunning), pod("Worker", 1, "pytorch", corev1.PodSucceeded)}
	plan, err := policy.Decide(policy.Input{Framework: fw, Job: job, Pods: pods, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if got := plan.Completed.String(); got != "Worker=1" {
		t.Fatalf("completed %q, want Worker=1", got)
	}

	// worker 1's pod is deleted by hand
	job.Status = plan.Status
	job.Annotations = map[string]string{policy.SucceededReplicasAnnotation: plan.Completed.String()}
	pods = pods[:2]
	plan, _ = policy.Decide(policy.Input{Framework: fw, Job: job, Pods: pods, Now: now})
	if got := plan.Completed.String(); got != "Worker=1" {
		t.Errorf("completed %q after the pod is gone, want Worker=1", got)
	}
	if w := plan.Status.ReplicaStatuses["Worker"]; w.Succeeded != 1 || w.Active != 1 {
		t.Errorf("worker status %+v, want 1 active, 1 succeeded", w)
	}
	if !plan.CreateChildren || policy.IsFinished(&plan.Status) {
		t.Errorf("job finished or not running: %+v", plan.Status.Conditions)
	}

	// scaled down to one worker: index 1 is forgotten
	scaled := job.DeepCopy()
	scaled.Spec.PyTorchReplicaSpecs["Worker"].Replicas = ptr.To[int32](1)
	if p, _ := policy.Decide(policy.Input{Framework: fw, Job: scaled, Pods: pods, Now: now}); p.Completed.String() != "" {
		t.Errorf("completed %q after a scale-down to 1, want none", p.Completed.String())
	}

	// suspended: forgotten, so that resuming runs every replica
	suspended := job.DeepCopy()
	suspended.Spec.RunPolicy.Suspend = ptr.To(true)
	if p, _ := policy.Decide(policy.Input{Framework: fw, Job: suspended, Pods: pods, Now: now}); p.Completed.String() != "" {
		t.Errorf("completed %q while suspended, want none", p.Completed.String())
	}

	// a failed pod is not recorded
	failed := []*corev1.Pod{pod("Master", 0, "pytorch", corev1.PodRunning), pod("Worker", 0, "pytorch", corev1.PodFailed, exit(1))}
	if p, _ := policy.Decide(policy.Input{Framework: fw, Job: ptJob(1, 1, trainingv1.RestartPolicyOnFailure), Pods: failed, Now: now}); p.Completed.String() != "" {
		t.Errorf("completed %q with a failed worker, want none", p.Completed.String())
	}
}

// A TFJob's Worker 0 that succeeded ends the job even once its pod is gone.
func TestCompletedWorkerZeroEndsTFJob(t *testing.T) {
	fw := framework(t, "TFJob")
	job := tfJob(map[trainingv1.ReplicaType]int32{"PS": 1, "Worker": 2})
	job.Annotations = map[string]string{policy.SucceededReplicasAnnotation: "Worker=0"}
	pods := []*corev1.Pod{pod("PS", 0, "tensorflow", corev1.PodRunning), pod("Worker", 1, "tensorflow", corev1.PodRunning)}
	plan, err := policy.Decide(policy.Input{Framework: fw, Job: job, Pods: pods, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if !policy.IsSucceeded(&plan.Status) {
		t.Errorf("conditions %+v, want succeeded", plan.Status.Conditions)
	}
}
