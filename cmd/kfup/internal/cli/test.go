package cli

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/kfup/kfup/bootstrap"
	"github.com/kfup/kfup/internal/errs"
	"github.com/kfup/kfup/platform"
)

// TestOptions are the flags of `kfup test`.
type TestOptions struct {
	Name       string
	Components []string
	Timeout    time.Duration
	Output     string
}

// NewCmdTest returns `kfup test`; runF replaces the real run in tests.
func NewCmdTest(f *Factory, runF func(context.Context, *TestOptions) error) *cobra.Command {
	opts := &TestOptions{}
	cmd := &cobra.Command{
		Use:   "test",
		Short: "Run the smoke tests of the installed components against the live cluster",
		Example: `  kfup test
  kfup test --component training`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Name = f.Global.Name
			if err := bootstrap.ValidateName(opts.Name); err != nil {
				return err
			}
			if err := validateOutput(opts.Output); err != nil {
				return err
			}
			if opts.Timeout <= 0 {
				return errs.Usage("pass a positive duration such as --timeout 2m", "--timeout must be positive")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runTest(cmd.Context(), f, opts)
		},
	}
	cmd.Flags().StringArrayVar(&opts.Components, "component", nil, "test only this component (repeatable)")
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", 2*time.Minute, "time limit per component")
	cmd.Flags().StringVarP(&opts.Output, "output", "o", OutputTable, "output format: table, json or yaml")
	return cmd
}

func runTest(ctx context.Context, f *Factory, opts *TestOptions) error {
	env, err := f.Env()
	if err != nil {
		return err
	}
	rec, err := env.Store.Load(opts.Name)
	if err != nil {
		return err
	}
	if rec == nil {
		return errs.New(errs.KindNotFound, fmt.Sprintf("create it with 'kfup create --name %s'", opts.Name), "no kfup cluster named %q", opts.Name)
	}
	if len(rec.Components) == 0 {
		return errs.New(errs.KindNotFound, fmt.Sprintf("install some with 'kfup create --name %s --profile minimal'", opts.Name), "cluster %q has no components installed", opts.Name)
	}
	st := f.Printer().Step("Running smoke tests")
	results, err := platform.CheckComponents(ctx, env, rec, opts.Components, true, opts.Timeout)
	if err != nil {
		st.Fail()
		return errs.Wrap(errs.KindUsage, "", err)
	}
	failed := 0
	for _, r := range results {
		if !r.Healthy {
			failed++
		}
	}
	st.End(nil)
	if opts.Output != OutputTable {
		if err := writeStructured(f.IO.Out, opts.Output, results); err != nil {
			return err
		}
	} else {
		tw := tabwriter.NewWriter(f.IO.Out, 0, 4, 2, ' ', 0)
		for _, r := range results {
			mark := "✓ pass"
			if !r.Healthy {
				mark = "✗ fail"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", mark, r.Name, r.Message)
		}
		tw.Flush()
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d component smoke tests failed", failed, len(results))
	}
	return nil
}
