package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pipelinesv1alpha1 "github.com/kfup/kfup/components/pipelines/api/v1alpha1"
	pipelinesv2beta1 "github.com/kfup/kfup/components/pipelines/api/v2beta1"
	"github.com/kfup/kfup/components/pipelines/ir"
	"github.com/kfup/kfup/internal/errs"
)

// PipelineRunOptions are the flags and arguments of `kfup pipeline run`.
type PipelineRunOptions struct {
	// File is the compiled pipeline to embed in the run; Version, a PipelineVersion to
	// run instead. Exactly one is set.
	File       string
	Version    string
	Namespace  string
	Name       string
	Parameters []string
	NoCache    bool
	// Parallelism bounds the task pods running at once; 0 leaves the default.
	Parallelism int32
	Watch       bool
	// Timeout bounds the watch; 0 waits as long as the run takes.
	Timeout time.Duration
}

// NewCmdPipelineRun returns `kfup pipeline run FILE`; runF replaces the real run in tests.
func NewCmdPipelineRun(f *Factory, runF func(context.Context, *PipelineRunOptions) error) *cobra.Command {
	opts := &PipelineRunOptions{}
	cmd := &cobra.Command{
		Use:   "run [FILE] [-p NAME=VALUE]...",
		Short: "Start a run of a compiled pipeline on the cluster and print its name",
		Long: `Start a PipelineRun of FILE, a pipeline compiled by the kfp SDK, or of an uploaded
PipelineVersion (--version V, see 'kfup pipeline upload'), and print the run's name on
stdout. The file is checked first as 'kfup pipeline validate' does: a pipeline with
problems is refused and nothing is created.

Each -p NAME=VALUE sets one of the pipeline's input parameters, VALUE read by its type:
STRING as is, NUMBER_INTEGER, NUMBER_DOUBLE and BOOLEAN (true/false) parsed, LIST and
STRUCT as JSON. Inputs without a default must be given.

The run is named after the pipeline (add-numbers-x7k2p) unless --run-name is given. With
--watch, follow it to the end: each task's progress on stderr, then the run's outputs on
stdout.

Exit codes: 0 created (with --watch: succeeded), 1 the run failed, 2 a bad flag, file or
parameter, 4 no such file, cluster or version, 5 a run of that name exists, 124 --timeout
passed (the run goes on).`,
		Example: `  kfup pipeline run add_numbers.yaml -p a=1 -p b=2 --watch
  kfup pipeline run train.yaml -p lr=0.01 -p layers='[64,32]' --run-name train-1 --no-cache
  kfup pipeline run --version add-numbers-3f2a9c1d -p a=1 -p b=2`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) > 1 {
				return errs.Usage(fmt.Sprintf("see '%s --help'", c.CommandPath()), "name one pipeline file, got %d arguments", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.File = args[0]
			}
			if (opts.File == "") == (opts.Version == "") {
				return errs.Usage("run a file (kfup pipeline run FILE) or an uploaded version (kfup pipeline run --version V)", "name exactly one of FILE and --version")
			}
			if opts.Name != "" {
				if err := validateRunName(opts.Name); err != nil {
					return err
				}
			}
			if cmd.Flags().Changed("parallelism") && (opts.Parallelism < 1 || opts.Parallelism > pipelinesv1alpha1.MaxParallelism) {
				return errs.Usage("pass --parallelism between 1 and 256", "--parallelism %d: out of range", opts.Parallelism)
			}
			if cmd.Flags().Changed("timeout") && !opts.Watch {
				return errs.Usage("add --watch", "--timeout bounds --watch")
			}
			if opts.Timeout < 0 {
				return errs.Usage("pass a positive duration such as --timeout 30m", "--timeout must be positive")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runPipelineRun(cmd.Context(), newPipelineAPI(f), opts)
		},
	}
	namespaceFlag(cmd, &opts.Namespace, "the run (and of --version)")
	cmd.Flags().StringArrayVarP(&opts.Parameters, "param", "p", nil, "set an input parameter: `NAME=VALUE` (repeatable)")
	cmd.Flags().StringVar(&opts.Version, "version", "", "run the uploaded PipelineVersion `V` instead of a file")
	// Not --name: that is the global flag choosing the cluster.
	cmd.Flags().StringVar(&opts.Name, "run-name", "", "name `RUN` of the run (default: the pipeline's name and a random suffix)")
	cmd.Flags().BoolVar(&opts.NoCache, "no-cache", false, "run every task, reusing no earlier run's outputs")
	cmd.Flags().Int32Var(&opts.Parallelism, "parallelism", 0, "run at most `N` task pods at once (default 32)")
	cmd.Flags().BoolVarP(&opts.Watch, "watch", "w", false, "follow the run until it ends; fail when it fails")
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", 0, "with --watch: stop watching after this long (the run goes on)")
	return cmd
}

