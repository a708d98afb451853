package policy_test

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	"github.com/kfup/kfup/components/training/controller/policy"
)

func TestTTLLeft(t *testing.T) {
	succeeded := []trainingv1.JobCondition{cond(trainingv1.JobSucceeded, corev1.ConditionTrue, "")}
	running := []trainingv1.JobCondition{cond(trainingv1.JobRunning, corev1.ConditionTrue, "")}
	tests := []struct {
		name      string
		ttl       *int32
		suspend   bool
		conds     []trainingv1.JobCondition
		completed *metav1.Time
		left      time.Duration
		applies   bool
	}{
		{"no ttl", nil, false, succeeded, ago(time.Hour), 0, false},
		{"not finished", ptr.To[int32](10), false, running, nil, 0, false},
		{"suspended", ptr.To[int32](10), true, succeeded, ago(time.Hour), 0, false},
		{"due later", ptr.To[int32](10), false, succeeded, ago(4 * time.Second), 6 * time.Second, true},
		{"due", ptr.To[int32](10), false, succeeded, ago(10 * time.Second), 0, true},
		{"ttl 0 deletes at once", ptr.To[int32](0), false, succeeded, ago(0), 0, true},
		{"no completion time counts from now", ptr.To[int32](10), false, succeeded, nil, 10 * time.Second, true},
	}
	for _, tc := range tests {
		rp := &trainingv1.RunPolicy{TTLSecondsAfterFinished: tc.ttl, Suspend: ptr.To(tc.suspend)}
		st := &trainingv1.JobStatus{Conditions: tc.conds, CompletionTime: tc.completed}
		left, ok := policy.TTLLeft(rp, st, now)
		if left != tc.left || ok != tc.applies {
			t.Errorf("%s: TTLLeft = %v, %v; want %v, %v", tc.name, left, ok, tc.left, tc.applies)
		}
	}
}
