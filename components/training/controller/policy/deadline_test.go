package policy_test

import (
	"math"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	"github.com/kfup/kfup/components/training/controller/policy"
)

func TestDeadlineLeft(t *testing.T) {
	tests := []struct {
		name    string
		seconds *int64
		start   *metav1.Time
		left    time.Duration
		applies bool
	}{
		{"no deadline", nil, ago(time.Hour), 0, false},
		{"not started", ptr.To[int64](60), nil, 0, false},
		{"time left", ptr.To[int64](60), ago(20 * time.Second), 40 * time.Second, true},
		{"exactly due", ptr.To[int64](60), ago(time.Minute), 0, true},
		{"past", ptr.To[int64](60), ago(2 * time.Minute), -time.Minute, true},
		// seconds that do not fit a time.Duration count as the longest one (292 years),
		// not as a negative duration that fails the job at once
		{"the longest deadline a duration holds", ptr.To[int64](math.MaxInt64 / int64(time.Second)), ago(time.Hour),
			time.Duration(math.MaxInt64/int64(time.Second))*time.Second - time.Hour, true},
		{"one second more", ptr.To[int64](math.MaxInt64/int64(time.Second) + 1), ago(time.Hour), time.Duration(math.MaxInt64) - time.Hour, true},
		{"2^62 seconds", ptr.To[int64](1 << 62), ago(time.Hour), time.Duration(math.MaxInt64) - time.Hour, true},
		{"the most seconds", ptr.To[int64](math.MaxInt64), ago(time.Hour), time.Duration(math.MaxInt64) - time.Hour, true},
	}
	for _, tc := range tests {
		left, ok := policy.DeadlineLeft(&trainingv1.RunPolicy{ActiveDeadlineSeconds: tc.seconds}, &trainingv1.JobStatus{StartTime: tc.start}, now)
		if left != tc.left || ok != tc.applies {
			t.Errorf("%s: DeadlineLeft = %v, %v; want %v, %v", tc.name, left, ok, tc.left, tc.applies)
		}
	}
}
