// Package launch is kfup's pipeline task launcher, `kfup agent launch -- COMMAND...`: the
// main container of every task pod runs it in front of the component's own command, in
// the component's image. It does what KFP's launcher does: it resolves the command's
// placeholders against the executor input the controller gave the pod, downloads the
// input artifacts from kfup's artifact store to their local paths (/minio/..., /s3/...),
// runs the command, reads the output parameters, uploads the output artifacts and reports
// the outcome in the container's termination message, which the run controller reads.
//
// The pod's contract is its environment (the Env* names below, and the store's
// KFUP_ARTIFACT_STORE) and the layout of package executor (an emptyDir at /kfup-pod, where
// an init container put kfup at BinPath with `kfup agent copy-self`).
package launch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	pipelinesv1alpha1 "github.com/kfup/kfup/components/pipelines/api/v1alpha1"
	"github.com/kfup/kfup/components/pipelines/executor"
	"github.com/kfup/kfup/components/pipelines/ir"
	"github.com/kfup/kfup/components/pipelines/store"
)

// The environment of a task pod's main container, set by the run controller.
const (
	// EnvExecutorInput is the executor input (executor.ExecutorInput) as JSON.
	EnvExecutorInput = "KFUP_EXECUTOR_INPUT"
	// EnvRunInfo is the run's placeholder values (executor.RunInfo) as JSON.
	EnvRunInfo = "KFUP_RUN_INFO"
	// EnvComponentSpec is the task's component (ir.ComponentSpec) as JSON: its output
	// definitions type the output parameters, as KFP's launcher's --component_spec.
	EnvComponentSpec = "KFUP_COMPONENT_SPEC"
	// EnvResultKey is the store key of the full result when it is too long for the
	// termination message (by default the common parent of the output artifacts' keys,
	// then ResultFile).
	EnvResultKey = "KFUP_RESULT_KEY"
)

// BinPath is where the init container copies kfup in the task pod.
const BinPath = "/kfup-pod/bin/kfup"

// ResultFile is the last segment of the default result key.
const ResultFile = ".kfup-result.json"

// maxReadBytes bounds an output parameter file or the executor output file: outputs this
// large belong in artifacts (the controller keeps 64 KiB of parameters per task).
const maxReadBytes = 1 << 20

// Command is the main container's command for the component's command and args argv
// (unresolved: the launcher resolves them).
func Command(argv []string) []string {
	return append([]string{BinPath, "agent", "launch", "--"}, argv...)
}

// Options configure Run; the zero value (but Args) is a task pod's.
type Options struct {
	// Args are the component's command and args, placeholders unresolved.
	Args []string
	// Environ is the launcher's environment, "NAME=value" (os.Environ() when nil). The
	// command gets it without the launcher's own Env* variables, with placeholders in
	// its values resolved.
	Environ []string
	// Store is the artifact store (store.FromEnv of Environ when nil).
	Store store.Store
	// Root is put in front of every path of the container the launcher reads or writes
	// (/kfup-pod/outputs/..., /minio/...), so tests run under a temporary directory; the
	// command is given the paths as they are.
	Root string
	// TerminationLog is where the report goes (nowhere when empty).
	TerminationLog string
	// Stdout and Stderr get the command's output; Stderr also the launcher's log lines.
	Stdout, Stderr io.Writer
	// Signals are forwarded to the command while it runs.
	Signals <-chan os.Signal
	// Exec runs the command (RunProcess when nil).
	Exec Exec
}

// ExitError is a command that failed or could not start: the launcher exits with Code.
type ExitError struct {
	Code int
	Msg  string
}

func (e *ExitError) Error() string { return e.Msg }

