package engine

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// seriesOf builds a metric's observations from values in report order.
func seriesOf(name string, values ...string) []Observation {
	out := make([]Observation, len(values))
	for i, v := range values {
		out[i] = Observation{Name: name, Value: v, Step: i + 1}
	}
	return out
}

func TestParseMedianStopSettings(t *testing.T) {
	tests := []struct {
		in      map[string]string
		want    MedianStopSettings
		wantErr string
	}{
		{nil, MedianStopSettings{3, 4}, ""},
		{map[string]string{"min_trials_required": "1", "start_step": "2"}, MedianStopSettings{1, 2}, ""},
		{map[string]string{"min_trials_required": "0"}, MedianStopSettings{}, "greater than zero"},
		{map[string]string{"start_step": "0"}, MedianStopSettings{}, "at least one"},
		{map[string]string{"start_step": "two"}, MedianStopSettings{}, `start_step="two"`},
		{map[string]string{"min_trials": "2"}, MedianStopSettings{}, `no setting "min_trials"`},
	}
	for _, tt := range tests {
		got, err := ParseMedianStopSettings(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseMedianStopSettings(%v) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParseMedianStopSettings(%v) (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestMedianStop(t *testing.T) {
	completed := [][]Observation{
		append(seriesOf("loss", "1", "3", "100"), Observation{Name: "acc", Value: "0.5"}), // first 2 average 2
		seriesOf("loss", "4", "unavailable", "6"),                                         // 4 and 6 average 5
		seriesOf("loss", "8"),     // fewer reports than start_step: 8
		seriesOf("acc", "1", "2"), // no objective: skipped
	}
	tests := []struct {
		name      string
		settings  MedianStopSettings
		objective ObjectiveType
		trials    [][]Observation
		want      []Rule
	}{
		{"mean of the averages, minimize", MedianStopSettings{MinTrialsRequired: 3, StartStep: 2}, Minimize, completed,
			[]Rule{{Name: "loss", Value: "5", Comparison: Greater, StartStep: 2}}},
		{"maximize compares less", MedianStopSettings{MinTrialsRequired: 1, StartStep: 1}, Maximize, completed[:2],
			[]Rule{{Name: "loss", Value: "2.5", Comparison: Less, StartStep: 1}}},
		{"too few succeeded trials", MedianStopSettings{MinTrialsRequired: 4, StartStep: 2}, Minimize, completed, nil},
		{"no trials", MedianStopSettings{MinTrialsRequired: 1, StartStep: 2}, Minimize, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := MedianStop(tt.settings, "loss", tt.objective, tt.trials)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("MedianStop (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := MedianStop(MedianStopSettings{1, 1}, "loss", "best", completed); err == nil {
		t.Error("MedianStop accepted objective type best")
	}
	if _, err := MedianStop(MedianStopSettings{}, "loss", Minimize, completed); err == nil {
		t.Error("MedianStop accepted zero settings")
	}
}

func TestShouldStop(t *testing.T) {
	minRule := []Rule{{Name: "loss", Value: "0.5", Comparison: Greater, StartStep: 3}}
	tests := []struct {
		name      string
		rules     []Rule
		obs       []Observation
		objective ObjectiveType
		want      bool
	}{
		{"no rules", nil, seriesOf("loss", "9", "9", "9"), Minimize, false},
		{"too few reports", minRule, seriesOf("loss", "9", "9"), Minimize, false},
		{"worse than the median at start step", minRule, seriesOf("loss", "0.9", "0.8", "0.7"), Minimize, true},
		{"best so far is compared, not the last", minRule, seriesOf("loss", "0.4", "0.8", "0.7"), Minimize, false},
		{"checked only at the start step", minRule, seriesOf("loss", "0.4", "0.45", "0.48", "0.9", "0.9"), Minimize, false},
		{"unavailable reports do not count", minRule, seriesOf("loss", "0.9", "unavailable", "0.8", "0.7"), Minimize, true},
		{"other metrics do not count as steps", minRule,
			[]Observation{{Name: "loss", Value: "0.9"}, {Name: "acc", Value: "0.1"}, {Name: "loss", Value: "0.8"}, {Name: "acc", Value: "0.1"}}, Minimize, false},
		{"maximize: best is the largest", []Rule{{Name: "acc", Value: "0.6", Comparison: Less, StartStep: 2}},
			seriesOf("acc", "0.7", "0.1"), Maximize, false},
		{"maximize: below the median", []Rule{{Name: "acc", Value: "0.6", Comparison: Less, StartStep: 2}},
			seriesOf("acc", "0.5", "0.55"), Maximize, true},
		{"start step 0 checks every report of a non-objective metric", []Rule{{Name: "lr", Value: "0.01", Comparison: Equal}},
			append(seriesOf("lr", "0.1", "0.01", "0.1"), seriesOf("acc", "0.1")...), Maximize, true},
		{"all rules must be met", []Rule{
			{Name: "acc", Value: "0.6", Comparison: Less, StartStep: 1},
			{Name: "loss", Value: "1", Comparison: Greater, StartStep: 1}},
			append(seriesOf("acc", "0.5"), seriesOf("loss", "0.5")...), Maximize, false},
		{"all rules met", []Rule{
			{Name: "acc", Value: "0.6", Comparison: Less, StartStep: 1},
			{Name: "loss", Value: "1", Comparison: Greater, StartStep: 1}},
			append(seriesOf("acc", "0.5"), seriesOf("loss", "2")...), Maximize, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objective := "loss"
			if tt.objective == Maximize {
				objective = "acc"
			}
			got, err := ShouldStop(tt.rules, tt.obs, objective, tt.objective)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("ShouldStop = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestShouldStopErrors(t *testing.T) {
	obs := seriesOf("loss", "1")
	tests := []struct {
		rule Rule
		want string
	}{
		{Rule{Name: "loss", Value: "high", Comparison: Less}, `value "high" is not a number`},
		{Rule{Name: "loss", Value: "1", Comparison: "lte"}, `comparison "lte"`},
		{Rule{Name: "loss", Value: "1", Comparison: Less, StartStep: -1}, "negative"},
	}
	for _, tt := range tests {
		if _, err := ShouldStop([]Rule{tt.rule}, obs, "loss", Minimize); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ShouldStop(%+v) error = %v, want %q", tt.rule, err, tt.want)
		}
	}
	if _, err := ShouldStop([]Rule{{Name: "loss", Value: "1", Comparison: Less}}, obs, "loss", ""); err == nil {
		t.Error("ShouldStop accepted an empty objective type")
	}
}

// TestMedianStopThenShouldStop runs the pair as the controller will: rules from the
// succeeded trials, applied to a running one.
func TestMedianStopThenShouldStop(t *testing.T) {
	s, err := ParseMedianStopSettings(map[string]string{"min_trials_required": "1", "start_step": "2"})
	if err != nil {
		t.Fatal(err)
	}
	rules, err := MedianStop(s, "loss", Minimize, [][]Observation{seriesOf("loss", "0.4", "0.2", "0.1")})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		series []string
		want   bool
	}{{[]string{"0.5", "0.35"}, true}, {[]string{"0.5", "0.25"}, false}, {[]string{"0.9"}, false}} {
		got, err := ShouldStop(rules, seriesOf("loss", tc.series...), "loss", Minimize)
		if err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("ShouldStop(%v, %v) = %v, want %v", rules, tc.series, got, tc.want)
		}
	}
}
