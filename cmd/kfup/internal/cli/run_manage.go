package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/util/duration"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfup/kfup/components/training/run"
	"github.com/kfup/kfup/internal/errs"
)

// RunInfo is one run as `kfup run list -o json` prints it.
type RunInfo struct {
	Name      string    `json:"name"`
	Namespace string    `json:"namespace"`
	Kind      string    `json:"kind"`
	State     string    `json:"state"`
	Command   []string  `json:"command,omitempty"`
	Archive   string    `json:"archive,omitempty"`
	Created   time.Time `json:"created"`
}

// findRuns lists the jobs of every kind labelled as runs in ns (name "" : all of them),
// newest first. Kinds the cluster does not serve are skipped.
func findRuns(ctx context.Context, c client.Client, ns, name string) ([]client.Object, error) {
	var out []client.Object
	served := 0
	for _, kind := range run.JobKinds() {
		l := run.NewJobList(kind)
		sel := client.HasLabels{run.RunLabel}
		opts := []client.ListOption{client.InNamespace(ns)}
		if name != "" {
			opts = append(opts, client.MatchingLabels{run.RunLabel: name})
		} else {
			opts = append(opts, sel)
		}
		if err := c.List(ctx, l, opts...); err != nil {
			if meta.IsNoMatchError(err) {
				continue
			}
			return nil, fmt.Errorf("list %ss: %w", kind, err)
		}
		served++
		out = append(out, run.ListItems(l)...)
	}
	if served == 0 {
		return nil, errs.New(errs.KindNotFound, "install the training component: run 'kfup create' again", "the cluster has no kubeflow.org/v1 training API")
	}
	slices.SortFunc(out, func(a, b client.Object) int {
		return b.GetCreationTimestamp().Compare(a.GetCreationTimestamp().Time)
	})
	return out, nil
}

// findRun is the job of run name in ns; none is a not-found error.
func findRun(ctx context.Context, c client.Client, ns, name string) (client.Object, error) {
	jobs, err := findRuns(ctx, c, ns, name)
	if err != nil {
		return nil, err
	}
	if len(jobs) == 0 {
		return nil, errs.New(errs.KindNotFound, "'kfup run list"+nsFlag(ns)+"' lists the runs there are", "no run %q in namespace %s", name, ns)
	}
	return jobs[0], nil
}

// RunListOptions are the flags of `kfup run list`.
type RunListOptions struct {
	Namespace string
	Output    string
}

// NewCmdRunList returns `kfup run list`; runF replaces the real run in tests.
func NewCmdRunList(f *Factory, runF func(context.Context, *RunListOptions) error) *cobra.Command {
	opts := &RunListOptions{}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the runs of a namespace, newest first",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := validateOutput(opts.Output); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runRunList(cmd.Context(), newRunAPI(f), opts)
		},
	}
	namespaceFlag(cmd, &opts.Namespace, "the runs")
	cmd.Flags().StringVarP(&opts.Output, "output", "o", OutputTable, "output format: table, json or yaml")
	return cmd
}

