package ir

import (
	"os"
	"testing"

	"github.com/kfup/kfup/internal/conformance"
)

// FuzzParse feeds the parser and validator arbitrary bytes, seeded with every
// conformance pipeline: they must never panic, and a pipeline must come back whenever
// no problem is reported.
func FuzzParse(f *testing.F) {
	for _, pattern := range []string{"pipelines/valid/*.yaml", "pipelines/invalid/*.yaml"} {
		for _, file := range conformance.Files(f, pattern) {
			b, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Add([]byte(base))
	f.Add([]byte("a: &a [*a, *a]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<20 {
			return
		}
		p, ps := Check("fuzz.yaml", data)
		if p == nil && len(ps) == 0 {
			t.Fatal("no pipeline and no problem")
		}
		_ = ps.Err("fuzz.yaml")
	})
}
