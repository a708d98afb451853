package engine

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestParseText(t *testing.T) {
	custom := []string{`{metricName: ([\w|-]+), metricValue: ((-?\d+)(\.\d+)?)}`}
	tests := []struct {
		name    string
		log     string
		names   []string
		filters []string
		want    []Observation
	}{
		{
			name:  "default filter, Katib's examples",
			log:   "epoch 1 loss=0.3 accuracy=.98\nScore=-7.53e-05 loss = 1E0\nnothing here\nloss=abc\n",
			names: []string{"loss", "accuracy", "Score"},
			want: []Observation{
				{Name: "loss", Value: "0.3", Step: 1},
				{Name: "accuracy", Value: ".98", Step: 1},
				{Name: "Score", Value: "-7.53e-05", Step: 1},
				{Name: "loss", Value: "1E0", Step: 2},
			},
		},
		{
			name:  "RFC 3339 timestamp prefix, CRLF and unrequested names",
			log:   "2024-05-10T08:01:02.5Z epoch=1 loss=0.25\r\nnot-a-time loss=0.2\n",
			names: []string{"loss"},
			want: []Observation{
				{Name: "loss", Value: "0.25", Timestamp: ts("2024-05-10T08:01:02.5Z"), Step: 1},
				{Name: "loss", Value: "0.2", Step: 2},
			},
		},
		{
			name:  "hyphenated names",
			log:   "val-loss=0.5 loss=0.6",
			names: []string{"val-loss"},
			want:  []Observation{{Name: "val-loss", Value: "0.5", Step: 1}},
		},
		{
			name:    "custom format of the file-metrics-collector conformance case",
			log:     "{metricName: accuracy, metricValue: 0.9}\n{metricName: loss, metricValue: -0.25}\n{metricName: accuracy, metricValue: 1}\n",
			names:   []string{"accuracy", "loss"},
			filters: custom,
			want: []Observation{
				{Name: "accuracy", Value: "0.9", Step: 1},
				{Name: "loss", Value: "-0.25", Step: 1},
				{Name: "accuracy", Value: "1", Step: 2},
			},
		},
		{
			name:  "over-long lines are skipped whole",
			log:   "loss=1\n" + strings.Repeat("x", MaxLineBytes) + " loss=9\nloss=2",
			names: []string{"loss"},
			want:  []Observation{{Name: "loss", Value: "1", Step: 1}, {Name: "loss", Value: "2", Step: 2}},
		},
		{
			name:  "a line of exactly MaxLineBytes is read",
			log:   "loss=3 " + strings.Repeat("x", MaxLineBytes-7),
			names: []string{"loss"},
			want:  []Observation{{Name: "loss", Value: "3", Step: 1}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseText(strings.NewReader(tt.log), tt.names, tt.filters)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseText (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseTextFile(t *testing.T) {
	f, err := os.Open("testdata/mnist-file.log")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	obs, err := Parse(f, TextFormat, []string{"accuracy", "loss"}, []string{`{metricName: ([\w|-]+), metricValue: ((-?\d+)(\.\d+)?)}`})
	if err != nil {
		t.Fatal(err)
	}
	want := []Metric{
		{Name: "accuracy", Min: "0.7012", Max: "0.9", Latest: "0.9"},
		{Name: "loss", Min: "0.3", Max: "0.8921", Latest: "0.3"},
	}
	if diff := cmp.Diff(want, Summarize(obs, []string{"accuracy", "loss"})); diff != "" {
		t.Errorf("Summarize (-want +got):\n%s", diff)
	}
}

func TestParseJSON(t *testing.T) {
	log := `{"timestamp": "2024-05-10T08:01:02Z", "loss": "0.5", "accuracy": 0.75, "epoch": 1}

{"timestamp": 1715328122.5, "loss": " 0.25 ", "accuracy": true}
{"loss": "0.125", "timestamp": {"bad": 1}}
`
	got, err := ParseJSON(strings.NewReader(log), []string{"loss", "accuracy"})
	if err != nil {
		t.Fatal(err)
	}
	want := []Observation{
		{Name: "loss", Value: "0.5", Timestamp: ts("2024-05-10T08:01:02Z"), Step: 1},
		{Name: "accuracy", Value: "0.75", Timestamp: ts("2024-05-10T08:01:02Z"), Step: 1},
		{Name: "loss", Value: "0.25", Timestamp: ts("2024-05-10T08:02:02.5Z"), Step: 2},
		{Name: "loss", Value: "0.125", Step: 3},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseJSON (-want +got):\n%s", diff)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name    string
		run     func() error
		wantErr string
	}{
		{"json line", func() error {
			_, err := ParseJSON(strings.NewReader("{\"loss\": \"1\"}\nloss=2\n"), []string{"loss"})
			return err
		}, "metrics line 2 is not one JSON object"},
		{"json array", func() error {
			_, err := ParseJSON(strings.NewReader(`[1]`), []string{"loss"})
			return err
		}, "line 1"},
		{"two objects on a line", func() error {
			_, err := ParseJSON(strings.NewReader(`{"loss":"1"} {"loss":"2"}`), []string{"loss"})
			return err
		}, "line 1"},
		{"no names", func() error { _, err := ParseText(strings.NewReader(""), nil, nil); return err }, "no metric names"},
		{"empty name", func() error { _, err := ParseText(strings.NewReader(""), []string{"loss", " "}, nil); return err }, "metric name 1 is empty"},
		{"bad regexp", func() error { _, err := ParseText(strings.NewReader(""), []string{"loss"}, []string{"("}); return err }, "not a valid regular expression"},
		{"one group", func() error {
			_, err := ParseText(strings.NewReader(""), []string{"loss"}, []string{`{metricName: ([\w|-]+)}`})
			return err
		}, "has 1 capture groups"},
		{"value inside name", func() error {
			_, err := ParseText(strings.NewReader(""), []string{"loss"}, []string{`((\w+)=\d+)`})
			return err
		}, "second capture group is inside the first"},
		{"format", func() error { _, err := Parse(strings.NewReader(""), "XML", []string{"loss"}, nil); return err }, `metrics format "XML"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.run(); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestParseBound(t *testing.T) {
	var b strings.Builder
	n := MaxSeriesLen + 500
	for i := 1; i <= n; i++ {
		v := 10.0 + float64(i%7)
		switch i {
		case MaxSeriesLen + 100:
			v = 0.5 // the minimum, past the bound
		case MaxSeriesLen + 200:
			v = 99 // the maximum, past the bound
		}
		fmt.Fprintf(&b, "loss=%g acc=0.1\n", v)
	}
	obs, err := ParseText(strings.NewReader(b.String()), []string{"loss"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(obs) != MaxSeriesLen+3 {
		t.Fatalf("kept %d observations, want %d", len(obs), MaxSeriesLen+3)
	}
	for i := 0; i < MaxSeriesLen; i++ {
		if obs[i].Step != i+1 {
			t.Fatalf("observation %d has step %d, want the first %d kept in order", i, obs[i].Step, MaxSeriesLen)
		}
	}
	tail := []int{obs[MaxSeriesLen].Step, obs[MaxSeriesLen+1].Step, obs[MaxSeriesLen+2].Step}
	if diff := cmp.Diff([]int{MaxSeriesLen + 100, MaxSeriesLen + 200, n}, tail); diff != "" {
		t.Errorf("steps kept past the bound (-want +got):\n%s", diff)
	}
	want := []Metric{{Name: "loss", Min: "0.5", Max: "99", Latest: fmt.Sprintf("%g", 10.0+float64(n%7))}}
	if diff := cmp.Diff(want, Summarize(obs, []string{"loss"})); diff != "" {
		t.Errorf("Summarize of the bounded series (-want +got):\n%s", diff)
	}
}

func TestSummarize(t *testing.T) {
	obs := []Observation{
		{Name: "loss", Value: "0.50", Timestamp: ts("2024-01-01T00:00:02Z")},
		{Name: "loss", Value: "0.5", Timestamp: ts("2024-01-01T00:00:03Z")},
		{Name: "loss", Value: "0.9", Timestamp: ts("2024-01-01T00:00:01Z")},
		{Name: "loss", Value: "0.1", Timestamp: ts("2024-01-01T00:00:01Z")},
		{Name: "acc", Value: "nan-ish"},
		{Name: "other", Value: "1"},
	}
	got := Summarize(obs, []string{"loss", "acc", "f1"})
	want := []Metric{
		{Name: "loss", Min: "0.1", Max: "0.9", Latest: "0.5"},
		{Name: "acc", Min: UnavailableValue, Max: UnavailableValue, Latest: "nan-ish"},
		{Name: "f1", Min: UnavailableValue, Max: UnavailableValue, Latest: UnavailableValue},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Summarize (-want +got):\n%s", diff)
	}
}

func TestObjectiveValue(t *testing.T) {
	metrics := []Metric{
		{Name: "loss", Min: "0.1", Max: "0.9", Latest: "0.5"},
		{Name: "acc", Min: UnavailableValue, Max: UnavailableValue, Latest: "0.7"},
		{Name: "f1", Min: UnavailableValue, Max: UnavailableValue, Latest: UnavailableValue},
		{Name: "nan", Min: "NaN", Max: "NaN", Latest: "NaN"},
	}
	type result struct {
		V  float64
		OK bool
	}
	tests := []struct {
		name     string
		strategy Strategy
		want     result
	}{
		{"loss", StrategyMin, result{0.1, true}},
		{"loss", StrategyMax, result{0.9, true}},
		{"loss", StrategyLatest, result{0.5, true}},
		{"acc", StrategyMax, result{0.7, true}},
		{"f1", StrategyMin, result{}},
		{"nan", StrategyMin, result{}},
		{"missing", StrategyMin, result{}},
		{"loss", "avg", result{}},
	}
	for _, tt := range tests {
		v, ok := ObjectiveValue(metrics, tt.name, tt.strategy)
		if diff := cmp.Diff(tt.want, result{v, ok}); diff != "" {
			t.Errorf("ObjectiveValue(%s, %s) (-want +got):\n%s", tt.name, tt.strategy, diff)
		}
	}
}

func FuzzParseText(f *testing.F) {
	f.Add("loss=0.1 accuracy=.9\n2024-01-01T00:00:00Z loss=1e-3", `([\w|-]+)\s*=\s*([+-]?\d*(\.\d+)?([Ee][+-]?\d+)?)`)
	f.Add("{metricName: accuracy, metricValue: 0.9}", `{metricName: ([\w|-]+), metricValue: ((-?\d+)(\.\d+)?)}`)
	f.Fuzz(func(t *testing.T, log, filter string) {
		names := []string{"loss", "accuracy"}
		obs, err := ParseText(strings.NewReader(log), names, []string{filter})
		if err != nil {
			return
		}
		counts := map[string]int{}
		for _, o := range obs {
			if o.Name != "loss" && o.Name != "accuracy" {
				t.Fatalf("kept unrequested metric %q", o.Name)
			}
			if o.Value == "" {
				t.Fatalf("kept an empty value: %+v", o)
			}
			counts[o.Name]++
		}
		for n, c := range counts {
			if c > MaxSeriesLen+3 {
				t.Fatalf("kept %d observations of %s, over the bound", c, n)
			}
		}
		_ = Summarize(obs, names)
	})
}
