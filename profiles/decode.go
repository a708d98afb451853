package profiles

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// field is one settable key of a struct: its JSON name and where it lives.
type field struct {
	name      string
	index     int
	omitEmpty bool
	// quantity marks a string holding a Kubernetes quantity; a YAML number is accepted
	// for it (cpuLimit: 1).
	quantity bool
}

// fieldsOf returns the keys of struct type t in declaration order, named by their json
// tags.
func fieldsOf(t reflect.Type) []field {
	var out []field
	for i := range t.NumField() {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		if !sf.IsExported() || tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = sf.Name
		}
		out = append(out, field{
			name:      name,
			index:     i,
			omitEmpty: slices.Contains(strings.Split(opts, ","), "omitempty"),
			quantity:  sf.Tag.Get("profile") == "quantity",
		})
	}
	return out
}

// lookup returns the field of t named name.
func lookup(t reflect.Type, name string) (field, bool) {
	for _, f := range fieldsOf(t) {
		if f.name == name {
			return f, true
		}
	}
	return field{}, false
}

// keyNames returns the key names of struct type t, comma-separated, in declaration order.
func keyNames(t reflect.Type) string {
	var names []string
	for _, f := range fieldsOf(t) {
		names = append(names, f.name)
	}
	return strings.Join(names, ", ")
}

// join appends key to the dotted path.
func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// plainKey is a key that reads unambiguously as one segment of a dotted path.
var plainKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// segment writes key as one segment of a dotted path: bare when it is a plain name, quoted
// otherwise, so that a key holding a dot (manager.enabled), a space or a control character
// is not read as a path of several keys and prints on one line.
func segment(key string) string {
	if plainKey.MatchString(key) {
		return key
	}
	return strconv.Quote(key)
}

// unknownKey records key, under the key at path parent, as unknown to struct type t,
// suggesting the key the user probably meant.
func unknownKey(ps *problems, t reflect.Type, parent, key string) {
	what := "key"
	if t == reflect.TypeFor[Components]() {
		what = "component"
	}
	hint := ""
	if s := suggest(key, fieldsOf(t)); s != "" {
		hint = "did you mean " + join(parent, s) + "?"
	} else if strings.Contains(key, ".") {
		hint = "a key holds no dots: nest the keys, one per line, each indented under the one before"
	}
	ps.add(join(parent, segment(key)), hint, "unknown %s (known: %s)", what, keyNames(t))
}

// suggest returns the known key closest to key (same letters in another case, or at most
// two edits away), or "".
func suggest(key string, known []field) string {
	best, bestDist := "", 3
	for _, f := range known {
		if strings.EqualFold(f.name, key) {
			return f.name
		}
		if abs(len(key)-len(f.name)) >= bestDist {
			continue // at least that many edits: not worth computing (keys may be long)
		}
		if d := editDistance(strings.ToLower(key), strings.ToLower(f.name)); d < bestDist {
			best, bestDist = f.name, d
		}
	}
	return best
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// describe names the YAML type of a decoded value, with the value itself for scalars.
func describe(raw any) string {
	switch x := raw.(type) {
	case nil:
		return "null"
	case bool:
		return fmt.Sprintf("boolean %t", x)
	case json.Number:
		return "number " + x.String()
	case string:
		return fmt.Sprintf("string %q", x)
	case []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	default:
		return fmt.Sprintf("%T", raw)
	}
}

// decode overlays raw (YAML decoded to JSON values, numbers as json.Number) onto v, the
// value at path. Keys raw leaves out, and nulls, keep v's value; unknown keys and values
// of the wrong type are recorded in ps with their paths, and decoding goes on so that one
// pass reports every problem.
func decode(ps *problems, path string, raw any, v reflect.Value, f field) {
	if raw == nil {
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		m, ok := raw.(map[string]any)
		if !ok {
			ps.add(path, "", "expected a mapping (keys: %s), got %s", keyNames(v.Type()), describe(raw))
			return
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			sub, ok := lookup(v.Type(), k)
			if !ok {
				unknownKey(ps, v.Type(), path, k)
				continue
			}
			decode(ps, join(path, k), m[k], v.Field(sub.index), sub)
		}
	case reflect.Bool:
		b, ok := raw.(bool)
		if !ok {
			ps.add(path, "", "expected a boolean (true or false), got %s", describe(raw))
			return
		}
		v.SetBool(b)
	case reflect.Int:
		n, ok := raw.(json.Number)
		if !ok {
			ps.add(path, "", "expected an integer, got %s", describe(raw))
			return
		}
		i, err := n.Int64()
		if err != nil || int64(int(i)) != i {
			ps.add(path, "", "expected an integer, got %s", describe(raw))
			return
		}
		v.SetInt(i)
	case reflect.String:
		switch x := raw.(type) {
		case string:
			v.SetString(x)
		case json.Number:
			if f.quantity {
				v.SetString(x.String())
				return
			}
			ps.add(path, fmt.Sprintf("write %s: \"%s\"", f.name, x), "expected a string, got %s (quote it)", describe(raw))
		default:
			ps.add(path, "", "expected a string, got %s", describe(raw))
		}
	default:
		// Unreachable while Profile holds only structs, bools, ints and strings; a test
		// walks the type to keep it so.
		ps.add(path, "", "cannot decode a %s", v.Kind())
	}
}
