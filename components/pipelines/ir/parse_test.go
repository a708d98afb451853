package ir

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/kfup/kfup/internal/conformance"
)

func TestParseConformanceValid(t *testing.T) {
	for _, f := range conformance.Files(t, "pipelines/valid/*.yaml") {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			p, ps := Parse(b)
			if p == nil || len(ps) > 0 {
				t.Fatalf("problems: %v", ps)
			}
		})
	}
}
