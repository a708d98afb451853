// Package workspace turns a local directory into a deterministic, content-addressed
// archive (`kfup run` sends it to the cluster) and unpacks such archives safely (`kfup
// agent unpack` in a job pod). The same tree always gives the same bytes, hence the same
// digest: no times, owners or directory entries are recorded, paths are sorted, and a
// file's mode is 0644 or 0755 after its exec bit.
package workspace

import (
	"archive/tar"
	"bytes"
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
	"slices"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
)

// IgnoreFile is kfup's own ignore file, read like .gitignore in every directory after
// it, so its patterns (negations too) win over .gitignore's.
const IgnoreFile = ".kfupignore"

// DefaultIgnores are ignored unless an ignore file re-includes them (".git" is always
// left out): Python's byte-code caches, which running the code locally rewrites, and
// virtual environments, which belong to the local machine.
var DefaultIgnores = []string{"__pycache__/", "*.pyc", ".venv/", "venv/"}

// File is one file of an archive.
type File struct {
	// Path is slash-separated and relative to the archived directory.
	Path string `json:"path"`
	Size int64  `json:"size"`
	// Executable files get mode 0755, others 0644.
	Executable bool `json:"executable,omitempty"`
	// Link is a symbolic link's target (relative, inside the tree); Size is 0 then.
	Link string `json:"link,omitempty"`
}

// Archive is a directory as a gzipped tar and its sha256 digest.
type Archive struct {
	Data []byte
	// Digest is "sha256:" and the hex sha256 of Data.
	Digest string
	Files  []File
	// Size is the sum of the files' sizes.
	Size int64
}

// Short is the first 12 hex digits of the digest, for names and labels.
func (a *Archive) Short() string { return ShortDigest(a.Digest) }

// ShortDigest is the first 12 hex digits of a "sha256:..." digest.
func ShortDigest(d string) string {
	d = strings.TrimPrefix(d, "sha256:")
	if len(d) > 12 {
		d = d[:12]
	}
	return d
}

// Options tune List and Build.
type Options struct {
	// MaxBytes bounds the sum of the files' sizes; 0: no bound.
	MaxBytes int64
	// Exclude are more slash-separated paths relative to the directory, left out with
	// everything under them (kfup run's own output directory when it lies inside).
	Exclude []string
}

// TooLargeError says the tree is over Options.MaxBytes, with its biggest files.
type TooLargeError struct {
	Size, Max int64
	Biggest   []File
}

func (e *TooLargeError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "the files to send add up to %s, over the limit of %s; the biggest:", HumanBytes(e.Size), HumanBytes(e.Max))
	for _, f := range e.Biggest {
		fmt.Fprintf(&b, " %s (%s),", f.Path, HumanBytes(f.Size))
	}
	return strings.TrimSuffix(b.String(), ",")
}

