package bundle

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/kfup/kfup/components/manager"
	"github.com/kfup/kfup/internal/errs"
)

// The manager component is the image kfup builds: ProfileImages finds it as a builder.
var _ builder = (*manager.Component)(nil)

func TestBundleTagsAndNodeImageDetection(t *testing.T) {
	app, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	node, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := node.ConfigFile()
	cfg = cfg.DeepCopy()
	cfg.Config.Entrypoint, cfg.Config.Cmd = []string{"/usr/local/bin/entrypoint"}, []string{"/sbin/init"}
	if node, err = mutate.ConfigFile(node, cfg); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "bundle.tar")
	refs := map[name.Reference]v1.Image{
		name.MustParseReference("example.com/app:v1").(name.Tag):   app,
		name.MustParseReference("kfup-offline/node:v9").(name.Tag): node,
	}
	if err := tarball.MultiRefWriteToFile(path, refs); err != nil {
		t.Fatal(err)
	}
	tags, err := Tags(path)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(tags)
	if !slices.Equal(tags, []string{"example.com/app:v1", "kfup-offline/node:v9"}) {
		t.Fatalf("tags = %v", tags)
	}
	if !isNodeImage(node) || isNodeImage(app) {
		t.Fatal("node image detection is wrong")
	}

	notTar := filepath.Join(t.TempDir(), "x.tar")
	os.WriteFile(notTar, []byte("hello, not a tar archive at all................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................"), 0o644)
	if _, err := Tags(notTar); errs.KindOf(err) != errs.KindUsage {
		t.Fatalf("not a tar: want usage error, got %v", err)
	}
	if _, err := Tags(filepath.Join(t.TempDir(), "missing.tar")); errs.KindOf(err) != errs.KindUsage {
		t.Fatalf("missing: want usage error, got %v", err)
	}
}

func TestProfileImagesWithoutProfileIsTheNodeImage(t *testing.T) {
	t.Setenv("KFUP_NODE_IMAGE", "kfup-offline/node:v1.37.2")
	refs, err := ProfileImages(nil, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(refs) != 1 || refs[0].Ref != "kfup-offline/node:v1.37.2" || !refs[0].Node {
		t.Fatalf("refs = %+v", refs)
	}
}
