package policy_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	"github.com/kfup/kfup/components/training/controller/policy"
	"github.com/kfup/kfup/components/training/engine"
)

// outcome summarizes a Plan for comparison.
type outcome struct {
	Conditions     []string // "Type=Status(Reason)", in order
	Replicas       map[trainingv1.ReplicaType]string
	Start, Done    string // "now", "1m0s ago", ""
	Create         bool
	DeletePods     []string
	DeleteServices []string
	StopSidecars   []string
	DeleteJob      bool
	Requeue        time.Duration
	Restarts       int32
	Events         []string // "Type Reason"
}

func when(t *metav1.Time) string {
	switch {
	case t == nil:
		return ""
	case t.Time.Equal(now):
		return "now"
	default:
		return now.Sub(t.Time).String() + " ago"
	}
}

func summarizePlan(p *policy.Plan) outcome {
	o := outcome{
		Start: when(p.Status.StartTime), Done: when(p.Status.CompletionTime),
		Create: p.CreateChildren, DeletePods: names(p.DeletePods), DeleteServices: names(p.DeleteServices),
		StopSidecars: names(p.StopSidecars), DeleteJob: p.DeleteJob, Requeue: p.RequeueAfter, Restarts: p.Restarts,
	}
	for _, c := range p.Status.Conditions {
		o.Conditions = append(o.Conditions, fmt.Sprintf("%s=%s(%s)", c.Type, c.Status, c.Reason))
	}
	for t, s := range p.Status.ReplicaStatuses {
		if o.Replicas == nil {
			o.Replicas = map[trainingv1.ReplicaType]string{}
		}
		o.Replicas[t] = fmt.Sprintf("active %d succeeded %d failed %d", s.Active, s.Succeeded, s.Failed)
	}
	for _, e := range p.Events {
		o.Events = append(o.Events, e.Type+" "+e.Reason)
	}
	return o
}

const (
	created    = "Created=True(PyTorchJobCreated)"
	running    = "Running=True(PyTorchJobRunning)"
	restarting = "Restarting=True(PyTorchJobRestarting)"
	succeeded  = "Succeeded=True(PyTorchJobSucceeded)"
	failed     = "Failed=True(PyTorchJobFailed)"
)

func withStatus(conds []trainingv1.JobCondition, start, done *metav1.Time) func(*trainingv1.PyTorchJob) {
	return func(j *trainingv1.PyTorchJob) {
		j.Status.Conditions = conds
		j.Status.StartTime = start
		j.Status.CompletionTime = done
	}
}

func ptCond(t trainingv1.JobConditionType, s corev1.ConditionStatus, reason string) trainingv1.JobCondition {
	return cond(t, s, "PyTorchJob"+reason)
}

var (
	createdCond   = ptCond(trainingv1.JobCreated, corev1.ConditionTrue, "Created")
	runningCond   = ptCond(trainingv1.JobRunning, corev1.ConditionTrue, "Running")
	suspendedCond = ptCond(trainingv1.JobSuspended, corev1.ConditionTrue, "Suspended")
	succeededCond = ptCond(trainingv1.JobSucceeded, corev1.ConditionTrue, "Succeeded")
)

