package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sync/errgroup"
)

// transfers is how many files UploadPath and DownloadPath move at once.
const transfers = 4

// UploadPath stores the artifact at localPath under key. A KFP artifact's local path is
// a file or a directory: a file is Put under key; a directory first has key deleted (so
// no file of an earlier upload lingers), then each regular file under it is Put under
// key+"/"+its relative path (symlinks and other special files are skipped; at most
// 100000 files). A missing path is an error naming it.
func UploadPath(ctx context.Context, s Store, key, localPath string) error {
	if err := checkKey("upload", key); err != nil {
		return err
	}
	fail := func(err error) error { return fmt.Errorf("upload %s to %s: %w", localPath, key, err) }
	fi, err := os.Stat(localPath)
	if errors.Is(err, fs.ErrNotExist) {
		return fail(fmt.Errorf("%s does not exist: the component wrote nothing there", localPath))
	} else if err != nil {
		return fail(err)
	}
	switch {
	case fi.Mode().IsRegular():
		return putFile(ctx, s, key, localPath)
	case !fi.IsDir():
		return fail(fmt.Errorf("%s is neither a file nor a directory (%s)", localPath, fi.Mode().Type()))
	}
	var files []string // relative, slash-separated
	err = filepath.WalkDir(localPath, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil // a directory (walked), a symlink or a special file (skipped)
		}
		if len(files) >= maxFiles {
			return fmt.Errorf("more than %d files under %s", maxFiles, localPath)
		}
		rel, err := filepath.Rel(localPath, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if err := ValidKey(key + "/" + rel); err != nil {
			return fmt.Errorf("file %s cannot be stored: %w", p, err)
		}
		files = append(files, rel)
		return nil
	})
	if err != nil {
		return fail(err)
	}
	if err := s.Delete(ctx, key); err != nil {
		return fail(err)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(transfers)
	for _, rel := range files {
		g.Go(func() error {
			return putFile(gctx, s, key+"/"+rel, filepath.Join(localPath, filepath.FromSlash(rel)))
		})
	}
	if err := g.Wait(); err != nil {
		return fail(err)
	}
	return nil
}

// putFile Puts the file at p under key, with the size of the file opened.
func putFile(ctx context.Context, s Store, key, p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	return s.Put(ctx, key, f, fi.Size())
}

// DownloadPath copies the artifact under key to localPath: a single key is the file
// localPath; keys under key+"/" are a directory tree under localPath. No key there is an
// error wrapping ErrNotFound. Every file is written through an os.Root of localPath (of
// its directory for a file), so nothing is written outside it, whatever symlinks are
// already there.
func DownloadPath(ctx context.Context, s Store, key, localPath string) error {
	if err := checkKey("download", key); err != nil {
		return err
	}
	fail := func(err error) error { return fmt.Errorf("download %s to %s: %w", key, localPath, err) }
	keys, err := s.List(ctx, key)
	if err != nil {
		return fail(err)
	}
	switch {
	case len(keys) == 0:
		return fail(ErrNotFound)
	case len(keys) > maxFiles:
		return fail(fmt.Errorf("%d files, more than %d", len(keys), maxFiles))
	case len(keys) == 1 && keys[0] == key:
		dir, base := filepath.Split(filepath.Clean(localPath))
		if dir == "" {
			dir = "."
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fail(err)
		}
		root, err := os.OpenRoot(dir)
		if err != nil {
			return fail(err)
		}
		defer root.Close()
		if err := getFile(ctx, s, key, root, base); err != nil {
			return fail(err)
		}
		return nil
	}
	rels := make([]string, len(keys))
	for i, k := range keys {
		rel, ok := strings.CutPrefix(k, key+"/")
		if !ok {
			return fail(fmt.Errorf("%s is both a file and a directory of files in the store", key))
		}
		rels[i] = filepath.FromSlash(rel)
	}
	if err := os.MkdirAll(localPath, 0o755); err != nil {
		return fail(err)
	}
	root, err := os.OpenRoot(localPath)
	if err != nil {
		return fail(err)
	}
	defer root.Close()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(transfers)
	for i, rel := range rels {
		g.Go(func() error {
			if d := filepath.Dir(rel); d != "." {
				if err := root.MkdirAll(d, 0o755); err != nil {
					return err
				}
			}
			return getFile(gctx, s, keys[i], root, rel)
		})
	}
	if err := g.Wait(); err != nil {
		return fail(err)
	}
	return nil
}

// getFile writes the file under key to name in root.
func getFile(ctx context.Context, s Store, key string, root *os.Root, name string) error {
	rc, err := s.Get(ctx, key)
	if err != nil {
		return err
	}
	defer rc.Close()
	f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("write %s: %w", key, err)
	}
	_, err = io.Copy(f, ctxReader{ctx, rc})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", key, err)
	}
	return nil
}
