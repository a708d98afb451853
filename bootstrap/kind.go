package bootstrap

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"time"

	kindcluster "sigs.k8s.io/kind/pkg/cluster"
	kindexec "sigs.k8s.io/kind/pkg/exec"
	kindlog "sigs.k8s.io/kind/pkg/log"

	"github.com/kfup/kfup/internal/errs"
	"github.com/kfup/kfup/internal/ui"
)

// KindClusters is the Provider of kind clusters: it manages them through the
// sigs.k8s.io/kind library with the Docker runtime and never runs a kind binary. It is an
// ImageLoader too.
type KindClusters struct {
	provider *kindcluster.Provider
	out      *ui.Printer
}

// NewKindClusters returns KindClusters whose kind log lines go to out at -v 1 and above.
func NewKindClusters(out *ui.Printer) *KindClusters {
	return &KindClusters{
		provider: kindcluster.NewProvider(kindcluster.ProviderWithDocker(), kindcluster.ProviderWithLogger(kindLogger{out})),
		out:      out,
	}
}

// Name returns "kind".
func (k *KindClusters) Name() string { return ProviderKind }

// Adopts returns false: kfup creates and deletes kind clusters.
func (k *KindClusters) Adopts() bool { return false }

// Exists reports whether kind knows a cluster of that name (any node container exists).
func (k *KindClusters) Exists(name string) (bool, error) {
	names, err := k.provider.List()
	if err != nil {
		return false, fmt.Errorf("list kind clusters: %w", err)
	}
	for _, n := range names {
		if n == name {
			return true, nil
		}
	}
	return false, nil
}

// NodeContainers returns the node container names of cluster name.
func (k *KindClusters) NodeContainers(name string) ([]string, error) {
	nodes, err := k.provider.ListNodes(name)
	if err != nil {
		return nil, fmt.Errorf("list nodes of kind cluster %q: %w", name, err)
	}
	out := make([]string, 0, len(nodes))
	for _, n := range nodes {
		out = append(out, n.String())
	}
	return out, nil
}

// nodeContainer is what Docker says of one node container.
type nodeContainer struct {
	name, status string // status: running, exited, paused …
	startedAt    time.Time
}

// inspectNodes returns the state of every node container of cluster name, from one
// docker inspect.
func (k *KindClusters) inspectNodes(ctx context.Context, name string) ([]nodeContainer, error) {
	containers, err := k.NodeContainers(name)
	if err != nil || len(containers) == 0 {
		return nil, err
	}
	args := append([]string{"inspect", "--format", "{{.State.Status}} {{.State.StartedAt}}"}, containers...)
	out, err := exec.CommandContext(ctx, "docker", args...).Output()
	if err != nil {
		return nil, fmt.Errorf("inspect node containers %s: %w", strings.Join(containers, ", "), err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(containers) {
		return nil, fmt.Errorf("inspect node containers %s: %d answers", strings.Join(containers, ", "), len(lines))
	}
	nodes := make([]nodeContainer, len(containers))
	for i, l := range lines {
		status, started, _ := strings.Cut(strings.TrimSpace(l), " ")
		t, err := time.Parse(time.RFC3339Nano, started)
		if err != nil {
			return nil, fmt.Errorf("start time of node container %s: %w", containers[i], err)
		}
		nodes[i] = nodeContainer{name: containers[i], status: status, startedAt: t}
	}
	return nodes, nil
}

// NodesRunning reports whether every node container of cluster name is running, and names
// the first one that is not.
func (k *KindClusters) NodesRunning(ctx context.Context, name string) (bool, string, error) {
	nodes, err := k.inspectNodes(ctx, name)
	if err != nil {
		return false, "", err
	}
	if len(nodes) == 0 {
		return false, "no node containers", nil
	}
	for _, n := range nodes {
		if n.status != "running" {
			return false, fmt.Sprintf("node container %s is %s", n.name, n.status), nil
		}
	}
	return true, "", nil
}

// StartNodes starts (or unpauses) the node containers of cluster name that are not
// running: stopped by hand, or not brought back after a reboot of the host or of Docker.
func (k *KindClusters) StartNodes(ctx context.Context, name string) error {
	nodes, err := k.inspectNodes(ctx, name)
	if err != nil {
		return err
	}
	for _, n := range nodes {
		verb := "start"
		switch n.status {
		case "running":
			continue
		case "paused":
			verb = "unpause"
		}
		if out, err := exec.CommandContext(ctx, "docker", verb, n.name).CombinedOutput(); err != nil {
			return fmt.Errorf("%s node container %s: %w: %s", verb, n.name, err, strings.TrimSpace(string(out)))
		}
	}
	return nil
}

// NodeStarts returns when each node container of cluster name last started, by node
// name (kind names a node after its container), as the Docker daemon — whose clock the
// node's kubelet shares — recorded it.
func (k *KindClusters) NodeStarts(ctx context.Context, name string) (map[string]time.Time, error) {
	nodes, err := k.inspectNodes(ctx, name)
	if err != nil {
		return nil, err
	}
	starts := map[string]time.Time{}
	for _, n := range nodes {
		starts[n.name] = n.startedAt
	}
	return starts, nil
}

// Kubeconfig returns the external kubeconfig of cluster name.
func (k *KindClusters) Kubeconfig(name string) ([]byte, error) {
	s, err := k.provider.KubeConfig(name, false)
	if err != nil {
		return nil, fmt.Errorf("get kubeconfig of kind cluster %q: %w", name, err)
	}
	return []byte(s), nil
}

// Create creates the cluster. The kind library takes no context, so creation runs in a
// goroutine; when ctx ends first, Create removes whatever was created (unless Retain) and
// returns ctx's error. A failed creation is likewise removed unless Retain.
func (k *KindClusters) Create(ctx context.Context, s ClusterSpec) error {
	opts := []kindcluster.CreateOption{
		kindcluster.CreateWithV1Alpha4Config(s.Config),
		kindcluster.CreateWithNodeImage(s.NodeImage),
		kindcluster.CreateWithKubeconfigPath(s.KubeconfigPath),
		kindcluster.CreateWithRetain(s.Retain),
		kindcluster.CreateWithDisplayUsage(false),
		kindcluster.CreateWithDisplaySalutation(false),
	}
	done := make(chan error, 1)
	go func() { done <- k.provider.Create(s.Name, opts...) }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("create kind cluster %q: %w", s.Name, explainKindError(err))
		}
		return nil
	case <-ctx.Done():
	}
	if s.Retain {
		return errs.Wrap(errs.KindInterrupted, fmt.Sprintf("the partial cluster was kept (--retain); remove it with 'kfup delete --name %s'", s.Name), ctx.Err())
	}
	// Remove what kind made so far. kind may still be creating the node container, so keep
	// deleting until its goroutine has returned, then once more.
	k.out.Infof("Interrupted: removing the partial cluster %q ...", s.Name)
	deadline := time.After(2 * time.Minute)
	for {
		_ = k.provider.Delete(s.Name, s.KubeconfigPath)
		select {
		case <-done:
			if err := k.provider.Delete(s.Name, s.KubeconfigPath); err != nil {
				return fmt.Errorf("remove partial cluster %q after interrupt: %w (remove it with 'kfup delete --name %s')", s.Name, err, s.Name)
			}
			return errs.Wrap(errs.KindInterrupted, fmt.Sprintf("run 'kfup create --name %s' to start again", s.Name),
				fmt.Errorf("creation of cluster %q interrupted (%w); the partial cluster was removed", s.Name, ctx.Err()))
		case <-time.After(2 * time.Second):
		case <-deadline:
			return fmt.Errorf("%w; kind did not stop in time: remove the cluster with 'kfup delete --name %s'", ctx.Err(), s.Name)
		}
	}
}

