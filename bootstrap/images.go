package bootstrap

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"sigs.k8s.io/kind/pkg/cluster/nodes"
	"sigs.k8s.io/kind/pkg/cluster/nodeutils"
	kindexec "sigs.k8s.io/kind/pkg/exec"

	"github.com/kfup/kfup/internal/errs"
)

// LoadImages copies local Docker images into every node of kind cluster name, as `kind
// load docker-image` does: images a node already has with the same ID are skipped, the rest
// are saved once into an archive and imported into each node's containerd. It returns the
// images it loaded.
func (k *KindClusters) LoadImages(ctx context.Context, name string, images ...string) ([]string, error) {
	nodes, err := k.provider.ListNodes(name)
	if err != nil {
		return nil, fmt.Errorf("list nodes of cluster %q: %w", name, err)
	}
	if len(nodes) == 0 {
		return nil, errs.New(errs.KindNotFound, fmt.Sprintf("create it with 'kfup create --name %s'", name), "cluster %q has no nodes", name)
	}
	var missing []string
	for _, img := range images {
		out, err := exec.CommandContext(ctx, "docker", "image", "inspect", "--format", "{{.Id}}", img).Output()
		if err != nil {
			return nil, errs.New(errs.KindNotFound, "build or pull it first (docker images lists what is there)", "image %s is not in the local Docker image store", img)
		}
		id := strings.TrimSpace(string(out))
		for _, n := range nodes {
			if have, err := nodeutils.ImageID(n, img); err != nil || have != id {
				missing = append(missing, img)
				break
			}
		}
	}
	if len(missing) == 0 {
		return nil, nil
	}
	dir, err := os.MkdirTemp("", "kfup-images-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	archive := filepath.Join(dir, "images.tar")
	save := exec.CommandContext(ctx, "docker", append([]string{"save", "-o", archive}, missing...)...)
	if out, err := save.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("docker save %s: %w: %s", strings.Join(missing, " "), err, strings.TrimSpace(string(out)))
	}
	if err := importArchive(ctx, nodes, archive); err != nil {
		return nil, err
	}
	return missing, nil
}

// importArchive imports the docker-archive at path into the containerd of every node.
func importArchive(ctx context.Context, nodes []nodes.Node, path string) error {
	for _, n := range nodes {
		if err := ctx.Err(); err != nil {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		err = nodeutils.LoadImageArchive(n, f)
		f.Close()
		if err != nil {
			return fmt.Errorf("import images into node %s: %w", n.String(), explainKindError(err))
		}
	}
	return nil
}

// clusterNodes returns the nodes of kind cluster name; a cluster without nodes is a
// not-found error.
func (k *KindClusters) clusterNodes(name string) ([]nodes.Node, error) {
	ns, err := k.provider.ListNodes(name)
	if err != nil || len(ns) == 0 {
		return nil, errs.New(errs.KindNotFound, fmt.Sprintf("create it with 'kfup create --name %s'", name), "cluster %q has no nodes (%v)", name, err)
	}
	return ns, nil
}

// LoadImage writes image as a docker-archive tarball and imports it into every node of
// kind cluster name that does not already have ref.
func (k *KindClusters) LoadImage(ctx context.Context, cluster, ref string, image v1.Image) error {
	all, err := k.provider.ListNodes(cluster)
	if err != nil {
		return err
	}
	var missing []nodes.Node
	for _, n := range all {
		if id, err := nodeutils.ImageID(n, ref); err != nil || id == "" {
			missing = append(missing, n)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	tag, err := name.NewTag(ref)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "kfup-image-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	archive := filepath.Join(dir, "image.tar")
	if err := tarball.WriteToFile(archive, tag, image); err != nil {
		return fmt.Errorf("write image archive: %w", err)
	}
	return importArchive(ctx, missing, archive)
}

// ImportArchive imports the docker-archive at path into the containerd of every node of
// kind cluster name.
func (k *KindClusters) ImportArchive(ctx context.Context, cluster, path string) error {
	ns, err := k.clusterNodes(cluster)
	if err != nil {
		return err
	}
	return importArchive(ctx, ns, path)
}

// ImportOCIArchive imports the tar of an OCI image layout at path into the containerd of
// every node of kind cluster name, manifests by digest, for the nodes' platform only
// (unlike kind's all-platform import: such archives hold no other platform).
func (k *KindClusters) ImportOCIArchive(ctx context.Context, cluster, path string) error {
	ns, err := k.clusterNodes(cluster)
	if err != nil {
		return err
	}
	for _, n := range ns {
		if err := ctx.Err(); err != nil {
			return err
		}
		snapshotter, err := criSnapshotter(n)
		if err != nil {
			return err
		}
		in, err := os.Open(path)
		if err != nil {
			return err
		}
		cmd := n.CommandContext(ctx, "ctr", "--namespace=k8s.io", "images", "import", "--digests", "--snapshotter="+snapshotter, "-").SetStdin(in)
		var out bytes.Buffer
		cmd.SetStderr(&out)
		err = cmd.Run()
		in.Close()
		if err != nil {
			return fmt.Errorf("import the pinned images into node %s: %v: %s", n.String(), err, strings.TrimSpace(out.String()))
		}
	}
	return nil
}

// snapshotterLine finds the snapshotter of containerd's CRI image service in the output
// of `containerd config dump` (config version 2: the cri plugin's containerd table;
// versions 3+: io.containerd.cri.v1.images).
var snapshotterLine = regexp.MustCompile(`(?m)^\s*snapshotter\s*=\s*"([^"]+)"`)

// criSnapshotter returns the snapshotter the node's CRI unpacks images with, so that the
// imported images are ready to run.
func criSnapshotter(n nodes.Node) (string, error) {
	out, err := kindexec.Output(n.Command("containerd", "config", "dump"))
	if err != nil {
		return "", fmt.Errorf("read the containerd config of node %s: %w", n.String(), err)
	}
	return parseCRISnapshotter(string(out))
}

func parseCRISnapshotter(config string) (string, error) {
	config = strings.ReplaceAll(config, "'", `"`) // containerd 2 quotes plugin names with '
	for _, section := range []string{`[plugins."io.containerd.cri.v1.images"]`, `[plugins."io.containerd.grpc.v1.cri".containerd]`} {
		i := strings.Index(config, section)
		if i < 0 {
			continue
		}
		rest := config[i+len(section):]
		if j := strings.Index(rest, "\n["); j >= 0 {
			rest = rest[:j]
		}
		if m := snapshotterLine.FindStringSubmatch(rest); m != nil {
			return m[1], nil
		}
	}
	return "", errors.New("cannot find the CRI image snapshotter in the node's containerd config")
}

// HasImage reports whether every node of kind cluster name has an image ref.
func (k *KindClusters) HasImage(_ context.Context, cluster, ref string) (bool, error) {
	ns, err := k.clusterNodes(cluster)
	if err != nil {
		return false, err
	}
	for _, n := range ns {
		if id, err := nodeutils.ImageID(n, ref); err != nil || id == "" {
			return false, nil
		}
	}
	return true, nil
}