// Run runs one task: resolve, download, run, collect, upload, report. It returns nil
// when the command exited 0 and its outputs are stored, an *ExitError when the command
// failed (exit with its Code), and another error when the launcher itself failed; in
// every case the report is in the termination log.
func Run(ctx context.Context, o Options) error {
	l := &launcher{o: o}
	if l.o.Environ == nil {
		l.o.Environ = os.Environ()
	}
	if l.o.Stdout == nil {
		l.o.Stdout = io.Discard
	}
	if l.o.Stderr == nil {
		l.o.Stderr = io.Discard
	}
	if l.o.Exec == nil {
		l.o.Exec = RunProcess
	}
	kept := &keptLog{max: maxKeptLog}
	l.o.Stdout, l.o.Stderr = io.MultiWriter(l.o.Stdout, kept), io.MultiWriter(l.o.Stderr, kept)
	err := l.runAndFinish(ctx)
	if err != nil {
		l.report(&executor.Result{Error: oneLine(err.Error())})
	}
	l.keepLog(ctx, kept, err)
	return err
}

func (l *launcher) runAndFinish(ctx context.Context) error {
	res, err := l.run(ctx)
	if err != nil {
		return err
	}
	return l.finish(ctx, res)
}

// maxKeptLog bounds the task's log kept in the store: its last 1 MiB.
const maxKeptLog = pipelinesv1alpha1.MaxTaskLogBytes

// keepLog stores the task's output — the command's stdout and stderr and the launcher's
// own lines, as the pod's log has them, their last maxKeptLog bytes — beside its result
// (pipelinesv1alpha1.TaskLogFile), so that it stays readable once the pod is gone: kfup
// pipeline logs and the dashboard read it then. It is best effort: the task's outcome
// does not depend on it, a failure is one line on stderr.
func (l *launcher) keepLog(ctx context.Context, kept *keptLog, runErr error) {
	rk := l.getenv(EnvResultKey)
	if rk == "" || l.st == nil {
		return
	}
	if runErr != nil {
		fmt.Fprintf(kept, "kfup launch: %s\n", oneLine(runErr.Error()))
	}
	key := path.Dir(rk) + "/" + pipelinesv1alpha1.TaskLogFile
	b := kept.bytes()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := l.st.Put(ctx, key, bytes.NewReader(b), int64(len(b))); err != nil {
		fmt.Fprintf(l.o.Stderr, "kfup launch: keep the task's log at %s: %v\n", l.st.URI(key), err)
	}
}

type launcher struct {
	o    Options
	st   store.Store
	in   *executor.ExecutorInput
	info executor.RunInfo
	comp ir.ComponentSpec
}

func (l *launcher) getenv(name string) string {
	for _, kv := range l.o.Environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			return v
		}
	}
	return ""
}

func (l *launcher) logf(format string, args ...any) {
	fmt.Fprintf(l.o.Stderr, "kfup launch: "+format+"\n", args...)
}

// local is container path p under Root.
func (l *launcher) local(p string) string {
	if l.o.Root == "" {
		return p
	}
	return filepath.Join(l.o.Root, filepath.FromSlash(p))
}

// run does everything up to the command's outputs.
func (l *launcher) run(ctx context.Context) (*executor.Result, error) {
	if len(l.o.Args) == 0 {
		return nil, errors.New("no command: run it as kfup agent launch -- COMMAND [ARG...]")
	}
	if err := l.parseEnv(); err != nil {
		return nil, err
	}
	argv, err := executor.Resolve(l.o.Args, l.in, l.info)
	if err != nil {
		return nil, fmt.Errorf("resolve the command's placeholders: %w", err)
	}
	if len(argv) == 0 || argv[0] == "" {
		return nil, fmt.Errorf("the command %q is empty once resolved", l.o.Args)
	}
	env, err := l.childEnv()
	if err != nil {
		return nil, err
	}
	if l.st = l.o.Store; l.st == nil {
		if l.st, err = store.FromEnv(ctx, l.getenv); err != nil {
			return nil, fmt.Errorf("open the artifact store: %w", err)
		}
	}
	if err := l.download(ctx); err != nil {
		return nil, err
	}
	if err := l.prepareOutputs(); err != nil {
		return nil, err
	}
	stderr := &tailWriter{w: l.o.Stderr}
	code, err := l.o.Exec(ctx, Process{Argv: argv, Env: env, Stdout: l.o.Stdout, Stderr: stderr, Signals: l.o.Signals})
	if err != nil {
		return nil, err
	}
	if code != 0 {
		msg := fmt.Sprintf("command exited with code %d", code)
		if line := stderr.lastLine(); line != "" && len(line) <= 200 {
			msg += ": " + line
		}
		return nil, &ExitError{Code: code, Msg: msg}
	}
	res, err := executor.Collect(&l.comp, l.in, l.readFile)
	if err != nil {
		return nil, err
	}
	return res, nil
}