// HumanBytes prints n in B, KiB, MiB or GiB.
func HumanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// List returns the files of dir that an archive holds, sorted by path: every regular file
// and symbolic link but .git, what DefaultIgnores, Options.Exclude and the .gitignore
// and .kfupignore files of dir and its subdirectories leave out. A symbolic link must
// point inside the tree. Over Options.MaxBytes it returns a *TooLargeError.
func List(dir string, opts Options) ([]File, int64, error) {
	root, err := filepath.Abs(dir)
	if err != nil {
		return nil, 0, err
	}
	st, err := os.Stat(root)
	if err != nil {
		return nil, 0, err
	}
	if !st.IsDir() {
		return nil, 0, fmt.Errorf("%s is not a directory", dir)
	}
	var patterns []gitignore.Pattern
	for _, p := range DefaultIgnores {
		patterns = append(patterns, gitignore.ParsePattern(p, nil))
	}
	excluded := map[string]bool{}
	for _, e := range opts.Exclude {
		excluded[path.Clean(e)] = true
	}
	var files []File
	var total int64
	var walk func(rel string, patterns []gitignore.Pattern) error
	walk = func(rel string, patterns []gitignore.Pattern) error {
		abs := filepath.Join(root, filepath.FromSlash(rel))
		var domain []string
		if rel != "" {
			domain = strings.Split(rel, "/")
		}
		for _, name := range []string{".gitignore", IgnoreFile} {
			ps, err := readPatterns(filepath.Join(abs, name), domain)
			if err != nil {
				return err
			}
			patterns = append(patterns, ps...)
		}
		m := gitignore.NewMatcher(patterns)
		entries, err := os.ReadDir(abs)
		if err != nil {
			return err
		}
		// os.ReadDir sorts by name: the walk's order, and so the archive's, is fixed
		for _, e := range entries {
			p := path.Join(rel, e.Name())
			if e.Name() == ".git" || excluded[p] {
				continue
			}
			isDir := e.IsDir()
			if m.Match(append(slices.Clone(domain), e.Name()), isDir) {
				continue
			}
			if isDir {
				if err := walk(p, patterns); err != nil {
					return err
				}
				continue
			}
			info, err := e.Info()
			if err != nil {
				return err
			}
			switch {
			case info.Mode()&fs.ModeSymlink != 0:
				target, err := os.Readlink(filepath.Join(abs, e.Name()))
				if err != nil {
					return err
				}
				if filepath.IsAbs(target) || !inside(path.Join(rel, filepath.ToSlash(target))) {
					return fmt.Errorf("%s is a symbolic link to %s, outside the directory sent: add it to %s, or copy what it points to into the directory", p, target, IgnoreFile)
				}
				files = append(files, File{Path: p, Link: filepath.ToSlash(target)})
			case info.Mode().IsRegular():
				files = append(files, File{Path: p, Size: info.Size(), Executable: info.Mode()&0o111 != 0})
				total += info.Size()
			}
			// sockets, devices and pipes are left out
		}
		return nil
	}
	if err := walk("", patterns); err != nil {
		return nil, 0, err
	}
	if opts.MaxBytes > 0 && total > opts.MaxBytes {
		big := slices.Clone(files)
		slices.SortStableFunc(big, func(a, b File) int { return int(b.Size - a.Size) })
		return files, total, &TooLargeError{Size: total, Max: opts.MaxBytes, Biggest: big[:min(len(big), 10)]}
	}
	return files, total, nil
}

// inside says whether the slash path p, relative to the tree's root, stays inside it.
func inside(p string) bool {
	p = path.Clean(p)
	return p != ".." && !strings.HasPrefix(p, "../") && !path.IsAbs(p)
}

func readPatterns(file string, domain []string) ([]gitignore.Pattern, error) {
	b, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var ps []gitignore.Pattern
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimRight(line, "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		ps = append(ps, gitignore.ParsePattern(line, domain))
	}
	return ps, nil
}

// epoch is the modification time of every archived file.
var epoch = time.Unix(0, 0).UTC()

// Build archives the files List returns.
func Build(dir string, opts Options) (*Archive, error) {
	files, total, err := List(dir, opts)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if err != nil {
		return nil, err
	}
	zw.ModTime = epoch
	tw := tar.NewWriter(zw)
	for _, f := range files {
		h := &tar.Header{Name: f.Path, ModTime: epoch, Mode: 0o644, Format: tar.FormatPAX}
		if f.Executable {
			h.Mode = 0o755
		}
		if f.Link != "" {
			h.Typeflag, h.Linkname, h.Mode = tar.TypeSymlink, f.Link, 0o777
			if err := tw.WriteHeader(h); err != nil {
				return nil, err
			}
			continue
		}
		h.Typeflag, h.Size = tar.TypeReg, f.Size
		if err := writeFile(tw, h, filepath.Join(dir, filepath.FromSlash(f.Path))); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(buf.Bytes())
	return &Archive{Data: buf.Bytes(), Digest: "sha256:" + hex.EncodeToString(sum[:]), Files: files, Size: total}, nil
}

// writeFile writes h and the file's contents; a file whose size changed since List is an
// error, not a corrupt archive.
func writeFile(tw *tar.Writer, h *tar.Header, file string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	n, err := io.Copy(tw, io.LimitReader(f, h.Size))
	if err != nil {
		return fmt.Errorf("archive %s: %w", h.Name, err)
	}
	if n != h.Size {
		return fmt.Errorf("archive %s: the file changed while it was read", h.Name)
	}
	return nil
}
