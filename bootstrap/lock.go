package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kfup/kfup/internal/errs"
	"github.com/kfup/kfup/internal/ui"
)

// A cluster's lock file is clusters/<name>.lock beside its directory: removing the
// directory (Store.Remove) must not remove a lock that is held. It holds the holder's
// process id, command and start time, for the waiter's status line.

// lockPoll is how often a waiting kfup tries the lock again.
const lockPoll = 100 * time.Millisecond

func (s Store) lockPath(name string) string { return s.ClusterDir(name) + ".lock" }

// LockCluster takes the lock of cluster name (flock on its lock file) for command
// ("create", "delete"), so that kfup processes change one cluster one at a time; Create
// and Delete take it themselves, and within one Env a second hold is free. While another
// process holds it, LockCluster waits with a status line naming that process, until ctx
// ends. The lock goes with the process, also when it is killed.
func (env *Env) LockCluster(ctx context.Context, name, command string) (unlock func(), err error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	env.lockMu.Lock()
	h := env.locks[name]
	if h != nil { // this Env holds it already (kfup create around Create)
		h.holds++
	}
	env.lockMu.Unlock()
	if h == nil {
		f, err := env.Store.acquire(ctx, name, command, env.Out.Step)
		if err != nil {
			return nil, err
		}
		h = &heldLock{file: f, holds: 1}
		env.lockMu.Lock()
		if env.locks == nil {
			env.locks = map[string]*heldLock{}
		}
		env.locks[name] = h
		env.lockMu.Unlock()
	}
	var once sync.Once
	return func() { once.Do(func() { env.release(name, h) }) }, nil
}

// heldLock is a cluster lock this Env holds, and how many holds it has.
type heldLock struct {
	file  *os.File
	holds int
}

// release drops one hold of name's lock; the last one removes the lock file and closes it.
func (env *Env) release(name string, h *heldLock) {
	env.lockMu.Lock()
	h.holds--
	last := h.holds == 0
	if last {
		delete(env.locks, name)
	}
	env.lockMu.Unlock()
	if last {
		// removed while held: a process waiting on this file sees it gone and tries anew
		os.Remove(h.file.Name())
		h.file.Close()
	}
}

// acquire returns the lock file of cluster name, locked, with this process written in it.
func (s Store) acquire(ctx context.Context, name, command string, step func(string) *ui.Step) (*os.File, error) {
	path := s.lockPath(name)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("lock cluster %q: %w", name, err)
	}
	var waiting *ui.Step
	end := func(err error) error {
		if waiting != nil {
			return waiting.End(err)
		}
		return err
	}
	for {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, end(fmt.Errorf("lock cluster %q: %w", name, err))
		}
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil && samePath(f, path) {
			holder := fmt.Sprintf("%d %s %s\n", os.Getpid(), command, time.Now().Format(time.RFC3339))
			if err := f.Truncate(0); err == nil {
				f.WriteAt([]byte(holder), 0)
			}
			return f, end(nil)
		}
		f.Close()
		if err != nil && !errors.Is(err, unix.EWOULDBLOCK) {
			return nil, end(fmt.Errorf("lock cluster %q: %w", name, err))
		}
		if waiting == nil && err != nil {
			waiting = step(fmt.Sprintf("Waiting for %s to finish with cluster %q", awaitHolder(ctx, path), name))
		}
		select {
		case <-ctx.Done():
			return nil, end(errs.Wrap(errs.KindInterrupted, "run the command again once the other kfup process has finished",
				fmt.Errorf("wait for the lock of cluster %q: %w", name, ctx.Err())))
		case <-time.After(lockPoll):
		}
	}
}

// samePath reports whether f is still the file at path: the last holder removes the file
// before it lets go, so a lock taken on the removed file locks nothing.
func samePath(f *os.File, path string) bool {
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	pi, err := os.Stat(path)
	return err == nil && os.SameFile(fi, pi)
}

// awaitHolder is describeHolder, given a moment to become readable: the holder takes the
// lock first and writes itself into the file just after, so a waiter arriving in between
// would otherwise name "another kfup process".
func awaitHolder(ctx context.Context, path string) string {
	d := describeHolder(path)
	for i := 0; i < 20 && d == unknownHolder && ctx.Err() == nil; i++ {
		time.Sleep(10 * time.Millisecond)
		d = describeHolder(path)
	}
	return d
}

// unknownHolder is how describeHolder names a holder the lock file does not describe.
const unknownHolder = "another kfup process"

// describeHolder names the process in the lock file at path: "kfup process 123 (create,
// since 15:04:05)", or "another kfup process" when the file says nothing readable.
func describeHolder(path string) string {
	b, err := os.ReadFile(path)
	fields := strings.Fields(string(b))
	if err != nil || len(fields) < 3 {
		return unknownHolder
	}
	pid, err := strconv.Atoi(fields[0])
	if err != nil {
		return unknownHolder
	}
	since := fields[2]
	if t, err := time.Parse(time.RFC3339, fields[2]); err == nil {
		since = t.Format(time.TimeOnly)
	}
	return fmt.Sprintf("kfup process %d (%s, since %s)", pid, fields[1], since)
}