// parseEnv reads the controller's variables.
func (l *launcher) parseEnv() error {
	parse := func(name string, into any) error {
		v := l.getenv(name)
		if v == "" {
			return fmt.Errorf("%s is not set: the run controller sets it on every task pod", name)
		}
		if err := json.Unmarshal([]byte(v), into); err != nil {
			return fmt.Errorf("%s is not valid JSON: %w", name, err)
		}
		return nil
	}
	l.in = &executor.ExecutorInput{}
	if err := parse(EnvExecutorInput, l.in); err != nil {
		return err
	}
	if err := parse(EnvRunInfo, &l.info); err != nil {
		return err
	}
	return parse(EnvComponentSpec, &l.comp)
}

// childEnv is the command's environment: the launcher's without its own variables, the
// placeholders in the values resolved (the IR's env may hold them). A value whose
// "{{$...}}" is no placeholder kfup knows is left as it is: it came from elsewhere (a
// Secret), since the validator refuses unknown placeholders in the IR.
func (l *launcher) childEnv() ([]string, error) {
	own := map[string]bool{EnvExecutorInput: true, EnvRunInfo: true, EnvComponentSpec: true, EnvResultKey: true}
	var env []string
	for _, kv := range l.o.Environ {
		k, v, _ := strings.Cut(kv, "=")
		if own[k] {
			continue
		}
		if phs := ir.FindPlaceholders(v); len(phs) > 0 && knownPlaceholders(phs) {
			out, err := executor.Resolve([]string{v}, l.in, l.info)
			if err != nil {
				return nil, fmt.Errorf("resolve the placeholders of env %s: %w", k, err)
			}
			v = strings.Join(out, "")
		}
		env = append(env, k+"="+v)
	}
	return env, nil
}

func knownPlaceholders(phs []string) bool {
	for _, ph := range phs {
		if _, err := ir.ParsePlaceholder(ph); err != nil {
			return false
		}
	}
	return true
}

// download puts each input artifact of this store at its local path. Others (an
// importer's gs:// or https:// URI) are the component's to read. An artifact its
// producer wrote nothing for is empty, as in KFP: nothing is downloaded.
func (l *launcher) download(ctx context.Context) error {
	for _, name := range sortedKeys(l.in.Inputs.Artifacts) {
		for _, a := range l.in.Inputs.Artifacts[name].Artifacts {
			key, ours := l.st.Key(a.URI)
			local, ok := store.LocalPath(a.URI)
			if !ours || !ok {
				l.logf("input artifact %s: %s is not in kfup's artifact store: left for the component to read", name, a.URI)
				continue
			}
			err := store.DownloadPath(ctx, l.st, key, l.local(local))
			switch {
			case errors.Is(err, store.ErrNotFound):
				l.logf("input artifact %s: %s is empty (its producer wrote nothing)", name, a.URI)
			case err != nil:
				return fmt.Errorf("input artifact %s: %w", name, err)
			default:
				l.logf("input artifact %s: downloaded %s to %s", name, a.URI, local)
			}
		}
	}
	return nil
}

// prepareOutputs makes the directories the outputs go to.
func (l *launcher) prepareOutputs() error {
	dirs := []string{path.Dir(l.in.Outputs.OutputFile)}
	for _, name := range sortedKeys(l.in.Outputs.Parameters) {
		dirs = append(dirs, path.Dir(l.in.Outputs.Parameters[name].OutputFile))
	}
	for _, name := range sortedKeys(l.in.Outputs.Artifacts) {
		for _, a := range l.in.Outputs.Artifacts[name].Artifacts {
			local, ok := store.LocalPath(a.URI)
			if !ok {
				return fmt.Errorf("output artifact %s: %s has no local path", name, a.URI)
			}
			dirs = append(dirs, path.Dir(local))
		}
	}
	for _, d := range dirs {
		if err := os.MkdirAll(l.local(d), 0o755); err != nil {
			return fmt.Errorf("make the outputs' directory %s: %w", d, err)
		}
	}
	return nil
}

