package policy_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	"github.com/kfup/kfup/components/training/controller/policy"
)

type condSummary struct {
	Type    trainingv1.JobConditionType
	Status  corev1.ConditionStatus
	Reason  string
	Changed bool // lastTransitionTime is now
}

func summarize(cs []trainingv1.JobCondition) []condSummary {
	var out []condSummary
	for _, c := range cs {
		out = append(out, condSummary{c.Type, c.Status, c.Reason, c.LastTransitionTime.Time.Equal(now)})
	}
	return out
}

func TestSetCondition(t *testing.T) {
	const (
		T = corev1.ConditionTrue
		F = corev1.ConditionFalse
	)
	created := cond(trainingv1.JobCreated, T, "JobCreated")
	running := cond(trainingv1.JobRunning, T, "JobRunning")
	restarting := cond(trainingv1.JobRestarting, T, "JobRestarting")
	failed := cond(trainingv1.JobFailed, T, "JobFailed")
	suspended := cond(trainingv1.JobSuspended, T, "JobSuspended")

	tests := []struct {
		name    string
		before  []trainingv1.JobCondition
		typ     trainingv1.JobConditionType
		status  corev1.ConditionStatus
		reason  string
		want    []condSummary
		changed bool
	}{
		{"first condition", nil, trainingv1.JobCreated, T, "JobCreated",
			[]condSummary{{trainingv1.JobCreated, T, "JobCreated", true}}, true},
		{"appended last", []trainingv1.JobCondition{created}, trainingv1.JobRunning, T, "JobRunning",
			[]condSummary{{trainingv1.JobCreated, T, "JobCreated", false}, {trainingv1.JobRunning, T, "JobRunning", true}}, true},
		{"same status and reason: unchanged", []trainingv1.JobCondition{created, running}, trainingv1.JobRunning, T, "JobRunning",
			[]condSummary{{trainingv1.JobCreated, T, "JobCreated", false}, {trainingv1.JobRunning, T, "JobRunning", false}}, false},
		{"new reason keeps the transition time and moves last", []trainingv1.JobCondition{suspended, created}, trainingv1.JobSuspended, T, "Other",
			[]condSummary{{trainingv1.JobCreated, T, "JobCreated", false}, {trainingv1.JobSuspended, T, "Other", false}}, true},
		{"status change moves the transition time", []trainingv1.JobCondition{created, suspended}, trainingv1.JobSuspended, F, "JobResumed",
			[]condSummary{{trainingv1.JobCreated, T, "JobCreated", false}, {trainingv1.JobSuspended, F, "JobResumed", true}}, true},
		{"restarting replaces running", []trainingv1.JobCondition{created, running}, trainingv1.JobRestarting, T, "JobRestarting",
			[]condSummary{{trainingv1.JobCreated, T, "JobCreated", false}, {trainingv1.JobRestarting, T, "JobRestarting", true}}, true},
		{"running replaces restarting", []trainingv1.JobCondition{created, restarting}, trainingv1.JobRunning, T, "JobRunning",
			[]condSummary{{trainingv1.JobCreated, T, "JobCreated", false}, {trainingv1.JobRunning, T, "JobRunning", true}}, true},
		{"succeeded turns running false", []trainingv1.JobCondition{created, running}, trainingv1.JobSucceeded, T, "JobSucceeded",
			[]condSummary{{trainingv1.JobCreated, T, "JobCreated", false}, {trainingv1.JobRunning, F, "JobRunning", false}, {trainingv1.JobSucceeded, T, "JobSucceeded", true}}, true},
		{"failed turns running false", []trainingv1.JobCondition{running}, trainingv1.JobFailed, T, "JobFailed",
			[]condSummary{{trainingv1.JobRunning, F, "JobRunning", false}, {trainingv1.JobFailed, T, "JobFailed", true}}, true},
		{"a failed job no longer changes", []trainingv1.JobCondition{failed}, trainingv1.JobRunning, T, "JobRunning",
			[]condSummary{{trainingv1.JobFailed, T, "JobFailed", false}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := &trainingv1.JobStatus{Conditions: append([]trainingv1.JobCondition(nil), tc.before...)}
			changed := policy.SetCondition(st, tc.typ, tc.status, tc.reason, "msg", metav1.NewTime(now))
			if changed != tc.changed {
				t.Errorf("changed = %v, want %v", changed, tc.changed)
			}
			if diff := cmp.Diff(tc.want, summarize(st.Conditions)); diff != "" {
				t.Errorf("conditions (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFinished(t *testing.T) {
	tests := []struct {
		conds                       []trainingv1.JobCondition
		succeeded, failed, finished bool
	}{
		{nil, false, false, false},
		{[]trainingv1.JobCondition{cond(trainingv1.JobRunning, corev1.ConditionTrue, "")}, false, false, false},
		{[]trainingv1.JobCondition{cond(trainingv1.JobSucceeded, corev1.ConditionTrue, "")}, true, false, true},
		{[]trainingv1.JobCondition{cond(trainingv1.JobFailed, corev1.ConditionTrue, "")}, false, true, true},
		{[]trainingv1.JobCondition{cond(trainingv1.JobFailed, corev1.ConditionFalse, "")}, false, false, false},
	}
	for i, tc := range tests {
		st := &trainingv1.JobStatus{Conditions: tc.conds}
		if policy.IsSucceeded(st) != tc.succeeded || policy.IsFailed(st) != tc.failed || policy.IsFinished(st) != tc.finished {
			t.Errorf("%d: succeeded/failed/finished = %v/%v/%v, want %v/%v/%v", i,
				policy.IsSucceeded(st), policy.IsFailed(st), policy.IsFinished(st), tc.succeeded, tc.failed, tc.finished)
		}
	}
}

func TestStatusChanged(t *testing.T) {
	base := trainingv1.JobStatus{
		Conditions: []trainingv1.JobCondition{cond(trainingv1.JobCreated, corev1.ConditionTrue, "r")},
		StartTime:  ago(time.Minute),
	}
	withNanos := base.DeepCopy()
	withNanos.StartTime = &metav1.Time{Time: base.StartTime.Add(300 * time.Millisecond)}
	reconciled := base.DeepCopy()
	reconciled.LastReconcileTime = ago(0)
	emptyMap := base.DeepCopy()
	emptyMap.ReplicaStatuses = map[trainingv1.ReplicaType]*trainingv1.ReplicaStatus{}
	counted := base.DeepCopy()
	counted.ReplicaStatuses = map[trainingv1.ReplicaType]*trainingv1.ReplicaStatus{"Worker": {Active: 1}}

	for name, tc := range map[string]struct {
		next *trainingv1.JobStatus
		want bool
	}{
		"same":                   {base.DeepCopy(), false},
		"sub-second time":        {withNanos, false},
		"last reconcile only":    {reconciled, false},
		"empty replica statuses": {emptyMap, false},
		"replica counted":        {counted, true},
	} {
		if got := policy.StatusChanged(&base, tc.next); got != tc.want {
			t.Errorf("%s: StatusChanged = %v, want %v", name, got, tc.want)
		}
	}
}
