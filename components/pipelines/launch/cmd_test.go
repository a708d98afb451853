package launch

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kfup/kfup/components/pipelines/executor"
)

// runCmd runs `kfup agent launch ARGS...` for task tk and returns the exit code it asked
// for (-1: none) and its error.
func runCmd(t *testing.T, tk *task, args ...string) (int, error) {
	t.Helper()
	code := -1
	cmd := newCmd(func(c int) { code = c }, Options{Environ: tk.env(t), Store: tk.st, Root: tk.root})
	cmd.SetArgs(append([]string{"--termination-log", tk.termLog}, args...))
	cmd.SetOut(&tk.stdout)
	cmd.SetErr(&tk.stderr)
	err := cmd.ExecuteContext(context.Background())
	return code, err
}

// The command exits with the component's code, says why on stderr, and passes the
// component's flags through untouched.
func TestCmdExitCode(t *testing.T) {
	tk := shellTask(t, "x", nil, nil)
	code, err := runCmd(t, tk, "sh", "-c", `echo "$1" >&2; exit 4`, "sh", "--termination-log")
	if err != nil || code != 4 {
		t.Fatalf("exit %d, %v", code, err)
	}
	if want := "--termination-log\nkfup launch: command exited with code 4: --termination-log\n"; tk.stderr.String() != want {
		t.Errorf("stderr %q, want %q", tk.stderr.String(), want)
	}
	if d := cmp.Diff(&executor.Result{Error: "command exited with code 4: --termination-log"}, tk.report(t)); d != "" {
		t.Errorf("report (-want +got):\n%s", d)
	}
}

func TestCmdSuccess(t *testing.T) {
	tk := shellTask(t, "x", nil, nil)
	code, err := runCmd(t, tk, "--", "sh", "-c", `echo 8 > "$ROOT{{$.outputs.parameters['n'].output_file}}"`)
	if err != nil || code != -1 {
		t.Fatalf("exit %d, %v\n%s", code, err, tk.stderr.String())
	}
	if got := tk.report(t).Parameters["n"]; got != 8.0 {
		t.Errorf("n = %v", got)
	}
}

func TestCmdErrors(t *testing.T) {
	tk := shellTask(t, "x", nil, nil)
	if _, err := runCmd(t, tk); err == nil || !strings.Contains(err.Error(), "launch needs the component's command") {
		t.Errorf("no command: %v", err)
	}
	// a launcher failure is an error, exit 1 by the CLI
	code, err := runCmd(t, tk, "sh", "{{$.nope}}")
	if code != -1 || err == nil || !strings.Contains(err.Error(), "launch: resolve the command's placeholders: unknown placeholder {{$.nope}}") {
		t.Errorf("exit %d, %v", code, err)
	}
}

// The help says what the launcher does and how to call it.
func TestCmdHelp(t *testing.T) {
	var out bytes.Buffer
	cmd := NewCmd()
	cmd.SetArgs([]string{"--help"})
	cmd.SetOut(&out)
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"launch [--termination-log FILE] -- COMMAND [ARG...]", "KFUP_EXECUTOR_INPUT", "exits with COMMAND's exit code"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("help lacks %q:\n%s", s, out.String())
		}
	}
}
