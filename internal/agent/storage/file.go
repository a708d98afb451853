package storage

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// downloadFile copies file://<path> — a file or a directory in the pod (a mounted
// volume) — into the model directory. KServe links the files instead; a link into the
// init container's filesystem would not reach the model server, so kfup copies.
func downloadFile(path string, w *writer) error {
	if !filepath.IsAbs(path) {
		return fmt.Errorf("file://%s: the path must be absolute, as file:///mnt/data/model", path)
	}
	fi, err := os.Stat(path)
	if err != nil {
		if os.IsNotExist(err) {
			return fmt.Errorf("file://%s: no such file or directory in the pod", path)
		}
		return fmt.Errorf("file://%s: %w", path, err)
	}
	if !fi.IsDir() {
		return copyFile(path, filepath.Base(path), w)
	}
	n := 0
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(path, p)
		if err != nil || rel == "." {
			return err
		}
		if d.IsDir() {
			return w.mkdir(rel)
		}
		fi, err := os.Stat(p) // a link to a file is copied; to a directory, skipped
		if err != nil || !fi.Mode().IsRegular() {
			fmt.Fprintf(w.log, "skipped %s: not a regular file\n", rel)
			return nil
		}
		n++
		return copyFile(p, rel, w)
	})
	if err != nil {
		return fmt.Errorf("file://%s: %w", path, err)
	}
	if n == 0 {
		return fmt.Errorf("file://%s: the directory has no files", path)
	}
	return nil
}

func copyFile(src, rel string, w *writer) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	return w.create(rel, f)
}
