package cli

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kfup/kfup/bootstrap"
	"github.com/kfup/kfup/components/training/run"
	"github.com/kfup/kfup/internal/errs"
	"github.com/kfup/kfup/internal/workspace"
)

// bakeImage is --bake, Fairing's append builder without a registry: the archive's files
// become one more layer (under /workspace) on top of base, read from the local Docker, and
// the image is loaded into the cluster's nodes. Its tag is derived from base's image ID
// and the archive's digest, so an unchanged tree on an unchanged base is neither built nor
// loaded again.
func bakeImage(ctx context.Context, f *Factory, base string, a *workspace.Archive) (string, error) {
	env, err := f.Env()
	if err != nil {
		return "", err
	}
	rec, err := env.Store.Load(f.Global.Name)
	if err != nil || rec == nil {
		return "", errs.New(errs.KindNotFound, "", "no kfup cluster named %q", f.Global.Name)
	}
	kind, ok := env.Providers[rec.Provider].(*bootstrap.KindClusters)
	if !ok {
		return "", errs.Usage("run without --bake: the archive is unpacked at start, which needs no image loading", "--bake loads images into kind nodes; cluster %q is a %s cluster", f.Global.Name, rec.Provider)
	}
	out, err := exec.CommandContext(ctx, "docker", "image", "inspect", "--format", "{{.Id}}", base).Output()
	if err != nil {
		return "", errs.Usage("pull or build the image first (docker images lists what is there), or run without --bake", "--bake: image %s is not in the local Docker image store", base)
	}
	id := strings.TrimSpace(string(out))
	sum := sha256.Sum256([]byte(id + " " + a.Digest))
	ref := "kfup.local/run-" + bakeRepo(base) + ":" + hex.EncodeToString(sum[:])[:16]
	if have, err := kind.HasImage(ctx, rec.Name, ref); err == nil && have {
		return ref, nil
	}
	saved, err := savedBase(ctx, base, id)
	if err != nil {
		return "", err
	}
	layerTar, err := workspaceLayer(a.Data)
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "kfup-bake-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	archive := filepath.Join(dir, "image.tar")
	out2, err := os.Create(archive)
	if err != nil {
		return "", err
	}
	err = writeBakedArchive(out2, saved, layerTar, historyOf(a), ref)
	if cerr := out2.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("write the baked image: %w", err)
	}
	if err := kind.ImportArchive(ctx, rec.Name, archive); err != nil {
		return "", fmt.Errorf("load %s into the nodes: %w", ref, err)
	}
	return ref, nil
}

// savedBase returns a `docker save` of base (image ID id), kept under the user's cache
// directory (~/.cache/kfup/bake/<id>.tar) so that the next bake on the same base skips
// the export; the other bases' files there are removed.
func savedBase(ctx context.Context, base, id string) (string, error) {
	root, err := os.UserCacheDir()
	if err != nil {
		root = os.TempDir()
	}
	dir := filepath.Join(root, "kfup", "bake")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	short := strings.TrimPrefix(id, "sha256:")
	short = short[:min(len(short), 24)]
	saved := filepath.Join(dir, short+".tar")
	if _, err := os.Stat(saved); err == nil {
		return saved, nil
	}
	if old, _ := filepath.Glob(filepath.Join(dir, "*.tar")); len(old) > 0 {
		for _, o := range old {
			_ = os.Remove(o) // one base at a time: these files are as big as the image
		}
	}
	tmp := saved + ".partial"
	if out, err := exec.CommandContext(ctx, "docker", "save", "-o", tmp, base).CombinedOutput(); err != nil {
		_ = os.Remove(tmp)
		return "", fmt.Errorf("docker save %s: %w: %s", base, err, strings.TrimSpace(string(out)))
	}
	return saved, os.Rename(tmp, saved)
}

// dockerManifest is one image of a docker-archive's manifest.json (docker save/load).
type dockerManifest struct {
	Config   string
	RepoTags []string
	Layers   []string
}

