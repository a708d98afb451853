package controller_test

import (
	"context"
	"testing"

	"k8s.io/apimachinery/pkg/types"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	"github.com/kfup/kfup/components/training/builders"
	"github.com/kfup/kfup/components/training/controller/policy"
)

// waitRecreated waits until pod name exists again with a UID other than old, and returns
// the new UID.
func waitRecreated(t *testing.T, ns, job, name string, old types.UID) types.UID {
	t.Helper()
	var uid types.UID
	eventually(t, name+" recreated", func(context.Context) (bool, string) {
		for _, p := range pods(t, ns, job) {
			if p.Name == name && p.UID != old && p.DeletionTimestamp == nil {
				uid = p.UID
				return true, ""
			}
		}
		return false, "not recreated"
	})
	return uid
}

// Under ExitCode, a master killed by a signal (137) is deleted and recreated and the job
// is Restarting, until the new pod runs; exit code 1 then fails the job.
func TestExitCodeRestart(t *testing.T) {
	start(t, testConfig())
	ns := env.Namespace(t)
	create(t, masterWorker("exitcode", ns, trainingv1.RestartPolicyExitCode).Obj())
	ps := waitPods(t, ns, "exitcode", "exitcode-master-0", "exitcode-worker-0")
	run(t, ns, "exitcode-master-0", "pytorch")
	run(t, ns, "exitcode-worker-0", "pytorch")
	waitCondition(t, ns, "exitcode", trainingv1.JobRunning, "PyTorchJobRunning")

	fail(t, ns, "exitcode-master-0", "pytorch", 137)
	uid := waitRecreated(t, ns, "exitcode", "exitcode-master-0", ps[0].UID)
	j := waitCondition(t, ns, "exitcode", trainingv1.JobRestarting, "PyTorchJobRestarting")
	if c := policy.FindCondition(&j.Status, trainingv1.JobRestarting); c.Message != "PyTorchJob exitcode is restarting because 1 Master replica(s) failed." {
		t.Errorf("restarting message %q", c.Message)
	}
	if got := j.Annotations[policy.RestartsAnnotation]; got != "1" {
		t.Errorf("restarts annotation %q, want 1", got)
	}
	waitEvents(t, ns, "exitcode", "Warning PyTorchJobRestarting", "Normal ExitedWithCode", "Normal SuccessfulDeletePod")

	run(t, ns, "exitcode-master-0", "pytorch")
	waitCondition(t, ns, "exitcode", trainingv1.JobRunning, "PyTorchJobRunning")

	fail(t, ns, "exitcode-worker-0", "pytorch", 1)
	j = waitCondition(t, ns, "exitcode", trainingv1.JobFailed, "PyTorchJobFailed")
	if c := policy.FindCondition(&j.Status, trainingv1.JobFailed); c.Message != "PyTorchJob exitcode is failed because 1 Worker replica(s) failed." {
		t.Errorf("failed message %q", c.Message)
	}
	// The permanently failed worker is not recreated; the restarted master is the same.
	for _, p := range pods(t, ns, "exitcode") {
		if p.Name == "exitcode-master-0" && p.UID != uid {
			t.Errorf("master recreated again")
		}
	}
}

// backoffLimit bounds the restarts: with backoffLimit 1, the first 137 is retried, the
// second fails the job with BackoffLimitExceeded and deletes its running pods.
func TestBackoffLimit(t *testing.T) {
	start(t, testConfig())
	ns := env.Namespace(t)
	job := builders.MakePyTorchJob("backoff", ns).
		Replica("Master", builders.MakeReplica(1, "pytorch", "kfup-offline/busybox:1").RestartPolicy(trainingv1.RestartPolicyExitCode)).
		Replica("Worker", builders.MakeReplica(1, "pytorch", "kfup-offline/busybox:1").RestartPolicy(trainingv1.RestartPolicyExitCode)).
		BackoffLimit(1).Obj()
	create(t, job)
	ps := waitPods(t, ns, "backoff", "backoff-master-0", "backoff-worker-0")
	run(t, ns, "backoff-master-0", "pytorch")

	fail(t, ns, "backoff-worker-0", "pytorch", 137)
	waitRecreated(t, ns, "backoff", "backoff-worker-0", ps[1].UID)

	fail(t, ns, "backoff-worker-0", "pytorch", 137)
	j := waitCondition(t, ns, "backoff", trainingv1.JobFailed, "BackoffLimitExceeded")
	if c := policy.FindCondition(&j.Status, trainingv1.JobFailed); c.Message != "Job backoff has failed because it has reached the specified backoff limit" {
		t.Errorf("failed message %q", c.Message)
	}
	// The running master is stopped; the failed worker stays (cleanPodPolicy None).
	waitPods(t, ns, "backoff", "backoff-worker-0")
	waitEvents(t, ns, "backoff", "Warning BackoffLimitExceeded")
}
