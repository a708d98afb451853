package incluster

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kfup/kfup/internal/agent"
	"github.com/kfup/kfup/internal/errs"
)

// NewCmdAgent returns the hidden `kfup agent` helpers that run inside job pods from kfup's
// own image (no shell or busybox image needed), with the slices' own helpers (pipelines'
// launcher), which the composition root passes in because internal/ names no slice.
func NewCmdAgent(out io.Writer, helpers ...*cobra.Command) *cobra.Command {
	cmd := &cobra.Command{
		Use:    "agent",
		Short:  "Helpers that kfup runs inside job pods",
		Hidden: true,
	}
	var tries int
	var interval time.Duration
	wait := &cobra.Command{
		Use:   "wait-for-host HOST",
		Short: "Wait until HOST resolves (PyTorch workers wait for their master)",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return errs.Usage("kfup agent wait-for-host HOST", "wait-for-host takes one host name")
			}
			return agent.WaitForHost(cmd.Context(), out, agent.DefaultLookup, args[0], tries, interval)
		},
	}
	wait.Flags().IntVar(&tries, "tries", 100, "lookups before giving up")
	wait.Flags().DurationVar(&interval, "interval", 2*time.Second, "pause between lookups")
	var url string
	quit := &cobra.Command{
		Use:   "quit-sidecar",
		Short: "Ask the Istio agent of this pod to stop its proxy",
		Args:  NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return agent.QuitSidecar(cmd.Context(), out, &http.Client{Timeout: 5 * time.Second}, url, tries, interval)
		},
	}
	quit.Flags().StringVar(&url, "url", agent.IstioQuitURL, "the sidecar's quit endpoint")
	quit.Flags().IntVar(&tries, "tries", 10, "attempts before giving up")
	quit.Flags().DurationVar(&interval, "interval", 2*time.Second, "pause between attempts")
	var hostfile string
	var timeout time.Duration
	delivery := &cobra.Command{
		Use:   "mpi-delivery",
		Short: "MPIJob launcher init: install kfup as the exec client $TARGET_DIR/kubectl, wait for the workers",
		Args:  NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, ns := os.Getenv("TARGET_DIR"), os.Getenv("NAMESPACE")
			if dir == "" || ns == "" {
				return errs.Usage("run it as the MPIJob launcher's init container", "TARGET_DIR and NAMESPACE must be set")
			}
			if err := agent.InstallExecClient(dir); err != nil {
				return fmt.Errorf("install exec client into %s: %w", dir, err)
			}
			hf, err := os.Open(hostfile)
			if err != nil {
				return err
			}
			hosts, err := agent.HostfileHosts(hf)
			hf.Close()
			if err != nil {
				return err
			}
			cfg, err := rest.InClusterConfig()
			if err != nil {
				return err
			}
			cs, err := kubernetes.NewForConfig(cfg)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			return agent.WaitPodsRunning(ctx, out, cs, ns, hosts, 2*time.Second)
		},
	}
	delivery.Flags().StringVar(&hostfile, "hostfile", "/etc/mpi/hostfile", "the MPIJob's hostfile (its hosts are the worker pods)")
	delivery.Flags().DurationVar(&timeout, "timeout", 30*time.Minute, "how long to wait for the workers")
	cmd.AddCommand(wait, quit, delivery, newCmdAgentMetrics(out), newCmdAgentCheckpoint(out), newCmdAgentPush(out), newCmdAgentDevicePlugin(out), newCmdAgentStorageInitializer(out), newCmdAgentCopySelf(out), newCmdAgentOwnDir(out), newCmdAgentWriteFile(out), newCmdAgentUnpack(out), newCmdAgentOutputs(out))
	cmd.AddCommand(helpers...)
	return cmd
}

// agentHelperAnnotation marks a helper of NewRootCmd that goes under `kfup agent`.
const agentHelperAnnotation = "kfup.dev/agent-helper"

// AgentHelper marks cmd, a slice's helper that its workload pods run, to go under
// `kfup agent` rather than at the root when passed to NewRootCmd or Main.
func AgentHelper(cmd *cobra.Command) *cobra.Command {
	if cmd.Annotations == nil {
		cmd.Annotations = map[string]string{}
	}
	cmd.Annotations[agentHelperAnnotation] = "true"
	return cmd
}

// splitHelpers separates the helpers AgentHelper marked from the others.
func splitHelpers(helpers []*cobra.Command) (agent, root []*cobra.Command) {
	for _, h := range helpers {
		if h.Annotations[agentHelperAnnotation] == "true" {
			agent = append(agent, h)
		} else {
			root = append(root, h)
		}
	}
	return agent, root
}

