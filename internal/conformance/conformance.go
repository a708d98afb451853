// Package conformance locates the upstream example YAML that kfup must accept unchanged
// (shared/conformance beside the repository, as CI lays it out, or $KFUP_CONFORMANCE_DIR),
// for the tests of every tier.
package conformance

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"
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
