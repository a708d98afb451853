package suggest

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"
)

// NAS is the search space of a neural architecture search: Katib's nasConfig.
type NAS struct {
	// NumLayers is graphConfig.numLayers (0 when unset).
	NumLayers int
	// InputSizes and OutputSizes are graphConfig's sizes.
	InputSizes, OutputSizes []int
	// Operations are the operations a layer may be, in the Experiment's order.
	Operations []Operation
}

// Operation is one operation of a NAS search space with its parameters.
type Operation struct {
	Type   string
	Params Space
}

// NASRequest asks a NAS algorithm for Count new suggestions.
type NASRequest struct {
	NAS      NAS
	Goal     Goal
	Settings map[string]string
	// Trials are every trial so far, oldest first (the Suggestion's order).
	Trials []Trial
	Count  int
	// Seed seeds the algorithm's first state (the manager derives it from the experiment).
	Seed uint64
	// State is what the algorithm returned with its last suggestions (nil the first time).
	State []byte
}

// NASResult is a NAS algorithm's answer.
type NASResult struct {
	Suggestions []Suggestion
	// State is the algorithm's state after this call, to be persisted and passed back in
	// the next NASRequest.State; nil for an algorithm that keeps none.
	State []byte
	// Log are lines for the manager's log (how the controller's training went).
	Log []string
}

// NASAlgorithm is one neural architecture search algorithm.
type NASAlgorithm interface {
	// Settings lists every algorithmSettings key the algorithm accepts.
	Settings() []Setting
	// Assignments names the parameter assignments each suggestion carries (what a trial
	// template's trialParameters reference).
	Assignments() []string
	// Validate checks the search space and settings (unknown keys are already refused).
	Validate(nas NAS, settings map[string]string) error
	// Suggest returns up to req.Count suggestions and the algorithm's new state.
	Suggest(req NASRequest) (NASResult, error)
}

var nasAlgorithms = map[string]func() NASAlgorithm{}

func registerNAS(name string, f func() NASAlgorithm) {
	if _, dup := nasAlgorithms[name]; dup {
		panic("suggest: NAS algorithm " + name + " registered twice")
	}
	nasAlgorithms[name] = f
}