// KubectlMain is kfup invoked as "kubectl" (installed so by `kfup agent mpi-delivery`): it
// answers `kubectl exec POD [--container C] -- CMD...` in the pod's namespace and exits with
// the remote command's code.
func KubectlMain(ctx context.Context, args []string, in io.Reader, out, errOut io.Writer) int {
	a, err := agent.ParseKubectlExec(args)
	if err != nil {
		fmt.Fprintln(errOut, "error:", err)
		return 2
	}
	cfg, err := rest.InClusterConfig()
	if err != nil {
		fmt.Fprintln(errOut, "error:", err)
		return 1
	}
	ns, err := agent.InClusterNamespace()
	if err != nil {
		fmt.Fprintln(errOut, "error:", err)
		return 1
	}
	code, err := agent.ExecInPod(ctx, cfg, ns, a, in, out, errOut)
	if err != nil {
		fmt.Fprintln(errOut, "error:", err)
	}
	return code
}

// newCmdAgentMetrics returns `kfup agent metrics`, the tuning File and TensorFlowEvent
// collectors' sidecar: it prints what the training code writes to a file or event
// directory on its standard output, for the controller to read with pods/log. SIGTERM
// (the kubelet stops native sidecars once the main containers exit) makes it read what
// remains and exit 0.
func newCmdAgentMetrics(out io.Writer) *cobra.Command {
	var kind, path, format string
	var metrics []string
	var interval time.Duration
	cmd := &cobra.Command{
		Use:   "metrics --kind file|tfevent --path PATH [--format text|json] [--metric NAME]...",
		Short: "Print a metrics file's lines, or TensorFlow event files' scalars as '<time> name=value', until SIGTERM",
		Args:  NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !filepath.IsAbs(path) {
				return errs.Usage("pass an absolute --path such as /var/log/katib/metrics.log", "--path %q is not absolute", path)
			}
			if format != "text" && format != "json" {
				return errs.Usage("pass --format text or --format json", "--format %q is neither text nor json", format)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, os.Interrupt)
			defer stop()
			switch kind {
			case "file":
				// the lines are copied as they are: the controller parses them per --format
				return agent.FollowFile(ctx, out, cmd.ErrOrStderr(), path, format == "json", interval)
			case "tfevent":
				return agent.FollowEvents(ctx, out, cmd.ErrOrStderr(), path, metrics, interval)
			}
			return errs.Usage("pass --kind file or --kind tfevent", "--kind %q is neither file nor tfevent", kind)
		},
	}
	cmd.Flags().StringVar(&kind, "kind", "file", "file: copy the lines of one file; tfevent: print the scalars of the event files under a directory")
	cmd.Flags().StringVar(&path, "path", "", "the metrics file (file) or directory (tfevent), absolute")
	cmd.Flags().StringVar(&format, "format", "text", "the file's format, text or json (lines are copied as they are; json: only JSON objects)")
	cmd.Flags().StringArrayVar(&metrics, "metric", nil, "tfevent: a metric to print, as Katib names them (accuracy, train/accuracy); repeatable; none: every scalar under its tag")
	cmd.Flags().DurationVar(&interval, "interval", time.Second, "how often the file or directory is read")
	return cmd
}

// newCmdAgentCheckpoint returns `kfup agent checkpoint`, the init container of the tuning
// pbt trials' pods: it makes the trial's checkpoint directory on the experiment's volume,
// a copy of its parent's when the trial has one.
func newCmdAgentCheckpoint(out io.Writer) *cobra.Command {
	var dir, parent string
	cmd := &cobra.Command{
		Use:   "checkpoint --dir DIR [--parent DIR]",
		Short: "Make a pbt trial's checkpoint directory, a copy of its parent's",
		Args:  NoArgs,
		RunE: func(_ *cobra.Command, _ []string) error {
			if !filepath.IsAbs(dir) || (parent != "" && !filepath.IsAbs(parent)) {
				return errs.Usage("pass absolute directories such as --dir /kfup-checkpoints/exp/exp-abc", "--dir %q and --parent %q must be absolute", dir, parent)
			}
			return agent.PrepareCheckpoint(out, filepath.Clean(dir), parent)
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "the trial's checkpoint directory, absolute (kept when it exists)")
	cmd.Flags().StringVar(&parent, "parent", "", "the parent trial's checkpoint directory, copied into --dir (none: --dir starts empty)")
	return cmd
}
