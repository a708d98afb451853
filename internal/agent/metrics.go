package agent

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"math"
	"os"
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

// FollowFile copies each complete line of the file at path to out as the file grows,
// from its start, until ctx ends; then it copies what remains (a last line without a
// newline too) and returns nil. The file may not exist yet; when it shrinks (truncated)
// or is replaced, it is read again from its start.
func FollowFile(ctx context.Context, out, errOut io.Writer, path string, interval time.Duration) error {
	var f *os.File
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	var offset int64
	var partial []byte
	buf := make([]byte, 64<<10)
	poll := func(final bool) error {
		if f == nil {
			var err error
			if f, err = os.Open(path); err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				return err
			}
			offset, partial = 0, nil
		}
		st, err := f.Stat()
		if err != nil {
			return err
		}
		if cur, err := os.Stat(path); err == nil && !os.SameFile(st, cur) {
			// replaced: finish the old file, then start on the new one
			if err := drain(f, &offset, &partial, buf, out); err != nil {
				return err
			}
			flushPartial(&partial, out)
			f.Close()
			if f, err = os.Open(path); err != nil {
				f = nil
				return nil
			}
			offset = 0
			if st, err = f.Stat(); err != nil {
				return err
			}
		}
		if st.Size() < offset {
			fmt.Fprintf(errOut, "%s was truncated: reading it from its start\n", path)
			offset, partial = 0, nil
		}
		if err := drain(f, &offset, &partial, buf, out); err != nil {
			return err
		}
		if final {
			flushPartial(&partial, out)
		}
		return nil
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

// drain reads f from *offset to its end, writing the complete lines to out and keeping
// the rest in *partial.
func drain(f *os.File, offset *int64, partial *[]byte, buf []byte, out io.Writer) error {
	for {
		n, err := f.ReadAt(buf, *offset)
		if n > 0 {
			*offset += int64(n)
			*partial = append(*partial, buf[:n]...)
			if i := bytes.LastIndexByte(*partial, '\n'); i >= 0 {
				if _, werr := out.Write((*partial)[:i+1]); werr != nil {
					return werr
				}
				*partial = append([]byte(nil), (*partial)[i+1:]...)
			}
		}
		if errors.Is(err, io.EOF) || (err == nil && n == 0) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func flushPartial(partial *[]byte, out io.Writer) {
	if len(*partial) > 0 {
		out.Write(append(*partial, '\n'))
		*partial = nil
	}
}

// EventFilePrefix starts the name of every TensorFlow event file.
const EventFilePrefix = "events.out.tfevents."

// maxRecord bounds a TFRecord's length: a longer one is taken as corruption.
const maxRecord = 256 << 20

// FollowEvents watches dir and its subdirectories for TensorFlow event files
// (events.out.tfevents.*) and prints every scalar summary in them as tag=value lines to
// out, and, for a tag with a directory such as train/loss, its last element too
// (loss=value), until ctx ends; then it reads what remains and returns nil. A record
// whose checksum is wrong is skipped with a message on errOut; a file whose framing is
// broken is read no further.
func FollowEvents(ctx context.Context, out, errOut io.Writer, dir string, interval time.Duration) error {
	files := map[string]*eventFile{}
	poll := func() {
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
			ef.read(out, errOut)
		}
	}
	for {
		poll()
		select {
		case <-ctx.Done():
			poll()
			return nil
		case <-time.After(interval):
		}
	}
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

// read prints the complete records after the offset.
func (e *eventFile) read(out, errOut io.Writer) {
	if e.broken {
		return
	}
	f, err := os.Open(e.path)
	if err != nil {
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return
	}
	if st.Size() < e.offset {
		e.offset = 0
	}
	var head [12]byte
	for {
		if _, err := f.ReadAt(head[:], e.offset); err != nil {
			return // incomplete: the writer is not done
		}
		n := binary.LittleEndian.Uint64(head[:8])
		if MaskedCRC(head[:8]) != binary.LittleEndian.Uint32(head[8:]) || n > maxRecord {
			fmt.Fprintf(errOut, "%s: corrupt record length at byte %d: reading this file no further\n", e.path, e.offset)
			e.broken = true
			return
		}
		rec := make([]byte, n+4)
		if _, err := f.ReadAt(rec, e.offset+12); err != nil {
			return
		}
		at := e.offset
		e.offset += 12 + int64(n) + 4
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
			fmt.Fprintf(out, "%s=%s\n", s.Tag, s.Value)
			if i := strings.LastIndexByte(s.Tag, '/'); i >= 0 && i < len(s.Tag)-1 {
				fmt.Fprintf(out, "%s=%s\n", s.Tag[i+1:], s.Value)
			}
		}
	}
}

// Scalar is one scalar summary value of an event.
type Scalar struct {
	Step  int64
	Tag   string
	Value string
}

// DecodeEvent reads the scalar summary values of a serialized tensorflow.Event: its step
// (field 2) and summary (5), whose values (1) each have a tag (1) and either a
// simple_value (2) or a scalar tensor (8) of DT_FLOAT or DT_DOUBLE.
func DecodeEvent(b []byte) ([]Scalar, error) {
	var step int64
	var summaries [][]byte
	err := fields(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) {
		switch {
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
				sc.Step = step
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

// decodeTensor reads a scalar TensorProto of DT_FLOAT or DT_DOUBLE: its first float_val
// (5) or double_val (6), packed or not, or its tensor_content (4).
func decodeTensor(b []byte) (float64, int, bool) {
	var dtype uint64
	var content []byte
	var floats []float32
	var doubles []float64
	_ = fields(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) {
		switch {
		case num == 1 && typ == protowire.VarintType:
			dtype = x
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
