package agent

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/kfup/kfup/internal/testio"
)

// waitFor polls until out holds want.
func waitFor(t *testing.T, out *testio.Buffer, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("output %q never held %q", out.String(), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestFollowFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "metrics.log")
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut testio.Buffer
	done := make(chan error, 1)
	go func() { done <- FollowFile(ctx, &out, &errOut, path, false, 10*time.Millisecond) }()

	time.Sleep(30 * time.Millisecond) // the file does not exist yet
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("loss=0.5\nacc")
	waitFor(t, &out, "loss=0.5\n")
	time.Sleep(30 * time.Millisecond)
	if strings.Contains(out.String(), "acc") {
		t.Fatalf("an incomplete line was copied: %q", out.String())
	}
	f.WriteString("uracy=0.7\n")
	waitFor(t, &out, "accuracy=0.7\n")
	f.Close()

	// truncated and rewritten: read again from the start
	if err := os.WriteFile(path, []byte("x=1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, &out, "x=1\n")
	if !strings.Contains(errOut.String(), "truncated") {
		t.Errorf("stderr %q: want a truncation notice", errOut.String())
	}

	// an unterminated last line is copied once the follower is stopped
	f, _ = os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("last=2")
	f.Close()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if want := "loss=0.5\naccuracy=0.7\nx=1\nlast=2\n"; out.String() != want {
		t.Fatalf("output %q, want %q", out.String(), want)
	}
}

// record frames data as a TFRecord.
func record(data []byte) []byte {
	var b []byte
	b = binary.LittleEndian.AppendUint64(b, uint64(len(data)))
	b = binary.LittleEndian.AppendUint32(b, MaskedCRC(b[:8]))
	b = append(b, data...)
	return binary.LittleEndian.AppendUint32(b, MaskedCRC(data))
}

// wallOf is the wall_time of the test events at step: 1.7e9 s + step × 1.5 s.
func wallOf(step int64) float64 { return 1.7e9 + 1.5*float64(step) }

// lineAt is FollowEvents' line for metric at the test events' step.
func lineAt(step int64, metric, value string) string {
	sec, frac := math.Modf(wallOf(step))
	return EventLine(time.Unix(int64(sec), int64(frac*1e9)), metric, value)
}

// event encodes a tensorflow.Event at step with a summary of the given values.
func event(step int64, values ...[]byte) []byte {
	var summary []byte
	for _, v := range values {
		summary = protowire.AppendTag(summary, 1, protowire.BytesType)
		summary = protowire.AppendBytes(summary, v)
	}
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.Fixed64Type) // wall_time
	b = protowire.AppendFixed64(b, math.Float64bits(wallOf(step)))
	b = protowire.AppendTag(b, 2, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(step))
	b = protowire.AppendTag(b, 5, protowire.BytesType)
	return protowire.AppendBytes(b, summary)
}

func simpleValue(tag string, v float32) []byte {
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendString(b, tag)
	b = protowire.AppendTag(b, 2, protowire.Fixed32Type)
	return protowire.AppendFixed32(b, math.Float32bits(v))
}

// tensorValue is a Summary.Value holding a scalar tensor (as tf.summary writes in TF2):
// packed double_val, or tensor_content when content is set.
func tensorValue(tag string, v float64, content bool) []byte {
	var t []byte
	if content {
		t = protowire.AppendTag(t, 1, protowire.VarintType)
		t = protowire.AppendVarint(t, dtFloat)
		t = protowire.AppendTag(t, 4, protowire.BytesType)
		t = protowire.AppendBytes(t, binary.LittleEndian.AppendUint32(nil, math.Float32bits(float32(v))))
	} else {
		t = protowire.AppendTag(t, 1, protowire.VarintType)
		t = protowire.AppendVarint(t, dtDouble)
		t = protowire.AppendTag(t, 6, protowire.BytesType)
		t = protowire.AppendBytes(t, binary.LittleEndian.AppendUint64(nil, math.Float64bits(v)))
	}
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendString(b, tag)
	b = protowire.AppendTag(b, 8, protowire.BytesType)
	return protowire.AppendBytes(b, t)
}

// vectorValue is a Summary.Value holding a DT_FLOAT tensor of shape [2] (a histogram or
// the like): not a scalar.
func vectorValue(tag string) []byte {
	var dim, shape, t []byte
	dim = protowire.AppendTag(dim, 1, protowire.VarintType)
	dim = protowire.AppendVarint(dim, 2)
	shape = protowire.AppendTag(shape, 2, protowire.BytesType)
	shape = protowire.AppendBytes(shape, dim)
	t = protowire.AppendTag(t, 1, protowire.VarintType)
	t = protowire.AppendVarint(t, dtFloat)
	t = protowire.AppendTag(t, 2, protowire.BytesType)
	t = protowire.AppendBytes(t, shape)
	t = protowire.AppendTag(t, 5, protowire.BytesType)
	t = protowire.AppendBytes(t, binary.LittleEndian.AppendUint64(nil, uint64(math.Float32bits(1))<<32|uint64(math.Float32bits(2))))
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendString(b, tag)
	b = protowire.AppendTag(b, 8, protowire.BytesType)
	return protowire.AppendBytes(b, t)
}

// TestFollowEvents reads event files the test encodes, as Katib names their values:
// "loss" is any tag starting so, "train/accuracy" an accuracy* tag of a file under train/.
func TestFollowEvents(t *testing.T) {
	dir := t.TempDir()
	var file []byte
	file = append(file, record(event(0))...) // file_version-like event, no summary
	file = append(file, record(event(1, simpleValue("loss", 0.25), simpleValue("train/accuracy", 0.5), simpleValue("accuracy", 0.6)))...)
	bad := record(event(2, simpleValue("loss", 9)))
	bad[len(bad)-1] ^= 0xff // wrong data checksum
	file = append(file, bad...)
	file = append(file, record(event(3, tensorValue("loss", 0.125, false), tensorValue("accuracy_top1", 0.75, true), vectorValue("loss")))...)
	last := record(event(4, simpleValue("loss", 0.1)))
	file = append(file, last[:10]...) // the writer is not done with it

	for _, d := range []string{"train", "test"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "train", EventFilePrefix+"1700000000.host")
	if err := os.WriteFile(path, file, 0o644); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "test", EventFilePrefix+"1700000000.host"), record(event(5, simpleValue("accuracy", 0.9))), 0o644)
	os.WriteFile(filepath.Join(dir, "notes.txt"), record(event(1, simpleValue("loss", 7))), 0o644)

	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut testio.Buffer
	done := make(chan error, 1)
	metrics := []string{"loss", "train/accuracy", "test/accuracy"}
	go func() { done <- FollowEvents(ctx, &out, &errOut, dir, metrics, 10*time.Millisecond) }()
	waitFor(t, &out, lineAt(3, "train/accuracy", "0.75"))
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.Write(last[10:])
	f.Close()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	want := lineAt(5, "test/accuracy", "0.9") + // test/ sorts first
		lineAt(1, "loss", "0.25") + lineAt(1, "train/accuracy", "0.6") +
		lineAt(3, "loss", "0.125") + lineAt(3, "train/accuracy", "0.75") +
		lineAt(4, "loss", "0.1")
	if out.String() != want {
		t.Fatalf("output\n%s\nwant\n%s", out.String(), want)
	}
	if !strings.Contains(errOut.String(), "wrong checksum") {
		t.Errorf("stderr %q: want the corrupt record reported", errOut.String())
	}
}

