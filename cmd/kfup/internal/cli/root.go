// Package cli holds kfup's cobra commands. Each command has an options struct filled from
// flags and a run function that can be swapped in tests, so commands are tested without
// running them; the work itself lives in the library packages (bootstrap, ...).
package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"

	"github.com/spf13/cobra"

	"github.com/kfup/kfup/apis"
	"github.com/kfup/kfup/bootstrap"
	ingressagent "github.com/kfup/kfup/components/ingress/agent"
	"github.com/kfup/kfup/components/pipelines/launch"
	"github.com/kfup/kfup/components/serving/modelserver"
	"github.com/kfup/kfup/gpu"
	"github.com/kfup/kfup/internal/errs"
	"github.com/kfup/kfup/internal/incluster"
	"github.com/kfup/kfup/internal/ui"
	"github.com/kfup/kfup/platform"
)

// IOStreams are the command's standard streams.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
}

// System returns the process's standard streams.
func System() IOStreams { return IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr} }

// GlobalOptions are the flags every command takes.
type GlobalOptions struct {
	Name       string
	Verbosity  int
	Quiet      bool
	Kubeconfig string
}

// Factory gives commands what they need, lazily, so tests can replace any part.
type Factory struct {
	IO     IOStreams
	Global GlobalOptions
	// Printer returns the status printer for stderr.
	Printer func() *ui.Printer
	// Env returns the bootstrap environment acting on this host.
	Env func() (*bootstrap.Env, error)
	// GPUs finds this host's NVIDIA GPUs.
	GPUs func(context.Context) (*gpu.Inventory, error)
	// ImageEnv returns the environment (KEY=value) of an image in the local Docker, nil
	// when it is not there or Docker does not answer.
	ImageEnv func(ctx context.Context, image string) []string
	// OpenBrowser opens a URL in the user's browser (kfup dashboard).
	OpenBrowser func(url string) error

	printer *ui.Printer
}

// Cluster returns the bootstrap environment and the record of kfup's cluster name: a
// NotFound error with the fix when kfup made (or adopted) none of that name.
func (f *Factory) Cluster(name string) (*bootstrap.Env, *bootstrap.Record, error) {
	env, err := f.Env()
	if err != nil {
		return nil, nil, err
	}
	rec, err := env.Store.Load(name)
	if err != nil {
		return nil, nil, err
	}
	if rec == nil {
		return nil, nil, errs.New(errs.KindNotFound, fmt.Sprintf("create it with 'kfup create --name %s'", name), "no kfup cluster named %q", name)
	}
	return env, rec, nil
}

// NewFactory returns a Factory over io acting on the real host.
func NewFactory(io IOStreams) *Factory {
	f := &Factory{IO: io}
	f.Printer = func() *ui.Printer {
		if f.printer == nil {
			f.printer = ui.New(f.IO.ErrOut, ui.DetectOptions(f.IO.ErrOut, f.Global.Verbosity, f.Global.Quiet))
		}
		return f.printer
	}
	f.Env = func() (*bootstrap.Env, error) {
		env, err := bootstrap.NewEnv(f.Printer())
		if err == nil {
			env.ComponentHealth = platform.Health // status reports the installed components
		}
		return env, err
	}
	f.GPUs = func(ctx context.Context) (*gpu.Inventory, error) { return gpu.Discover(ctx) }
	f.ImageEnv = dockerImageEnv
	f.OpenBrowser = openBrowser
	return f
}

// NewRootCmd returns the kfup command tree.
func NewRootCmd(f *Factory) *cobra.Command {
	root := newRootCmd(f)
	root.AddCommand(
		NewCmdCreate(f, nil),
		NewCmdDelete(f, nil),
		NewCmdStatus(f, nil),
		NewCmdDoctor(f, nil),
		NewCmdVersion(f, nil),
		incluster.NewCmdManager(apis.InCluster(), func() int { return f.Global.Verbosity }, nil),
		NewCmdTest(f, nil),
		NewCmdImages(f, nil),
		NewCmdGPU(f, nil),
		NewCmdPipeline(f),
		NewCmdRun(f, nil),
		NewCmdDashboard(f, nil),
		incluster.NewCmdAgent(f.IO.Out, launch.NewCmd(), ingressagent.NewCmd()),
		modelserver.NewCmd(nil),
	)
	return root
}

