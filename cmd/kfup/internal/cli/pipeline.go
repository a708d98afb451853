package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfup/kfup/bootstrap"
	"github.com/kfup/kfup/components/manager"
	pipelinesv1alpha1 "github.com/kfup/kfup/components/pipelines/api/v1alpha1"
	pipelinesv2beta1 "github.com/kfup/kfup/components/pipelines/api/v2beta1"
	"github.com/kfup/kfup/components/pipelines/ir"
	"github.com/kfup/kfup/dashboard"
	"github.com/kfup/kfup/internal/errs"
)

// NewCmdPipeline returns `kfup pipeline`, the Kubeflow Pipelines commands.
func NewCmdPipeline(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pipeline",
		Short: "Run, inspect and validate Kubeflow Pipelines (compiled kfp IR)",
		Long: `Run pipelines compiled by the kfp SDK on the cluster, follow and inspect their runs, and
check compiled files without a cluster.

  kfup pipeline run FILE          run a pipeline (-p NAME=VALUE, --watch to follow it)
  kfup pipeline list              list the runs of a namespace
  kfup pipeline get RUN           a run's tasks and outputs
  kfup pipeline logs RUN [TASK]   the logs of a run's tasks
  kfup pipeline terminate RUN     stop a run: its running pods deleted, it ends Canceled
  kfup pipeline retry RUN         run a failed or canceled run again from where it stopped
  kfup pipeline delete RUN...     delete runs and their pods
  kfup pipeline upload FILE       store a pipeline version to run by name (run --version)
  kfup pipeline validate FILE...  check compiled pipelines (no cluster needed)`,
		Args: noArgs,
	}
	cmd.AddCommand(
		NewCmdPipelineRun(f, nil),
		NewCmdPipelineList(f, nil),
		NewCmdPipelineGet(f, nil),
		NewCmdPipelineLogs(f, nil),
		NewCmdPipelineTerminate(f, nil),
		NewCmdPipelineRetry(f, nil),
		NewCmdPipelineDelete(f, nil),
		NewCmdPipelineUpload(f, nil),
		NewCmdPipelineValidate(f, nil),
	)
	return cmd
}

// pollInterval is how often --watch and logs --follow look at a run.
const pollInterval = time.Second

// pipelineAPI is what the pipeline commands that reach the cluster act with. Each
// command's real run gets newPipelineAPI's; tests build one over fake clients, a fixed
// clock and a sleep that moves the fake run on.
type pipelineAPI struct {
	f *Factory
	// connect returns a client for the kfup APIs and a clientset for pod logs.
	connect func(ctx context.Context) (client.Client, kubernetes.Interface, error)
	// artifacts reads the artifact store (a task's kept log once its pod is gone).
	artifacts func(ctx context.Context) (dashboard.ArtifactReader, error)
	now       func() time.Time
	// sleep waits d, or returns ctx's error when it ends first.
	sleep func(ctx context.Context, d time.Duration) error
	poll  time.Duration
}