// readFile reads a file of the container for executor.Collect, bounded.
func (l *launcher) readFile(p string) ([]byte, error) {
	f, err := os.Open(l.local(p))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxReadBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxReadBytes {
		return nil, fmt.Errorf("%s is over %d bytes: pass large outputs as artifacts", p, maxReadBytes)
	}
	return b, nil
}

// finish uploads the output artifacts and reports res.
func (l *launcher) finish(ctx context.Context, res *executor.Result) error {
	for _, name := range sortedKeys(res.Artifacts) {
		for _, a := range res.Artifacts[name] {
			key, ours := l.st.Key(a.URI)
			local, ok := store.LocalPath(a.URI)
			if !ours || !ok {
				l.logf("output artifact %s: the component pointed it at %s, outside kfup's artifact store: nothing uploaded", name, a.URI)
				continue
			}
			_, err := os.Lstat(l.local(local))
			if errors.Is(err, fs.ErrNotExist) {
				// KFP's launcher allows it too: the artifact is recorded, empty.
				l.logf("warning: output artifact %s: the component wrote nothing at %s: it is empty", name, local)
				continue
			}
			if err := store.UploadPath(ctx, l.st, key, l.local(local)); err != nil {
				return fmt.Errorf("output artifact %s: %w", name, err)
			}
			l.logf("output artifact %s: uploaded %s to %s", name, local, a.URI)
		}
	}
	msg, err := json.Marshal(res)
	if err != nil {
		return fmt.Errorf("encode the result: %w", err)
	}
	if len(msg) > executor.MaxMessageBytes {
		key, err := l.resultKey(res)
		if err != nil {
			return err
		}
		if err := l.st.Put(ctx, key, bytes.NewReader(msg), int64(len(msg))); err != nil {
			return fmt.Errorf("store the result (%d bytes, too long for a termination message): %w", len(msg), err)
		}
		res = &executor.Result{Ref: l.st.URI(key)}
	}
	return l.report(res)
}

// resultKey is where a long result goes: $KFUP_RESULT_KEY, else beside the outputs.
func (l *launcher) resultKey(res *executor.Result) (string, error) {
	if k := l.getenv(EnvResultKey); k != "" {
		return k, nil
	}
	var keys []string
	for _, name := range sortedKeys(l.in.Outputs.Artifacts) {
		for _, a := range l.in.Outputs.Artifacts[name].Artifacts {
			if k, ok := l.st.Key(a.URI); ok {
				keys = append(keys, k)
			}
		}
	}
	if p := commonParent(keys); p != "" {
		return p + "/" + ResultFile, nil
	}
	return "", fmt.Errorf("the result is too long for a termination message and %s is not set", EnvResultKey)
}

// commonParent is the deepest key prefix all keys are under ("ns/run/task" for
// "ns/run/task/a" and "ns/run/task/b"); "" when there is none.
func commonParent(keys []string) string {
	if len(keys) == 0 {
		return ""
	}
	p := path.Dir(keys[0])
	for _, k := range keys[1:] {
		for p != "." && !strings.HasPrefix(k, p+"/") {
			p = path.Dir(p)
		}
	}
	if p == "." {
		return ""
	}
	return p
}

// report writes res to the termination log.
func (l *launcher) report(res *executor.Result) error {
	if l.o.TerminationLog == "" {
		return nil
	}
	b, err := json.Marshal(res)
	if err != nil {
		return err
	}
	if err := os.WriteFile(l.o.TerminationLog, b, 0o644); err != nil {
		l.logf("write the termination log %s: %v", l.o.TerminationLog, err)
		return fmt.Errorf("write the termination log: %w", err)
	}
	return nil
}

// oneLine is err's message as one line of at most 1000 bytes, for the report.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 1000 {
		s = s[:1000] + "…"
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
