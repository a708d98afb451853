package agent

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// The tuning controller's pbt trials run `kfup agent checkpoint` as an init container:
// each trial has its own directory on the experiment's checkpoint volume, which the
// primary container mounts at the experiment's suggestion_trial_dir, and a trial bred from
// a parent starts with a copy of the parent's directory (Katib's suggestion service makes
// that copy; kfup has no suggestion pod, so the trial's pod makes it).

// PrepareCheckpoint makes dir, a trial's checkpoint directory: a copy of parent (another
// trial's directory) when parent is set, else empty. A dir that exists already is kept:
// a retried pod of the trial goes on from what the last one wrote. The copy is made
// beside dir and renamed into place, so a pod that stops half-way leaves no partial
// directory, and of two pods of one trial copying at once the first to finish wins.
// Directories and files are made writable by every user (the trial's container may run
// as another user than this one); a parent that does not exist gives an empty dir, noted
// on out. Only directories, regular files and symbolic links are copied.
func PrepareCheckpoint(out io.Writer, dir, parent string) error {
	if fi, err := os.Lstat(dir); err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("checkpoint %s exists and is not a directory: delete it", dir)
		}
		fmt.Fprintf(out, "checkpoint directory %s exists: kept (a retried pod goes on from it)\n", dir)
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return fmt.Errorf("make %s: %w", filepath.Dir(dir), err)
	}
	src := ""
	if parent != "" {
		switch fi, err := os.Stat(parent); {
		case err == nil && fi.IsDir():
			src = parent
		case err == nil:
			return fmt.Errorf("parent checkpoint %s is not a directory", parent)
		case errors.Is(err, fs.ErrNotExist):
			fmt.Fprintf(out, "parent checkpoint %s does not exist (its trial wrote none, or the volume is new): starting empty\n", parent)
		default:
			return fmt.Errorf("parent checkpoint: %w", err)
		}
	}
	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix)
	tmp := filepath.Join(filepath.Dir(dir), "."+filepath.Base(dir)+".tmp-"+hex.EncodeToString(suffix))
	files, size, err := copyTree(out, src, tmp)
	if err != nil {
		_ = os.RemoveAll(tmp)
		return err
	}
	if err := os.Rename(tmp, dir); err != nil {
		_ = os.RemoveAll(tmp)
		if fi, serr := os.Lstat(dir); serr == nil && fi.IsDir() {
			fmt.Fprintf(out, "checkpoint directory %s was made meanwhile by another pod of the trial: kept\n", dir)
			return nil
		}
		return fmt.Errorf("move the checkpoint into %s: %w", dir, err)
	}
	if src == "" {
		fmt.Fprintf(out, "checkpoint directory %s made, empty\n", dir)
	} else {
		fmt.Fprintf(out, "checkpoint directory %s made: a copy of %s (%d files, %d bytes)\n", dir, src, files, size)
	}
	return nil
}

// copyTree copies the tree src into the new directory dst (an empty dst when src is "");
// it returns the files and bytes copied.
func copyTree(out io.Writer, src, dst string) (files int, size int64, err error) {
	if src == "" {
		return 0, 0, mkdirAll0777(dst)
	}
	err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("read the parent checkpoint: %w (its files must be readable by user %d)", err, User)
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		to := filepath.Join(dst, rel)
		switch t := d.Type(); {
		case d.IsDir():
			return mkdirAll0777(to)
		case t&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(target, to)
		case t.IsRegular():
			n, err := copyFile(p, to)
			files++
			size += n
			return err
		default:
			fmt.Fprintf(out, "skipped %s: not a regular file, directory or symbolic link\n", p)
			return nil
		}
	})
	return files, size, err
}

// mkdirAll0777 makes dir writable by every user, whatever the umask.
func mkdirAll0777(dir string) error {
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return err
	}
	return os.Chmod(dir, 0o777)
}

// copyFile copies the regular file from into the new file to, with from's mode plus
// write for everyone.
func copyFile(from, to string) (int64, error) {
	in, err := os.Open(from)
	if err != nil {
		return 0, fmt.Errorf("read the parent checkpoint: %w (its files must be readable by user %d)", err, User)
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return 0, err
	}
	mode := fi.Mode().Perm() | 0o666
	o, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(o, in)
	if cerr := o.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(to, mode)
	}
	if err != nil {
		return n, fmt.Errorf("copy %s: %w", from, err)
	}
	return n, nil
}
