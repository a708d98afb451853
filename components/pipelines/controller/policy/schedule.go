// Package policy holds the pipelines controllers' pure decisions: when a RecurringRun's
// runs are due, how task pods are named, how a run ends (succeeded, failed, terminated)
// and what a retry of a run sends back to run again.
package policy

import (
	"fmt"
	"time"

	"github.com/robfig/cron/v3"
)

// maxCatchUp bounds the missed ticks one reconcile starts runs for.
const maxCatchUp = 10

// Schedule parses a RecurringRun's schedule in its time zone.
func Schedule(spec, zone string) (cron.Schedule, error) {
	if zone != "" {
		if _, err := time.LoadLocation(zone); err != nil {
			return nil, fmt.Errorf("timeZone %q is not an IANA time zone (such as Europe/Berlin): %w", zone, err)
		}
		spec = "CRON_TZ=" + zone + " " + spec
	}
	s, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, fmt.Errorf("schedule %q: %w (use five fields such as \"0 3 * * *\", or @daily, @every 1h)", spec, err)
	}
	return s, nil
}

// Due returns the ticks of s after last (at most a week back) and at or before now to start runs for: all of
// them (at most maxCatchUp, the latest) with catchUp, else only the latest; and the next
// tick after now.
func Due(s cron.Schedule, last, now time.Time, catchUp bool) (due []time.Time, next time.Time) {
	// ticks missed by more than a week are forgotten: a schedule of every second paused
	// for a year must not cost millions of steps
	if week := now.Add(-7 * 24 * time.Hour); last.Before(week) {
		last = week
	}
	for t := s.Next(last); !t.After(now); t = s.Next(t) {
		due = append(due, t)
		if len(due) > maxCatchUp {
			due = due[1:]
		}
		if len(due) > 0 && !catchUp {
			due = due[len(due)-1:]
		}
	}
	return due, s.Next(now)
}