func newPipelineAPI(f *Factory) *pipelineAPI {
	return &pipelineAPI{
		f:         f,
		connect:   func(ctx context.Context) (client.Client, kubernetes.Interface, error) { return pipelineClient(ctx, f) },
		artifacts: func(context.Context) (dashboard.ArtifactReader, error) { return pipelineArtifacts(f) },
		now:       time.Now,
		sleep:     sleepCtx,
		poll:      pollInterval,
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// pipelineClient connects to the cluster named by --name, as kfup recorded it: a
// controller-runtime client that knows the pipelines types, and a clientset for pod logs.
func pipelineClient(_ context.Context, f *Factory) (client.Client, kubernetes.Interface, error) {
	name := f.Global.Name
	cfg, err := pipelineREST(f)
	if err != nil {
		return nil, nil, err
	}
	scheme, err := pipelineScheme()
	if err != nil {
		return nil, nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, nil, fmt.Errorf("client for cluster %q: %w", name, err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("client for cluster %q: %w", name, err)
	}
	return c, cs, nil
}

// pipelineREST is the REST config of the cluster named by --name, as kfup recorded it.
func pipelineREST(f *Factory) (*rest.Config, error) {
	if err := bootstrap.ValidateName(f.Global.Name); err != nil {
		return nil, err
	}
	env, rec, err := f.Cluster(f.Global.Name)
	if err != nil {
		return nil, err
	}
	if env.REST != nil {
		return env.REST, nil
	}
	return bootstrap.RESTConfig(rec.Context, rec.Kubeconfig)
}

// pipelineArtifacts reads kfup's pvc artifact store through a port-forward of the
// kfup-manager pod, with the user's credentials (as the dashboard's viewers do).
func pipelineArtifacts(f *Factory) (dashboard.ArtifactReader, error) {
	cfg, err := pipelineREST(f)
	if err != nil {
		return nil, err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return dashboard.ManagerArtifacts(cfg, cs, manager.Namespace, manager.AppName), nil
}

// pipelineScheme knows the Kubernetes types and the pipelines APIs: all the pipeline
// commands read and write.
func pipelineScheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, pipelinesv1alpha1.AddToScheme, pipelinesv2beta1.AddToScheme} {
		if err := add(s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// apiError classifies an error of the API server: a cluster without the pipelines
// CRDs, or no such object.
func apiError(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case meta.IsNoMatchError(err):
		return errs.Wrap(errs.KindNotFound, "install the pipelines component: run 'kfup create' again (it converges an existing cluster) with --set components.pipelines.enabled=true",
			fmt.Errorf("%s: the cluster has no Kubeflow Pipelines API: %w", what, err))
	case apierrors.IsNotFound(err):
		return errs.Wrap(errs.KindNotFound, "", fmt.Errorf("%s: %w", what, err))
	}
	return fmt.Errorf("%s: %w", what, err)
}

// PipelineValidateOptions are the flags and arguments of `kfup pipeline validate`.
type PipelineValidateOptions struct {
	Files  []string
	Output string
}

// PipelineReport is one file's result, as `kfup pipeline validate -o json` prints it.
type PipelineReport struct {
	File     string      `json:"file"`
	Pipeline string      `json:"pipeline,omitempty"`
	Runnable bool        `json:"runnable"`
	Problems ir.Problems `json:"problems,omitempty"`
}

// NewCmdPipelineValidate returns `kfup pipeline validate FILE...`; runF replaces the real
// run in tests.
func NewCmdPipelineValidate(f *Factory, runF func(context.Context, *PipelineValidateOptions) error) *cobra.Command {
	opts := &PipelineValidateOptions{}
	cmd := &cobra.Command{
		Use:   "validate FILE...",
		Short: "Check compiled pipelines without a cluster (for CI): exit 0 when every one is runnable",
		Long: `Check that each FILE, a pipeline compiled by the kfp SDK (PipelineSpec schemaVersion
2.1.0, with an optional kfp-kubernetes platform spec), is one kfup can run. No cluster is
needed. Every problem is listed with its task and YAML path; warnings do not fail.

Exit codes: 0 all runnable, 2 some pipeline has problems, 4 a file could not be read.`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return errs.Usage(fmt.Sprintf("see '%s --help'", c.CommandPath()), "name at least one pipeline file")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := validateOutput(opts.Output); err != nil {
				return err
			}
			opts.Files = args
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runPipelineValidate(f, opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Output, "output", "o", OutputTable, "output format: table, json or yaml")
	return cmd
}

func runPipelineValidate(f *Factory, opts *PipelineValidateOptions) error {
	var reports []PipelineReport
	bad := 0
	for _, file := range opts.Files {
		data, err := os.ReadFile(file)
		if err != nil {
			kind := errs.KindUsage
			if errors.Is(err, fs.ErrNotExist) {
				kind = errs.KindNotFound
			}
			return errs.Wrap(kind, "check the file's path", fmt.Errorf("read pipeline: %w", err))
		}
		p, ps := ir.Check(file, data)
		r := PipelineReport{File: file, Runnable: len(ps.Errors()) == 0, Problems: ps}
		if p != nil {
			r.Pipeline = p.Spec.PipelineInfo.Name
		}
		if !r.Runnable {
			bad++
		}
		reports = append(reports, r)
	}
	if opts.Output != OutputTable {
		if err := writeStructured(f.IO.Out, opts.Output, reports); err != nil {
			return err
		}
	} else {
		for _, r := range reports {
			if r.Runnable {
				fmt.Fprintf(f.IO.Out, "%s: pipeline %q is runnable\n", r.File, r.Pipeline)
			} else {
				fmt.Fprintf(f.IO.Out, "%s: %d problem(s)\n", r.File, len(r.Problems.Errors()))
			}
			for _, p := range r.Problems {
				fmt.Fprintf(f.IO.Out, "  %s\n", p)
			}
		}
	}
	if bad > 0 {
		return errs.Usage("fix the problems listed above (task and YAML path) and recompile",
			"%d of %d pipeline(s) are not runnable", bad, len(reports))
	}
	return nil
}
