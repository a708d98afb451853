package bootstrap

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kfup/kfup/internal/ui"

	"github.com/kfup/kfup/internal/testio"
)

// sigkillHelperEnv makes the test binary the kfup create that gets killed: it holds the
// store, fake provider and marker paths, separated by the list separator.
const sigkillHelperEnv = "KFUP_TEST_SIGKILL_HELPER"

// TestCreateAfterSIGKILL: a kfup create killed with SIGKILL once the node container
// exists leaves its record in phase Creating, the node and its lock file; the next create
// gets the lock at once, removes the unfinished cluster and creates it afresh.
func TestCreateAfterSIGKILL(t *testing.T) {
	if paths := os.Getenv(sigkillHelperEnv); paths != "" {
		createUntilKilled(t, filepath.SplitList(paths))
		return
	}
	l := newLifecycle(t)
	inCreate := filepath.Join(t.TempDir(), "in-create")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCreateAfterSIGKILL$", "-test.count=1")
	cmd.Env = append(os.Environ(), sigkillHelperEnv+"="+strings.Join([]string{l.store.Dir, l.kind.dir, inCreate, l.kubeconfig}, string(filepath.ListSeparator)))
	var childOut strings.Builder
	cmd.Stdout, cmd.Stderr = &childOut, &childOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(inCreate); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("the child create never reached the provider's Create:\n%s", childOut.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	cmd.Wait()

	// what the killed create left
	if got := l.phase(t, "x"); got != PhaseCreating {
		t.Fatalf("record phase after SIGKILL = %q, want Creating\n%s", got, childOut.String())
	}
	if st, _ := l.kind.state("x"); st != "running" {
		t.Fatalf("node after SIGKILL = %q, want running", st)
	}
	if holder := describeHolder(l.store.lockPath("x")); !strings.Contains(holder, fmt.Sprintf("process %d (create", cmd.Process.Pid)) {
		t.Fatalf("lock file after SIGKILL names %q, want the killed process %d", holder, cmd.Process.Pid)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out testio.Buffer
	if _, err := Create(ctx, l.env(&out), l.opts("x")); err != nil {
		t.Fatalf("create after SIGKILL: %v\n%s", err, out.String())
	}
	if diff := cmp.Diff([]string{"delete x", "create x"}, l.kind.Calls()); diff != "" {
		t.Errorf("provider calls (-want +got):\n%s", diff)
	}
	want := append([]string{` ✓ Removing cluster "x" left by an interrupted create`}, newSteps...)
	if diff := cmp.Diff(want, steps(out.String())); diff != "" {
		t.Errorf("status lines (-want +got):\n%s", diff)
	}
	if got := l.phase(t, "x"); got != PhaseReady {
		t.Errorf("record phase = %q, want Ready", got)
	}
	if diff := cmp.Diff([]string{"kfup-x", "mine"}, l.contexts(t)); diff != "" {
		t.Errorf("kubeconfig contexts (-want +got):\n%s", diff)
	}
}

// createUntilKilled runs kfup create of cluster "x" whose provider, once the node exists,
// marks inCreate and blocks until the process is killed.
func createUntilKilled(t *testing.T, paths []string) {
	storeDir, fakeDir, inCreate, kc := paths[0], paths[1], paths[2], paths[3]
	fake := &fakeProvider{dir: fakeDir, onCreate: func(context.Context, ClusterSpec) error {
		if err := os.WriteFile(inCreate, nil, 0o600); err != nil {
			t.Error(err)
		}
		select {} // until SIGKILL
	}}
	env := &Env{
		Out: ui.Discard(), Store: Store{Dir: storeDir}, Providers: providerSet(fake, Existing{}),
		Probes: okProbes(), PortFree: func(string, int) bool { return true }, Now: time.Now,
	}
	l := &lifecycle{kubeconfig: kc}
	_, err := Create(context.Background(), env, l.opts("x"))
	t.Fatalf("create returned before it was killed: %v", err)
}