// namespaceFlag adds -n/--namespace, what it is the namespace of, to a pipeline command.
func namespaceFlag(cmd *cobra.Command, ns *string, what string) {
	cmd.Flags().StringVarP(ns, "namespace", "n", "default", "namespace of "+what)
}

// validateRunName checks a --run-name: a DNS label of at most 50 characters, since the run's
// task pods are named after it.
func validateRunName(name string) error {
	if msgs := validation.IsDNS1123Label(name); len(msgs) > 0 {
		return errs.Usage("use lowercase letters, digits and '-'", "--run-name %q: %s", name, strings.Join(msgs, "; "))
	}
	if len(name) > 50 {
		return errs.Usage("use a shorter name", "--run-name %q: a run's name is at most 50 characters", name)
	}
	return nil
}

func runPipelineRun(ctx context.Context, api *pipelineAPI, opts *PipelineRunOptions) error {
	run := &pipelinesv1alpha1.PipelineRun{
		ObjectMeta: metav1.ObjectMeta{Namespace: opts.Namespace, Name: opts.Name},
		Spec:       pipelinesv1alpha1.PipelineRunSpec{DisableCache: opts.NoCache},
	}
	if opts.Parallelism > 0 {
		run.Spec.Parallelism = &opts.Parallelism
	}
	var p *ir.Pipeline
	var c client.Client
	if opts.File != "" {
		// The file is read and checked before the cluster is reached: a bad file
		// creates nothing.
		cp, err := loadCompiledPipeline(opts.File, api.f.Printer())
		if err != nil {
			return err
		}
		p = cp.Pipeline
		run.Spec.PipelineSpec, run.Spec.PlatformSpec = cp.Spec, cp.Platform
	} else {
		var err error
		if c, _, err = api.connect(ctx); err != nil {
			return err
		}
		v := &pipelinesv2beta1.PipelineVersion{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: opts.Namespace, Name: opts.Version}, v); err != nil {
			err = apiError(err, fmt.Sprintf("get PipelineVersion %s/%s", opts.Namespace, opts.Version))
			if apierrors.IsNotFound(err) {
				err = errs.Wrap(errs.KindNotFound, "upload it with 'kfup pipeline upload FILE --pipeline NAME'; 'kubectl get pipelineversions"+nsFlag(opts.Namespace)+"' lists those there are", err)
			}
			return err
		}
		if p, err = checkStoredPipeline("PipelineVersion "+opts.Version, v.Spec.PipelineSpec, v.Spec.PlatformSpec); err != nil {
			return err
		}
		run.Spec.PipelineVersionRef = &pipelinesv1alpha1.PipelineVersionRef{Name: opts.Version}
	}
	params, err := runParameters(p.Spec.Root, opts.Parameters)
	if err != nil {
		return err
	}
	run.Spec.Parameters = params
	if run.Name == "" {
		run.GenerateName = runNamePrefix(p.Spec.PipelineInfo.Name)
	}
	if c == nil {
		if c, _, err = api.connect(ctx); err != nil {
			return err
		}
	}
	if err := c.Create(ctx, run); err != nil {
		if apierrors.IsAlreadyExists(err) {
			return errs.Wrap(errs.KindConflict, fmt.Sprintf("pick another --run-name, or delete the old run: kfup pipeline delete %s%s", run.Name, nsFlag(opts.Namespace)),
				fmt.Errorf("create run: %w", err))
		}
		return apiError(err, "create run")
	}
	fmt.Fprintln(api.f.IO.Out, run.Name)
	if !opts.Watch {
		return nil
	}
	return watchRun(ctx, api, c, run.Namespace, run.Name, 0, opts.Timeout)
}

// nsFlag is " -n NS" for commands to suggest, empty for the default namespace.
func nsFlag(ns string) string {
	if ns == "" || ns == "default" {
		return ""
	}
	return " -n " + ns
}

// shellQuote quotes s for a hint when the shell would read it otherwise (task IDs hold
// brackets).
func shellQuote(s string) string {
	if strings.ContainsAny(s, "[]*?'\" $&;|<>(){}") {
		return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
	}
	return s
}