func TestDecide(t *testing.T) {
	const (
		R = corev1.PodRunning
		S = corev1.PodSucceeded
		F = corev1.PodFailed
		P = corev1.PodPending
	)
	started := withStatus([]trainingv1.JobCondition{createdCond, runningCond}, ago(time.Minute), nil)
	backoff := func(n int32) func(*trainingv1.PyTorchJob) {
		return func(j *trainingv1.PyTorchJob) { j.Spec.RunPolicy.BackoffLimit = ptr.To(n) }
	}
	recorded := func(n string) func(*trainingv1.PyTorchJob) {
		return func(j *trainingv1.PyTorchJob) { j.Annotations = map[string]string{policy.RestartsAnnotation: n} }
	}
	clean := func(p trainingv1.CleanPodPolicy) func(*trainingv1.PyTorchJob) {
		return func(j *trainingv1.PyTorchJob) { j.Spec.RunPolicy.CleanPodPolicy = ptr.To(p) }
	}
	suspend := func(s bool) func(*trainingv1.PyTorchJob) {
		return func(j *trainingv1.PyTorchJob) { j.Spec.RunPolicy.Suspend = ptr.To(s) }
	}
	deadline := func(s int64) func(*trainingv1.PyTorchJob) {
		return func(j *trainingv1.PyTorchJob) { j.Spec.RunPolicy.ActiveDeadlineSeconds = ptr.To(s) }
	}
	ttl := func(s int32) func(*trainingv1.PyTorchJob) {
		return func(j *trainingv1.PyTorchJob) { j.Spec.RunPolicy.TTLSecondsAfterFinished = ptr.To(s) }
	}
	master := func(phase corev1.PodPhase, o ...podOpt) *corev1.Pod { return pod("Master", 0, "pytorch", phase, o...) }
	worker := func(i int, phase corev1.PodPhase, o ...podOpt) *corev1.Pod {
		return pod("Worker", i, "pytorch", phase, o...)
	}
	svcs := []*corev1.Service{service("job-master-0"), service("job-worker-0")}

	tests := []struct {
		name     string
		job      *trainingv1.PyTorchJob
		pods     []*corev1.Pod
		services []*corev1.Service
		want     outcome
	}{
		{
			name: "new job: created, started, children wanted",
			job:  ptJob(1, 1, trainingv1.RestartPolicyOnFailure),
			want: outcome{Conditions: []string{created}, Start: "now", Create: true,
				Replicas: map[trainingv1.ReplicaType]string{"Master": "active 0 succeeded 0 failed 0", "Worker": "active 0 succeeded 0 failed 0"},
				Events:   []string{"Normal PyTorchJobCreated"}},
		},
		{
			name: "master runs: running",
			job:  ptJob(1, 1, trainingv1.RestartPolicyOnFailure, withStatus([]trainingv1.JobCondition{createdCond}, ago(time.Minute), nil)),
			pods: []*corev1.Pod{master(R), worker(0, P)},
			want: outcome{Conditions: []string{created, running}, Start: "1m0s ago", Create: true,
				Replicas: map[trainingv1.ReplicaType]string{"Master": "active 1 succeeded 0 failed 0", "Worker": "active 0 succeeded 0 failed 0"},
				Events:   []string{"Normal PyTorchJobRunning"}},
		},
		{
			name: "master succeeded: succeeded, workers counted succeeded, nothing cleaned (None)",
			job:  ptJob(1, 1, trainingv1.RestartPolicyOnFailure, started),
			pods: []*corev1.Pod{master(S), worker(0, R)}, services: svcs,
			want: outcome{Conditions: []string{created, "Running=False(PyTorchJobRunning)", succeeded}, Start: "1m0s ago", Done: "now",
				Replicas: map[trainingv1.ReplicaType]string{"Master": "active 0 succeeded 1 failed 0", "Worker": "active 0 succeeded 1 failed 0"},
				Events:   []string{"Normal PyTorchJobSucceeded"}},
		},
		{
			name: "succeeded with cleanPodPolicy All: every pod and service deleted",
			job:  ptJob(1, 1, trainingv1.RestartPolicyOnFailure, started, clean(trainingv1.CleanPodPolicyAll)),
			pods: []*corev1.Pod{master(S), worker(0, R)}, services: svcs,
			want: outcome{Conditions: []string{created, "Running=False(PyTorchJobRunning)", succeeded}, Start: "1m0s ago", Done: "now",
				Replicas:   map[trainingv1.ReplicaType]string{"Master": "active 0 succeeded 1 failed 0", "Worker": "active 0 succeeded 1 failed 0"},
				DeletePods: []string{"job-master-0", "job-worker-0"}, DeleteServices: []string{"job-master-0", "job-worker-0"},
				Events: []string{"Normal PyTorchJobSucceeded"}},
		},
		{
			name: "finished with cleanPodPolicy Running: the running worker and its service go",
			job: ptJob(1, 1, trainingv1.RestartPolicyOnFailure, clean(trainingv1.CleanPodPolicyRunning),
				withStatus([]trainingv1.JobCondition{createdCond, succeededCond}, ago(time.Hour), ago(time.Minute))),
			pods: []*corev1.Pod{master(S), worker(0, R)}, services: svcs,
			want: outcome{Conditions: []string{created, succeeded}, Start: "1h0m0s ago", Done: "1m0s ago",
				DeletePods: []string{"job-worker-0"}, DeleteServices: []string{"job-worker-0"}},
		},
		{
			name: "ExitCode 137: pod deleted for a restart, Restarting, restart recorded",
			job:  ptJob(0, 2, trainingv1.RestartPolicyExitCode, started),
			pods: []*corev1.Pod{worker(0, F, exit(137)), worker(1, R)},
			want: outcome{Conditions: []string{created, restarting}, Start: "1m0s ago", Create: true,
				Replicas:   map[trainingv1.ReplicaType]string{"Worker": "active 1 succeeded 0 failed 1"},
				DeletePods: []string{"job-worker-0"}, Restarts: 1,
				Events: []string{"Normal ExitedWithCode", "Warning PyTorchJobRestarting"}},
		},
		{
			name: "ExitCode 1: the job fails",
			job:  ptJob(0, 2, trainingv1.RestartPolicyExitCode, started),
			pods: []*corev1.Pod{worker(0, F, exit(1)), worker(1, R)},
			want: outcome{Conditions: []string{created, "Running=False(PyTorchJobRunning)", failed}, Start: "1m0s ago", Done: "now",
				Replicas: map[trainingv1.ReplicaType]string{"Worker": "active 1 succeeded 0 failed 1"},
				Events:   []string{"Normal ExitedWithCode", "Warning PyTorchJobFailed"}},
		},
		{
			name: "Never: a failed worker fails the job",
			job:  ptJob(1, 1, trainingv1.RestartPolicyNever, started),
			pods: []*corev1.Pod{master(R), worker(0, F, exit(137))},
			want: outcome{Conditions: []string{created, "Running=False(PyTorchJobRunning)", failed}, Start: "1m0s ago", Done: "now",
				Replicas: map[trainingv1.ReplicaType]string{"Master": "active 1 succeeded 0 failed 0", "Worker": "active 0 succeeded 0 failed 1"},
				Events:   []string{"Normal ExitedWithCode", "Warning PyTorchJobFailed"}},
		},
		{
			name: "backoffLimit: a restart within the limit",
			job:  ptJob(0, 1, trainingv1.RestartPolicyExitCode, started, backoff(2), recorded("1")),
			pods: []*corev1.Pod{worker(0, F, exit(137))},
			want: outcome{Conditions: []string{created, restarting}, Start: "1m0s ago", Create: true,
				Replicas:   map[trainingv1.ReplicaType]string{"Worker": "active 0 succeeded 0 failed 1"},
				DeletePods: []string{"job-worker-0"}, Restarts: 2,
				Events: []string{"Normal ExitedWithCode", "Warning PyTorchJobRestarting"}},
		},
		{
			name: "backoffLimit: a restart past the limit fails the job and stops the others",
			job:  ptJob(1, 1, trainingv1.RestartPolicyExitCode, started, backoff(2), recorded("2")),
			pods: []*corev1.Pod{master(R), worker(0, F, exit(137))},
			want: outcome{Conditions: []string{created, "Running=False(PyTorchJobRunning)", "Failed=True(BackoffLimitExceeded)"},
				Start: "1m0s ago", Done: "now", Restarts: 2,
				Replicas:   map[trainingv1.ReplicaType]string{"Master": "active 1 succeeded 0 failed 0", "Worker": "active 0 succeeded 0 failed 1"},
				DeletePods: []string{"job-master-0"},
				Events:     []string{"Normal ExitedWithCode", "Warning BackoffLimitExceeded"}},
		},
		{
			name: "backoffLimit: kubelet restarts past the limit",
			job:  ptJob(1, 1, trainingv1.RestartPolicyOnFailure, started, backoff(2)),
			pods: []*corev1.Pod{master(R, restarts(1)), worker(0, R, restarts(2))},
			want: outcome{Conditions: []string{created, "Running=False(PyTorchJobRunning)", "Failed=True(BackoffLimitExceeded)"},
				Start: "1m0s ago", Done: "now",
				Replicas:   map[trainingv1.ReplicaType]string{"Master": "active 1 succeeded 0 failed 0", "Worker": "active 1 succeeded 0 failed 0"},
				DeletePods: []string{"job-master-0", "job-worker-0"},
				Events:     []string{"Warning BackoffLimitExceeded"}},
		},
		{
			name: "activeDeadlineSeconds not reached: look again when it is",
			job:  ptJob(1, 0, trainingv1.RestartPolicyOnFailure, started, deadline(90)),
			pods: []*corev1.Pod{master(R)},
			want: outcome{Conditions: []string{created, running}, Start: "1m0s ago", Create: true, Requeue: 30 * time.Second,
				Replicas: map[trainingv1.ReplicaType]string{"Master": "active 1 succeeded 0 failed 0"}},
		},
		{
			name: "activeDeadlineSeconds passed: failed, running pods deleted",
			job:  ptJob(1, 1, trainingv1.RestartPolicyOnFailure, started, deadline(30)),
			pods: []*corev1.Pod{master(R), worker(0, P)},
			want: outcome{Conditions: []string{created, "Running=False(PyTorchJobRunning)", "Failed=True(DeadlineExceeded)"},
				Start: "1m0s ago", Done: "now",
				Replicas:   map[trainingv1.ReplicaType]string{"Master": "active 1 succeeded 0 failed 0", "Worker": "active 0 succeeded 0 failed 0"},
				DeletePods: []string{"job-master-0", "job-worker-0"},
				Events:     []string{"Warning DeadlineExceeded"}},
		},
		{
			name: "suspend: pods and services deleted, running false, suspended",
			job: ptJob(1, 1, trainingv1.RestartPolicyOnFailure, started, suspend(true), func(j *trainingv1.PyTorchJob) {
				j.Status.ReplicaStatuses = map[trainingv1.ReplicaType]*trainingv1.ReplicaStatus{"Master": {Active: 1}}
			}),
			pods: []*corev1.Pod{master(R), worker(0, R)}, services: svcs,
			want: outcome{Conditions: []string{created, "Running=False(PyTorchJobSuspended)", "Suspended=True(PyTorchJobSuspended)"},
				Start: "1m0s ago", Replicas: map[trainingv1.ReplicaType]string{"Master": "active 0 succeeded 0 failed 0"},
				DeletePods: []string{"job-master-0", "job-worker-0"}, DeleteServices: []string{"job-master-0", "job-worker-0"},
				Events: []string{"Normal PyTorchJobSuspended"}},
		},
		{
			name: "created suspended: no start time",
			job:  ptJob(1, 1, trainingv1.RestartPolicyOnFailure, suspend(true)),
			want: outcome{Conditions: []string{created, "Suspended=True(PyTorchJobSuspended)"},
				Events: []string{"Normal PyTorchJobCreated", "Normal PyTorchJobSuspended"}},
		},
		{
			name: "resume: suspended false, start time reset, children wanted",
			job: ptJob(1, 1, trainingv1.RestartPolicyOnFailure, suspend(false),
				withStatus([]trainingv1.JobCondition{createdCond, suspendedCond}, ago(time.Hour), nil)),
			want: outcome{Conditions: []string{created, "Suspended=False(PyTorchJobResumed)"}, Start: "now", Create: true,
				Replicas: map[trainingv1.ReplicaType]string{"Master": "active 0 succeeded 0 failed 0", "Worker": "active 0 succeeded 0 failed 0"},
				Events:   []string{"Normal PyTorchJobResumed"}},
		},
		{
			name: "ttl: finished job deleted later",
			job:  ptJob(1, 0, "", ttl(60), withStatus([]trainingv1.JobCondition{createdCond, succeededCond}, ago(time.Hour), ago(20*time.Second))),
			want: outcome{Conditions: []string{created, succeeded}, Start: "1h0m0s ago", Done: "20s ago", Requeue: 40 * time.Second},
		},
		{
			name: "ttl: due, the job is deleted",
			job:  ptJob(1, 0, "", ttl(60), withStatus([]trainingv1.JobCondition{createdCond, succeededCond}, ago(time.Hour), ago(time.Minute))),
			want: outcome{Conditions: []string{created, succeeded}, Start: "1h0m0s ago", Done: "1m0s ago", DeleteJob: true},
		},
		{
			name: "ttl 0 deletes at success",
			job:  ptJob(1, 0, "", ttl(0), started),
			pods: []*corev1.Pod{master(S)},
			want: outcome{Conditions: []string{created, "Running=False(PyTorchJobRunning)", succeeded}, Start: "1m0s ago", Done: "now", DeleteJob: true,
				Replicas: map[trainingv1.ReplicaType]string{"Master": "active 0 succeeded 1 failed 0"},
				Events:   []string{"Normal PyTorchJobSucceeded"}},
		},
		{
			name: "bad image within the grace: look again when it ends",
			job:  ptJob(1, 0, "", started),
			pods: []*corev1.Pod{master(P, waiting("ImagePullBackOff", 20*time.Second))},
			want: outcome{Conditions: []string{created, running}, Start: "1m0s ago", Create: true, Requeue: 40 * time.Second,
				Replicas: map[trainingv1.ReplicaType]string{"Master": "active 0 succeeded 0 failed 0"}},
		},
		{
			name: "bad image past the grace: failed with the pod's reason",
			job:  ptJob(1, 0, "", started),
			pods: []*corev1.Pod{master(P, waiting("ErrImagePull", 2*time.Minute))},
			want: outcome{Conditions: []string{created, "Running=False(PyTorchJobRunning)", "Failed=True(ErrImagePull)"}, Start: "1m0s ago", Done: "now",
				Replicas: map[trainingv1.ReplicaType]string{"Master": "active 0 succeeded 0 failed 0"},
				Events:   []string{"Warning ErrImagePull"}},
		},
		{
			name: "istio sidecar lingers after the master: succeeded, sidecar stopped",
			job:  ptJob(1, 1, trainingv1.RestartPolicyOnFailure, started),
			pods: []*corev1.Pod{master(R, exit(0), sidecar("istio-proxy")), worker(0, R, exit(0), sidecar("istio-proxy"))},
			want: outcome{Conditions: []string{created, "Running=False(PyTorchJobRunning)", succeeded}, Start: "1m0s ago", Done: "now",
				Replicas:     map[trainingv1.ReplicaType]string{"Master": "active 0 succeeded 1 failed 0", "Worker": "active 0 succeeded 1 failed 0"},
				StopSidecars: []string{"job-master-0", "job-worker-0"},
				Events:       []string{"Normal PyTorchJobSucceeded"}},
		},
		{
			name: "pods being deleted are ignored",
			job:  ptJob(0, 1, trainingv1.RestartPolicyExitCode, started),
			pods: []*corev1.Pod{worker(0, F, exit(137), deleting())},
			want: outcome{Conditions: []string{created, running}, Start: "1m0s ago", Create: true,
				Replicas: map[trainingv1.ReplicaType]string{"Worker": "active 0 succeeded 0 failed 0"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := policy.Input{Framework: framework(t, "PyTorchJob"), Job: tc.job, Pods: tc.pods, Services: tc.services, Now: now}
			before := tc.job.DeepCopy()
			plan, err := policy.Decide(in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, summarizePlan(plan)); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, tc.job); diff != "" {
				t.Errorf("Decide changed its input (-before +after):\n%s", diff)
			}
		})
	}
}

