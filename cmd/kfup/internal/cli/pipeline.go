package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"github.com/kfup/kfup/components/pipelines/ir"
	"github.com/kfup/kfup/internal/errs"
)

// NewCmdPipeline returns `kfup pipeline`, the Kubeflow Pipelines commands.
func NewCmdPipeline(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pipeline",
		Short: "Work with Kubeflow Pipelines (compiled kfp IR)",
		Args:  noArgs,
	}
	cmd.AddCommand(NewCmdPipelineValidate(f, nil))
	return cmd
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
