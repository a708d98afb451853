package controller

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	tuningv1beta1 "github.com/kfup/kfup/components/tuning/api/v1beta1"
)

// Reasons kfup writes that the API package does not name.
const (
	// TrialKilledReason is a trial's Killed reason when its experiment ended.
	TrialKilledReason = "TrialKilled"
	// SuggestionSucceededReason is a Suggestion's Succeeded reason when its experiment
	// ended and cannot resume.
	SuggestionSucceededReason = "SuggestionSucceeded"
	// SuggestionEndReachedReason is a Suggestion's Succeeded reason when its algorithm has
	// nothing more to try (a grid fully tried).
	SuggestionEndReachedReason = "SuggestionEndReached"
	// TrialResourceExistsReason fails a trial whose run's name is taken by an object that
	// is not the trial's.
	TrialResourceExistsReason = "ResourceExists"
)

// The three kinds' conditions share one shape; these helpers set a condition True
// (keeping its transition time when it already was) or False.

func setCond[T ~string](conds *[]cond[T], typ T, reason, msg string, now metav1.Time) {
	for i := range *conds {
		c := &(*conds)[i]
		if c.Type == typ {
			if c.Status != corev1.ConditionTrue {
				c.LastTransitionTime = now
			}
			if c.Status != corev1.ConditionTrue || c.Reason != reason || c.Message != msg {
				c.LastUpdateTime = now
			}
			c.Status, c.Reason, c.Message = corev1.ConditionTrue, reason, msg
			return
		}
	}
	*conds = append(*conds, cond[T]{Type: typ, Status: corev1.ConditionTrue, Reason: reason, Message: msg, LastUpdateTime: now, LastTransitionTime: now})
}

func clearCond[T ~string](conds *[]cond[T], typ T, now metav1.Time) {
	for i := range *conds {
		c := &(*conds)[i]
		if c.Type == typ && c.Status == corev1.ConditionTrue {
			c.Status, c.LastTransitionTime, c.LastUpdateTime = corev1.ConditionFalse, now, now
		}
	}
}

type cond[T ~string] struct {
	Type                               T
	Status                             corev1.ConditionStatus
	Reason, Message                    string
	LastUpdateTime, LastTransitionTime metav1.Time
}

func setExpCond(e *tuningv1beta1.Experiment, typ tuningv1beta1.ExperimentConditionType, reason, msg string, now metav1.Time) {
	cs := expConds(e)
	setCond(&cs, typ, reason, msg, now)
	e.Status.Conditions = fromConds(cs, func(c cond[tuningv1beta1.ExperimentConditionType]) tuningv1beta1.ExperimentCondition {
		return tuningv1beta1.ExperimentCondition{Type: c.Type, Status: c.Status, Reason: c.Reason, Message: c.Message, LastUpdateTime: c.LastUpdateTime, LastTransitionTime: c.LastTransitionTime}
	})
}

func clearExpCond(e *tuningv1beta1.Experiment, typ tuningv1beta1.ExperimentConditionType, now metav1.Time) {
	cs := expConds(e)
	clearCond(&cs, typ, now)
	e.Status.Conditions = fromConds(cs, func(c cond[tuningv1beta1.ExperimentConditionType]) tuningv1beta1.ExperimentCondition {
		return tuningv1beta1.ExperimentCondition{Type: c.Type, Status: c.Status, Reason: c.Reason, Message: c.Message, LastUpdateTime: c.LastUpdateTime, LastTransitionTime: c.LastTransitionTime}
	})
}

func expConds(e *tuningv1beta1.Experiment) []cond[tuningv1beta1.ExperimentConditionType] {
	out := make([]cond[tuningv1beta1.ExperimentConditionType], len(e.Status.Conditions))
	for i, c := range e.Status.Conditions {
		out[i] = cond[tuningv1beta1.ExperimentConditionType]{c.Type, c.Status, c.Reason, c.Message, c.LastUpdateTime, c.LastTransitionTime}
	}
	return out
}

func expCondition(e *tuningv1beta1.Experiment, typ tuningv1beta1.ExperimentConditionType) *tuningv1beta1.ExperimentCondition {
	for i := range e.Status.Conditions {
		if e.Status.Conditions[i].Type == typ {
			return &e.Status.Conditions[i]
		}
	}
	return nil
}

