package engine

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kfup/kfup/internal/agent"
)

// TestPushLogBound pushes far more reports than the bound keeps, in several calls: the
// log keeps each metric's first MaxSeriesLen reports and at most three more, its summary
// equals the summary of every report, and it survives encoding.
func TestPushLogBound(t *testing.T) {
	at := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	var all []Observation
	l := &PushLog{}
	for call := 0; call < 30; call++ {
		var batch []Observation
		for i := 0; i < 100; i++ {
			n := call*100 + i
			batch = append(batch,
				Observation{Name: "loss", Value: fmt.Sprint(float64((n*7919)%1009) / 10), Timestamp: at.Add(time.Duration(n) * time.Second)},
				Observation{Name: "accuracy", Value: fmt.Sprint(n), Timestamp: at.Add(time.Duration(n) * time.Second)})
		}
		all = append(all, batch...)
		kept, beyond := l.Encode()
		var err error
		if l, err = DecodePushLog(kept, beyond); err != nil {
			t.Fatal(err)
		}
		l.Add(batch...)
	}
	count := map[string]int{}
	for _, o := range l.Kept {
		count[o.Name]++
	}
	if count["loss"] != MaxSeriesLen || count["accuracy"] != MaxSeriesLen || len(l.Beyond) > 6 {
		t.Fatalf("kept %v and %d past the bound: want %d of each and at most 6", count, len(l.Beyond), MaxSeriesLen)
	}
	names := []string{"loss", "accuracy"}
	if diff := cmp.Diff(Summarize(all, names), Summarize(l.Observations(), names)); diff != "" {
		t.Errorf("summary (-every report +kept):\n%s", diff)
	}
	if got := l.Observations()[0]; got.Step != 1 || got.Name != "loss" || !got.Timestamp.Equal(at) {
		t.Errorf("first observation %+v", got)
	}
}

// TestPushLogBytes: long names fill MaxPushLogBytes before MaxSeriesLen; past it the
// extremes are still kept.
func TestPushLogBytes(t *testing.T) {
	name := strings.Repeat("m", 128)
	l := &PushLog{}
	var all []Observation
	for i := 0; i < 5000; i++ {
		o := Observation{Name: fmt.Sprintf("%s%d", name[:120], i%8), Value: fmt.Sprint(i % 97), Timestamp: time.Unix(int64(i), 0)}
		all = append(all, o)
		l.Add(o)
	}
	kept, beyond := l.Encode()
	if len(kept) > MaxPushLogBytes || len(beyond) > 8*3*200 {
		t.Fatalf("encoded %d bytes kept, %d past the bound", len(kept), len(beyond))
	}
	var names []string
	for i := 0; i < 8; i++ {
		names = append(names, fmt.Sprintf("%s%d", name[:120], i))
	}
	if diff := cmp.Diff(Summarize(all, names), Summarize(l.Observations(), names)); diff != "" {
		t.Errorf("summary (-every report +kept):\n%s", diff)
	}
}

func TestDecodePushLogRefusesGarbage(t *testing.T) {
	if _, err := DecodePushLog("not json\n", ""); err == nil {
		t.Error("a line that is not JSON was accepted")
	}
	if _, err := DecodePushLog(`{"t":"yesterday","n":"loss","v":"1"}`, ""); err == nil {
		t.Error("a bad timestamp was accepted")
	}
}

func TestInjectTrialName(t *testing.T) {
	job := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "batch/v1", "kind": "Job",
		"spec": map[string]any{"template": map[string]any{"spec": map[string]any{
			"containers": []any{
				map[string]any{"name": "main", "image": "x", "env": []any{
					map[string]any{"name": "A", "value": "1"}, map[string]any{"name": agent.TrialNameEnv, "value": "stale"}}},
				map[string]any{"name": "other", "image": "y"},
			},
		}}},
	}}
	n, err := InjectTrialName(job, "main", "exp-abcdefgh")
	if err != nil || n != 1 {
		t.Fatalf("InjectTrialName = %d, %v", n, err)
	}
	cs, _, _ := unstructured.NestedSlice(job.Object, "spec", "template", "spec", "containers")
	want := []any{map[string]any{"name": "A", "value": "1"}, map[string]any{"name": agent.TrialNameEnv, "value": "exp-abcdefgh"}}
	if diff := cmp.Diff(want, cs[0].(map[string]any)["env"]); diff != "" {
		t.Errorf("primary env (-want +got):\n%s", diff)
	}
	if _, ok := cs[1].(map[string]any)["env"]; ok {
		t.Errorf("other container got env: %v", cs[1])
	}
	if n, _ := InjectTrialName(job, "missing", "x"); n != 0 {
		t.Errorf("a template without the primary was changed")
	}
}
