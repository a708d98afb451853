package policy

import (
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
)

// StatusChanged says whether next differs from cur other than in lastReconcileTime: only
// then is the status written (with a new lastReconcileTime), so that writing it does not
// call for another write. Times compare to the second, as the API server stores them; an
// empty and a missing list or map are alike.
func StatusChanged(cur, next *trainingv1.JobStatus) bool {
	return !equality.Semantic.DeepEqual(normalized(cur), normalized(next))
}

func normalized(s *trainingv1.JobStatus) *trainingv1.JobStatus {
	s = s.DeepCopy()
	s.LastReconcileTime = nil
	if len(s.Conditions) == 0 {
		s.Conditions = nil
	}
	if len(s.ReplicaStatuses) == 0 {
		s.ReplicaStatuses = nil
	}
	for i := range s.Conditions {
		c := &s.Conditions[i]
		c.LastUpdateTime = c.LastUpdateTime.Rfc3339Copy()
		c.LastTransitionTime = c.LastTransitionTime.Rfc3339Copy()
	}
	for _, t := range []**metav1.Time{&s.StartTime, &s.CompletionTime} {
		if *t != nil {
			c := (*t).Rfc3339Copy()
			*t = &c
		}
	}
	return s
}
