package run

import (
	"bytes"
	"fmt"
	"io"
	"sync"
)

// Mux interleaves the logs of a job's replicas on one writer, a whole line at a time,
// each line prefixed with its replica ("[worker-1] "), however the streams' reads cut
// the lines.
type Mux struct {
	mu  sync.Mutex
	out io.Writer
}

// NewMux returns a Mux writing to out.
func NewMux(out io.Writer) *Mux { return &Mux{out: out} }

// Line writes one line with prefix, as a whole.
func (m *Mux) Line(prefix, format string, args ...any) {
	m.mu.Lock()
	defer m.mu.Unlock()
	fmt.Fprintf(m.out, "[%s] %s\n", prefix, fmt.Sprintf(format, args...))
}

// Writer returns a writer whose complete lines go out with prefix; Close writes what is
// left of a last line without a newline.
func (m *Mux) Writer(prefix string) io.WriteCloser {
	return &lineWriter{m: m, prefix: []byte("[" + prefix + "] ")}
}

type lineWriter struct {
	m      *Mux
	prefix []byte
	buf    []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	i := bytes.LastIndexByte(w.buf, '\n')
	if i < 0 {
		return len(p), nil
	}
	var out bytes.Buffer
	for _, line := range bytes.SplitAfter(w.buf[:i+1], []byte{'\n'}) {
		if len(line) > 0 {
			out.Write(w.prefix)
			out.Write(line)
		}
	}
	w.buf = append(w.buf[:0], w.buf[i+1:]...)
	w.m.mu.Lock()
	defer w.m.mu.Unlock()
	if _, err := w.m.out.Write(out.Bytes()); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (w *lineWriter) Close() error {
	if len(w.buf) == 0 {
		return nil
	}
	_, err := w.Write([]byte{'\n'})
	return err
}
