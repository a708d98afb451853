package v1beta1

import (
	"bufio"
	"encoding/json"
	"fmt"
	"strings"
)

// A trial's observation log — Katib's database table observation_logs for that trial:
// what a Push trial's code reported through the DBManager API, or what the other
// collectors parsed from its run's logs — is kept in ConfigMap ObservationLogName(trial)
// of the trial's namespace, owned by the trial (deleted with it). Its data holds two
// keys, each one report a line as ObservationLogLine encodes it: the reports kept in
// full, and of those past the log's bound only the ones a summary picks. The tuning
// controllers write it; GetObservationLog, the dashboard and tools read it.
const (
	// ObservationLogKept is the data key of the reports kept in full, in report order.
	ObservationLogKept = "observations"
	// ObservationLogBeyond is the data key of the reports past the bound kept: per
	// metric its first least, first greatest and latest.
	ObservationLogBeyond = "beyond-bound"
	// MaxObservationLogLineBytes bounds one encoded report.
	MaxObservationLogLineBytes = 64 << 10
)

// ObservationLogName names the ConfigMap holding trial's observation log.
func ObservationLogName(trial string) string { return trial + "-observation-log" }

// ObservationLogLine is one report of an observation log: a JSON object a line.
type ObservationLogLine struct {
	// Time is the report's time, RFC 3339 with nanoseconds, UTC; empty when its
	// collector saw none (a text line without a timestamp).
	Time  string `json:"t,omitempty"`
	Name  string `json:"n"`
	Value string `json:"v"`
}

// DecodeObservationLogLines reads the reports of one data key of an observation log
// (what names it in errors).
func DecodeObservationLogLines(s, what string) ([]ObservationLogLine, error) {
	var out []ObservationLogLine
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 0, 4096), MaxObservationLogLineBytes)
	for n := 1; sc.Scan(); n++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var l ObservationLogLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return nil, fmt.Errorf("%s line %d: %w", what, n, err)
		}
		out = append(out, l)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}
