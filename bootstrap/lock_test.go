package bootstrap

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kfup/kfup/internal/errs"

	"github.com/kfup/kfup/internal/testio"
)

// TestConcurrentCreatesOfOneName: two `kfup create --name x` at once. The first to take
// the lock creates the cluster; the other waits, with a status line naming the first, and
// then converges the cluster the first made. Without the lock the second one takes the
// first one's cluster, record Creating, for the leftover of a killed create and removes it.
func TestConcurrentCreatesOfOneName(t *testing.T) {
	l := newLifecycle(t)
	var once sync.Once
	l.kind.onCreate = func(ctx context.Context, _ ClusterSpec) error {
		// the first creation lasts until the other create acts on the provider, or 300ms:
		// long enough for a second create that does not wait to get in the way
		once.Do(func() {
			deadline := time.Now().Add(300 * time.Millisecond)
			for len(l.kind.Calls()) < 2 && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
		})
		return nil
	}
	var outs [2]testio.Buffer
	var failures [2]error
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, failures[i] = Create(context.Background(), l.env(&outs[i]), l.opts("x"))
		}()
	}
	wg.Wait()
	for i, err := range failures {
		if err != nil {
			t.Errorf("create %d: %v\n%s", i, err, outs[i].String())
		}
	}
	if diff := cmp.Diff([]string{"create x"}, l.kind.Calls()); diff != "" {
		t.Errorf("provider calls (-want +got):\n%s", diff)
	}
	if st, _ := l.kind.state("x"); st != "running" {
		t.Errorf("node = %q, want running", st)
	}
	if got := l.phase(t, "x"); got != PhaseReady {
		t.Errorf("record phase = %q, want Ready", got)
	}
	waiting := fmt.Sprintf(` ✓ Waiting for kfup process %d (create, since `, os.Getpid())
	var waited []string
	for i := range outs {
		for _, s := range steps(outs[i].String()) {
			if strings.HasPrefix(s, waiting) {
				waited = append(waited, fmt.Sprintf("create %d", i))
			}
		}
	}
	if len(waited) != 1 {
		t.Errorf("creates that waited with %q...: %v, want one\n%s\n%s", waiting, waited, outs[0].String(), outs[1].String())
	}
}

// TestLockWaitEndsWithCtx: a delete waiting for a create elsewhere stops on Ctrl-C,
// touching nothing.
func TestLockWaitEndsWithCtx(t *testing.T) {
	l := newLifecycle(t)
	saveRecord(t, l, ProviderKind, PhaseReady)
	l.kind.setNodes(t, "x", "running")
	var other testio.Buffer
	unlock, err := l.env(&other).LockCluster(context.Background(), "x", "create")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	var out testio.Buffer
	_, err = Delete(ctx, l.env(&out), "x", "")
	checkErr(t, err, `wait for the lock of cluster "x"`, errs.KindInterrupted, "once the other kfup process has finished")
	want := []string{fmt.Sprintf(` ✗ Waiting for kfup process %d (create, since `, os.Getpid())}
	got := steps(out.String())
	if len(got) == 1 {
		got[0] = got[0][:len(want[0])]
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("status lines (-want +got):\n%s", diff)
	}
	if len(l.kind.Calls()) != 0 || l.phase(t, "x") != PhaseReady {
		t.Errorf("a delete that never got the lock acted: calls %v, phase %q", l.kind.Calls(), l.phase(t, "x"))
	}
}

// TestLockHandOver: a waiting process gets the lock once its holder lets go, and holds
// it (a third one waits); the lock file goes with the last holder; within one Env a
// second hold is free.
func TestLockHandOver(t *testing.T) {
	l := newLifecycle(t)
	var out testio.Buffer
	first, second, third := l.env(&out), l.env(&out), l.env(&out)
	unlock1, err := first.LockCluster(context.Background(), "x", "create")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan func())
	go func() {
		unlock2, err := second.LockCluster(context.Background(), "x", "delete")
		if err != nil {
			t.Error(err)
		}
		got <- unlock2
	}()
	time.Sleep(3 * lockPoll) // second waits
	unlock1()
	var unlock2 func()
	select {
	case unlock2 = <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("the waiting process did not get the lock once it was free")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*lockPoll)
	defer cancel()
	if unlock3, err := third.LockCluster(ctx, "x", "create"); err == nil {
		unlock3()
		t.Fatal("a third process got the lock while the second held it")
	}
	unlock2()
	if _, err := os.Stat(l.store.lockPath("x")); !os.IsNotExist(err) {
		t.Errorf("lock file left after the last holder: %v", err)
	}
	// a hold within the same Env is free (kfup create holds it around Create)
	unlock, err := first.LockCluster(context.Background(), "x", "create")
	if err != nil {
		t.Fatal(err)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	if _, err := Create(ctx2, first, l.opts("x")); err != nil {
		t.Fatalf("Create within its own Env's hold: %v", err)
	}
	unlock()
}
