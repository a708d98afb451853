package bootstrap

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"sigs.k8s.io/kind/pkg/cluster/nodes"
	"sigs.k8s.io/kind/pkg/cluster/nodeutils"

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