func hasExpCond(e *tuningv1beta1.Experiment, typ tuningv1beta1.ExperimentConditionType) bool {
	return expCondition(e, typ) != nil
}

func expCondTrue(e *tuningv1beta1.Experiment, typ tuningv1beta1.ExperimentConditionType) bool {
	c := expCondition(e, typ)
	return c != nil && c.Status == corev1.ConditionTrue
}

func setTrialCond(t *tuningv1beta1.Trial, typ tuningv1beta1.TrialConditionType, reason, msg string, now metav1.Time) {
	cs := trialConds(t)
	setCond(&cs, typ, reason, msg, now)
	t.Status.Conditions = fromConds(cs, toTrialCond)
}

func clearTrialCond(t *tuningv1beta1.Trial, typ tuningv1beta1.TrialConditionType, now metav1.Time) {
	cs := trialConds(t)
	clearCond(&cs, typ, now)
	t.Status.Conditions = fromConds(cs, toTrialCond)
}

func toTrialCond(c cond[tuningv1beta1.TrialConditionType]) tuningv1beta1.TrialCondition {
	return tuningv1beta1.TrialCondition{Type: c.Type, Status: c.Status, Reason: c.Reason, Message: c.Message, LastUpdateTime: c.LastUpdateTime, LastTransitionTime: c.LastTransitionTime}
}

func trialConds(t *tuningv1beta1.Trial) []cond[tuningv1beta1.TrialConditionType] {
	out := make([]cond[tuningv1beta1.TrialConditionType], len(t.Status.Conditions))
	for i, c := range t.Status.Conditions {
		out[i] = cond[tuningv1beta1.TrialConditionType]{c.Type, c.Status, c.Reason, c.Message, c.LastUpdateTime, c.LastTransitionTime}
	}
	return out
}

func setSugCond(s *tuningv1beta1.Suggestion, typ tuningv1beta1.SuggestionConditionType, reason, msg string, now metav1.Time) {
	cs := sugConds(s)
	setCond(&cs, typ, reason, msg, now)
	s.Status.Conditions = fromConds(cs, toSugCond)
}

func clearSugCond(s *tuningv1beta1.Suggestion, typ tuningv1beta1.SuggestionConditionType, now metav1.Time) {
	cs := sugConds(s)
	clearCond(&cs, typ, now)
	s.Status.Conditions = fromConds(cs, toSugCond)
}

func toSugCond(c cond[tuningv1beta1.SuggestionConditionType]) tuningv1beta1.SuggestionCondition {
	return tuningv1beta1.SuggestionCondition{Type: c.Type, Status: c.Status, Reason: c.Reason, Message: c.Message, LastUpdateTime: c.LastUpdateTime, LastTransitionTime: c.LastTransitionTime}
}

func sugConds(s *tuningv1beta1.Suggestion) []cond[tuningv1beta1.SuggestionConditionType] {
	out := make([]cond[tuningv1beta1.SuggestionConditionType], len(s.Status.Conditions))
	for i, c := range s.Status.Conditions {
		out[i] = cond[tuningv1beta1.SuggestionConditionType]{c.Type, c.Status, c.Reason, c.Message, c.LastUpdateTime, c.LastTransitionTime}
	}
	return out
}

func suggestionCondition(s *tuningv1beta1.Suggestion, typ tuningv1beta1.SuggestionConditionType) *tuningv1beta1.SuggestionCondition {
	if s == nil {
		return nil
	}
	for i := range s.Status.Conditions {
		if c := &s.Status.Conditions[i]; c.Type == typ && c.Status == corev1.ConditionTrue {
			return c
		}
	}
	return nil
}

func suggestionCond(s *tuningv1beta1.Suggestion, typ tuningv1beta1.SuggestionConditionType) bool {
	return suggestionCondition(s, typ) != nil
}

func fromConds[T ~string, C any](cs []cond[T], f func(cond[T]) C) []C {
	out := make([]C, len(cs))
	for i, c := range cs {
		out[i] = f(c)
	}
	return out
}
