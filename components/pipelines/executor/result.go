package executor

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"strconv"
	"strings"

	"github.com/kfup/kfup/components/pipelines/ir"
	"github.com/kfup/kfup/components/pipelines/plan"
)

// MaxMessageBytes is the most the kubelet keeps of a termination message: a larger Result
// goes to the store, and the message holds only its Ref.
const MaxMessageBytes = 4096

// Result is what the launcher reports for a finished task, as JSON in the main
// container's termination message: the outputs after a success, Error after a failure,
// or only Ref, the URI of the full Result in the artifact store, when it was too long for
// a termination message.
type Result struct {
	Parameters map[string]any             `json:"parameters,omitempty"`
	Artifacts  map[string][]plan.Artifact `json:"artifacts,omitempty"`
	Ref        string                     `json:"ref,omitempty"`
	Error      string                     `json:"error,omitempty"`
}

// ParseResult parses a launcher's report (a termination message, or the file Ref names).
func ParseResult(msg []byte) (*Result, error) {
	if len(bytes.TrimSpace(msg)) == 0 {
		return nil, errors.New("the report is empty")
	}
	dec := json.NewDecoder(bytes.NewReader(msg))
	var r Result
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("the report is not a launcher's JSON result: %w", err)
	}
	if dec.More() {
		return nil, errors.New("the report has data after its JSON result")
	}
	return &r, nil
}

// Collect builds the Result of a task whose command exited 0, as KFP's launcher does.
// c is the task's component; readFile reads a file of the container (fs.ErrNotExist for
// a missing one).
//
// An output parameter's value is the one in the executor output file when the component
// wrote one there (Python components do), else its output file's content, typed by its
// parameterType: STRING as it is, NUMBER_INTEGER, NUMBER_DOUBLE, LIST and STRUCT as JSON,
// BOOLEAN as JSON or as Go's strconv.ParseBool reads it ("True", as Python's str() writes
// it). A value that does not parse, or an output with neither, is an error naming it.
//
// Each output artifact is the one of in, with the metadata the executor output file gives
// it merged in (and its URI, when that file changes it).
func Collect(c *ir.ComponentSpec, in *ExecutorInput, readFile func(string) ([]byte, error)) (*Result, error) {
	var eo ExecutorOutput
	if f := in.Outputs.OutputFile; f != "" {
		b, err := readFile(f)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return nil, fmt.Errorf("read the executor output file %s: %w", f, err)
		case len(bytes.TrimSpace(b)) > 0:
			if err := json.Unmarshal(b, &eo); err != nil {
				return nil, fmt.Errorf("the executor output file %s is not an ExecutorOutput: %w", f, err)
			}
		}
	}
	var defs map[string]ir.OutputParameterDef
	if c.OutputDefinitions != nil {
		defs = c.OutputDefinitions.Parameters
	}
	res := &Result{}
	for _, name := range sortedKeys(in.Outputs.Parameters) {
		v, ok := eo.ParameterValues[name]
		if !ok {
			file := in.Outputs.Parameters[name].OutputFile
			b, err := readFile(file)
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("output parameter %q: the component wrote neither %s nor a value in the executor output file %s", name, file, in.Outputs.OutputFile)
			} else if err != nil {
				return nil, fmt.Errorf("output parameter %q: read %s: %w", name, file, err)
			}
			if v, err = parseValue(string(b), paramType(defs[name])); err != nil {
				return nil, fmt.Errorf("output parameter %q: %s: %w", name, file, err)
			}
		}
		if res.Parameters == nil {
			res.Parameters = map[string]any{}
		}
		res.Parameters[name] = v
	}
	for _, name := range sortedKeys(in.Outputs.Artifacts) {
		var arts []plan.Artifact
		written := eo.Artifacts[name].Artifacts
		for i, a := range in.Outputs.Artifacts[name].Artifacts {
			md := maps.Clone(a.Metadata)
			if i < len(written) {
				w := written[i]
				if w.URI != "" {
					a.URI = w.URI
				}
				if len(w.Metadata) > 0 && md == nil {
					md = map[string]any{}
				}
				maps.Copy(md, w.Metadata)
			}
			if len(md) == 0 {
				md = nil
			}
			arts = append(arts, plan.Artifact{URI: a.URI, Type: a.Type.SchemaTitle, Metadata: md})
		}
		if res.Artifacts == nil {
			res.Artifacts = map[string][]plan.Artifact{}
		}
		res.Artifacts[name] = arts
	}
	return res, nil
}

// paramType is an output's type, from the deprecated PrimitiveType when the IR is old.
func paramType(d ir.OutputParameterDef) ir.ParameterType {
	if d.ParameterType != "" {
		return d.ParameterType
	}
	switch d.Type {
	case "INT":
		return ir.TypeInteger
	case "DOUBLE":
		return ir.TypeDouble
	}
	return ir.TypeString
}

// parseValue reads an output parameter file's text as a value of type t.
func parseValue(text string, t ir.ParameterType) (any, error) {
	if t == ir.TypeString || t == "" {
		return text, nil
	}
	var v any
	err := json.Unmarshal([]byte(text), &v)
	if t == ir.TypeBoolean && err != nil {
		if b, perr := strconv.ParseBool(strings.TrimSpace(text)); perr == nil {
			return b, nil
		}
	}
	if err != nil || !ir.ValueHasType(v, t) {
		return nil, fmt.Errorf("%q is not a %s", shorten(text, 60), t)
	}
	return v, nil
}

// shorten cuts s to n bytes or so, for an error message.
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
