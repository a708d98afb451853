package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kfup/kfup/internal/conformance"
)

func TestPipelineValidate(t *testing.T) {
	valid := conformance.Files(t, "pipelines/valid/*.yaml")
	code, out, errOut := runMain(t, append([]string{"pipeline", "validate"}, valid...)...)
	if code != ExitOK || strings.Count(out, "is runnable") != len(valid) {
		t.Fatalf("valid files: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}

	invalid := conformance.Files(t, "pipelines/invalid/invalid_yaml.yaml")[0]
	code, out, errOut = runMain(t, "pipeline", "validate", valid[0], invalid)
	if code != ExitUsage {
		t.Fatalf("exit %d, want %d (usage)", code, ExitUsage)
	}
	for _, want := range []string{`unknown field "components_1"`, `task "echo": root.dag.tasks.echo.componentRef.name: component "comp-echo" does not exist`} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errOut, "1 of 2 pipeline(s) are not runnable") {
		t.Errorf("stderr: %s", errOut)
	}

	code, out, _ = runMain(t, "pipeline", "validate", "-o", "json", invalid)
	var reps []PipelineReport
	if err := json.Unmarshal([]byte(out), &reps); err != nil || code != ExitUsage || len(reps) != 1 || reps[0].Runnable || len(reps[0].Problems) != 2 {
		t.Errorf("json: exit %d, %v, %+v", code, err, reps)
	}

	if code, _, _ := runMain(t, "pipeline", "validate", filepath.Join(t.TempDir(), "nope.yaml")); code != ExitNotFound {
		t.Errorf("missing file: exit %d, want %d", code, ExitNotFound)
	}
	if code, _, _ := runMain(t, "pipeline", "validate"); code != ExitUsage {
		t.Errorf("no file: exit %d, want %d", code, ExitUsage)
	}
	empty := filepath.Join(t.TempDir(), "empty.yaml")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, _ := runMain(t, "pipeline", "validate", empty); code != ExitUsage || !strings.Contains(out, "the file is empty") {
		t.Errorf("empty file: exit %d, %s", code, out)
	}
}
