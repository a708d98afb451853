package engine

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	tuningv1beta1 "github.com/kfup/kfup/components/tuning/api/v1beta1"
)

// MaxPushLogBytes bounds the encoded reports a PushLog keeps in full (the store of a Push
// trial is one ConfigMap, whose data must stay under 1 MiB): past it, as past
// MaxSeriesLen reports of a metric, only the minimum, maximum and latest are kept.
const MaxPushLogBytes = 512 << 10

// PushLog is the observation log of a trial whose code pushes its metrics (the Push
// collector: Katib's DBManager.ReportObservationLog), under the same bound as a parsed
// log: each metric keeps its first MaxSeriesLen reports (while the kept reports encode
// to at most MaxPushLogBytes) and, of the rest, the reports Summarize would pick — its
// first least and first greatest numeric value and its latest. So summaries stay exact
// however long a trial reports, and early stopping reads the first reports.
type PushLog struct {
	// Kept are the reports kept in full, in report order.
	Kept []Observation
	// Beyond are, per metric, the minimum, maximum and latest of the reports past the
	// bound, in report order.
	Beyond []Observation
	// bytes is the encoded size of Kept.
	bytes int
}

func encodeLine(o Observation) string {
	l := tuningv1beta1.ObservationLogLine{Name: o.Name, Value: o.Value}
	if !o.Timestamp.IsZero() {
		l.Time = o.Timestamp.UTC().Format(time.RFC3339Nano)
	}
	b, _ := json.Marshal(l) // strings only: cannot fail
	return string(b) + "\n"
}

func decodeLines(s, what string) ([]Observation, error) {
	lines, err := tuningv1beta1.DecodeObservationLogLines(s, what)
	if err != nil {
		return nil, err
	}
	out := make([]Observation, 0, len(lines))
	for n, l := range lines {
		o := Observation{Name: l.Name, Value: l.Value}
		if l.Time != "" {
			t, err := time.Parse(time.RFC3339Nano, l.Time)
			if err != nil {
				return nil, fmt.Errorf("%s report %d: %w", what, n+1, err)
			}
			o.Timestamp = t
		}
		out = append(out, o)
	}
	return out, nil
}

// DecodePushLog reads a PushLog from what Encode wrote.
func DecodePushLog(kept, beyond string) (*PushLog, error) {
	k, err := decodeLines(kept, "kept reports")
	if err != nil {
		return nil, err
	}
	b, err := decodeLines(beyond, "reports past the bound")
	if err != nil {
		return nil, err
	}
	l := &PushLog{Kept: k, Beyond: b}
	for _, o := range k {
		l.bytes += len(encodeLine(o))
	}
	return l, nil
}

// Encode returns the kept reports and those past the bound, one JSON object a line.
func (l *PushLog) Encode() (kept, beyond string) {
	var k, b strings.Builder
	for _, o := range l.Kept {
		k.WriteString(encodeLine(o))
	}
	for _, o := range l.Beyond {
		b.WriteString(encodeLine(o))
	}
	return k.String(), b.String()
}

// Add appends reports, in order, under the bound.
func (l *PushLog) Add(reports ...Observation) {
	counts := map[string]int{}
	for _, o := range l.Kept {
		counts[o.Name]++
	}
	for _, o := range reports {
		o.Step = 0
		size := len(encodeLine(o))
		if counts[o.Name] < MaxSeriesLen && l.bytes+size <= MaxPushLogBytes {
			counts[o.Name]++
			l.bytes += size
			l.Kept = append(l.Kept, o)
			continue
		}
		l.Beyond = beyondCandidates(append(l.Beyond, o), o.Name)
	}
}

// beyondCandidates keeps, of all's reports of metric name, only the first least and
// first greatest numeric value and the latest (the last of equal timestamps): the ones
// Summarize would pick. Other metrics' reports are left as they are.
func beyondCandidates(all []Observation, name string) []Observation {
	minAt, maxAt, latestAt := -1, -1, -1
	var lo, hi float64
	for i, o := range all {
		if o.Name != name {
			continue
		}
		if v, err := strconv.ParseFloat(o.Value, 64); err == nil {
			if minAt < 0 || v < lo {
				minAt, lo = i, v
			}
			if maxAt < 0 || v > hi {
				maxAt, hi = i, v
			}
		}
		if latestAt < 0 || !all[latestAt].Timestamp.After(o.Timestamp) {
			latestAt = i
		}
	}
	out := all[:0:0]
	for i, o := range all {
		if o.Name != name || i == minAt || i == maxAt || i == latestAt {
			out = append(out, o)
		}
	}
	return out
}

// Observations returns every report kept, in report order, each with its Step (the
// count of its metric's reports kept up to it).
func (l *PushLog) Observations() []Observation {
	steps := map[string]int{}
	out := make([]Observation, 0, len(l.Kept)+len(l.Beyond))
	for _, o := range append(append([]Observation(nil), l.Kept...), l.Beyond...) {
		steps[o.Name]++
		o.Step = steps[o.Name]
		out = append(out, o)
	}
	return out
}
