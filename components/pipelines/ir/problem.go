package ir

import (
	"fmt"
	"strings"
)

// Problem is one thing wrong with an IR file: where (the YAML path, and the task when
// there is one) and what.
type Problem struct {
	// Path is the dotted YAML path of the offending field, e.g.
	// "root.dag.tasks.train.inputs.parameters.lr".
	Path string `json:"path,omitempty"`
	// Task is the task the field belongs to, when it belongs to one.
	Task string `json:"task,omitempty"`
	// Message says what is wrong, and what to do where that is not obvious.
	Message string `json:"message"`
	// Warning marks a problem that does not stop the pipeline from running.
	Warning bool `json:"warning,omitempty"`
}

// String returns "path: message", prefixed by the task when there is one.
func (p Problem) String() string {
	var b strings.Builder
	if p.Warning {
		b.WriteString("warning: ")
	}
	if p.Task != "" {
		fmt.Fprintf(&b, "task %q: ", p.Task)
	}
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Problems is every problem found in one file.
type Problems []Problem

// Errors returns the problems that are not warnings.
func (ps Problems) Errors() Problems {
	var out Problems
	for _, p := range ps {
		if !p.Warning {
			out = append(out, p)
		}
	}
	return out
}

// Warnings returns the problems that are warnings.
func (ps Problems) Warnings() Problems {
	var out Problems
	for _, p := range ps {
		if p.Warning {
			out = append(out, p)
		}
	}
	return out
}

// InvalidError is the error of a file with problems that stop it from running.
type InvalidError struct {
	File     string
	Problems Problems
}

// Error lists every problem, one a line, under the file's name.
func (e *InvalidError) Error() string {
	errsOnly := e.Problems.Errors()
	var b strings.Builder
	name := e.File
	if name == "" {
		name = "pipeline"
	}
	if len(errsOnly) == 1 {
		fmt.Fprintf(&b, "%s: %s", name, errsOnly[0])
		return b.String()
	}
	fmt.Fprintf(&b, "%s: %d problems:", name, len(errsOnly))
	for _, p := range errsOnly {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}

// collector gathers problems while walking a spec.
type collector struct{ ps Problems }

func (c *collector) errorf(path, task, format string, args ...any) {
	c.ps = append(c.ps, Problem{Path: path, Task: task, Message: fmt.Sprintf(format, args...)})
}

func (c *collector) warnf(path, task, format string, args ...any) {
	c.ps = append(c.ps, Problem{Path: path, Task: task, Message: fmt.Sprintf(format, args...), Warning: true})
}
