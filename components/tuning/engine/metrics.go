package engine

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"regexp/syntax"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Format is how a trial writes its metrics; the values are Katib's
// fileSystemPath.format.
type Format string

const (
	// TextFormat is lines matched by the metrics filters; Katib's default.
	TextFormat Format = "TEXT"
	// JSONFormat is one JSON object per line with a "timestamp" key and a key per metric.
	JSONFormat Format = "JSON"
)

const (
	// DefaultFilter is Katib's metrics filter used when metricsFormat is empty: it finds
	// name=value pairs such as loss=0.3, accuracy=.98 or score=-7.53e-05.
	DefaultFilter = `([\w|-]+)\s*=\s*([+-]?\d*(\.\d+)?([Ee][+-]?\d+)?)`
	// UnavailableValue is Katib's value of a metric that was never reported.
	UnavailableValue = "unavailable"
	// MaxLineBytes bounds a log line; longer lines are skipped whole, so one runaway
	// line (a progress bar, a dumped tensor) cannot exhaust memory.
	MaxLineBytes = 64 << 10
	// MaxSeriesLen bounds what the parsers keep of each metric: its first MaxSeriesLen
	// observations, which the early stopping rules read (their steps are the first
	// reports), plus, of the rest, the minimum, the maximum and the latest, which is what
	// Summarize reads, so summaries stay exact however long a trial reports.
	MaxSeriesLen = 1000
	// timestampKey is the JSON format's timestamp key.
	timestampKey = "timestamp"
)

// Observation is one reported value of a metric. Value is the reported text, kept as
// Katib keeps it so summaries show what the trial printed. Timestamp is zero when the
// line had none. Step is the 1-based count of this metric's reports up to this one.
type Observation struct {
	Name      string
	Value     string
	Timestamp time.Time
	Step      int
}

// Float returns the observation's value as a number; false when it is not one (such as
// "unavailable") or is NaN.
func (o Observation) Float() (float64, bool) {
	v, err := strconv.ParseFloat(o.Value, 64)
	if err != nil || math.IsNaN(v) {
		return 0, false
	}
	return v, true
}

// CompileFilters compiles the metricsCollectorSpec.source.filter.metricsFormat regular
// expressions, or DefaultFilter when there are none. Each must have at least two
// capture groups, the first matching the metric's name and the second, not inside the
// first, its value (Katib's rule of two top subexpressions; groups nested in those,
// like the default filter's, are fine).
func CompileFilters(filters []string) ([]*regexp.Regexp, error) {
	if len(filters) == 0 {
		filters = []string{DefaultFilter}
	}
	res := make([]*regexp.Regexp, 0, len(filters))
	for _, f := range filters {
		re, err := regexp.Compile(f)
		if err != nil {
			return nil, fmt.Errorf("metricsFormat %q is not a valid regular expression: %w", f, err)
		}
		if re.NumSubexp() < 2 {
			return nil, fmt.Errorf("metricsFormat %q has %d capture groups: it needs two, the metric name and then its value, e.g. %s", f, re.NumSubexp(), DefaultFilter)
		}
		tree, err := syntax.Parse(f, syntax.Perl)
		if err != nil {
			return nil, fmt.Errorf("metricsFormat %q: %w", f, err)
		}
		if g := findCapture(tree, 1); g != nil && findCapture(g, 2) != nil {
			return nil, fmt.Errorf("metricsFormat %q: its second capture group is inside the first; the first must match only the metric name and the second, after it, the value, e.g. %s", f, DefaultFilter)
		}
		res = append(res, re)
	}
	return res, nil
}

// findCapture returns the capture group numbered n within re, or nil.
func findCapture(re *syntax.Regexp, n int) *syntax.Regexp {
	if re.Op == syntax.OpCapture && re.Cap == n {
		return re
	}
	for _, s := range re.Sub {
		if g := findCapture(s, n); g != nil {
			return g
		}
	}
	return nil
}

// Parse reads a trial's metrics log in the given format, keeping only the named metrics
// (the objective first, then the additional ones); filters apply to TextFormat only.
func Parse(r io.Reader, format Format, names, filters []string) ([]Observation, error) {
	switch format {
	case TextFormat, "":
		return ParseText(r, names, filters)
	case JSONFormat:
		return ParseJSON(r, names)
	}
	return nil, fmt.Errorf("metrics format %q: want %s or %s", format, TextFormat, JSONFormat)
}