// Delete removes cluster name's node containers; kubeconfigPath is kind's private file.
// Deleting a cluster that does not exist is not an error.
func (k *KindClusters) Delete(name, kubeconfigPath string) error {
	if err := k.provider.Delete(name, kubeconfigPath); err != nil {
		return fmt.Errorf("delete kind cluster %q: %w", name, err)
	}
	return nil
}

// CollectLogs writes `kind export logs` output for cluster name into dir.
func (k *KindClusters) CollectLogs(name, dir string) error {
	return k.provider.CollectLogs(name, dir)
}

// explainKindError adds the output of a failed command kind ran (kind's RunError carries it).
func explainKindError(err error) error {
	re := kindexec.RunErrorForError(err)
	if re == nil {
		return err
	}
	out := bytes.TrimSpace(re.Output)
	if len(out) > 2000 {
		out = append([]byte("..."), out[len(out)-2000:]...)
	}
	if len(out) == 0 {
		return err
	}
	return fmt.Errorf("%w\ncommand output:\n%s", err, out)
}

// kindLogger routes kind's own log lines to kfup's printer: its status lines at -v 1, its
// debug lines one level deeper, warnings and errors always.
type kindLogger struct{ out *ui.Printer }

func (l kindLogger) Warn(m string)                        { l.out.Warnf("%s", strings.TrimSpace(m)) }
func (l kindLogger) Warnf(f string, a ...any)             { l.Warn(fmt.Sprintf(f, a...)) }
func (l kindLogger) Error(m string)                       { l.out.Debugf(0, "kind: %s", strings.TrimSpace(m)) }
func (l kindLogger) Errorf(f string, a ...any)            { l.Error(fmt.Sprintf(f, a...)) }
func (l kindLogger) V(v kindlog.Level) kindlog.InfoLogger { return kindInfo{l.out, int(v) + 1} }

type kindInfo struct {
	out   *ui.Printer
	level int
}

func (i kindInfo) Info(m string) {
	if m = strings.TrimSpace(m); m != "" {
		i.out.Debugf(i.level, "  kind: %s", m)
	}
}
func (i kindInfo) Infof(f string, a ...any) { i.Info(fmt.Sprintf(f, a...)) }
func (i kindInfo) Enabled() bool            { return i.out.Verbosity() >= i.level }