// Deciding again on the status a decision produced (and the same pods) changes nothing:
// the reconciler writes no status and records no event when nothing happened.
func TestDecideIsStable(t *testing.T) {
	fw := framework(t, "PyTorchJob")
	job := ptJob(1, 1, trainingv1.RestartPolicyOnFailure)
	pods := []*corev1.Pod{pod("Master", 0, "pytorch", corev1.PodRunning), pod("Worker", 0, "pytorch", corev1.PodRunning)}
	for round := range 3 {
		plan, err := policy.Decide(policy.Input{Framework: fw, Job: job, Pods: pods, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		changed := policy.StatusChanged(&job.Status, &plan.Status)
		if round > 0 && (changed || len(plan.Events) > 0) {
			t.Errorf("round %d: changed %v, events %v", round, changed, plan.Events)
		}
		job.Status = plan.Status
	}
}

// Every kind decides with its own reasons.
func TestDecideReasonsPerKind(t *testing.T) {
	for _, kind := range []string{"TFJob", "PyTorchJob", "MPIJob", "XGBoostJob", "JAXJob", "PaddleJob"} {
		fw := framework(t, kind)
		job := fw.NewJob()
		job.SetName("j")
		job.SetNamespace("ns")
		plan, err := policy.Decide(policy.Input{Framework: fw, Job: job, Now: now})
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		if c := policy.FindCondition(&plan.Status, trainingv1.JobCreated); c == nil || c.Reason != kind+"Created" || c.Message != kind+" j is created." {
			t.Errorf("%s: created condition %+v", kind, c)
		}
	}
	if _, err := policy.Decide(policy.Input{Framework: framework(t, "TFJob"), Job: ptJob(1, 1, ""), Now: now}); err == nil {
		t.Errorf("a PyTorchJob given to the TFJob framework was decided on")
	}
	var _ engine.Job = ptJob(1, 1, "")
}

// A TFJob with enableDynamicWorker carries on without its failed workers.
func TestDecideDynamicWorker(t *testing.T) {
	fw := framework(t, "TFJob")
	job := tfJob(map[trainingv1.ReplicaType]int32{"PS": 1, "Worker": 2}, func(j *trainingv1.TFJob) { j.Spec.EnableDynamicWorker = true })
	pods := []*corev1.Pod{pod("PS", 0, "tensorflow", corev1.PodRunning), pod("Worker", 0, "tensorflow", corev1.PodRunning),
		pod("Worker", 1, "tensorflow", corev1.PodFailed, exit(1))}
	plan, err := policy.Decide(policy.Input{Framework: fw, Job: job, Pods: pods, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if policy.IsFinished(&plan.Status) || !policy.IsTrue(&plan.Status, trainingv1.JobRunning) {
		t.Errorf("conditions %+v, want running", plan.Status.Conditions)
	}
	job.Spec.EnableDynamicWorker = false
	plan, _ = policy.Decide(policy.Input{Framework: fw, Job: job, Pods: pods, Now: now})
	if c := policy.FindCondition(&plan.Status, trainingv1.JobFailed); c == nil || c.Message != "TFJob ns/job has failed because 1 Worker replica(s) failed." {
		t.Errorf("failed condition %+v", c)
	}
}
