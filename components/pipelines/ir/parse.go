package ir

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"sort"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// Pipeline is a parsed IR file: the pipeline spec and, when present, its platform spec.
type Pipeline struct {
	Spec     PipelineSpec
	Platform *PlatformSpec
}

// Kubernetes returns the kfp-kubernetes config of executor label, or nil.
func (p *Pipeline) Kubernetes(executorLabel string) *KubernetesExecutorConfig {
	if p.Platform == nil {
		return nil
	}
	k, ok := p.Platform.Platforms["kubernetes"]
	if !ok || k.DeploymentSpec == nil {
		return nil
	}
	if c, ok := k.DeploymentSpec.Executors[executorLabel]; ok {
		return &c
	}
	return nil
}

// Check parses data (the contents of file, which names it in messages) and validates
// the result. It returns the pipeline (nil when unparseable) and every problem found;
// Problems.Err turns them into an error when any stops the pipeline from running.
func Check(file string, data []byte) (*Pipeline, Problems) {
	p, ps := Parse(data)
	if p != nil && len(ps.Errors()) == 0 {
		ps = append(ps, Validate(p)...)
	} else if p != nil {
		// Unknown keys or wrong types: still report what the validator sees, so a typo'd
		// top-level key and the references it breaks show up in one pass.
		ps = append(ps, Validate(p)...)
	}
	return p, ps
}

// Err returns an *InvalidError for file when ps holds any error, else nil.
func (ps Problems) Err(file string) error {
	if len(ps.Errors()) == 0 {
		return nil
	}
	return &InvalidError{File: file, Problems: ps}
}

// Parse decodes an IR file: one YAML (or JSON) document with the PipelineSpec and an
// optional second one with the platform spec. Unknown keys are problems (warnings in the
// platform spec); so are values of the wrong type. It returns nil when data holds no
// pipeline at all.
func Parse(data []byte) (*Pipeline, Problems) {
	c := &collector{}
	docs, err := Documents(data)
	if err != nil {
		c.errorf("", "", "not a YAML file: %v", err)
		return nil, c.ps
	}
	if len(docs) == 0 {
		c.errorf("", "", "the file is empty: expected a pipeline compiled by the kfp SDK (kfp.compiler writes one YAML document with pipelineInfo, root, components, deploymentSpec)")
		return nil, c.ps
	}
	if len(docs) > 2 {
		c.errorf("", "", "the file has %d YAML documents: expected the pipeline spec and at most one platform spec", len(docs))
	}
	p := &Pipeline{}
	if !decodeDocument(c, docs[0], "", &p.Spec, false) {
		return nil, c.ps
	}
	if len(docs) > 1 {
		p.Platform = &PlatformSpec{}
		if !decodeDocument(c, docs[1], "platformSpec", p.Platform, true) {
			p.Platform = nil
		}
	}
	return p, c.ps
}

// Documents returns the non-empty YAML documents of data, each converted to JSON: what
// an IR file holds, as a PipelineVersion or PipelineRun embeds it. It reads YAML 1.2
// (go.yaml.in/yaml/v3), as PyYAML-written keys such as `n` or `y` must stay strings: a
// YAML 1.1 reader would turn an input named `n` into false.
func Documents(data []byte) ([]json.RawMessage, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out []json.RawMessage
	for n := 1; ; n++ {
		var node yaml.Node
		err := dec.Decode(&node)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", n, err)
		}
		budget := maxNodes
		v, err := nodeValue(&node, &budget, 0)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", n, err)
		}
		if v == nil {
			continue
		}
		j, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", n, err)
		}
		out = append(out, j)
	}
}

// JoinDocuments is the IR file made of a pipeline spec and, when set (not empty, not
// null), its platform spec, each JSON as an object embeds them: Check reads it.
func JoinDocuments(spec, platform []byte) []byte {
	data := append([]byte(nil), spec...)
	if len(platform) > 0 && string(platform) != "null" {
		data = append(append(data, "\n---\n"...), platform...)
	}
	return data
}

// Bounds on what one document may expand to (aliases can make a small file huge).
const (
	maxNodes = 1 << 20
	maxDepth = 200
)

// nodeValue turns a YAML node into the value encoding/json would decode from the same
// document in JSON: mappings with string keys, lists, strings, float64, bool, nil.
func nodeValue(n *yaml.Node, budget *int, depth int) (any, error) {
	if *budget--; *budget < 0 {
		return nil, errors.New("the document expands to too many values (alias loop?)")
	}
	if depth > maxDepth {
		return nil, fmt.Errorf("line %d: nested deeper than %d levels", n.Line, maxDepth)
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return nodeValue(n.Content[0], budget, depth+1)
	case yaml.AliasNode:
		return nodeValue(n.Alias, budget, depth+1)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			if k.Kind == yaml.AliasNode && k.Alias != nil {
				k = k.Alias
			}
			if k.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("line %d: a mapping key must be a scalar", k.Line)
			}
			if _, dup := m[k.Value]; dup {
				return nil, fmt.Errorf("line %d: key %q appears twice", k.Line, k.Value)
			}
			v, err := nodeValue(val, budget, depth+1)
			if err != nil {
				return nil, err
			}
			m[k.Value] = v
		}
		return m, nil
	case yaml.SequenceNode:
		l := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := nodeValue(c, budget, depth+1)
			if err != nil {
				return nil, err
			}
			l = append(l, v)
		}
		return l, nil
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return nil, nil
		case "!!bool":
			var b bool
			if err := n.Decode(&b); err != nil {
				return nil, fmt.Errorf("line %d: %w", n.Line, err)
			}
			return b, nil
		case "!!int", "!!float":
			var f float64
			if err := n.Decode(&f); err != nil {
				return nil, fmt.Errorf("line %d: %w", n.Line, err)
			}
			if math.IsInf(f, 0) || math.IsNaN(f) {
				return n.Value, nil // JSON has no such numbers; keep the text
			}
			return f, nil
		}
		return n.Value, nil
	}
	return nil, fmt.Errorf("line %d: unsupported YAML node", n.Line)
}

