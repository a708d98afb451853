package policy

import (
	corev1 "k8s.io/api/core/v1"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
)

// Event is a Kubernetes event to record on the job.
type Event struct {
	// Type is corev1.EventTypeNormal or corev1.EventTypeWarning.
	Type    string
	Reason  string
	Message string
}

// ConditionEvents are the events of the condition transitions from old to new: one per
// condition that is new or whose reason changed, with the condition's reason and message;
// Warning for Failed and Restarting, Normal otherwise. A Running condition turned False by
// the job's completion (same reason) makes none; the same event is not listed twice.
func ConditionEvents(old, new []trainingv1.JobCondition) []Event {
	var out []Event
	for _, c := range new {
		var o *trainingv1.JobCondition
		for i := range old {
			if old[i].Type == c.Type {
				o = &old[i]
			}
		}
		if o != nil && o.Reason == c.Reason {
			continue
		}
		e := Event{Type: corev1.EventTypeNormal, Reason: c.Reason, Message: c.Message}
		if c.Status == corev1.ConditionTrue && (c.Type == trainingv1.JobFailed || c.Type == trainingv1.JobRestarting) {
			e.Type = corev1.EventTypeWarning
		}
		if !containsEvent(out, e) {
			out = append(out, e)
		}
	}
	return out
}

func containsEvent(events []Event, e Event) bool {
	for _, x := range events {
		if x == e {
			return true
		}
	}
	return false
}
