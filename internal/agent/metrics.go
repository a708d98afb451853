package agent

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"math"
	"os"
	pathpkg "path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

// The tuning controller's File and TensorFlowEvent metrics collectors run
// `kfup agent metrics` as a native sidecar of a trial's primary container: it turns what
// the training code writes into its own standard output, which the controller reads with
// pods/log as it reads the primary container's for the StdOut collector.

// MaxLineBytes bounds a line of a metrics file: a longer one is dropped whole (the
// controller's parser skips lines over 64 KiB too), so a runaway line never fills memory.
const MaxLineBytes = 64 << 10

// noteKey is the key of the notes FollowFile writes in JSON mode.
const noteKey = "kfup-metrics"

// FollowFile copies each complete line of the file at path to out as the file grows,
// from its start, until ctx ends; then it copies what remains (a last line without a
// newline too) and returns nil. The file may not exist yet (or not be readable yet:
// noted on errOut); when it shrinks (truncated) or is replaced, it is read again from
// its start. With jsonLines (Katib's JSON format)
// only lines that are JSON objects are copied, and its notes on errOut are JSON objects
// too ({"kfup-metrics": "..."}), since the controller reads both streams of this
// container's log as JSON lines.
func FollowFile(ctx context.Context, out, errOut io.Writer, path string, jsonLines bool, interval time.Duration) error {
	l := &lines{out: out, jsonLines: jsonLines}
	var last string
	note := func(msg string) { // once while it repeats
		if msg == last {
			return
		}
		last = msg
		if jsonLines {
			b, _ := json.Marshal(map[string]string{noteKey: msg})
			fmt.Fprintf(errOut, "%s\n", b)
			return
		}
		fmt.Fprintln(errOut, msg)
	}
	var f *os.File
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	var offset int64
	buf := make([]byte, 64<<10)
	poll := func(final bool) error {
		if f == nil {
			var err error
			if f, err = os.Open(path); err != nil {
				f = nil
				if !errors.Is(err, fs.ErrNotExist) {
					// such as permission denied: say so, and look again (exiting
					// would only have the kubelet restart the sidecar)
					note(err.Error() + ": retrying")
				}
				return nil
			}
			offset = 0
			l.reset()
		}
		st, err := f.Stat()
		if err != nil {
			return err
		}
		if cur, err := os.Stat(path); err == nil && !os.SameFile(st, cur) {
			// replaced: finish the old file, then start on the new one
			if err := drain(f, &offset, buf, l); err != nil {
				return err
			}
			l.end()
			f.Close()
			if f, err = os.Open(path); err != nil {
				f = nil
				return nil
			}
			offset = 0
			if st, err = f.Stat(); err != nil {
				return err
			}
			note(path + " was replaced: reading the new file from its start")
		}
		if st.Size() < offset {
			note(path + " was truncated: reading it from its start")
			offset = 0
			l.reset()
		}
		if err := drain(f, &offset, buf, l); err != nil {
			return err
		}
		if final {
			l.end()
		}
		return l.err
	}
	for {
		if err := poll(false); err != nil {
			return fmt.Errorf("follow %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			if err := poll(true); err != nil {
				return fmt.Errorf("follow %s: %w", path, err)
			}
			return nil
		case <-time.After(interval):
		}
	}
}

// drain reads f from *offset to its end into l.
func drain(f *os.File, offset *int64, buf []byte, l *lines) error {
	for {
		n, err := f.ReadAt(buf, *offset)
		*offset += int64(n)
		l.write(buf[:n])
		if errors.Is(err, io.EOF) || (err == nil && n == 0) {
			return l.err
		}
		if err != nil {
			return err
		}
	}
}

// lines splits what is read into lines and copies those to keep to out.
type lines struct {
	out       io.Writer
	jsonLines bool
	cur       []byte // the line read so far, without its newline
	long      bool   // cur passed MaxLineBytes: the line is being dropped
	err       error  // the first write error
}