func runRunList(ctx context.Context, api *runAPI, opts *RunListOptions) error {
	c, _, _, err := api.connect(ctx)
	if err != nil {
		return err
	}
	jobs, err := findRuns(ctx, c, opts.Namespace, "")
	if err != nil {
		return err
	}
	infos := []RunInfo{}
	for _, j := range jobs {
		st, _, _ := run.State(run.StatusOf(j))
		info := RunInfo{Name: j.GetLabels()[run.RunLabel], Namespace: j.GetNamespace(), Kind: run.KindName(j), State: string(st),
			Archive: j.GetAnnotations()[run.DigestAnnotation], Created: j.GetCreationTimestamp().Time}
		_ = json.Unmarshal([]byte(j.GetAnnotations()[run.CommandAnnotation]), &info.Command)
		infos = append(infos, info)
	}
	if opts.Output != OutputTable {
		return writeStructured(api.f.IO.Out, opts.Output, infos)
	}
	tw := tabwriter.NewWriter(api.f.IO.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tKIND\tSTATE\tCOMMAND\tAGE")
	for _, i := range infos {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", i.Name, i.Kind, orDash(i.State), strings.Join(i.Command, " "), duration.HumanDuration(api.now().Sub(i.Created)))
	}
	return tw.Flush()
}

// RunLogsOptions are the flags and arguments of `kfup run logs`.
type RunLogsOptions struct {
	Run       string
	Namespace string
	Follow    bool
}

// NewCmdRunLogs returns `kfup run logs RUN`; runF replaces the real run in tests.
func NewCmdRunLogs(f *Factory, runF func(context.Context, *RunLogsOptions) error) *cobra.Command {
	opts := &RunLogsOptions{}
	cmd := &cobra.Command{
		Use:   "logs RUN",
		Short: "Print the logs of every replica of a run, prefixed by replica",
		Long: `Print the framework container's log of every pod of RUN, each line prefixed with its
replica ([master-0], [worker-1]). With --follow, follow the job to its end as 'kfup run'
does (outputs are not fetched).

Exit codes: 0 printed (with --follow: the job succeeded), 1 it failed, 4 no such run.`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) != 1 {
				return errs.Usage("name the run: kfup run logs RUN ('kfup run list' lists them)", "%s takes one run, got %d arguments", c.CommandPath(), len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Run = args[0]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runRunLogs(cmd.Context(), newRunAPI(f), opts)
		},
	}
	namespaceFlag(cmd, &opts.Namespace, "the run")
	cmd.Flags().BoolVarP(&opts.Follow, "follow", "f", false, "follow the job until it ends")
	return cmd
}

func runRunLogs(ctx context.Context, api *runAPI, opts *RunLogsOptions) error {
	c, cs, _, err := api.connect(ctx)
	if err != nil {
		return err
	}
	job, err := findRun(ctx, c, opts.Namespace, opts.Run)
	if err != nil {
		return err
	}
	if !opts.Follow {
		_, err := run.Logs(ctx, c, cs, job, run.NewMux(api.f.IO.Out))
		return err
	}
	fw := &run.Follower{C: c, CS: cs, Logs: run.NewMux(api.f.IO.Out), Status: run.NewMux(api.f.IO.ErrOut), Poll: api.poll, Sleep: api.sleep, Drain: 30 * time.Second}
	res, err := fw.Follow(ctx, job)
	if err != nil {
		return err
	}
	if res.State != "Succeeded" {
		return errs.New(errs.KindUnknown, "", "run %s %s: %s", opts.Run, strings.ToLower(string(res.State)), res.Message)
	}
	return nil
}

// RunRmOptions are the arguments of `kfup run rm`.
type RunRmOptions struct {
	Runs      []string
	Namespace string
}

// NewCmdRunRm returns `kfup run rm RUN...`; runF replaces the real run in tests.
func NewCmdRunRm(f *Factory, runF func(context.Context, *RunRmOptions) error) *cobra.Command {
	opts := &RunRmOptions{}
	cmd := &cobra.Command{
		Use:   "rm RUN...",
		Short: "Delete runs: their jobs, pods and (with the last job using it) archive",
		Args: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return errs.Usage("name the runs: kfup run rm RUN... ('kfup run list' lists them)", "%s takes at least one run", c.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Runs = args
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runRunRm(cmd.Context(), newRunAPI(f), opts)
		},
	}
	namespaceFlag(cmd, &opts.Namespace, "the runs")
	return cmd
}

func runRunRm(ctx context.Context, api *runAPI, opts *RunRmOptions) error {
	c, _, _, err := api.connect(ctx)
	if err != nil {
		return err
	}
	var missing []string
	for _, name := range opts.Runs {
		job, err := findRun(ctx, c, opts.Namespace, name)
		if errs.KindOf(err) == errs.KindNotFound {
			missing = append(missing, name)
			continue
		}
		if err != nil {
			return err
		}
		if err := c.Delete(ctx, job, client.PropagationPolicy("Background")); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete %s %s: %w", run.KindName(job), job.GetName(), err)
		}
		fmt.Fprintln(api.f.IO.Out, name)
	}
	if len(missing) > 0 {
		return errs.New(errs.KindNotFound, "'kfup run list"+nsFlag(opts.Namespace)+"' lists the runs there are", "no run %s in namespace %s", strings.Join(missing, ", "), opts.Namespace)
	}
	return nil
}
