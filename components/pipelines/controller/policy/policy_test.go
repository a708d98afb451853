package policy

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/util/validation"
)

func TestSchedule(t *testing.T) {
	for _, tc := range []struct{ spec, zone, err string }{
		{"0 3 * * *", "", ""},
		{"@daily", "Europe/Berlin", ""},
		{"@every 90m", "", ""},
		{"0 3 * *", "", "five fields"},
		{"0 3 * * *", "Mars/Olympus", "not an IANA time zone"},
	} {
		_, err := Schedule(tc.spec, tc.zone)
		if (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("Schedule(%q, %q) = %v, want %q", tc.spec, tc.zone, err, tc.err)
		}
	}
}

func TestDue(t *testing.T) {
	hourly, _ := Schedule("0 * * * *", "")
	at := func(h, m int) time.Time { return time.Date(2026, 1, 1, h, m, 0, 0, time.UTC) }
	tests := []struct {
		name      string
		last, now time.Time
		catchUp   bool
		want      []time.Time
		next      time.Time
	}{
		{"nothing due", at(1, 0), at(1, 30), false, nil, at(2, 0)},
		{"one due", at(1, 0), at(2, 0), false, []time.Time{at(2, 0)}, at(3, 0)},
		{"missed, no catch-up: the latest", at(1, 0), at(5, 10), false, []time.Time{at(5, 0)}, at(6, 0)},
		{"missed, catch-up: each", at(1, 0), at(4, 10), true, []time.Time{at(2, 0), at(3, 0), at(4, 0)}, at(5, 0)},
		{"catch-up bounded to the latest ten", at(0, 0), at(20, 30), true, func() (out []time.Time) {
			for h := 11; h <= 20; h++ {
				out = append(out, at(h, 0))
			}
			return
		}(), at(21, 0)},
	}
	for _, tt := range tests {
		got, next := Due(hourly, tt.last, tt.now, tt.catchUp)
		if d := cmp.Diff(tt.want, got); d != "" || !next.Equal(tt.next) {
			t.Errorf("%s: due (-want +got):\n%s next %v want %v", tt.name, d, next, tt.next)
		}
	}
	// a year-old schedule of every second is bounded to a week of steps
	every, _ := Schedule("@every 1s", "")
	start := time.Now()
	got, _ := Due(every, at(0, 0).AddDate(-1, 0, 0), at(0, 0), false)
	if len(got) != 1 || time.Since(start) > 5*time.Second {
		t.Errorf("every second for a year: %d due in %v", len(got), time.Since(start))
	}
}

func TestPodName(t *testing.T) {
	long := strings.Repeat("r", 50)
	for _, tc := range []struct{ run, task, id string }{
		{"run-a", "train", "train"},
		{"run-a", "Train_Model.v2", "for-loop-1[3]/Train_Model.v2"},
		{long, "a-very-long-task-name-indeed", "x/a-very-long-task-name-indeed"},
		{long, "", ""},
	} {
		n := PodName(tc.run, tc.task, tc.id, 1)
		if errs := validation.IsDNS1123Label(n); len(errs) > 0 {
			t.Errorf("PodName(%q, %q) = %q: %v", tc.run, tc.task, n, errs)
		}
		if n == PodName(tc.run, tc.task, tc.id, 2) {
			t.Errorf("attempts 1 and 2 share the name %q", n)
		}
	}
	if a, b := PodName("r", "t", "loop[0]/t", 1), PodName("r", "t", "loop[1]/t", 1); a == b {
		t.Errorf("two iterations share the name %q", a)
	}
}
