package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
)

// tmpPrefix starts the name of a file Put is still writing; List never shows one.
const tmpPrefix = ".kfup-tmp-"

// fsStore keeps each key in the file root/key. Every access goes through an os.Root, so
// no path (a symlink planted under root included) reaches outside root.
type fsStore struct {
	root string
}

// NewFS returns a store of files under the directory root (created on the first Put).
// Keys map to paths under root; a key cannot be both a file and the prefix of others
// ("a" and "a/b"), which S3 allows but a file system does not.
func NewFS(root string) Store {
	if abs, err := filepath.Abs(root); err == nil {
		root = abs
	}
	return &fsStore{root: root}
}

func (s *fsStore) URI(key string) string         { return fsURI(key) }
func (s *fsStore) Key(uri string) (string, bool) { return fsKey(uri) }

// open opens root; with create it first makes root when missing.
func (s *fsStore) open(create bool) (*os.Root, error) {
	if create {
		if err := os.MkdirAll(s.root, 0o755); err != nil {
			return nil, fmt.Errorf("create the store's directory: %w", err)
		}
	}
	return os.OpenRoot(s.root)
}

func (s *fsStore) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	if err := checkKey("put", key); err != nil {
		return err
	}
	fail := func(err error) error { return fmt.Errorf("put %s: %w", key, err) }
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	root, err := s.open(true)
	if err != nil {
		return fail(err)
	}
	defer root.Close()
	name := filepath.FromSlash(key)
	if strings.HasPrefix(filepath.Base(name), tmpPrefix) {
		return fail(fmt.Errorf("file names starting %q are the FS store's temporary files", tmpPrefix))
	}
	dir := filepath.Dir(name)
	if dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			if errors.Is(err, fs.ErrExist) { // a file where a directory is needed
				err = syscall.ENOTDIR
			}
			return fail(putError(err, key))
		}
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	tmp := filepath.Join(dir, tmpPrefix+hex.EncodeToString(rnd[:]))
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fail(putError(err, key))
	}
	_, err = copySized(ctx, f, r, size)
	if err == nil {
		// Sync before the rename: a crash never leaves the key naming a file whose
		// bytes were lost.
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		if err = root.Rename(tmp, name); err != nil {
			if fi, serr := root.Lstat(name); serr == nil && fi.IsDir() {
				err = fmt.Errorf("keys exist under %s/: delete them first", key)
			}
		}
	}
	if err != nil {
		_ = root.Remove(tmp)
		return fail(putError(err, key))
	}
	return nil
}

func (s *fsStore) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := checkKey("get", key); err != nil {
		return nil, err
	}
	fail := func(err error) error { return fmt.Errorf("get %s: %w", key, err) }
	if err := ctx.Err(); err != nil {
		return nil, fail(err)
	}
	root, err := s.open(false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fail(ErrNotFound)
	} else if err != nil {
		return nil, fail(err)
	}
	defer root.Close() // files opened through root outlive it
	f, err := root.Open(filepath.FromSlash(key))
	if err != nil {
		return nil, fail(fsError(err, key))
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fail(err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		if fi.IsDir() {
			return nil, fail(fmt.Errorf("%w (keys exist under %s/; list them)", ErrNotFound, key))
		}
		return nil, fail(fmt.Errorf("%w (not a regular file)", ErrNotFound))
	}
	return f, nil
}

func (s *fsStore) List(ctx context.Context, prefix string) ([]string, error) {
	if err := checkKey("list", prefix); err != nil {
		return nil, err
	}
	fail := func(err error) error { return fmt.Errorf("list %s: %w", prefix, err) }
	root, err := s.open(false)
	if errors.Is(err, fs.ErrNotExist) {
		return []string{}, nil
	} else if err != nil {
		return nil, fail(err)
	}
	defer root.Close()
	fi, err := root.Lstat(filepath.FromSlash(prefix))
	switch {
	case err != nil:
		if err := fsError(err, prefix); errors.Is(err, ErrNotFound) {
			return []string{}, nil
		}
		return nil, fail(fsError(err, prefix))
	case fi.Mode().IsRegular():
		return []string{prefix}, nil
	case !fi.IsDir():
		return []string{}, nil // a symlink or device: not an artifact
	}
	keys := []string{}
	// root.FS walks through the root too: a symlinked directory is neither followed nor
	// listed.
	err = fs.WalkDir(root.FS(), prefix, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // deleted while walking
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if !d.Type().IsRegular() || strings.HasPrefix(d.Name(), tmpPrefix) {
			return nil
		}
		if ValidKey(p) != nil {
			return nil // a file the store did not write (a name with a control character)
		}
		if len(keys) >= maxListKeys {
			return fmt.Errorf("more than %d keys: list a narrower prefix", maxListKeys)
		}
		keys = append(keys, p)
		return nil
	})
	if err != nil {
		return nil, fail(err)
	}
	sort.Strings(keys)
	return keys, nil
}

func (s *fsStore) Delete(ctx context.Context, prefix string) error {
	if err := checkKey("delete", prefix); err != nil {
		return err
	}
	fail := func(err error) error { return fmt.Errorf("delete %s: %w", prefix, err) }
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	root, err := s.open(false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return fail(err)
	}
	defer root.Close()
	// RemoveAll removes a symlink, never what it points at. The empty parents stay: a
	// Put making them at the same time must not lose them.
	if err := root.RemoveAll(filepath.FromSlash(prefix)); err != nil {
		if errors.Is(fsError(err, prefix), ErrNotFound) {
			return nil
		}
		return fail(fsError(err, prefix))
	}
	return nil
}

// fsError turns a missing file (or a file where a directory was expected) into
// ErrNotFound, and a path that leaves the root into a refusal that says so.
func fsError(err error, key string) error {
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
		return ErrNotFound
	case escapes(err):
		return fmt.Errorf("refusing %s: a symlink on its path leads outside the store", key)
	}
	return err
}

// putError is fsError for writes: a file where a directory is needed is a conflict.
func putError(err error, key string) error {
	switch {
	case errors.Is(err, syscall.ENOTDIR):
		return fmt.Errorf("a parent of %s is itself a key (a file)", key)
	case escapes(err):
		return fmt.Errorf("refusing %s: a symlink on its path leads outside the store", key)
	}
	return err
}

// escapes reports os.Root's refusal of a path that leaves the root (its error is not
// exported, only its text).
func escapes(err error) bool { return strings.Contains(err.Error(), "path escapes from parent") }
