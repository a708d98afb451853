package launch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// outputWaitDelay is how long the launcher reads a command's output after it exited
// (exec.Cmd.WaitDelay): a child it left in the background may hold the pipes.
var outputWaitDelay = 5 * time.Second

// Process is the component's command as the launcher runs it.
type Process struct {
	// Argv is the resolved command and its arguments.
	Argv []string
	// Env is its environment, "NAME=value".
	Env []string
	// Stdout and Stderr get its output; its stdin is empty.
	Stdout, Stderr io.Writer
	// Signals are to be forwarded to it while it runs.
	Signals <-chan os.Signal
}

// Exec runs p to its end and returns its exit code; an *ExitError when it cannot start.
type Exec func(ctx context.Context, p Process) (code int, err error)

// RunProcess runs p as a child process: stdin empty, output passed through, each signal
// of p.Signals forwarded, killed when ctx is done. Its code is the child's exit code, or
// 128+N when signal N killed it; a command that is not there is an *ExitError with code
// 127 (126 when it is there but cannot be executed), as a shell says.
func RunProcess(ctx context.Context, p Process) (int, error) {
	cmd := exec.Command(p.Argv[0], p.Argv[1:]...)
	cmd.Env, cmd.Stdout, cmd.Stderr = p.Env, p.Stdout, p.Stderr
	// output goes through pipes (the launcher keeps a copy): a process the command left
	// running in the background must not hold them open, and the task, forever
	cmd.WaitDelay = outputWaitDelay
	if err := cmd.Start(); err != nil {
		code := 126
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
			code = 127
		}
		return code, &ExitError{Code: code, Msg: fmt.Sprintf("command %q cannot run: %v", p.Argv[0], err)}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		ctxDone := ctx.Done()
		for {
			select {
			case s := <-p.Signals:
				_ = cmd.Process.Signal(s) // it may have exited meanwhile
			case <-ctxDone:
				_ = cmd.Process.Kill()
				ctxDone = nil
			case <-done:
				return
			}
		}
	})
	err := cmd.Wait()
	close(done)
	wg.Wait()
	if err == nil || errors.Is(err, exec.ErrWaitDelay) { // exit 0, its output pipes closed for it
		return 0, nil
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return 0, fmt.Errorf("wait for the command: %w", err)
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal()), nil
	}
	return ee.ExitCode(), nil
}

// tailWriter passes writes on and keeps their last bytes, for the last line of stderr.
type tailWriter struct {
	w    io.Writer
	mu   sync.Mutex
	tail []byte
}

const tailBytes = 1024

func (t *tailWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	t.tail = append(t.tail, p...)
	if len(t.tail) > tailBytes {
		t.tail = append(t.tail[:0], t.tail[len(t.tail)-tailBytes:]...)
	}
	t.mu.Unlock()
	return t.w.Write(p)
}

// keptLog keeps the last max bytes written to it, and how many came before them.
type keptLog struct {
	mu      sync.Mutex
	max     int
	buf     []byte
	dropped int64
}

func (k *keptLog) Write(p []byte) (int, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.buf = append(k.buf, p...)
	if over := len(k.buf) - k.max; over > 0 {
		k.dropped += int64(over)
		k.buf = append(k.buf[:0], k.buf[over:]...)
	}
	return len(p), nil
}

// bytes is what was kept, after a line saying how much was left out, if any.
func (k *keptLog) bytes() []byte {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.dropped == 0 {
		return append([]byte(nil), k.buf...)
	}
	head := fmt.Sprintf("[kfup: the first %d bytes of this log are not kept; the last %d follow]\n", k.dropped, len(k.buf))
	return append([]byte(head), k.buf...)
}

// lastLine is the last non-empty line written, trimmed.
func (t *tailWriter) lastLine() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := strings.Split(strings.TrimRight(string(t.tail), " \t\r\n"), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}