// writeBakedArchive writes to w a docker-archive (what docker load and containerd import
// read) of the image in the docker-archive at base with layer (an uncompressed tar)
// appended and tagged ref: go-containerregistry's config types get the new layer's diff
// ID and history; the base layers are copied as they are. Nothing is compressed (the
// nodes' containerd would only decompress it again), which makes this the cheap part of
// --bake.
func writeBakedArchive(w io.Writer, base string, layer []byte, history v1.History, ref string) error {
	var m []dockerManifest
	var rawConfig []byte
	if err := eachEntry(base, func(h *tar.Header, r io.Reader) error {
		if h.Name == "manifest.json" {
			return json.NewDecoder(r).Decode(&m)
		}
		return nil
	}); err != nil {
		return err
	}
	if len(m) != 1 {
		return fmt.Errorf("%s holds %d images, want 1", base, len(m))
	}
	if err := eachEntry(base, func(h *tar.Header, r io.Reader) error {
		if h.Name == m[0].Config {
			b, err := io.ReadAll(r)
			rawConfig = b
			return err
		}
		return nil
	}); err != nil {
		return err
	}
	cfg, err := v1.ParseConfigFile(bytes.NewReader(rawConfig))
	if err != nil {
		return fmt.Errorf("read the base image's config: %w", err)
	}
	diffID, _, err := v1.SHA256(bytes.NewReader(layer))
	if err != nil {
		return err
	}
	cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, diffID)
	cfg.History = append(cfg.History, history)
	newConfig, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	cfgHash, _, err := v1.SHA256(bytes.NewReader(newConfig))
	if err != nil {
		return err
	}
	tw := tar.NewWriter(w)
	// the base's entries but its manifest, tags and OCI index (the new manifest names
	// the layers by path, as docker save does)
	skip := map[string]bool{"manifest.json": true, "repositories": true, "index.json": true, "oci-layout": true}
	if err := eachEntry(base, func(h *tar.Header, r io.Reader) error {
		if skip[h.Name] {
			return nil
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		_, err := io.Copy(tw, r)
		return err
	}); err != nil {
		return err
	}
	layerName := diffID.Hex + "/layer.tar"
	manifest, err := json.Marshal([]dockerManifest{{Config: cfgHash.Hex + ".json", RepoTags: []string{ref}, Layers: append(slices.Clone(m[0].Layers), layerName)}})
	if err != nil {
		return err
	}
	epoch := time.Unix(0, 0).UTC()
	for _, e := range []struct {
		name string
		data []byte
	}{{diffID.Hex + "/", nil}, {layerName, layer}, {cfgHash.Hex + ".json", newConfig}, {"manifest.json", manifest}} {
		h := &tar.Header{Name: e.name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(e.data)), ModTime: epoch}
		if strings.HasSuffix(e.name, "/") {
			h.Typeflag, h.Mode = tar.TypeDir, 0o755
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if _, err := tw.Write(e.data); err != nil {
			return err
		}
	}
	return tw.Close()
}

// eachEntry calls fn with each entry of the tar file at path.
func eachEntry(path string, fn func(*tar.Header, io.Reader) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", path, err)
		}
		if err := fn(h, tr); err != nil {
			return err
		}
	}
}

// bakeRepo is base's repository as a name component: "kfup-offline/python-ml:bookworm"
// → "python-ml".
func bakeRepo(base string) string {
	r := base
	if i := strings.LastIndex(r, "@"); i >= 0 {
		r = r[:i]
	}
	if i := strings.LastIndex(r, ":"); i > strings.LastIndex(r, "/") {
		r = r[:i]
	}
	r = path.Base(r)
	r = strings.Trim(nonName.ReplaceAllString(strings.ToLower(r), "-"), "-")
	if r == "" {
		r = "image"
	}
	return r
}

// workspaceLayer turns the archive into an uncompressed layer tar with its files under
// workspace/, directories mode 0777 (the image's user may be anyone), deterministic as
// the archive is.
func workspaceLayer(archive []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(archive))
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(zr)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	epoch := time.Unix(0, 0).UTC()
	dirs := map[string]bool{}
	mkdir := func(d string) error {
		var todo []string
		for ; d != "." && d != "/" && !dirs[d]; d = path.Dir(d) {
			todo = append(todo, d)
		}
		for i := len(todo) - 1; i >= 0; i-- {
			dirs[todo[i]] = true
			if err := tw.WriteHeader(&tar.Header{Name: todo[i] + "/", Typeflag: tar.TypeDir, Mode: 0o777, ModTime: epoch, Format: tar.FormatPAX}); err != nil {
				return err
			}
		}
		return nil
	}
	if err := mkdir(strings.TrimPrefix(run.WorkspaceDir, "/")); err != nil {
		return nil, err
	}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		h.Name = path.Join(strings.TrimPrefix(run.WorkspaceDir, "/"), h.Name)
		if err := mkdir(path.Dir(h.Name)); err != nil {
			return nil, err
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := io.Copy(tw, tr); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// historyOf is the image history entry of the workspace layer.
func historyOf(a *workspace.Archive) v1.History {
	return v1.History{CreatedBy: "kfup run --bake: /workspace from archive " + a.Digest, Created: v1.Time{Time: time.Unix(0, 0).UTC()}}
}
