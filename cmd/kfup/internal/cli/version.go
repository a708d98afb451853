package cli

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/kfup/kfup/internal/version"
	"github.com/kfup/kfup/manifests"
)

// VersionOptions are the flags of `kfup version`.
type VersionOptions struct {
	Output string
}

// VersionReport is what `kfup version -o json` prints.
type VersionReport struct {
	Kfup   version.Info    `json:"kfup"`
	Pinned []manifests.Pin `json:"pinned"`
}

// NewCmdVersion returns `kfup version`; runF replaces the real run in tests.
func NewCmdVersion(f *Factory, runF func(context.Context, *VersionOptions) error) *cobra.Command {
	opts := &VersionOptions{}
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print kfup's version and the pinned versions of what it installs",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := validateOutput(opts.Output); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			rep := VersionReport{Kfup: version.Get(), Pinned: manifests.Pins()}
			if opts.Output != OutputTable {
				return writeStructured(f.IO.Out, opts.Output, rep)
			}
			fmt.Fprintf(f.IO.Out, "kfup %s (commit %s, %s)\n\nPinned:\n", rep.Kfup.Version, rep.Kfup.Commit, rep.Kfup.GoVersion)
			tw := tabwriter.NewWriter(f.IO.Out, 0, 4, 2, ' ', 0)
			for _, p := range rep.Pinned {
				fmt.Fprintf(tw, "  %s\t%s\n", p.Name, p.Version)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVarP(&opts.Output, "output", "o", OutputTable, "output format: table, json or yaml")
	return cmd
}
