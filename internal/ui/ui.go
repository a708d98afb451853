// Package ui prints kfup's progress for people: kind-style step lines ("✓ Creating node (11.2s)")
// on stderr, a spinner only when stderr is a terminal, colour unless NO_COLOR is set, and
// debug lines under -v N. Results never go through this package; commands write them to stdout.
package ui

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// Options configures a Printer.
type Options struct {
	// Verbosity is the -v level: 0 shows steps, warnings and errors; higher shows debug lines.
	Verbosity int
	// Quiet hides steps and info lines; warnings and errors still show.
	Quiet bool
	// Color turns on ANSI colours.
	Color bool
	// Spinner animates running steps in place; only sensible on a terminal.
	Spinner bool
}

// DetectOptions returns Options for w: spinner and colour only on a terminal, colour off
// when NO_COLOR is set (https://no-color.org).
func DetectOptions(w io.Writer, verbosity int, quiet bool) Options {
	tty := false
	if f, ok := w.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	_, noColor := os.LookupEnv("NO_COLOR")
	return Options{Verbosity: verbosity, Quiet: quiet, Color: tty && !noColor, Spinner: tty && !quiet}
}

// Printer writes status lines. It is safe for concurrent use; concurrent steps each get
// their own line when they end.
type Printer struct {
	mu   sync.Mutex
	w    io.Writer
	opts Options
	now  func() time.Time
	live *Step // the step the spinner animates, if any
}

// New returns a Printer writing to w.
func New(w io.Writer, opts Options) *Printer {
	return &Printer{w: w, opts: opts, now: time.Now}
}

// Discard returns a Printer that prints nothing.
func Discard() *Printer { return New(io.Discard, Options{Quiet: true}) }

// Verbosity returns the -v level.
func (p *Printer) Verbosity() int { return p.opts.Verbosity }

const (
	green  = "\x1b[32m"
	red    = "\x1b[31m"
	yellow = "\x1b[33m"
	dim    = "\x1b[2m"
	reset  = "\x1b[0m"
)

func (p *Printer) color(code, s string) string {
	if !p.opts.Color {
		return s
	}
	return code + s + reset
}

// writeLine prints one whole line, clearing a spinner line first.
func (p *Printer) writeLine(s string) {
	if p.live != nil {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
	fmt.Fprintln(p.w, s)
	if p.live != nil {
		p.live.draw()
	}
}

// Infof prints an info line unless quiet.
func (p *Printer) Infof(format string, args ...any) {
	if p.opts.Quiet {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.writeLine(fmt.Sprintf(format, args...))
}

// Warnf prints a warning line; warnings show even when quiet.
func (p *Printer) Warnf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.writeLine(p.color(yellow, "WARNING: ") + fmt.Sprintf(format, args...))
}

// Errorf prints the one ERROR line of a failed command, and its hint if any.
func (p *Printer) Errorf(hint, format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.writeLine(p.color(red, "ERROR: ") + fmt.Sprintf(format, args...))
	if hint != "" {
		p.writeLine("  hint: " + hint)
	}
}

// Debugf prints a line when the verbosity is at least level.
func (p *Printer) Debugf(level int, format string, args ...any) {
	if p.opts.Verbosity < level {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.writeLine(p.color(dim, fmt.Sprintf(format, args...)))
}

// Step is one running unit of work shown as a status line.
type Step struct {
	p       *Printer
	msg     string
	start   time.Time
	frame   int
	stop    chan struct{}
	stopped sync.Once
}

var frames = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

// Step starts a step. On a terminal a spinner animates it; otherwise a " • msg ..." line
// is printed so that logs show what is running. End it with Done, Fail or End.
func (p *Printer) Step(msg string) *Step {
	s := &Step{p: p, msg: msg, start: p.now(), stop: make(chan struct{})}
	if p.opts.Quiet {
		return s
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.opts.Spinner {
		fmt.Fprintf(p.w, " • %s ...\n", msg)
		return s
	}
	if p.live == nil {
		p.live = s
		s.draw()
		go s.spin()
	}
	return s
}

func (s *Step) draw() {
	fmt.Fprintf(s.p.w, "\r\x1b[K %s %s ", frames[s.frame%len(frames)], s.msg)
}

func (s *Step) spin() {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.p.mu.Lock()
			if s.p.live == s {
				s.frame++
				s.draw()
			}
			s.p.mu.Unlock()
		}
	}
}

// Done ends the step as a success.
func (s *Step) Done() { s.finish(true, "") }

// Fail ends the step as a failure.
func (s *Step) Fail() { s.finish(false, "") }

// End ends the step as a success when err is nil, as a failure otherwise; it returns err.
func (s *Step) End(err error) error {
	s.finish(err == nil, "")
	return err
}

// DoneWith ends the step as a success with a note after the message ("already exists").
func (s *Step) DoneWith(note string) { s.finish(true, note) }

func (s *Step) finish(ok bool, note string) {
	s.stopped.Do(func() {
		close(s.stop)
		p := s.p
		if p.opts.Quiet && ok {
			return
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.live == s {
			fmt.Fprint(p.w, "\r\x1b[K")
			p.live = nil
		}
		mark := p.color(green, "✓")
		if !ok {
			mark = p.color(red, "✗")
		}
		line := fmt.Sprintf(" %s %s", mark, s.msg)
		if note != "" {
			line += ": " + note
		}
		line += p.color(dim, fmt.Sprintf(" (%s)", formatElapsed(p.now().Sub(s.start))))
		fmt.Fprintln(p.w, line)
	})
}

func formatElapsed(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	default:
		return strings.TrimSuffix(d.Round(time.Second).String(), "0s")
	}
}
