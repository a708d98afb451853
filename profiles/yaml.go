package profiles

import (
	"bytes"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

// YAML returns the profile as a YAML document, keys in the order of the Go types
// (apiVersion, kind, name, base, components), every setting written out. Loading the
// document as a file gives back an equal profile.
func (p *Profile) YAML() ([]byte, error) {
	var b bytes.Buffer
	if err := emit(&b, reflect.ValueOf(p).Elem(), 0); err != nil {
		return nil, fmt.Errorf("profile %s: %w", p.Name, err)
	}
	return b.Bytes(), nil
}

// emit writes the keys of struct v at the given indent.
func emit(b *bytes.Buffer, v reflect.Value, indent int) error {
	pad := strings.Repeat("  ", indent)
	for _, f := range fieldsOf(v.Type()) {
		fv := v.Field(f.index)
		if f.omitEmpty && fv.IsZero() {
			continue
		}
		switch fv.Kind() {
		case reflect.Struct:
			fmt.Fprintf(b, "%s%s:\n", pad, f.name)
			if err := emit(b, fv, indent+1); err != nil {
				return err
			}
		case reflect.Bool:
			fmt.Fprintf(b, "%s%s: %t\n", pad, f.name, fv.Bool())
		case reflect.Int:
			fmt.Fprintf(b, "%s%s: %d\n", pad, f.name, fv.Int())
		case reflect.String:
			fmt.Fprintf(b, "%s%s: %s\n", pad, f.name, yamlString(fv.String()))
		default:
			return fmt.Errorf("%s: cannot write a %s as YAML", f.name, fv.Kind())
		}
	}
	return nil
}

// yamlString writes s bare when YAML reads it back as the same string, and double-quoted
// otherwise ("", "1.24", "true", "a: b").
func yamlString(s string) string {
	var m map[string]any
	if err := yaml.Unmarshal([]byte("v: "+s), &m); err == nil {
		if got, ok := m["v"].(string); ok && got == s {
			return s
		}
	}
	return strconv.Quote(s)
}
