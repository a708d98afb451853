package controller_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

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

// A worker that succeeded is not run again when its pod is deleted while the job runs
// (upstream training-operator issue 1186): it stays counted as succeeded, across a
// manager restart too (the job's annotation keeps it), and the job succeeds with its
// master.
func TestSucceededWorkerNotRerun(t *testing.T) {
	start(t, testConfig())
	ns := env.Namespace(t)
	create(t, builders.MakePyTorchJob("done", ns).
		Replica("Master", builders.MakeReplica(1, "pytorch", "kfup-offline/busybox:1", "true").RestartPolicy(trainingv1.RestartPolicyOnFailure)).
		Replica("Worker", builders.MakeReplica(2, "pytorch", "kfup-offline/busybox:1", "true").RestartPolicy(trainingv1.RestartPolicyOnFailure)).Obj())
	ps := waitPods(t, ns, "done", "done-master-0", "done-worker-0", "done-worker-1")
	for _, p := range ps {
		run(t, ns, p.Name, "pytorch")
	}
	waitCondition(t, ns, "done", trainingv1.JobRunning, "PyTorchJobRunning")
	succeed(t, ns, "done-worker-1", "pytorch")
	eventually(t, "worker 1 recorded", func(context.Context) (bool, string) {
		got := getJob(t, ns, "done").Annotations[policy.SucceededReplicasAnnotation]
		return got == "Worker=1", "annotation " + got
	})

	var w1 corev1.Pod
	for _, p := range ps {
		if p.Name == "done-worker-1" {
			w1 = p
		}
	}
	if err := env.Client.Delete(context.Background(), &w1, client.GracePeriodSeconds(0)); err != nil {
		t.Fatal(err)
	}
	gone(t, &w1)
	consistently(t, "worker 1 not recreated", 3*time.Second, func(context.Context) (bool, string) {
		for _, p := range pods(t, ns, "done") {
			if p.Name == "done-worker-1" {
				return false, "recreated as " + string(p.UID)
			}
		}
		j := getJob(t, ns, "done")
		if w := j.Status.ReplicaStatuses["Worker"]; w == nil || w.Succeeded != 1 || w.Active != 1 {
			return false, fmt.Sprintf("worker status %+v, want 1 active and 1 succeeded", w)
		}
		return true, ""
	})

	succeed(t, ns, "done-master-0", "pytorch")
	j := waitCondition(t, ns, "done", trainingv1.JobSucceeded, "PyTorchJobSucceeded")
	if w := j.Status.ReplicaStatuses["Worker"]; w.Succeeded != 2 {
		t.Errorf("worker status %+v, want 2 succeeded (the running one counted at the end, as upstream)", w)
	}
	if slices.Contains(podNames(pods(t, ns, "done")), "done-worker-1") {
		t.Errorf("worker 1 recreated after the job succeeded")
	}
}