func (l *lines) write(b []byte) {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		chunk := b
		if i >= 0 {
			chunk = b[:i]
		}
		if !l.long {
			if len(l.cur)+len(chunk) > MaxLineBytes {
				l.cur, l.long = l.cur[:0], true
			} else {
				l.cur = append(l.cur, chunk...)
			}
		}
		if i < 0 {
			return
		}
		l.end()
		b = b[i+1:]
	}
}

// end copies the line read so far, unless dropped, and starts the next.
func (l *lines) end() {
	line, long := l.cur, l.long
	l.cur, l.long = l.cur[:0], false
	if long || len(line) == 0 {
		return
	}
	if l.jsonLines {
		t := bytes.TrimSpace(line)
		if len(t) == 0 || t[0] != '{' || !json.Valid(t) {
			return // the controller's JSON parser takes nothing but one object a line
		}
	}
	if l.err == nil {
		_, l.err = l.out.Write(append(line, '\n'))
	}
}

// reset drops a line begun before the file was truncated.
func (l *lines) reset() { l.cur, l.long = l.cur[:0], false }

// EventFilePrefix starts the name of every TensorFlow event file.
const EventFilePrefix = "events.out.tfevents."

// maxEventRecord bounds the records read: a longer one (a graph, an image) holds no
// scalar worth its memory and is skipped unread.
const maxEventRecord = 4 << 20

// EventLineFilter is the metricsFormat that reads the lines FollowEvents prints,
// "<RFC 3339 wall time> <metric>=<value>": the first group is the metric's name (which
// may hold '/'), the second its value. The time first keeps FollowEvents' notes
// (file: record at byte N ...) from ever matching.
const EventLineFilter = `^\d{4}-\d\d-\d\dT\S+ (.+)=([^=\s]*)$`

// EventLine is the line FollowEvents prints for one value of metric at wall time.
func EventLine(wall time.Time, metric, value string) string {
	return wall.UTC().Format(time.RFC3339Nano) + " " + metric + "=" + value + "\n"
}

// FollowEvents watches dir and its subdirectories for TensorFlow event files
// (events.out.tfevents.*) and prints each scalar summary in them that one of metrics
// names, as EventLine, until ctx ends; then it reads what remains and returns nil.
// Metrics name values as Katib's TensorFlowEvent collector does (see EventMatches):
// "accuracy" is any tag starting so, "train/accuracy" such a tag in an event file under
// a directory ending in train. Without metrics every scalar is printed under its tag. A
// record whose data checksum is wrong is skipped with a note on errOut; a file whose
// framing (a length checksum) is broken is read no further.
func FollowEvents(ctx context.Context, out, errOut io.Writer, dir string, metrics []string, interval time.Duration) error {
	files := map[string]*eventFile{}
	poll := func() error {
		var paths []string
		_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasPrefix(d.Name(), EventFilePrefix) {
				paths = append(paths, p)
			}
			return nil
		})
		slices.Sort(paths)
		for _, p := range paths {
			ef := files[p]
			if ef == nil {
				ef = &eventFile{path: p}
				files[p] = ef
			}
			if err := ef.read(out, errOut, metrics); err != nil {
				return err
			}
		}
		return nil
	}
	for {
		if err := poll(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return poll()
		case <-time.After(interval):
		}
	}
}

// EventMatches is Katib's rule for whether a scalar tagged tag in an event file of
// directory fileDir reports metric: the tag starts with the metric's last element
// ("accuracy" of "train/accuracy"), and, when the metric has a directory ("train"),
// fileDir ends with it (as strings: "pretrain" ends with "train" too). So a tag that
// itself holds a '/' ("train/accuracy") is reported only under a metric whose last
// element starts it ("x/train" in a directory ending x), never under "train/accuracy".
func EventMatches(metric, tag, fileDir string) bool {
	base := metric
	if i := strings.LastIndexByte(metric, '/'); i >= 0 {
		base = metric[i+1:]
		if !strings.HasSuffix(fileDir, pathpkg.Dir(metric)) {
			return false
		}
	}
	return strings.HasPrefix(tag, base)
}