// decodeDocument checks doc's keys and types against into's type, then decodes it. It
// reports false when doc is not a mapping.
func decodeDocument(c *collector, doc json.RawMessage, path string, into any, platform bool) bool {
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		c.errorf(path, "", "not valid YAML: %v", err)
		return false
	}
	if _, ok := v.(map[string]any); !ok {
		what := "the pipeline spec"
		if platform {
			what = "the platform spec (the second document)"
		}
		c.errorf(path, "", "expected %s as a YAML mapping, got %s", what, kindName(v))
		return false
	}
	before := len(c.ps)
	checkShape(c, v, reflect.TypeOf(into).Elem(), path, false)
	if err := json.Unmarshal(doc, into); err != nil && len(c.ps) == before {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			c.errorf(join(path, te.Field), "", "expected %s, got JSON %s", te.Type, te.Value)
		} else {
			c.errorf(path, "", "%v", err)
		}
	}
	return true
}

// checkShape walks v (decoded JSON) beside the Go type t and reports unknown keys and
// values of the wrong kind, with their YAML path. Beneath a field tagged kfup:"lenient"
// nothing is checked; beneath kfup:"warn" unknown keys are warnings.
func checkShape(c *collector, v any, t reflect.Type, path string, warn bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if v == nil {
		return // null is the zero value, as in protobuf JSON
	}
	switch t.Kind() {
	case reflect.Interface:
		return
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			c.errorf(path, "", "expected a mapping, got %s", kindName(v))
			return
		}
		fields := jsonFields(t)
		for _, k := range sortedKeys(m) {
			f, ok := fields[k]
			if !ok {
				msg := "unknown field %q" + suggest(k, fields)
				if warn {
					c.warnf(join(path, k), "", msg+"; kfup ignores it", k)
				} else {
					c.errorf(join(path, k), "", msg, k)
				}
				continue
			}
			switch f.Tag.Get("kfup") {
			case "lenient":
				continue
			case "warn":
				checkShape(c, m[k], f.Type, join(path, k), true)
			default:
				checkShape(c, m[k], f.Type, join(path, k), warn)
			}
		}
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			c.errorf(path, "", "expected a mapping, got %s", kindName(v))
			return
		}
		for _, k := range sortedKeys(m) {
			checkShape(c, m[k], t.Elem(), join(path, k), warn)
		}
	case reflect.Slice:
		l, ok := v.([]any)
		if !ok {
			c.errorf(path, "", "expected a list, got %s", kindName(v))
			return
		}
		for i, e := range l {
			checkShape(c, e, t.Elem(), fmt.Sprintf("%s[%d]", path, i), warn)
		}
	case reflect.String:
		if _, ok := v.(string); !ok {
			c.errorf(path, "", "expected a string, got %s", kindName(v))
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			c.errorf(path, "", "expected true or false, got %s", kindName(v))
		}
	case reflect.Int, reflect.Int32, reflect.Int64:
		if f, ok := v.(float64); !ok || f != math.Trunc(f) {
			c.errorf(path, "", "expected an integer, got %s", kindName(v))
		}
	case reflect.Float32, reflect.Float64:
		if _, ok := v.(float64); !ok {
			c.errorf(path, "", "expected a number, got %s", kindName(v))
		}
	}
}

func jsonFields(t reflect.Type) map[string]reflect.StructField {
	out := map[string]reflect.StructField{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f
	}
	return out
}

// suggest names a known field that differs from k only by case or a suffix, the typos
// that matter most ("componentref", "components_1").
func suggest(k string, fields map[string]reflect.StructField) string {
	lk := strings.ToLower(k)
	for _, name := range sortedKeys(fields) {
		ln := strings.ToLower(name)
		if ln == lk || (len(ln) >= 4 && (strings.HasPrefix(lk, ln) || strings.HasPrefix(ln, lk))) {
			return fmt.Sprintf(" (did you mean %q?)", name)
		}
	}
	return ""
}

func kindName(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		if len(x) > 40 {
			x = x[:40] + "..."
		}
		return fmt.Sprintf("the string %q", x)
	case bool:
		return fmt.Sprintf("the boolean %v", x)
	case float64:
		return fmt.Sprintf("the number %v", x)
	case []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	}
	return fmt.Sprintf("%T", v)
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	if k == "" {
		return path
	}
	return path + "." + k
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
