package profiles

import (
	"errors"
	"fmt"
	"strings"

	"github.com/kfup/kfup/internal/errs"
)

// FieldError is one problem with one key of a profile. Load, Set and Validate return
// FieldErrors wrapped as errs.Usage errors (several joined with errors.Join); find them
// with errors.As.
type FieldError struct {
	// File is the profile file the key came from; empty for built-ins, --set and Validate.
	File string
	// Path is the key's dotted path, such as components.knative.domain; empty when the
	// problem is the document as a whole.
	Path string
	// Message says what is wrong, and what is allowed.
	Message string
}

// Error returns "file: path: message", leaving out the parts that are empty.
func (e *FieldError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File + ": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path + ": ")
	}
	b.WriteString(e.Message)
	return b.String()
}

// problem is a FieldError with the hint the CLI prints under it.
type problem struct {
	FieldError
	hint string
}

// problems collects everything wrong with a profile, so that one run reports it all.
type problems []problem

// add records a problem at path.
func (ps *problems) add(path, hint, format string, args ...any) {
	*ps = append(*ps, problem{FieldError: FieldError{Path: path, Message: fmt.Sprintf(format, args...)}, hint: hint})
}

// at returns the problems whose path is path.
func (ps problems) at(path string) problems {
	var out problems
	for _, p := range ps {
		if p.Path == path {
			out = append(out, p)
		}
	}
	return out
}

// err returns the problems as usage errors joined with errors.Join (nil for none), each
// naming file when file is not empty; a problem repeated word for word is reported once.
func (ps problems) err(file string) error {
	var list []error
	seen := map[FieldError]bool{}
	for _, p := range ps {
		fe := p.FieldError
		if file != "" {
			fe.File = file
		}
		if seen[fe] {
			continue
		}
		seen[fe] = true
		list = append(list, errs.Wrap(errs.KindUsage, p.hint, &fe))
	}
	return errors.Join(list...)
}