// NASNames lists the neural architecture search algorithms kfup has, sorted.
func NASNames() []string {
	out := make([]string, 0, len(nasAlgorithms))
	for n := range nasAlgorithms {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// IsNAS says whether name is one of kfup's neural architecture search algorithms.
func IsNAS(name string) bool { _, ok := nasAlgorithms[name]; return ok }

// CheckNAS validates a NAS experiment's algorithm, settings and search space the way the
// manager does before anything is created.
func CheckNAS(name string, nas NAS, settings map[string]string) (NASAlgorithm, error) {
	f, ok := nasAlgorithms[name]
	if !ok {
		if _, hpo := algorithms[name]; hpo {
			return nil, fmt.Errorf("%s does not search architectures: with spec.nasConfig use %s", name, strings.Join(NASNames(), " or "))
		}
		return nil, fmt.Errorf("%w %q: kfup's neural architecture search algorithms are %s", ErrUnknown, name, strings.Join(NASNames(), ", "))
	}
	a := f()
	if err := ValidateSettings(a, settings); err != nil {
		return nil, err
	}
	if err := a.Validate(nas, settings); err != nil {
		return nil, err
	}
	return a, nil
}

// validateOperations checks what every NAS algorithm needs, as Katib's
// nas/common/validation.py: at least one operation, each named, each parameter valid as a
// search parameter (steps as HPO's). skipless names the operation types that may come
// without parameters (darts' skip_connection).
func (n NAS) validateOperations(skipless ...string) error {
	if len(n.Operations) == 0 {
		return errors.New("nasConfig.operations is empty: list the operations a layer may be")
	}
	seen := map[string]bool{}
	for i, op := range n.Operations {
		field := fmt.Sprintf("nasConfig.operations[%d]", i)
		if op.Type == "" {
			return fmt.Errorf("%s.operationType is empty", field)
		}
		if seen[op.Type] {
			return fmt.Errorf("%s: operationType %q is listed twice", field, op.Type)
		}
		seen[op.Type] = true
		if len(op.Params) == 0 && !contains(skipless, op.Type) {
			return fmt.Errorf("%s (%s): no parameters: give the operation at least one parameter", field, op.Type)
		}
		names := map[string]bool{}
		for j, p := range op.Params {
			if names[p.Name] {
				return fmt.Errorf("%s.parameters[%d]: parameter %q is defined twice", field, j, p.Name)
			}
			names[p.Name] = true
			if err := p.Validate(); err != nil {
				return fmt.Errorf("%s.parameters[%d]: %w", field, j, err)
			}
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Katib's suggestion services hand architectures to trials as Python's json.dumps with
// every double quote turned into a single one; the trial images turn them back and parse
// JSON. pyJSON writes that encoding byte for byte: ", " and ": " separators, ASCII only
// (\uXXXX escapes), floats as Python's repr.

// pyValue is a JSON value written as Python's json.dumps writes it.
type pyValue interface{ writePy(*strings.Builder) }

type (
	pyStr   string
	pyInt   int64
	pyFloat float64
	pyNull  struct{}
	pyList  []pyValue
	pyDict  []pyItem // in insertion order, as a Python dict
	pyItem  struct {
		Key   string
		Value pyValue
	}
)

func (s pyStr) writePy(b *strings.Builder) {
	b.WriteByte('"')
	for _, r := range string(s) {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			switch {
			case r < 0x20 || (r >= 0x7f && r < 0x10000): // Python escapes all but ' '…'~'
				fmt.Fprintf(b, `\u%04x`, r)
			case r >= 0x10000:
				r1, r2 := utf16.EncodeRune(r)
				fmt.Fprintf(b, `\u%04x\u%04x`, r1, r2)
			default:
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
}

func (i pyInt) writePy(b *strings.Builder)   { b.WriteString(strconv.FormatInt(int64(i), 10)) }
func (pyNull) writePy(b *strings.Builder)    { b.WriteString("null") }
func (f pyFloat) writePy(b *strings.Builder) { b.WriteString(pyRepr(float64(f))) }

func (l pyList) writePy(b *strings.Builder) {
	b.WriteByte('[')
	for i, v := range l {
		if i > 0 {
			b.WriteString(", ")
		}
		v.writePy(b)
	}
	b.WriteByte(']')
}

func (d pyDict) writePy(b *strings.Builder) {
	b.WriteByte('{')
	for i, it := range d {
		if i > 0 {
			b.WriteString(", ")
		}
		pyStr(it.Key).writePy(b)
		b.WriteString(": ")
		it.Value.writePy(b)
	}
	b.WriteByte('}')
}

// pyRepr is Python's repr of a float: the shortest digits that round-trip, positional
// for decimal exponents -4 … 15 (with ".0" on whole numbers), else 1e-05 / 1.5e+16.
func pyRepr(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64)
	exp, _ := strconv.Atoi(e[strings.IndexByte(e, 'e')+1:])
	if exp < -4 || exp >= 16 {
		return e
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".") {
		s += ".0"
	}
	return s
}

// katibEncode is v in Katib's encoding: json.dumps, then every " turned into '.
func katibEncode(v pyValue) string {
	var b strings.Builder
	v.writePy(&b)
	return strings.ReplaceAll(b.String(), `"`, `'`)
}

// expressible refuses a string Katib's encoding would corrupt: a single quote becomes a
// double quote in the trial, which then no longer parses the JSON.
func expressible(field, s string) error {
	if strings.ContainsRune(s, '\'') {
		return fmt.Errorf("%s %q holds a single quote, which Katib's architecture encoding cannot express (the trial turns every ' into \"): remove it", field, s)
	}
	return nil
}