// ParseText reads metrics from log lines as Katib's StdOut and File collectors do. A
// line that mentions none of names is skipped; a line may start with an RFC 3339
// timestamp and a space (as `kubectl logs --timestamps` writes), which becomes the
// observations' Timestamp. Every match of every filter (see CompileFilters) whose name
// group, trimmed, is one of names and whose value group is not empty is an observation.
// Lines over MaxLineBytes are skipped and each metric is bounded by MaxSeriesLen.
func ParseText(r io.Reader, names, filters []string) ([]Observation, error) {
	if err := checkNames(names); err != nil {
		return nil, err
	}
	res, err := CompileFilters(filters)
	if err != nil {
		return nil, err
	}
	c := newCollector(names)
	err = eachLine(r, func(_ int, line string) error {
		if !mentionsAny(line, names) {
			return nil
		}
		var ts time.Time
		if first, _, ok := strings.Cut(line, " "); ok {
			if t, err := time.Parse(time.RFC3339Nano, first); err == nil {
				ts = t
			}
		}
		for _, re := range res {
			for _, m := range re.FindAllStringSubmatch(line, -1) {
				c.add(strings.TrimSpace(m[1]), strings.TrimSpace(m[2]), ts)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return c.observations(), nil
}

// ParseJSON reads metrics written one JSON object per line, Katib's JSON format:
// {"timestamp": "2024-01-02T03:04:05Z", "loss": "0.25"}. The timestamp is an RFC 3339
// string or a number of seconds since the Unix epoch; a missing or unreadable one
// leaves Timestamp zero. A metric's value is a string, as Katib requires, or a JSON
// number (kept as written); other values are skipped. Blank lines are skipped; any
// other line that is not a JSON object is an error naming its line number. Lines over
// MaxLineBytes are skipped and each metric is bounded by MaxSeriesLen.
func ParseJSON(r io.Reader, names []string) ([]Observation, error) {
	if err := checkNames(names); err != nil {
		return nil, err
	}
	c := newCollector(names)
	err := eachLine(r, func(n int, line string) error {
		if strings.TrimSpace(line) == "" {
			return nil
		}
		d := json.NewDecoder(strings.NewReader(line))
		d.UseNumber()
		var obj map[string]any
		if err := d.Decode(&obj); err != nil || obj == nil || d.More() {
			return fmt.Errorf("metrics line %d is not one JSON object: with format %s every line must be one, like {\"timestamp\": \"2024-01-02T03:04:05Z\", %q: \"0.5\"}", n, JSONFormat, names[0])
		}
		ts := jsonTimestamp(obj[timestampKey])
		for _, name := range names {
			switch v := obj[name].(type) {
			case string:
				c.add(name, strings.TrimSpace(v), ts)
			case json.Number:
				c.add(name, v.String(), ts)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return c.observations(), nil
}

// jsonTimestamp reads the JSON format's timestamp; zero when absent or unreadable.
func jsonTimestamp(v any) time.Time {
	switch t := v.(type) {
	case string:
		if ts, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(t)); err == nil {
			return ts
		}
	case json.Number:
		f, err := t.Float64()
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1e15 {
			return time.Time{}
		}
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(math.Round(frac*1e9))).UTC()
	}
	return time.Time{}
}

// checkNames rejects an empty metric name list or name.
func checkNames(names []string) error {
	if len(names) == 0 {
		return errors.New("parse metrics: no metric names: pass the objective metric name first, then any additional metric names")
	}
	for i, n := range names {
		if strings.TrimSpace(n) == "" {
			return fmt.Errorf("parse metrics: metric name %d is empty", i)
		}
	}
	return nil
}

// mentionsAny reports whether line contains any of names, Katib's cheap prefilter.
func mentionsAny(line string, names []string) bool {
	for _, n := range names {
		if strings.Contains(line, n) {
			return true
		}
	}
	return false
}

// eachLine calls fn with each line of r and its 1-based number, without the line end,
// skipping lines longer than MaxLineBytes without holding them in memory.
func eachLine(r io.Reader, fn func(n int, line string) error) error {
	br := bufio.NewReaderSize(r, MaxLineBytes+2)
	for n := 1; ; n++ {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
		} else if len(line) > 0 {
			line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
			if len(line) <= MaxLineBytes {
				if ferr := fn(n, string(line)); ferr != nil {
					return ferr
				}
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read metrics: %w", err)
		}
	}
}

// collector gathers observations under the MaxSeriesLen bound.
type collector struct {
	wanted map[string]*series
	kept   []entry
	seq    int
}

// entry is an observation with its position in the log.
type entry struct {
	seq int
	o   Observation
}

// series tracks one metric: its report count and, past MaxSeriesLen, the candidates
// Summarize could pick.
type series struct {
	count              int
	min, max, latest   *entry
	minValue, maxValue float64
}

// newCollector makes a collector keeping only names.
func newCollector(names []string) *collector {
	c := &collector{wanted: map[string]*series{}}
	for _, n := range names {
		c.wanted[n] = &series{}
	}
	return c
}

// add records one report of metric name, dropping unwanted names and empty values.
func (c *collector) add(name, value string, ts time.Time) {
	s, ok := c.wanted[name]
	if !ok || value == "" {
		return
	}
	c.seq++
	s.count++
	e := entry{seq: c.seq, o: Observation{Name: name, Value: value, Timestamp: ts, Step: s.count}}
	if s.count <= MaxSeriesLen {
		c.kept = append(c.kept, e)
		return
	}
	// The first minimum and maximum win ties and the last of equal latest timestamps
	// wins, as in Summarize, so these candidates are the ones it would pick.
	if v, err := strconv.ParseFloat(value, 64); err == nil {
		if s.min == nil || v < s.minValue {
			s.min, s.minValue = &e, v
		}
		if s.max == nil || v > s.maxValue {
			s.max, s.maxValue = &e, v
		}
	}
	if s.latest == nil || !s.latest.o.Timestamp.After(ts) {
		s.latest = &e
	}
}

// observations returns what was kept, in log order.
func (c *collector) observations() []Observation {
	all := c.kept
	for _, s := range c.wanted {
		seen := map[int]bool{}
		for _, e := range []*entry{s.min, s.max, s.latest} {
			if e != nil && !seen[e.seq] {
				seen[e.seq] = true
				all = append(all, *e)
			}
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].seq < all[j].seq })
	out := make([]Observation, len(all))
	for i, e := range all {
		out[i] = e.o
	}
	return out
}

// Metric is one metric's summary, Katib's Trial.status.observation.metrics entry: the
// reported text of its minimum, maximum and latest value, or UnavailableValue.
type Metric struct {
	Name   string
	Min    string
	Max    string
	Latest string
}

// Summarize summarizes observations for each of names, in that order, as Katib's trial
// controller does: Min and Max are the first reports of the least and greatest numeric
// value, Latest is the report with the latest timestamp (the last of equal ones, so
// the last report when there are no timestamps), whether numeric or not. A metric
// never reported, or (for Min and Max) never numeric, reads UnavailableValue.
func Summarize(observations []Observation, names []string) []Metric {
	type acc struct {
		m        Metric
		min, max float64
		numeric  bool
		latest   time.Time
		reported bool
	}
	accs := make(map[string]*acc, len(names))
	for _, n := range names {
		accs[n] = &acc{m: Metric{Name: n, Min: UnavailableValue, Max: UnavailableValue, Latest: UnavailableValue}}
	}
	for _, o := range observations {
		a, ok := accs[o.Name]
		if !ok {
			continue
		}
		if v, err := strconv.ParseFloat(o.Value, 64); err == nil {
			switch {
			case !a.numeric:
				a.numeric, a.min, a.max, a.m.Min, a.m.Max = true, v, v, o.Value, o.Value
			case v < a.min:
				a.min, a.m.Min = v, o.Value
			case v > a.max:
				a.max, a.m.Max = v, o.Value
			}
		}
		if !a.reported || !a.latest.After(o.Timestamp) {
			a.reported, a.latest, a.m.Latest = true, o.Timestamp, o.Value
		}
	}
	out := make([]Metric, 0, len(names))
	for _, n := range names {
		out = append(out, accs[n].m)
	}
	return out
}

// Strategy is how a metric's summary yields one value; the values are Katib's
// metricStrategies.
type Strategy string

const (
	// StrategyMin takes the minimum.
	StrategyMin Strategy = "min"
	// StrategyMax takes the maximum.
	StrategyMax Strategy = "max"
	// StrategyLatest takes the latest.
	StrategyLatest Strategy = "latest"
)

// ObjectiveValue returns metric name's value under strategy from a Summarize result,
// as Katib's experiment controller reads it: min and max fall back to the latest when
// no numeric value was reported. It returns false when the metric is absent or its
// value is unavailable, not a number or NaN, or strategy is unknown.
func ObjectiveValue(metrics []Metric, name string, strategy Strategy) (float64, bool) {
	for _, m := range metrics {
		if m.Name != name {
			continue
		}
		var s string
		switch strategy {
		case StrategyMin:
			s = m.Min
		case StrategyMax:
			s = m.Max
		case StrategyLatest:
			s = m.Latest
		default:
			return 0, false
		}
		if s == UnavailableValue {
			s = m.Latest
		}
		return Observation{Value: s}.Float()
	}
	return 0, false
}