// TestFollowEventsEveryTag prints every scalar under its tag when no metric is named, and
// skips a record too large to hold scalars without reading it.
func TestFollowEventsEveryTag(t *testing.T) {
	dir := t.TempDir()
	huge := record(make([]byte, maxEventRecord+1))
	os.WriteFile(filepath.Join(dir, EventFilePrefix+"a"), append(huge, record(event(1, simpleValue("eval/f1", 0.5)))...), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errOut testio.Buffer
	if err := FollowEvents(ctx, &out, &errOut, dir, nil, time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if want := lineAt(1, "eval/f1", "0.5"); out.String() != want || errOut.String() != "" {
		t.Fatalf("output %q, stderr %q: want %q", out.String(), errOut.String(), want)
	}
}

func TestEventMatches(t *testing.T) {
	for _, c := range []struct {
		metric, tag, dir string
		want             bool
	}{
		{"accuracy", "accuracy", "/logs", true},
		{"accuracy", "accuracy_1", "/logs/train", true}, // a prefix, as Katib
		{"accuracy", "epoch_accuracy", "/logs", false},
		{"accuracy", "train/accuracy", "/logs", false},
		{"train/accuracy", "accuracy", "/logs/train", true},
		{"train/accuracy", "accuracy", "/logs/pretrain", true}, // the directory is a suffix, as Katib
		{"train/accuracy", "accuracy", "/logs/test", false},
		{"train/accuracy", "train/accuracy", "/logs/train", false},
		{"logs/train/accuracy", "accuracy", "/logs/train", true},
	} {
		if got := EventMatches(c.metric, c.tag, c.dir); got != c.want {
			t.Errorf("EventMatches(%q, %q, %q) = %v, want %v", c.metric, c.tag, c.dir, got, c.want)
		}
	}
}

// TestEventLineFilter checks that the controller's filter reads EventLine back whole and
// passes over FollowEvents' notes.
func TestEventLineFilter(t *testing.T) {
	re := regexp.MustCompile(EventLineFilter)
	line := strings.TrimSuffix(EventLine(time.Unix(1700000000, 5e8), "train/accuracy", "0.75"), "\n")
	if m := re.FindStringSubmatch(line); m == nil || m[1] != "train/accuracy" || m[2] != "0.75" {
		t.Fatalf("%q: matches %q", line, m)
	}
	for _, note := range []string{
		"/logs/run=1/" + EventFilePrefix + "a: record at byte 12 has a wrong checksum: skipped",
		"loss=0.5",
	} {
		if re.MatchString(note) {
			t.Errorf("%q matches the filter", note)
		}
	}
}

// TestFollowFileJSON copies only JSON objects, and writes its notes as JSON objects.
func TestFollowFileJSON(t *testing.T) {
	path := filepath.Join(t.TempDir(), "metrics.json")
	long := `{"loss": "` + strings.Repeat("9", MaxLineBytes) + `"}`
	os.WriteFile(path, []byte("{\"loss\": \"0.5\", \"timestamp\": 1700000000}\nnot json\n[1]\n"+long+"\n{\"loss\": \"0.25\"}\n{\"loss\""), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut testio.Buffer
	done := make(chan error, 1)
	go func() { done <- FollowFile(ctx, &out, &errOut, path, true, 10*time.Millisecond) }()
	waitFor(t, &out, `{"loss": "0.25"}`)
	os.WriteFile(path, []byte(`{"loss": "0.125"}`+"\n"), 0o644) // truncated
	waitFor(t, &out, `{"loss": "0.125"}`)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if want := "{\"loss\": \"0.5\", \"timestamp\": 1700000000}\n{\"loss\": \"0.25\"}\n{\"loss\": \"0.125\"}\n"; out.String() != want {
		t.Fatalf("output %q, want %q", out.String(), want)
	}
	for _, l := range strings.Split(strings.TrimSpace(errOut.String()), "\n") {
		if !json.Valid([]byte(l)) || !strings.Contains(l, "truncated") {
			t.Errorf("stderr line %q: want a JSON note of the truncation", l)
		}
	}
}

func TestFollowEventsStopsAtBrokenFraming(t *testing.T) {
	dir := t.TempDir()
	rec := record(event(1, simpleValue("loss", 1)))
	broken := append([]byte(nil), rec...)
	broken[9] ^= 0xff // wrong length checksum
	os.WriteFile(filepath.Join(dir, EventFilePrefix+"a"), append(append(rec, broken...), rec...), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errOut testio.Buffer
	if err := FollowEvents(ctx, &out, &errOut, dir, []string{"loss"}, time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if out.String() != lineAt(1, "loss", "1") || !strings.Contains(errOut.String(), "corrupt record length") {
		t.Fatalf("output %q, stderr %q: want one record, then the broken framing reported", out.String(), errOut.String())
	}
}

// TestFollowFileReplaced finishes a file renamed away and reads its replacement from its
// start; a line over MaxLineBytes is dropped whole.
func TestFollowFileReplaced(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "metrics.log")
	os.WriteFile(path, []byte("loss=1\n"+strings.Repeat("x", MaxLineBytes+1)+"\nloss=2\n"), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut testio.Buffer
	done := make(chan error, 1)
	go func() { done <- FollowFile(ctx, &out, &errOut, path, false, 10*time.Millisecond) }()
	waitFor(t, &out, "loss=2\n")
	next := filepath.Join(dir, "next.log")
	os.WriteFile(next, []byte("loss=3 and a longer line than before\n"), 0o644)
	if err := os.Rename(next, path); err != nil {
		t.Fatal(err)
	}
	waitFor(t, &out, "loss=3")
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if want := "loss=1\nloss=2\nloss=3 and a longer line than before\n"; out.String() != want {
		t.Fatalf("output %q, want %q", out.String(), want)
	}
	if !strings.Contains(errOut.String(), "replaced") {
		t.Errorf("stderr %q: want a note of the replacement", errOut.String())
	}
}
