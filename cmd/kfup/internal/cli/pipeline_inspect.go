package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pipelinesv1alpha1 "github.com/kfup/kfup/components/pipelines/api/v1alpha1"
	"github.com/kfup/kfup/internal/errs"
)

// PipelineListOptions are the flags of `kfup pipeline list`.
type PipelineListOptions struct {
	Namespace string
	Output    string
}

// NewCmdPipelineList returns `kfup pipeline list`; runF replaces the real run in tests.
func NewCmdPipelineList(f *Factory, runF func(context.Context, *PipelineListOptions) error) *cobra.Command {
	opts := &PipelineListOptions{}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the pipeline runs of a namespace, newest first",
		Long: `List the PipelineRuns of a namespace, newest first: each run's pipeline, phase, tasks
succeeded (cached ones included) of those started, duration and age. -o json|yaml prints
the PipelineRunList.`,
		Aliases: []string{"ls"},
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := validateOutput(opts.Output); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runPipelineList(cmd.Context(), newPipelineAPI(f), opts)
		},
	}
	namespaceFlag(cmd, &opts.Namespace, "the runs")
	cmd.Flags().StringVarP(&opts.Output, "output", "o", OutputTable, "output format: table, json or yaml")
	return cmd
}

func runPipelineList(ctx context.Context, api *pipelineAPI, opts *PipelineListOptions) error {
	c, _, err := api.connect(ctx)
	if err != nil {
		return err
	}
	list := &pipelinesv1alpha1.PipelineRunList{}
	if err := c.List(ctx, list, client.InNamespace(opts.Namespace)); err != nil {
		return apiError(err, "list runs")
	}
	slices.SortFunc(list.Items, func(a, b pipelinesv1alpha1.PipelineRun) int {
		if c := b.CreationTimestamp.Compare(a.CreationTimestamp.Time); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	if opts.Output != OutputTable {
		list.TypeMeta = metav1.TypeMeta{APIVersion: pipelinesv1alpha1.GroupVersion.String(), Kind: "PipelineRunList"}
		for i := range list.Items {
			printable(&list.Items[i])
		}
		return writeStructured(api.f.IO.Out, opts.Output, list)
	}
	if len(list.Items) == 0 {
		api.f.Printer().Infof("No pipeline runs in namespace %q.", opts.Namespace)
		return nil
	}
	now := api.now()
	tw := tabwriter.NewWriter(api.f.IO.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tPIPELINE\tPHASE\tTASKS\tDURATION\tAGE")
	for i := range list.Items {
		r := &list.Items[i]
		done := 0
		for _, t := range r.Status.Tasks {
			if t.Phase == pipelinesv1alpha1.PhaseSucceeded {
				done++
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d\t%s\t%s\n", r.Name, dash(runPipelineName(r)), runPhase(r), done, len(r.Status.Tasks),
			dash(spanDuration(r.Status.StartTime, r.Status.CompletionTime, now)), age(r.CreationTimestamp, now))
	}
	return tw.Flush()
}

// PipelineGetOptions are the flags and argument of `kfup pipeline get`.
type PipelineGetOptions struct {
	Run       string
	Namespace string
	Output    string
}

// NewCmdPipelineGet returns `kfup pipeline get RUN`; runF replaces the real run in tests.
func NewCmdPipelineGet(f *Factory, runF func(context.Context, *PipelineGetOptions) error) *cobra.Command {
	opts := &PipelineGetOptions{}
	cmd := &cobra.Command{
		Use:   "get RUN",
		Short: "Show a pipeline run: its phase, tasks and outputs",
		Long: `Show a PipelineRun: its pipeline, phase, start, duration and error; a table of its tasks
(ID, phase, attempts, duration, the run a cached task reused, message); then the run's
outputs and each task's output parameters and artifact URIs. -o json|yaml prints the
PipelineRun.

Exit codes: 0 shown, 4 no such run.`,
		Args: exactlyOneArg("RUN", "name the run: 'kfup pipeline list' shows them"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := validateOutput(opts.Output); err != nil {
				return err
			}
			opts.Run = args[0]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runPipelineGet(cmd.Context(), newPipelineAPI(f), opts)
		},
	}
	namespaceFlag(cmd, &opts.Namespace, "the run")
	cmd.Flags().StringVarP(&opts.Output, "output", "o", OutputTable, "output format: table, json or yaml")
	return cmd
}

func runPipelineGet(ctx context.Context, api *pipelineAPI, opts *PipelineGetOptions) error {
	c, _, err := api.connect(ctx)
	if err != nil {
		return err
	}
	run, err := getRun(ctx, c, opts.Namespace, opts.Run)
	if err != nil {
		return err
	}
	if opts.Output != OutputTable {
		printable(run)
		return writeStructured(api.f.IO.Out, opts.Output, run)
	}
	now := api.now()
	w := api.f.IO.Out
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "Name:\t%s\n", run.Name)
	fmt.Fprintf(tw, "Namespace:\t%s\n", run.Namespace)
	fmt.Fprintf(tw, "Pipeline:\t%s\n", dash(runPipelineName(run)))
	if ref := run.Spec.PipelineVersionRef; ref != nil {
		fmt.Fprintf(tw, "Version:\t%s\n", ref.Name)
	}
	if len(run.Spec.Parameters) > 0 {
		var ps []string
		for _, k := range slices.Sorted(maps.Keys(run.Spec.Parameters)) {
			ps = append(ps, k+"="+jsonText(run.Spec.Parameters[k]))
		}
		fmt.Fprintf(tw, "Parameters:\t%s\n", strings.Join(ps, " "))
	}
	fmt.Fprintf(tw, "Phase:\t%s\n", runPhase(run))
	if st := run.Status; st.ObservedRetry > 0 && st.LastRetryTime != nil {
		fmt.Fprintf(tw, "Retried:\t%s ago (retry %d)\n", duration.HumanDuration(now.Sub(st.LastRetryTime.Time)), st.ObservedRetry)
	}
	if st := run.Status.StartTime; st != nil {
		fmt.Fprintf(tw, "Started:\t%s (%s ago)\n", st.Local().Format(time.DateTime), duration.HumanDuration(now.Sub(st.Time)))
	}
	if d := spanDuration(run.Status.StartTime, run.Status.CompletionTime, now); d != "" {
		fmt.Fprintf(tw, "Duration:\t%s\n", d)
	}
	if run.Status.Error != "" {
		fmt.Fprintf(tw, "Error:\t%s\n", oneLine(run.Status.Error))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(run.Status.Tasks) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tPHASE\tATTEMPTS\tDURATION\tCACHED\tMESSAGE")
		for i := range run.Status.Tasks {
			t := &run.Status.Tasks[i]
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", t.ID, t.Phase, t.Attempts, dash(taskDuration(t, now)), dash(t.CachedFrom), truncate(oneLine(t.Message), 100))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	writeOutputs(w, run)
	return nil
}

// writeOutputs writes the run's outputs, then each task's output parameters and artifact
// URIs; nothing when there are none.
func writeOutputs(w io.Writer, run *pipelinesv1alpha1.PipelineRun) {
	if len(run.Status.Outputs) > 0 {
		fmt.Fprintln(w, "\nOutputs:")
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, k := range slices.Sorted(maps.Keys(run.Status.Outputs)) {
			fmt.Fprintf(tw, "  %s\t%s\n", k, jsonText(run.Status.Outputs[k]))
		}
		tw.Flush()
	}
	var rows []string
	for _, t := range run.Status.Tasks {
		for _, k := range slices.Sorted(maps.Keys(t.Parameters)) {
			rows = append(rows, fmt.Sprintf("  %s\t%s\t%s\n", t.ID, k, jsonText(t.Parameters[k])))
		}
		for _, k := range slices.Sorted(maps.Keys(t.Artifacts)) {
			for _, a := range t.Artifacts[k].Artifacts {
				rows = append(rows, fmt.Sprintf("  %s\t%s\t%s\n", t.ID, k, a.URI))
			}
		}
	}
	if len(rows) > 0 {
		fmt.Fprintln(w, "\nTask outputs:")
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, r := range rows {
			fmt.Fprint(tw, r)
		}
		tw.Flush()
	}
}

// PipelineDeleteOptions are the flags and arguments of `kfup pipeline delete`.
type PipelineDeleteOptions struct {
	Runs      []string
	Namespace string
}

// NewCmdPipelineDelete returns `kfup pipeline delete RUN...`; runF replaces the real run
// in tests.
func NewCmdPipelineDelete(f *Factory, runF func(context.Context, *PipelineDeleteOptions) error) *cobra.Command {
	opts := &PipelineDeleteOptions{}
	cmd := &cobra.Command{
		Use:   "delete RUN...",
		Short: "Delete pipeline runs; their task pods go with them",
		Long: `Delete each RUN. A run still going stops: its task pods are deleted with it (they are its
children). Artifacts already stored stay in the artifact store.

Exit codes: 0 all deleted, 4 some run did not exist (the others are deleted).`,
		Aliases: []string{"rm"},
		Args: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return errs.Usage("name the runs: 'kfup pipeline list' shows them", "name at least one run")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Runs = args
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runPipelineDelete(cmd.Context(), newPipelineAPI(f), opts)
		},
	}
	namespaceFlag(cmd, &opts.Namespace, "the runs")
	return cmd
}

func runPipelineDelete(ctx context.Context, api *pipelineAPI, opts *PipelineDeleteOptions) error {
	c, _, err := api.connect(ctx)
	if err != nil {
		return err
	}
	var missing []string
	for _, name := range opts.Runs {
		run := &pipelinesv1alpha1.PipelineRun{ObjectMeta: metav1.ObjectMeta{Namespace: opts.Namespace, Name: name}}
		err := c.Delete(ctx, run, client.PropagationPolicy(metav1.DeletePropagationBackground))
		if apierrors.IsNotFound(err) {
			missing = append(missing, name)
			continue
		}
		if err != nil {
			return apiError(err, "delete run "+name)
		}
		api.f.Printer().Infof("Deleted run %s", name)
	}
	if len(missing) > 0 {
		return errs.New(errs.KindNotFound, "'kfup pipeline list"+nsFlag(opts.Namespace)+"' shows the runs there are",
			"no pipeline run %s in namespace %q", strings.Join(missing, ", "), opts.Namespace)
	}
	return nil
}

// getRun gets run ns/name; a missing one is not-found with a hint.
func getRun(ctx context.Context, c client.Client, ns, name string) (*pipelinesv1alpha1.PipelineRun, error) {
	run := &pipelinesv1alpha1.PipelineRun{}
	err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, run)
	if apierrors.IsNotFound(err) {
		return nil, errs.New(errs.KindNotFound, "'kfup pipeline list"+nsFlag(ns)+"' shows the runs there are", "no pipeline run %q in namespace %q", name, ns)
	}
	if err != nil {
		return nil, apiError(err, "get run "+name)
	}
	return run, nil
}

// exactlyOneArg is cobra.ExactArgs(1) with a usage error.
func exactlyOneArg(what, hint string) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) != 1 {
			return errs.Usage(hint, "%s takes one %s, got %d arguments", c.CommandPath(), what, len(args))
		}
		return nil
	}
}

