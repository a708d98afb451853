package workspace

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// ExtractStats is what Extract wrote.
type ExtractStats struct {
	Files int
	Bytes int64
}

// Extract unpacks the gzipped tar r into dest (made if missing). Entries must stay inside
// dest: absolute names, ".." and links out of dest are refused. Directories get mode 0777
// (the container of the user's image may run as another user than the one unpacking and
// write there, e.g. Python's __pycache__). When digest is set, the sha256 of every byte of r
// must equal it; a mismatch is an error after the entries were written.
func Extract(r io.Reader, dest, digest string) (ExtractStats, error) {
	var st ExtractStats
	h := sha256.New()
	zr, err := gzip.NewReader(io.TeeReader(r, h))
	if err != nil {
		return st, fmt.Errorf("read archive: %w", err)
	}
	if err := os.MkdirAll(dest, 0o777); err != nil {
		return st, err
	}
	tr := tar.NewReader(zr)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return st, fmt.Errorf("read archive: %w", err)
		}
		name := path.Clean(strings.TrimPrefix(hdr.Name, "./"))
		if !inside(name) || name == "." {
			return st, fmt.Errorf("archive entry %q is outside the destination", hdr.Name)
		}
		target := filepath.Join(dest, filepath.FromSlash(name))
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := mkdirAll(target); err != nil {
				return st, err
			}
		case tar.TypeReg:
			if err := mkdirAll(filepath.Dir(target)); err != nil {
				return st, err
			}
			mode := fs.FileMode(0o644)
			if hdr.Mode&0o111 != 0 {
				mode = 0o755
			}
			n, err := writeTo(target, tr, mode)
			if err != nil {
				return st, err
			}
			st.Files++
			st.Bytes += n
		case tar.TypeSymlink:
			if path.IsAbs(hdr.Linkname) || !inside(path.Join(path.Dir(name), hdr.Linkname)) {
				return st, fmt.Errorf("archive entry %q links outside the destination (%s)", hdr.Name, hdr.Linkname)
			}
			if err := mkdirAll(filepath.Dir(target)); err != nil {
				return st, err
			}
			if err := os.Symlink(hdr.Linkname, target); err != nil {
				return st, err
			}
			st.Files++
		default:
			return st, fmt.Errorf("archive entry %q: unsupported type %q", hdr.Name, hdr.Typeflag)
		}
	}
	// the gzip trailer, and anything after it, counts towards the digest too
	if _, err := io.Copy(io.Discard, zr); err != nil {
		return st, fmt.Errorf("read archive: %w", err)
	}
	if _, err := io.Copy(h, r); err != nil {
		return st, fmt.Errorf("read archive: %w", err)
	}
	if digest != "" {
		if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != digest {
			return st, fmt.Errorf("archive digest %s, want %s: the archive is incomplete or was changed", got, digest)
		}
	}
	return st, nil
}

// mkdirAll makes dir and its parents with mode 0777, whatever the umask.
func mkdirAll(dir string) error {
	if fi, err := os.Lstat(dir); err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("%s is not a directory", dir)
		}
		return nil
	}
	if err := mkdirAll(filepath.Dir(dir)); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o777); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return os.Chmod(dir, 0o777)
}

func writeTo(target string, r io.Reader, mode fs.FileMode) (int64, error) {
	f, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(target, mode)
	}
	return n, err
}

// Pack writes the regular files and directories under dir as a gzipped tar to w (what a
// job wrote to its output directory); it returns how many files it wrote. Unreadable
// entries are reported to warn and skipped.
func Pack(w io.Writer, dir string, warn func(string)) (int, error) {
	zw := gzip.NewWriter(w)
	tw := tar.NewWriter(zw)
	n := 0
	var paths []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			warn(fmt.Sprintf("skipped %s: %v", p, err))
			return nil
		}
		if p != dir {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	sort.Strings(paths)
	for _, p := range paths {
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return n, err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			warn(fmt.Sprintf("skipped %s: %v", rel, err))
			continue
		}
		name := filepath.ToSlash(rel)
		switch {
		case fi.IsDir():
			if err := tw.WriteHeader(&tar.Header{Name: name + "/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: fi.ModTime()}); err != nil {
				return n, err
			}
		case fi.Mode().IsRegular():
			f, err := os.Open(p)
			if err != nil {
				warn(fmt.Sprintf("skipped %s: %v", rel, err))
				continue
			}
			mode := int64(0o644)
			if fi.Mode()&0o111 != 0 {
				mode = 0o755
			}
			err = tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: mode, Size: fi.Size(), ModTime: fi.ModTime()})
			if err == nil {
				_, err = io.Copy(tw, io.LimitReader(f, fi.Size()))
			}
			f.Close()
			if err != nil {
				return n, fmt.Errorf("pack %s: %w", rel, err)
			}
			n++
		default:
			warn(fmt.Sprintf("skipped %s: not a regular file", rel))
		}
	}
	if err := tw.Close(); err != nil {
		return n, err
	}
	return n, zw.Close()
}