// newRootCmd returns the root command with the global flags but no subcommands, so tests
// can add subcommands built with their own run functions.
func newRootCmd(f *Factory) *cobra.Command {
	root := &cobra.Command{
		Use:   "kfup",
		Short: "A complete local ML platform (Kubernetes + Kubeflow APIs) in one command",
		Long: `kfup creates a local single-node Kubernetes cluster (kind) and installs a lightweight
implementation of the Kubeflow APIs onto it: training jobs, tuning, pipelines and serving.

  kfup create          create the cluster and install a profile (idempotent; Ctrl-C safe)
  kfup status          show the cluster and its components
  kfup test            smoke-test the installed components
  kfup doctor          check this host
  kfup images          list/save/load every image a profile needs (air-gapped installs)
  kfup gpu list        show this host's NVIDIA GPUs
  kfup pipeline run    run a compiled Kubeflow pipeline (also list, get, logs, validate)
  kfup run train.py    run local code on the cluster as a training job (logs and outputs back)
  kfup dashboard       serve the web dashboard on 127.0.0.1 and open it (jobs, experiments, endpoints, runs)
  kfup delete          remove the cluster and everything kfup made`,
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	pf := root.PersistentFlags()
	pf.StringVar(&f.Global.Name, "name", bootstrap.DefaultName, "name of the cluster to act on")
	pf.IntVarP(&f.Global.Verbosity, "verbosity", "v", 0, "log verbosity: 0 steps only, 1 debug (incl. kind's steps), 2+ more")
	pf.BoolVarP(&f.Global.Quiet, "quiet", "q", false, "print only warnings and errors on stderr")
	pf.StringVar(&f.Global.Kubeconfig, "kubeconfig", "", "kubeconfig file to use (default: $KUBECONFIG or ~/.kube/config)")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return errs.Usage(fmt.Sprintf("see '%s --help'", c.CommandPath()), "%v", err)
	})
	root.SetOut(f.IO.Out)
	root.SetErr(f.IO.ErrOut)
	root.SetIn(f.IO.In)
	return root
}

// Main runs kfup with args and returns the process exit code. Errors are printed as one
// ERROR line plus a hint on stderr.
func Main(ctx context.Context, args []string, io IOStreams) int {
	f := NewFactory(io)
	root := NewRootCmd(f)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	err = classifyCobraError(err)
	if ctx.Err() != nil && errs.KindOf(err) == errs.KindUnknown {
		err = errs.Wrap(errs.KindInterrupted, "", err)
	}
	if errs.KindOf(err) == errs.KindInterrupted && errs.HintOf(err) == "" {
		err = errs.Wrap(errs.KindInterrupted, "run the command again to finish; 'kfup create' resumes and 'kfup delete' cleans up",
			fmt.Errorf("interrupted: %w", err))
	}
	hint := errs.HintOf(err)
	if hint == "" && errs.KindOf(err) == errs.KindUnknown {
		hint = "run 'kfup doctor' to check the host, or rerun with -v 1 for details"
	}
	f.Printer().Errorf(hint, "%s", err.Error())
	return ExitCode(err)
}

// classifyCobraError turns cobra's own parse errors into usage errors.
var classifyCobraError = incluster.ClassifyCobraError

// noArgs is cobra.NoArgs with a usage error.
var noArgs = incluster.NoArgs

// flagChanged reports whether the user set flag name on cmd (or a parent).
func flagChanged(cmd *cobra.Command, name string) bool {
	fl := cmd.Flags().Lookup(name)
	if fl == nil {
		fl = cmd.InheritedFlags().Lookup(name)
	}
	return fl != nil && fl.Changed
}

// dockerImageEnv is the environment of a local Docker image (docker image inspect), nil
// when Docker lacks the image or does not answer.
func dockerImageEnv(ctx context.Context, image string) []string {
	out, err := exec.CommandContext(ctx, "docker", "image", "inspect", "--format", "{{json .Config.Env}}", image).Output()
	if err != nil {
		return nil
	}
	var env []string
	if json.Unmarshal(out, &env) != nil {
		return nil
	}
	return env
}
