package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/kfup/kfup/internal/workspace"
)

// The helpers of `kfup run` pods: unpack the run's archive into the workspace, and hold
// a finished pod until its outputs are fetched.

// Unpack extracts the archive whose chunks are the files of dir from (sorted by name;
// the hidden entries of a projected volume, ..data and its timestamped directory, are
// skipped) into to, checking its digest.
func Unpack(out io.Writer, from, digest, to string) error {
	entries, err := os.ReadDir(from)
	if err != nil {
		return fmt.Errorf("read the archive's chunks: %w", err)
	}
	var readers []io.Reader
	var names []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		names = append(names, e.Name())
	}
	sort.Strings(names)
	if len(names) == 0 {
		return fmt.Errorf("%s holds no archive chunk", from)
	}
	for _, n := range names {
		f, err := os.Open(filepath.Join(from, n))
		if err != nil {
			return err
		}
		defer f.Close()
		readers = append(readers, f)
	}
	start := time.Now()
	st, err := workspace.Extract(io.MultiReader(readers...), to, digest)
	if err != nil {
		return fmt.Errorf("unpack %s into %s: %w", workspace.ShortDigest(digest), to, err)
	}
	fmt.Fprintf(out, "unpacked archive %s: %d files, %s, into %s in %s\n", digest, st.Files, workspace.HumanBytes(st.Bytes), to, time.Since(start).Round(time.Millisecond))
	return nil
}

// FetchedFile is the file in the outputs sidecar's state directory that says the CLI has
// fetched the outputs.
const FetchedFile = "fetched"

// HoldOutputs is the outputs sidecar: it waits for ctx to end (the kubelet's SIGTERM
// once the framework container has exited) and then, when dir holds anything, until the
// CLI has fetched it (FetchedFile appears in state) or wait has passed, whichever comes
// first. The pod, and so the job, finishes right after.
func HoldOutputs(ctx context.Context, out io.Writer, dir, state string, wait, poll time.Duration) error {
	<-ctx.Done()
	n, err := countFiles(dir)
	if err != nil {
		fmt.Fprintf(out, "outputs: %v\n", err)
		return nil
	}
	if n == 0 {
		fmt.Fprintln(out, "outputs: none")
		return nil
	}
	fmt.Fprintf(out, "outputs: %d file(s); waiting up to %s for kfup to fetch them\n", n, wait)
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(filepath.Join(state, FetchedFile)); err == nil {
			fmt.Fprintln(out, "outputs: fetched")
			return nil
		}
		time.Sleep(poll)
	}
	fmt.Fprintf(out, "outputs: not fetched within %s; they go with the pod\n", wait)
	return nil
}

func countFiles(dir string) (int, error) {
	n := 0
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			n++
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	return n, err
}

// PackOutputs writes the files under dir as a gzipped tar to w; nothing at all when there
// are none.
func PackOutputs(w io.Writer, errOut io.Writer, dir string) error {
	n, err := countFiles(dir)
	if err != nil || n == 0 {
		return err
	}
	_, err = workspace.Pack(w, dir, func(s string) { fmt.Fprintln(errOut, s) })
	return err
}

// ReleaseOutputs marks in state that the outputs were fetched: HoldOutputs returns.
func ReleaseOutputs(state string) error {
	return os.WriteFile(filepath.Join(state, FetchedFile), nil, 0o644)
}
