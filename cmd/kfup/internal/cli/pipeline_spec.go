package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kfup/kfup/components/pipelines/ir"
	"github.com/kfup/kfup/internal/errs"
	"github.com/kfup/kfup/internal/ui"
)

// compiledPipeline is a pipeline file read and checked, ready to embed in a run or a
// PipelineVersion.
type compiledPipeline struct {
	Pipeline *ir.Pipeline
	// Spec and Platform are the file's first and second YAML documents as JSON.
	Spec     *runtime.RawExtension
	Platform *runtime.RawExtension
	// Sum is the hex SHA-256 of the file.
	Sum string
}

// readPipelineFile reads file as validate does (a missing file is not-found, any other
// read error a usage error).
func readPipelineFile(file string) ([]byte, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		kind := errs.KindUsage
		if errors.Is(err, fs.ErrNotExist) {
			kind = errs.KindNotFound
		}
		return nil, errs.Wrap(kind, "check the file's path", fmt.Errorf("read pipeline: %w", err))
	}
	return data, nil
}

// loadCompiledPipeline reads and checks file; a file with problems is a usage error that
// lists every one, its warnings go to out.
func loadCompiledPipeline(file string, out *ui.Printer) (*compiledPipeline, error) {
	data, err := readPipelineFile(file)
	if err != nil {
		return nil, err
	}
	p, ps := ir.Check(file, data)
	if err := ps.Err(file); err != nil || p == nil {
		if err == nil {
			err = fmt.Errorf("%s: no pipeline in the file", file)
		}
		return nil, errs.Wrap(errs.KindUsage, "fix the problems listed (task and YAML path) and recompile; 'kfup pipeline validate FILE' checks without a cluster", err)
	}
	for _, w := range ps.Warnings() {
		out.Warnf("%s: %s", file, w)
	}
	docs, err := pipelineDocuments(data)
	if err != nil {
		return nil, errs.Wrap(errs.KindUsage, "", fmt.Errorf("%s: %w", file, err))
	}
	sum := sha256.Sum256(data)
	cp := &compiledPipeline{Pipeline: p, Spec: &runtime.RawExtension{Raw: docs[0]}, Sum: hex.EncodeToString(sum[:])}
	if len(docs) > 1 {
		cp.Platform = &runtime.RawExtension{Raw: docs[1]}
	}
	return cp, nil
}

// checkStoredPipeline parses a pipeline held as JSON (a PipelineVersion's), as the
// controller will, so that a run's parameters are checked before it is created.
func checkStoredPipeline(name string, spec runtime.RawExtension, platform *runtime.RawExtension) (*ir.Pipeline, error) {
	var plat []byte
	if platform != nil {
		plat = platform.Raw
	}
	p, ps := ir.Check(name, ir.JoinDocuments(spec.Raw, plat))
	if err := ps.Err(name); err != nil || p == nil {
		if err == nil {
			err = fmt.Errorf("%s: no pipeline in it", name)
		}
		return nil, errs.Wrap(errs.KindUsage, "upload a fixed version with 'kfup pipeline upload FILE --pipeline NAME'", err)
	}
	return p, nil
}

// pipelineDocuments returns the pipeline spec and, when present, the platform spec of
// data as JSON, read as the IR parser reads them (ir.Documents: YAML 1.2, so an input
// named `n` or `y` stays a string and the embedded spec is the one checked).
func pipelineDocuments(data []byte) ([]json.RawMessage, error) {
	out, err := ir.Documents(data)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 || len(out) > 2 {
		return nil, fmt.Errorf("expected the pipeline spec and at most one platform spec, found %d YAML documents", len(out))
	}
	return out, nil
}