// eventFile is how far one event file has been read.
type eventFile struct {
	path   string
	offset int64
	broken bool
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// MaskedCRC is TFRecord's checksum: crc32c rotated right by 15 bits plus 0xa282ead8.
func MaskedCRC(b []byte) uint32 {
	c := crc32.Checksum(b, castagnoli)
	return (c>>15 | c<<17) + 0xa282ead8
}

// read prints the complete records after the offset; its error is out's.
func (e *eventFile) read(out, errOut io.Writer, metrics []string) error {
	if e.broken {
		return nil
	}
	f, err := os.Open(e.path)
	if err != nil {
		return nil
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil
	}
	if st.Size() < e.offset {
		fmt.Fprintf(errOut, "%s was truncated: reading it from its start\n", e.path)
		e.offset = 0
	}
	dir := filepath.Dir(e.path)
	var head [12]byte
	for {
		if _, err := f.ReadAt(head[:], e.offset); err != nil {
			return nil // incomplete: the writer is not done
		}
		n := binary.LittleEndian.Uint64(head[:8])
		if MaskedCRC(head[:8]) != binary.LittleEndian.Uint32(head[8:]) || n > math.MaxInt64/2 {
			fmt.Fprintf(errOut, "%s: corrupt record length at byte %d: reading this file no further\n", e.path, e.offset)
			e.broken = true
			return nil
		}
		at, end := e.offset, e.offset+12+int64(n)+4
		if n > maxEventRecord {
			if end > st.Size() {
				if st, err = f.Stat(); err != nil || end > st.Size() {
					return nil
				}
			}
			e.offset = end
			continue
		}
		rec := make([]byte, n+4)
		if _, err := f.ReadAt(rec, e.offset+12); err != nil {
			return nil
		}
		e.offset = end
		data := rec[:n]
		if MaskedCRC(data) != binary.LittleEndian.Uint32(rec[n:]) {
			fmt.Fprintf(errOut, "%s: record at byte %d has a wrong checksum: skipped\n", e.path, at)
			continue
		}
		scalars, err := DecodeEvent(data)
		if err != nil {
			fmt.Fprintf(errOut, "%s: record at byte %d: %v: skipped\n", e.path, at, err)
			continue
		}
		for _, s := range scalars {
			for _, m := range metrics {
				if EventMatches(m, s.Tag, dir) {
					if _, err := io.WriteString(out, EventLine(s.Wall, m, s.Value)); err != nil {
						return err
					}
				}
			}
			if len(metrics) == 0 {
				if _, err := io.WriteString(out, EventLine(s.Wall, s.Tag, s.Value)); err != nil {
					return err
				}
			}
		}
	}
}

// Scalar is one scalar summary value of an event.
type Scalar struct {
	// Wall is the event's wall_time (field 1).
	Wall  time.Time
	Step  int64
	Tag   string
	Value string
}

// DecodeEvent reads the scalar summary values of a serialized tensorflow.Event: its
// wall_time (field 1), step (2) and summary (5), whose values (1) each have a tag (1) and either a
// simple_value (2) or a scalar tensor (8) of DT_FLOAT or DT_DOUBLE.
func DecodeEvent(b []byte) ([]Scalar, error) {
	var step int64
	var wall time.Time
	var summaries [][]byte
	err := fields(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) {
		switch {
		case num == 1 && typ == protowire.Fixed64Type:
			if w := math.Float64frombits(x); !math.IsNaN(w) && !math.IsInf(w, 0) && math.Abs(w) < 1e15 {
				sec, frac := math.Modf(w)
				wall = time.Unix(int64(sec), int64(frac*1e9)).UTC()
			}
		case num == 2 && typ == protowire.VarintType:
			step = int64(x)
		case num == 5 && typ == protowire.BytesType:
			summaries = append(summaries, v)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("event: %w", err)
	}
	var out []Scalar
	for _, s := range summaries {
		err := fields(s, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) {
			if num != 1 || typ != protowire.BytesType {
				return
			}
			if sc, ok := decodeValue(v); ok {
				sc.Step, sc.Wall = step, wall
				out = append(out, sc)
			}
		})
		if err != nil {
			return nil, fmt.Errorf("summary: %w", err)
		}
	}
	return out, nil
}

// decodeValue reads a Summary.Value; ok is false when it holds no scalar.
func decodeValue(b []byte) (Scalar, bool) {
	var tag string
	var value *float64
	var bits int
	_ = fields(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) {
		switch {
		case num == 1 && typ == protowire.BytesType:
			tag = string(v)
		case num == 2 && typ == protowire.Fixed32Type:
			f := float64(math.Float32frombits(uint32(x)))
			value, bits = &f, 32
		case num == 8 && typ == protowire.BytesType:
			if f, b, ok := decodeTensor(v); ok {
				value, bits = &f, b
			}
		}
	})
	if tag == "" || value == nil {
		return Scalar{}, false
	}
	return Scalar{Tag: tag, Value: strconv.FormatFloat(*value, 'g', -1, bits)}, true
}

