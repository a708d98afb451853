package controller_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	"github.com/kfup/kfup/components/training/builders"
)

// masterWorker is a PyTorchJob of one master and one worker with restart policy p.
func masterWorker(name, ns string, p trainingv1.RestartPolicy) *builders.PyTorchJobWrapper {
	return builders.MakePyTorchJob(name, ns).
		Replica("Master", builders.MakeReplica(1, "pytorch", "kfup-offline/busybox:1", "true").RestartPolicy(p)).
		Replica("Worker", builders.MakeReplica(1, "pytorch", "kfup-offline/busybox:1", "true").RestartPolicy(p))
}

// A job goes Created → Running → Succeeded as its pods do, with startTime, completionTime,
// lastReconcileTime, replica counts and an event for each transition.
func TestStatusCreatedRunningSucceeded(t *testing.T) {
	start(t, testConfig())
	ns := env.Namespace(t)
	create(t, masterWorker("lifecycle", ns, trainingv1.RestartPolicyOnFailure).Obj())

	waitPods(t, ns, "lifecycle", "lifecycle-master-0", "lifecycle-worker-0")
	waitServices(t, ns, "lifecycle", "lifecycle-master-0", "lifecycle-worker-0")
	j := waitCondition(t, ns, "lifecycle", trainingv1.JobCreated, "PyTorchJobCreated")
	if j.Status.StartTime == nil || j.Status.LastReconcileTime == nil || j.Status.CompletionTime != nil {
		t.Errorf("times after creation: start %v, lastReconcile %v, completion %v", j.Status.StartTime, j.Status.LastReconcileTime, j.Status.CompletionTime)
	}

	run(t, ns, "lifecycle-worker-0", "pytorch")
	run(t, ns, "lifecycle-master-0", "pytorch")
	j = waitCondition(t, ns, "lifecycle", trainingv1.JobRunning, "PyTorchJobRunning")
	eventually(t, "2 active replicas", func(ctx context.Context) (bool, string) {
		j = getJob(t, ns, "lifecycle")
		m, w := j.Status.ReplicaStatuses["Master"], j.Status.ReplicaStatuses["Worker"]
		return m != nil && w != nil && m.Active == 1 && w.Active == 1, conditions(&j.Status)
	})
	if want := "training.kubeflow.org/job-name=lifecycle,training.kubeflow.org/operator-name=pytorchjob-controller,training.kubeflow.org/replica-type=worker"; j.Status.ReplicaStatuses["Worker"].Selector != want {
		t.Errorf("worker selector %q, want %q", j.Status.ReplicaStatuses["Worker"].Selector, want)
	}

	succeed(t, ns, "lifecycle-master-0", "pytorch")
	j = waitCondition(t, ns, "lifecycle", trainingv1.JobSucceeded, "PyTorchJobSucceeded")
	if got, want := conditions(&j.Status), "Created=True(PyTorchJobCreated) Running=False(PyTorchJobRunning) Succeeded=True(PyTorchJobSucceeded)"; got != want {
		t.Errorf("conditions %q, want %q", got, want)
	}
	if c := j.Status.Conditions[2]; c.Message != "PyTorchJob lifecycle is successfully completed." {
		t.Errorf("succeeded message %q", c.Message)
	}
	if j.Status.CompletionTime == nil {
		t.Errorf("no completionTime")
	}
	if m, w := j.Status.ReplicaStatuses["Master"], j.Status.ReplicaStatuses["Worker"]; m.Succeeded != 1 || w.Succeeded != 1 || w.Active != 0 {
		t.Errorf("replica statuses master %+v worker %+v", m, w)
	}
	waitEvents(t, ns, "lifecycle", "Normal PyTorchJobCreated", "Normal PyTorchJobRunning", "Normal PyTorchJobSucceeded", "Normal SuccessfulCreatePod", "Normal SuccessfulCreateService")
	// cleanPodPolicy None (the default): the pods stay.
	if got := podNames(pods(t, ns, "lifecycle")); len(got) != 2 {
		t.Errorf("pods after success %v", got)
	}
}

// A failed replica under restart policy Never fails the job.
func TestStatusFailed(t *testing.T) {
	start(t, testConfig())
	ns := env.Namespace(t)
	create(t, masterWorker("fails", ns, trainingv1.RestartPolicyNever).Obj())
	waitPods(t, ns, "fails", "fails-master-0", "fails-worker-0")
	run(t, ns, "fails-master-0", "pytorch")
	waitCondition(t, ns, "fails", trainingv1.JobRunning, "PyTorchJobRunning")

	fail(t, ns, "fails-worker-0", "pytorch", 2)
	j := waitCondition(t, ns, "fails", trainingv1.JobFailed, "PyTorchJobFailed")
	if c := j.Status.Conditions[len(j.Status.Conditions)-1]; c.Message != "PyTorchJob fails is failed because 1 Worker replica(s) failed." {
		t.Errorf("failed message %q", c.Message)
	}
	if j.Status.CompletionTime == nil || j.Status.ReplicaStatuses["Worker"].Failed != 1 {
		t.Errorf("completion %v, worker %+v", j.Status.CompletionTime, j.Status.ReplicaStatuses["Worker"])
	}
	waitEvents(t, ns, "fails", "Warning PyTorchJobFailed", "Normal ExitedWithCode")
	// The failed pod is kept (Never), and not recreated.
	consistently(t, "the failed pod stays", time.Second, func(context.Context) (bool, string) {
		ps := pods(t, ns, "fails")
		return len(ps) == 2 && ps[1].Status.Phase == corev1.PodFailed, podNames(ps)[0]
	})
}
