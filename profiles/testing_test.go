package profiles

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/kfup/kfup/internal/errs"
)

// errorLines returns err's message one problem a line (nil for a nil err), after checking
// that err is a usage error, so that the CLI exits with its usage code.
func errorLines(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	if k := errs.KindOf(err); k != errs.KindUsage {
		t.Errorf("error kind = %v, want usage (error: %v)", k, err)
	}
	return strings.Split(err.Error(), "\n")
}

// fieldErrors returns every *FieldError joined in err.
func fieldErrors(err error) []*FieldError {
	if u, ok := err.(interface{ Unwrap() []error }); ok {
		var out []*FieldError
		for _, e := range u.Unwrap() {
			out = append(out, fieldErrors(e)...)
		}
		return out
	}
	var fe *FieldError
	if errors.As(err, &fe) {
		return []*FieldError{fe}
	}
	return nil
}

// hints returns the hint of each problem joined in err.
func hints(err error) []string {
	var out []string
	if u, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range u.Unwrap() {
			out = append(out, errs.HintOf(e))
		}
		return out
	}
	return []string{errs.HintOf(err)}
}

// pathExists reports whether the dotted path names a key of Profile.
func pathExists(path string) bool {
	if path == "" {
		return true
	}
	t := reflect.TypeFor[Profile]()
	for _, seg := range strings.Split(path, ".") {
		if t.Kind() != reflect.Struct {
			return false
		}
		f, ok := lookup(t, seg)
		if !ok {
			return false
		}
		t = t.Field(f.index).Type
	}
	return true
}

// writeProfile writes content to p.yaml in a fresh working directory and returns
// "p.yaml", so that error messages name a short, stable file.
func writeProfile(t *testing.T, content string) string {
	t.Helper()
	t.Chdir(t.TempDir())
	if err := os.WriteFile("p.yaml", []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return "p.yaml"
}

// mustLoad loads a built-in or fails the test.
func mustLoad(t *testing.T, name string) *Profile {
	t.Helper()
	p, err := Load(name)
	if err != nil {
		t.Fatalf("Load(%q): %v", name, err)
	}
	return p
}