// runParameters turns the -p NAME=VALUE flags into a run's parameters, each VALUE read as
// its input's type. Every NAME must be one of root's inputs, and every required input
// (no default, not optional) must be given.
func runParameters(root *ir.ComponentSpec, flags []string) (map[string]apiextensionsv1.JSON, error) {
	var defs map[string]ir.InputParameterDef
	if root != nil && root.InputDefinitions != nil {
		defs = root.InputDefinitions.Parameters
	}
	known := make([]string, 0, len(defs))
	for k, d := range defs {
		known = append(known, fmt.Sprintf("%s (%s)", k, parameterType(d)))
	}
	slices.Sort(known)
	knownHint := "the pipeline takes no parameters"
	if len(known) > 0 {
		knownHint = "the pipeline's parameters: " + strings.Join(known, ", ")
	}
	var out map[string]apiextensionsv1.JSON
	for _, fl := range flags {
		name, value, ok := strings.Cut(fl, "=")
		if !ok || name == "" {
			return nil, errs.Usage("write -p NAME=VALUE; "+knownHint, "-p %q: expected NAME=VALUE", fl)
		}
		d, ok := defs[name]
		if !ok {
			return nil, errs.Usage(knownHint, "-p %s: the pipeline has no input parameter %q", name, name)
		}
		if _, dup := out[name]; dup {
			return nil, errs.Usage("give each parameter once", "-p %s: given twice", name)
		}
		v, err := parameterValue(parameterType(d), value)
		if err != nil {
			return nil, errs.Usage(parameterExample(name, parameterType(d)), "-p %s: %v", name, err)
		}
		raw, err := json.Marshal(v)
		if err != nil {
			return nil, errs.Usage("", "-p %s: %v", name, err)
		}
		if out == nil {
			out = map[string]apiextensionsv1.JSON{}
		}
		out[name] = apiextensionsv1.JSON{Raw: raw}
	}
	var missing []string
	for k, d := range defs {
		if _, given := out[k]; !given && d.DefaultValue == nil && !d.IsOptional {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		example := make([]string, len(missing))
		for i, k := range missing {
			example[i] = fmt.Sprintf("-p %s=VALUE", k)
		}
		return nil, errs.Usage("pass "+strings.Join(example, " "), "the pipeline needs parameter(s) %s: they have no default", strings.Join(missing, ", "))
	}
	return out, nil
}

// parameterType is d's type, from the deprecated PrimitiveType when parameterType is
// unset (pipelines compiled by old SDKs).
func parameterType(d ir.InputParameterDef) ir.ParameterType {
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

// parameterValue reads s as a value of type t: STRING as is, numbers and booleans parsed,
// LIST and STRUCT as JSON.
func parameterValue(t ir.ParameterType, s string) (any, error) {
	switch t {
	case ir.TypeString:
		return s, nil
	case ir.TypeInteger:
		i, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not an integer (%s)", s, t)
		}
		return i, nil
	case ir.TypeDouble:
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, fmt.Errorf("%q is not a number (%s)", s, t)
		}
		return f, nil
	case ir.TypeBoolean:
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return nil, fmt.Errorf("%q is not true or false (%s)", s, t)
	case ir.TypeList, ir.TypeStruct:
		var v any
		if err := json.Unmarshal([]byte(s), &v); err != nil {
			return nil, fmt.Errorf("%q is not JSON (%s): %v", s, t, err)
		}
		if !ir.ValueHasType(v, t) {
			want := "a JSON list ([...])"
			if t == ir.TypeStruct {
				want = "a JSON object ({...})"
			}
			return nil, fmt.Errorf("%q is not %s (%s)", s, want, t)
		}
		return v, nil
	}
	return nil, fmt.Errorf("a %s parameter cannot be set on the command line", t)
}

// parameterExample is a hint showing a value of type t for parameter name.
func parameterExample(name string, t ir.ParameterType) string {
	switch t {
	case ir.TypeInteger:
		return fmt.Sprintf("pass a whole number: -p %s=3", name)
	case ir.TypeDouble:
		return fmt.Sprintf("pass a number: -p %s=0.5", name)
	case ir.TypeBoolean:
		return fmt.Sprintf("pass -p %s=true or -p %s=false", name, name)
	case ir.TypeList:
		return fmt.Sprintf("pass a JSON list, quoted for the shell: -p %s='[1, \"a\"]'", name)
	case ir.TypeStruct:
		return fmt.Sprintf("pass a JSON object, quoted for the shell: -p %s='{\"k\": 1}'", name)
	}
	return ""
}

// maxRunPrefix bounds a generated run name's prefix: the server adds 5 characters after
// the "-", and a run's name is at most 50 (its task pods are named after it).
const maxRunPrefix = 44

// runNamePrefix returns the generateName of a run of pipeline: its name lowercased, with
// every run of other characters turned into one "-", cut to 44 characters, then "-".
func runNamePrefix(pipeline string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(pipeline) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
		} else {
			dash = true
		}
	}
	s := b.String()
	if len(s) > maxRunPrefix {
		s = strings.TrimRight(s[:maxRunPrefix], "-")
	}
	if s == "" {
		s = "run"
	}
	return s + "-"
}
