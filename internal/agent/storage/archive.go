package storage

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// archiveKind is "tar.gz" or "zip" for a name KServe unpacks, else "".
func archiveKind(name string) string {
	switch n := strings.ToLower(name); {
	case strings.HasSuffix(n, ".tar.gz"), strings.HasSuffix(n, ".tgz"):
		return "tar.gz"
	case strings.HasSuffix(n, ".zip"):
		return "zip"
	}
	return ""
}

// unpack writes the archive at p into w's directory: regular files and directories only
// (links are skipped), every path inside the directory, within w's bounds — a hostile
// archive (../ entries, a bomb) fails instead of writing outside or filling the disk.
func unpack(p string, w *writer) error {
	switch archiveKind(p) {
	case "tar.gz":
		return untar(p, w)
	case "zip":
		return unzip(p, w)
	}
	return fmt.Errorf("not an archive kfup unpacks (.tar.gz, .tgz, .zip)")
}

func untar(p string, w *writer) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("not gzip: %w", err)
	}
	defer gz.Close()
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read tar: %w", err)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := w.mkdir(h.Name); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := w.create(h.Name, tr); err != nil {
				return err
			}
		case tar.TypeXGlobalHeader:
		default:
			fmt.Fprintf(w.log, "skipped %s: not a regular file or directory\n", h.Name)
		}
	}
}

func unzip(p string, w *writer) error {
	zr, err := zip.OpenReader(p)
	if err != nil {
		return fmt.Errorf("not a zip archive: %w", err)
	}
	defer zr.Close()
	if len(zr.File) > w.filesLeft {
		return fmt.Errorf("%d entries, more than %d files: %w", len(zr.File), w.maxFiles, errBounds)
	}
	for _, zf := range zr.File {
		mode := zf.Mode()
		switch {
		case mode.IsDir():
			if err := w.mkdir(zf.Name); err != nil {
				return err
			}
		case mode.IsRegular():
			if err := unzipOne(zf, w); err != nil {
				return err
			}
		default:
			fmt.Fprintf(w.log, "skipped %s: not a regular file or directory\n", zf.Name)
		}
	}
	return nil
}

func unzipOne(zf *zip.File, w *writer) error {
	if _, err := w.path(zf.Name); err != nil { // before decompressing anything
		return err
	}
	r, err := zf.Open()
	if err != nil {
		return fmt.Errorf("read zip entry %s: %w", zf.Name, err)
	}
	defer r.Close()
	return w.create(zf.Name, r)
}

// mkdir creates dest/rel.
func (w *writer) mkdir(rel string) error {
	if strings.Trim(rel, "/") == "." {
		return nil
	}
	p, err := w.path(rel)
	if err != nil {
		return err
	}
	return os.MkdirAll(p, 0o755)
}
