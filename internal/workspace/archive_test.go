package workspace

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// tree writes files (path → contents; a trailing "*" in the path makes it executable)
// under a new directory.
func tree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, c := range files {
		mode := os.FileMode(0o644)
		if strings.HasSuffix(p, "*") {
			p, mode = strings.TrimSuffix(p, "*"), 0o755
		}
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), mode); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func paths(files []File) []string {
	var out []string
	for _, f := range files {
		out = append(out, f.Path)
	}
	return out
}

func TestListIgnoreRules(t *testing.T) {
	dir := tree(t, map[string]string{
		"train.py":                 "print(1)",
		"helper/util.py":           "X = 1",
		"helper/__pycache__/u.pyc": "bytecode",
		"data/big.bin":             "0123456789",
		"data/keep.bin":            "k",
		"logs/run.log":             "log",
		"notes.tmp":                "tmp",
		"sub/.gitignore":           "*.csv\n",
		"sub/a.csv":                "1,2",
		"sub/b.txt":                "b",
		".gitignore":               "# comment\n\n*.tmp\nlogs/\ndata/\n/kfup-runs/\n",
		".kfupignore":              "!data/\ndata/big.bin\nsecret.txt\n",
		"secret.txt":               "s",
		".git/HEAD":                "ref: refs/heads/main",
		".git/config":              "[core]",
		"kfup-runs/r1/out.txt":     "old output",
		".venv/bin/python":         "",
		"run.sh*":                  "#!/bin/sh",
	})
	files, total, err := List(dir, Options{Exclude: []string{"kfup-runs"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{".gitignore", ".kfupignore", "data/keep.bin", "helper/util.py", "run.sh", "sub/.gitignore", "sub/b.txt", "train.py"}
	if diff := cmp.Diff(want, paths(files)); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	var sum int64
	for _, f := range files {
		sum += f.Size
		if f.Executable != (f.Path == "run.sh") {
			t.Errorf("%s: executable %v", f.Path, f.Executable)
		}
	}
	if total != sum {
		t.Errorf("total %d, files add up to %d", total, sum)
	}
}

func TestBuildIsDeterministic(t *testing.T) {
	files := map[string]string{"train.py": "import helper\n", "helper/__init__.py": "", "helper/m.py": "X = 2\n", "run.sh*": "#!/bin/sh\n"}
	a, b := tree(t, files), tree(t, files)
	// different times and an extra ignored file change nothing
	old := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := os.Chtimes(filepath.Join(b, "train.py"), old, old); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(b, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b, ".git", "index"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	aa, err := Build(a, Options{})
	if err != nil {
		t.Fatal(err)
	}
	bb, err := Build(b, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if aa.Digest != bb.Digest || !bytes.Equal(aa.Data, bb.Data) {
		t.Fatalf("same tree, different archives: %s vs %s", aa.Digest, bb.Digest)
	}
	if !strings.HasPrefix(aa.Digest, "sha256:") || len(aa.Digest) != len("sha256:")+64 || len(aa.Short()) != 12 {
		t.Errorf("digest %q, short %q", aa.Digest, aa.Short())
	}
	// a changed byte, and a changed exec bit, make another digest
	if err := os.WriteFile(filepath.Join(b, "helper", "m.py"), []byte("X = 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cc, err := Build(b, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if cc.Digest == aa.Digest {
		t.Error("a changed file kept the digest")
	}
	if err := os.Chmod(filepath.Join(a, "train.py"), 0o755); err != nil {
		t.Fatal(err)
	}
	dd, err := Build(a, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if dd.Digest == aa.Digest {
		t.Error("a changed exec bit kept the digest")
	}
	// the headers carry no times, owners or directory entries
	zr, err := gzip.NewReader(bytes.NewReader(aa.Data))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		if h.ModTime.Unix() != 0 || h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Typeflag == tar.TypeDir {
			t.Errorf("header %+v", h)
		}
		if want := int64(0o644); h.Name == "run.sh" && h.Mode != 0o755 || h.Name != "run.sh" && h.Mode != want {
			t.Errorf("%s: mode %o", h.Name, h.Mode)
		}
	}
}

func TestListTooLargeNamesTheBiggestFiles(t *testing.T) {
	dir := tree(t, map[string]string{"model.pt": strings.Repeat("m", 3000), "data.csv": strings.Repeat("d", 2000), "train.py": "x"})
	_, _, err := List(dir, Options{MaxBytes: 4096})
	var tl *TooLargeError
	if !errors.As(err, &tl) {
		t.Fatalf("error %v, want a TooLargeError", err)
	}
	if got := paths(tl.Biggest); !cmp.Equal(got, []string{"model.pt", "data.csv", "train.py"}) {
		t.Errorf("biggest %v", got)
	}
	if !strings.Contains(err.Error(), "model.pt (2.9 KiB)") || !strings.Contains(err.Error(), "limit of 4.0 KiB") {
		t.Errorf("message %q", err)
	}
	if _, _, err := List(dir, Options{MaxBytes: 5001}); err != nil {
		t.Errorf("at the limit: %v", err)
	}
}

func TestListRefusesLinksOutOfTheTree(t *testing.T) {
	dir := tree(t, map[string]string{"a/x.py": "x"})
	if err := os.Symlink("../a/x.py", filepath.Join(dir, "a", "y.py")); err != nil {
		t.Fatal(err)
	}
	files, _, err := List(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 || files[1].Link != "../a/x.py" {
		t.Errorf("files %+v", files)
	}
	if err := os.Symlink("../../etc/passwd", filepath.Join(dir, "a", "z")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := List(dir, Options{}); err == nil || !strings.Contains(err.Error(), "a/z is a symbolic link") {
		t.Errorf("error %v", err)
	}
}

func TestExtractRoundTrip(t *testing.T) {
	src := tree(t, map[string]string{"train.py": "print(1)\n", "pkg/m.py": "X = 1\n", "run.sh*": "#!/bin/sh\n"})
	if err := os.Symlink("pkg/m.py", filepath.Join(src, "link.py")); err != nil {
		t.Fatal(err)
	}
	a, err := Build(src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(t.TempDir(), "workspace")
	st, err := Extract(bytes.NewReader(a.Data), dest, a.Digest)
	if err != nil {
		t.Fatal(err)
	}
	if st.Files != 4 {
		t.Errorf("stats %+v", st)
	}
	b, err := os.ReadFile(filepath.Join(dest, "link.py"))
	if err != nil || string(b) != "X = 1\n" {
		t.Errorf("link.py: %q %v", b, err)
	}
	if fi, err := os.Stat(filepath.Join(dest, "run.sh")); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("run.sh: %v %v", fi, err)
	}
	if fi, err := os.Stat(filepath.Join(dest, "pkg")); err != nil || fi.Mode().Perm() != 0o777 {
		t.Errorf("pkg: %v %v", fi, err)
	}
	// the same bytes under another digest are refused
	if _, err := Extract(bytes.NewReader(a.Data), t.TempDir(), "sha256:00"); err == nil || !strings.Contains(err.Error(), "want sha256:00") {
		t.Errorf("wrong digest: %v", err)
	}
}

// archiveOf is a gzipped tar of the headers (regular files get body as contents).
func archiveOf(t *testing.T, hdrs ...*tar.Header) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, h := range hdrs {
		body := "body"
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte(body))
		}
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

func TestExtractRefusesEscapes(t *testing.T) {
	for name, h := range map[string]*tar.Header{
		"dot-dot":      {Name: "../evil", Typeflag: tar.TypeReg, Mode: 0o644},
		"absolute":     {Name: "/etc/evil", Typeflag: tar.TypeReg, Mode: 0o644},
		"nested":       {Name: "a/../../evil", Typeflag: tar.TypeReg, Mode: 0o644},
		"link out":     {Name: "l", Typeflag: tar.TypeSymlink, Linkname: "../../etc"},
		"abs link":     {Name: "l", Typeflag: tar.TypeSymlink, Linkname: "/etc"},
		"device":       {Name: "d", Typeflag: tar.TypeChar},
		"hard link":    {Name: "h", Typeflag: tar.TypeLink, Linkname: "x"},
		"archive root": {Name: ".", Typeflag: tar.TypeDir},
	} {
		t.Run(name, func(t *testing.T) {
			parent := t.TempDir()
			dest := filepath.Join(parent, "ws")
			if _, err := Extract(bytes.NewReader(archiveOf(t, h)), dest, ""); err == nil {
				t.Fatal("no error")
			}
			if _, err := os.Stat(filepath.Join(parent, "evil")); err == nil {
				t.Error("wrote outside the destination")
			}
		})
	}
}

func TestPackThenExtract(t *testing.T) {
	out := tree(t, map[string]string{"model.json": "{}", "plots/loss.txt": "0.1"})
	var buf bytes.Buffer
	n, err := Pack(&buf, out, func(s string) { t.Log(s) })
	if err != nil || n != 2 {
		t.Fatalf("pack: %d %v", n, err)
	}
	dest := t.TempDir()
	if _, err := Extract(&buf, dest, ""); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dest, "plots", "loss.txt")); err != nil || string(b) != "0.1" {
		t.Errorf("loss.txt %q %v", b, err)
	}
	var empty bytes.Buffer
	if n, err := Pack(&empty, t.TempDir(), nil); err != nil || n != 0 {
		t.Errorf("empty dir: %d %v", n, err)
	}
}
