// Package errs classifies kfup's errors into a few kinds (usage, preflight, not found,
// conflict, timeout, interrupted) and carries a one-line hint that tells the user what to
// do next. The CLI maps kinds to exit codes in one place (cmd/kfup/internal/cli).
package errs

import (
	"context"
	"errors"
	"fmt"
)

// Kind is the class of an error, which decides the process exit code.
type Kind int

const (
	// KindUnknown is any error that was not classified.
	KindUnknown Kind = iota
	// KindUsage is bad input: flags, arguments, config files.
	KindUsage
	// KindPreflight is a host that cannot run kfup (Docker down, too little memory, ...).
	KindPreflight
	// KindNotFound is a cluster or object that does not exist.
	KindNotFound
	// KindConflict is something in the way that kfup did not make and will not touch.
	KindConflict
	// KindTimeout is a wait that ran out of time.
	KindTimeout
	// KindInterrupted is a command stopped by the user (Ctrl-C, SIGTERM).
	KindInterrupted
)

// String returns the kind's name as shown in debug output.
func (k Kind) String() string {
	switch k {
	case KindUsage:
		return "usage"
	case KindPreflight:
		return "preflight"
	case KindNotFound:
		return "not-found"
	case KindConflict:
		return "conflict"
	case KindTimeout:
		return "timeout"
	case KindInterrupted:
		return "interrupted"
	default:
		return "error"
	}
}

// Error is an error with a kind and an optional hint.
type Error struct {
	Kind Kind
	Err  error
	Hint string
}

// Error returns the wrapped error's message.
func (e *Error) Error() string { return e.Err.Error() }

// Unwrap returns the wrapped error.
func (e *Error) Unwrap() error { return e.Err }

// New returns an error of kind k with a formatted message and a hint (may be empty).
func New(k Kind, hint, format string, args ...any) error {
	return &Error{Kind: k, Err: fmt.Errorf(format, args...), Hint: hint}
}

// Wrap gives err the kind k and the hint; it returns nil for a nil err.
func Wrap(k Kind, hint string, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Kind: k, Err: err, Hint: hint}
}

// Usage returns a usage error (bad flag, argument or input file).
func Usage(hint, format string, args ...any) error { return New(KindUsage, hint, format, args...) }

// KindOf returns the kind of the outermost classified error in err's chain. Context
// cancellation counts as interrupted and a deadline as a timeout.
func KindOf(err error) Kind {
	if err == nil {
		return KindUnknown
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	switch {
	case errors.Is(err, context.Canceled):
		return KindInterrupted
	case errors.Is(err, context.DeadlineExceeded):
		return KindTimeout
	}
	return KindUnknown
}

// HintOf returns the first non-empty hint in err's chain.
func HintOf(err error) string {
	for err != nil {
		var e *Error
		if !errors.As(err, &e) {
			return ""
		}
		if e.Hint != "" {
			return e.Hint
		}
		err = e.Err
	}
	return ""
}
