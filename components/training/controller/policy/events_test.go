package policy_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	"github.com/kfup/kfup/components/training/controller/policy"
)

func TestConditionEvents(t *testing.T) {
	const (
		T = corev1.ConditionTrue
		F = corev1.ConditionFalse
	)
	c := func(t trainingv1.JobConditionType, s corev1.ConditionStatus, reason string) trainingv1.JobCondition {
		x := cond(t, s, reason)
		x.Message = "m-" + reason
		return x
	}
	tests := []struct {
		name     string
		old, new []trainingv1.JobCondition
		want     []policy.Event
	}{
		{"created", nil, []trainingv1.JobCondition{c(trainingv1.JobCreated, T, "PyTorchJobCreated")},
			[]policy.Event{{"Normal", "PyTorchJobCreated", "m-PyTorchJobCreated"}}},
		{"no change", []trainingv1.JobCondition{c(trainingv1.JobCreated, T, "A")}, []trainingv1.JobCondition{c(trainingv1.JobCreated, T, "A")}, nil},
		{"restarting is a warning",
			[]trainingv1.JobCondition{c(trainingv1.JobRunning, T, "R")},
			[]trainingv1.JobCondition{c(trainingv1.JobRestarting, T, "X")},
			[]policy.Event{{"Warning", "X", "m-X"}}},
		{"succeeded; running turned false makes none",
			[]trainingv1.JobCondition{c(trainingv1.JobRunning, T, "R")},
			[]trainingv1.JobCondition{c(trainingv1.JobRunning, F, "R"), c(trainingv1.JobSucceeded, T, "S")},
			[]policy.Event{{"Normal", "S", "m-S"}}},
		{"failed is a warning", nil, []trainingv1.JobCondition{c(trainingv1.JobFailed, T, "DeadlineExceeded")},
			[]policy.Event{{"Warning", "DeadlineExceeded", "m-DeadlineExceeded"}}},
		{"suspended: one event for two conditions",
			[]trainingv1.JobCondition{c(trainingv1.JobRunning, T, "R")},
			[]trainingv1.JobCondition{c(trainingv1.JobRunning, F, "Susp"), c(trainingv1.JobSuspended, T, "Susp")},
			[]policy.Event{{"Normal", "Susp", "m-Susp"}}},
		{"resumed",
			[]trainingv1.JobCondition{c(trainingv1.JobSuspended, T, "Susp")},
			[]trainingv1.JobCondition{c(trainingv1.JobSuspended, F, "Res")},
			[]policy.Event{{"Normal", "Res", "m-Res"}}},
	}
	for _, tc := range tests {
		if diff := cmp.Diff(tc.want, policy.ConditionEvents(tc.old, tc.new)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
}
