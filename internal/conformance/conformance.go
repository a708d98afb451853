// Package conformance locates the upstream example YAML that kfup must accept unchanged
// (shared/conformance beside the repository, as CI lays it out, or $KFUP_CONFORMANCE_DIR),
// for the tests of every tier, and checks that an object was stored as a user sent it.
package conformance

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// Dir returns the conformance directory, or fails t with where it looked.
func Dir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("KFUP_CONFORMANCE_DIR"); d != "" {
		return d
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for d := wd; d != filepath.Dir(d); d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			c := filepath.Join(filepath.Dir(d), "shared", "conformance")
			if _, err := os.Stat(c); err != nil {
				t.Fatalf("conformance examples not found at %s: set KFUP_CONFORMANCE_DIR", c)
			}
			return c
		}
	}
	t.Fatal("repository root (go.mod) not found")
	return ""
}

// Files returns the sorted paths matching pattern under the conformance directory, or
// fails t when there are none.
func Files(t testing.TB, pattern string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(Dir(t), pattern))
	if err != nil || len(files) == 0 {
		t.Fatalf("no conformance files match %s: %v", pattern, fmt.Sprint(err))
	}
	sort.Strings(files)
	return files
}

// Objects reads the YAML documents of file (empty documents skipped), each as an
// unstructured object exactly as the file spells it, or fails t.
func Objects(t testing.TB, file string) []*unstructured.Unstructured {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out []*unstructured.Unstructured
	d := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
	for {
		var m map[string]any
		if err := d.Decode(&m); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if len(m) > 0 {
			out = append(out, &unstructured.Unstructured{Object: m})
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s holds no object", file)
	}
	return out
}

// Pruned compares what a user sent with what the API server stored and returns the dotted
// path of every field that was dropped or changed on the way (the API server pruning
// fields its schema does not know, or normalising a value). Fields the server added
// (defaults, status, metadata it owns) are not differences: sent must be a subset of
// stored. Numbers compare by value (YAML's 1 and JSON's 1.0 are equal).
func Pruned(sent, stored map[string]any) []string {
	var out []string
	diffValue("", sent, stored, &out)
	sort.Strings(out)
	return out
}

func diffValue(path string, sent, stored any, out *[]string) {
	switch s := sent.(type) {
	case map[string]any:
		g, ok := stored.(map[string]any)
		if !ok {
			*out = append(*out, fmt.Sprintf("%s: sent an object, stored %s", orRoot(path), describe(stored)))
			return
		}
		for k, v := range s {
			p := k
			if path != "" {
				p = path + "." + k
			}
			gv, ok := g[k]
			if !ok {
				if v != nil { // a null the server drops is no loss
					*out = append(*out, p+": pruned")
				}
				continue
			}
			diffValue(p, v, gv, out)
		}
	case []any:
		g, ok := stored.([]any)
		if !ok || len(g) != len(s) {
			*out = append(*out, fmt.Sprintf("%s: sent a list of %d, stored %s", orRoot(path), len(s), describe(stored)))
			return
		}
		for i := range s {
			diffValue(fmt.Sprintf("%s[%d]", path, i), s[i], g[i], out)
		}
	default:
		if sf, ok := number(sent); ok {
			if gf, ok := number(stored); ok && sf == gf {
				return
			}
		} else if reflect.DeepEqual(sent, stored) {
			return
		}
		*out = append(*out, fmt.Sprintf("%s: sent %v, stored %s", orRoot(path), sent, describe(stored)))
	}
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int:
		return float64(n), true
	case int32:
		return float64(n), true
	case int64:
		return float64(n), true
	case float64:
		return n, true
	}
	return 0, false
}

func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "nothing"
	case map[string]any:
		return "an object"
	case []any:
		return fmt.Sprintf("a list of %d", len(x))
	}
	return fmt.Sprintf("%v", v)
}

func orRoot(p string) string {
	if p == "" {
		return "(root)"
	}
	return p
}
