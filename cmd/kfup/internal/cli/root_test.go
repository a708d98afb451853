package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/kfup/kfup/manifests"
)

func runMain(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	// Main builds the real command tree; only arguments that fail before any work are used
	// here, or commands that touch nothing (version, help).
	t.Setenv("NO_COLOR", "1")
	var out, errOut bytes.Buffer
	code = Main(context.Background(), args, IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
	return code, out.String(), errOut.String()
}

func lines(s string) []string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func TestMainUsageErrors(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"unknown flag", []string{"create", "--bogus"}, "--bogus"},
		{"unknown command", []string{"frobnicate"}, "unknown command"},
		{"bad name", []string{"create", "--name", "Bad_Name"}, "invalid cluster name"},
		{"unknown provider", []string{"create", "--provider", "k3d"}, "unknown provider"},
		{"delete all with name", []string{"delete", "--all", "--name", "x"}, "cannot be combined"},
		{"status xml", []string{"status", "-o", "xml"}, "xml"},
		{"extra argument", []string{"status", "extra"}, "takes no arguments"},
		{"bad global flag value", []string{"-v", "loud", "version"}, "loud"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runMain(t, tt.args...)
			if code != ExitUsage {
				t.Errorf("exit code = %d, want %d", code, ExitUsage)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
			got := lines(stderr)
			if len(got) != 2 {
				t.Fatalf("stderr has %d lines, want ERROR + hint:\n%s", len(got), stderr)
			}
			if !strings.HasPrefix(got[0], "ERROR: ") || !strings.Contains(got[0], tt.wantErr) {
				t.Errorf("first stderr line = %q, want ERROR: ...%s...", got[0], tt.wantErr)
			}
			if !strings.HasPrefix(got[1], "  hint: ") || len(got[1]) <= len("  hint: ") {
				t.Errorf("second stderr line = %q, want a hint", got[1])
			}
		})
	}
}

func TestMainCreateBogusFlag(t *testing.T) {
	code, stdout, stderr := runMain(t, "create", "--bogus")
	if code != 2 {
		t.Fatalf("exit code = %d, want 2", code)
	}
	if stdout != "" {
		t.Errorf("stdout = %q, want nothing", stdout)
	}
	errorLines, hintLines := 0, 0
	for _, l := range lines(stderr) {
		switch {
		case strings.HasPrefix(l, "ERROR:"):
			errorLines++
		case strings.HasPrefix(l, "  hint:"):
			hintLines++
		default:
			t.Errorf("unexpected stderr line %q (no usage dump expected)", l)
		}
	}
	if errorLines != 1 || hintLines != 1 {
		t.Errorf("stderr has %d ERROR and %d hint lines, want 1 and 1:\n%s", errorLines, hintLines, stderr)
	}
	if !strings.Contains(stderr, "kfup create --help") {
		t.Errorf("hint does not point at 'kfup create --help':\n%s", stderr)
	}
}

func TestMainVersionJSON(t *testing.T) {
	code, stdout, stderr := runMain(t, "version", "-o", "json")
	if code != 0 {
		t.Fatalf("exit code = %d, stderr:\n%s", code, stderr)
	}
	if stderr != "" {
		t.Errorf("stderr = %q, want nothing", stderr)
	}
	var rep VersionReport
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("stdout is not a VersionReport: %v\n%s", err, stdout)
	}
	if diff := cmp.Diff(manifests.Pins(), rep.Pinned); diff != "" {
		t.Errorf("pinned (-want +got):\n%s", diff)
	}
	if rep.Kfup.Version == "" || rep.Kfup.Commit == "" {
		t.Errorf("kfup version info incomplete: %+v", rep.Kfup)
	}
	var raw map[string]any
	if err := json.Unmarshal([]byte(stdout), &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"kfup", "pinned"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("JSON lacks key %q:\n%s", k, stdout)
		}
	}
}

func TestMainVersionYAMLAndTable(t *testing.T) {
	code, stdout, _ := runMain(t, "version", "-o", "yaml")
	if code != 0 {
		t.Fatalf("exit code = %d", code)
	}
	var rep VersionReport
	if err := yaml.UnmarshalStrict([]byte(stdout), &rep); err != nil {
		t.Fatalf("stdout is not a VersionReport in YAML: %v\n%s", err, stdout)
	}
	if diff := cmp.Diff(manifests.Pins(), rep.Pinned); diff != "" {
		t.Errorf("pinned (-want +got):\n%s", diff)
	}

	code, stdout, _ = runMain(t, "version")
	if code != 0 {
		t.Fatalf("exit code = %d", code)
	}
	for _, p := range manifests.Pins() {
		if !strings.Contains(stdout, p.Version) {
			t.Errorf("table output lacks %s %s:\n%s", p.Name, p.Version, stdout)
		}
	}
}

func TestMainHelp(t *testing.T) {
	code, stdout, stderr := runMain(t, "--help")
	if code != 0 {
		t.Fatalf("exit code = %d, stderr:\n%s", code, stderr)
	}
	for _, sub := range []string{"create", "delete", "status", "doctor", "version"} {
		if !strings.Contains(stdout, sub) {
			t.Errorf("help lacks %q", sub)
		}
	}
}