// printable readies run for -o json|yaml: its kind set (typed clients leave it empty),
// its managed fields left out, as kubectl does.
func printable(run *pipelinesv1alpha1.PipelineRun) {
	run.TypeMeta = metav1.TypeMeta{APIVersion: pipelinesv1alpha1.GroupVersion.String(), Kind: "PipelineRun"}
	run.ManagedFields = nil
}

// runPipelineName is the run's pipeline: the controller's status, or before it has seen
// the run, the embedded spec's pipelineInfo.name.
func runPipelineName(run *pipelinesv1alpha1.PipelineRun) string {
	if run.Status.Pipeline != "" {
		return run.Status.Pipeline
	}
	if run.Spec.PipelineSpec != nil {
		var spec struct {
			PipelineInfo struct {
				Name string `json:"name"`
			} `json:"pipelineInfo"`
		}
		if json.Unmarshal(run.Spec.PipelineSpec.Raw, &spec) == nil {
			return spec.PipelineInfo.Name
		}
	}
	return ""
}

// runPhase is the run's phase as the user sees it: Pending until the controller has
// seen it, Terminating once asked to stop (spec.shutdown) until it is Canceled, and
// Retrying once asked for a retry (spec.retry) until the controller has acted on it.
func runPhase(run *pipelinesv1alpha1.PipelineRun) string {
	st := &run.Status
	switch {
	case run.Spec.Retry > st.ObservedRetry && st.Phase.Final():
		return "Retrying"
	case run.Spec.Shutdown != "" && !st.Phase.Final():
		return "Terminating"
	case st.Phase == "":
		return string(pipelinesv1alpha1.PhasePending)
	}
	return string(st.Phase)
}

func age(t metav1.Time, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return duration.HumanDuration(now.Sub(t.Time))
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// jsonText is a JSON value as the user would type it: strings unquoted.
func jsonText(v apiextensionsv1.JSON) string {
	var s string
	if json.Unmarshal(v.Raw, &s) == nil {
		return s
	}
	return string(v.Raw)
}