// TensorProto dtypes kfup reads.
const (
	dtFloat  = 1
	dtDouble = 2
)

// decodeTensor reads a TensorProto of DT_FLOAT or DT_DOUBLE holding one element (its
// tensor_shape (2) has no dimension other than 1): its float_val (5) or double_val (6),
// packed or not, or its tensor_content (4). Histograms and other tensors are not read.
func decodeTensor(b []byte) (float64, int, bool) {
	var dtype uint64
	var content []byte
	one := true
	var floats []float32
	var doubles []float64
	_ = fields(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) {
		switch {
		case num == 1 && typ == protowire.VarintType:
			dtype = x
		case num == 2 && typ == protowire.BytesType:
			one = one && oneElement(v)
		case num == 4 && typ == protowire.BytesType:
			content = v
		case num == 5 && typ == protowire.Fixed32Type:
			floats = append(floats, math.Float32frombits(uint32(x)))
		case num == 5 && typ == protowire.BytesType:
			for ; len(v) >= 4; v = v[4:] {
				floats = append(floats, math.Float32frombits(binary.LittleEndian.Uint32(v)))
			}
		case num == 6 && typ == protowire.Fixed64Type:
			doubles = append(doubles, math.Float64frombits(x))
		case num == 6 && typ == protowire.BytesType:
			for ; len(v) >= 8; v = v[8:] {
				doubles = append(doubles, math.Float64frombits(binary.LittleEndian.Uint64(v)))
			}
		}
	})
	if !one {
		return 0, 0, false
	}
	switch dtype {
	case dtFloat:
		if len(floats) > 0 {
			return float64(floats[0]), 32, true
		}
		if len(content) == 4 {
			return float64(math.Float32frombits(binary.LittleEndian.Uint32(content))), 32, true
		}
	case dtDouble:
		if len(doubles) > 0 {
			return doubles[0], 64, true
		}
		if len(content) == 8 {
			return math.Float64frombits(binary.LittleEndian.Uint64(content)), 64, true
		}
	}
	return 0, 0, false
}

// oneElement reports whether a TensorShapeProto describes one element: every dim (2)
// of size (1) 1, and not unknown_rank (3).
func oneElement(shape []byte) bool {
	one := true
	err := fields(shape, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) {
		switch {
		case num == 2 && typ == protowire.BytesType:
			size := uint64(0) // a dim without a size has size 0
			_ = fields(v, func(num protowire.Number, typ protowire.Type, _ []byte, x uint64) {
				if num == 1 && typ == protowire.VarintType {
					size = x
				}
			})
			one = one && size == 1
		case num == 3 && typ == protowire.VarintType && x != 0:
			one = false
		}
	})
	return one && err == nil
}

// fields calls each for every field of the message b: v holds a length-delimited field's
// bytes, x a varint's or fixed field's value.
func fields(b []byte, each func(num protowire.Number, typ protowire.Type, v []byte, x uint64)) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		var v []byte
		var x uint64
		switch typ {
		case protowire.VarintType:
			x, n = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			var y uint32
			y, n = protowire.ConsumeFixed32(b)
			x = uint64(y)
		case protowire.Fixed64Type:
			x, n = protowire.ConsumeFixed64(b)
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return protowire.ParseError(n)
		}
		each(num, typ, v, x)
		b = b[n:]
	}
	return nil
}
