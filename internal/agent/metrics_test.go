package agent

import (
	"bytes"
	"context"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

// syncBuffer is a bytes.Buffer safe to read while a follower writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor polls until out holds want.
func waitFor(t *testing.T, out *syncBuffer, want string) {
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
	var out, errOut syncBuffer
	done := make(chan error, 1)
	go func() { done <- FollowFile(ctx, &out, &errOut, path, 10*time.Millisecond) }()

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

// event encodes a tensorflow.Event at step with a summary of the given values.
func event(step int64, values ...[]byte) []byte {
	var summary []byte
	for _, v := range values {
		summary = protowire.AppendTag(summary, 1, protowire.BytesType)
		summary = protowire.AppendBytes(summary, v)
	}
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.Fixed64Type) // wall_time
	b = protowire.AppendFixed64(b, math.Float64bits(1.7e9))
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

func TestFollowEvents(t *testing.T) {
	dir := t.TempDir()
	var file []byte
	file = append(file, record(event(0))...) // file_version-like event, no summary
	file = append(file, record(event(1, simpleValue("loss", 0.25), simpleValue("train/accuracy", 0.5)))...)
	bad := record(event(2, simpleValue("loss", 9)))
	bad[len(bad)-1] ^= 0xff // wrong data checksum
	file = append(file, bad...)
	file = append(file, record(event(3, tensorValue("loss", 0.125, false), tensorValue("eval/f1", 0.75, true)))...)
	last := record(event(4, simpleValue("loss", 0.1)))
	file = append(file, last[:10]...) // the writer is not done with it

	if err := os.MkdirAll(filepath.Join(dir, "train"), 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "train", EventFilePrefix+"1700000000.host")
	if err := os.WriteFile(path, file, 0o644); err != nil {
		t.Fatal(err)
	}
	ignored := filepath.Join(dir, "notes.txt")
	os.WriteFile(ignored, record(event(1, simpleValue("loss", 7))), 0o644)

	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut syncBuffer
	done := make(chan error, 1)
	go func() { done <- FollowEvents(ctx, &out, &errOut, dir, 10*time.Millisecond) }()
	waitFor(t, &out, "eval/f1=0.75\n")
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.Write(last[10:])
	f.Close()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	want := "loss=0.25\ntrain/accuracy=0.5\naccuracy=0.5\nloss=0.125\neval/f1=0.75\nf1=0.75\nloss=0.1\n"
	if out.String() != want {
		t.Fatalf("output %q, want %q", out.String(), want)
	}
	if !strings.Contains(errOut.String(), "wrong checksum") {
		t.Errorf("stderr %q: want the corrupt record reported", errOut.String())
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
	var out, errOut syncBuffer
	if err := FollowEvents(ctx, &out, &errOut, dir, time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if out.String() != "loss=1\n" || !strings.Contains(errOut.String(), "corrupt record length") {
		t.Fatalf("output %q, stderr %q: want one record, then the broken framing reported", out.String(), errOut.String())
	}
}
