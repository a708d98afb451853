package cli

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/kfup/kfup/bootstrap"
	"github.com/kfup/kfup/internal/errs"
)

// StatusOptions are the flags of `kfup status`.
type StatusOptions struct {
	Name   string
	All    bool
	Output string
}

// NewCmdStatus returns `kfup status`; runF replaces the real run in tests.
func NewCmdStatus(f *Factory, runF func(context.Context, *StatusOptions) error) *cobra.Command {
	opts := &StatusOptions{}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the cluster: state, nodes, Kubernetes version, context",
		Example: `  kfup status
  kfup status -o json
  kfup status --all`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Name = f.Global.Name
			if err := validateOutput(opts.Output); err != nil {
				return err
			}
			if opts.All && flagChanged(cmd, "name") {
				return errs.Usage("pass either --name or --all", "--name and --all cannot be combined")
			}
			if !opts.All {
				if err := bootstrap.ValidateName(opts.Name); err != nil {
					return err
				}
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runStatus(cmd.Context(), f, opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Output, "output", "o", OutputTable, "output format: table, json or yaml")
	cmd.Flags().BoolVar(&opts.All, "all", false, "show every cluster kfup created")
	return cmd
}

func runStatus(ctx context.Context, f *Factory, opts *StatusOptions) error {
	env, err := f.Env()
	if err != nil {
		return err
	}
	if opts.All {
		all, err := bootstrap.StatusAll(ctx, env)
		if err != nil {
			return err
		}
		if opts.Output != OutputTable {
			return writeStructured(f.IO.Out, opts.Output, all)
		}
		if len(all) == 0 {
			fmt.Fprintln(f.IO.Out, "No kfup clusters. Create one with 'kfup create'.")
		}
		for i := range all {
			if i > 0 {
				fmt.Fprintln(f.IO.Out)
			}
			printStatus(f.IO.Out, &all[i])
		}
		return nil
	}
	st, err := bootstrap.Status(ctx, env, opts.Name)
	if err != nil {
		return err
	}
	if opts.Output != OutputTable {
		return writeStructured(f.IO.Out, opts.Output, st)
	}
	printStatus(f.IO.Out, st)
	return nil
}

func printStatus(w io.Writer, st *bootstrap.ClusterStatus) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "Cluster:\t%s\n", st.Name)
	fmt.Fprintf(tw, "Provider:\t%s\n", st.Provider)
	state := st.State
	if st.Message != "" {
		state += " (" + st.Message + ")"
	}
	fmt.Fprintf(tw, "State:\t%s\n", state)
	fmt.Fprintf(tw, "Context:\t%s\n", st.Context)
	if st.KubernetesVersion != "" {
		fmt.Fprintf(tw, "Kubernetes:\t%s\n", st.KubernetesVersion)
	}
	if st.NodeImage != "" {
		fmt.Fprintf(tw, "Node image:\t%s\n", st.NodeImage)
	}
	if st.IngressHTTPPort != 0 || st.IngressHTTPSPort != 0 {
		fmt.Fprintf(tw, "Ingress ports:\thttp %d, https %d\n", st.IngressHTTPPort, st.IngressHTTPSPort)
	}
	if st.Profile != "" {
		fmt.Fprintf(tw, "Profile:\t%s\n", st.Profile)
	}
	tw.Flush()
	if len(st.Components) > 0 {
		fmt.Fprintln(w, "\nComponents:")
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  NAME\tHEALTHY\tMESSAGE")
		for _, c := range st.Components {
			fmt.Fprintf(tw, "  %s\t%t\t%s\n", c.Name, c.Healthy, c.Message)
		}
		tw.Flush()
	}
	if len(st.Nodes) == 0 {
		return
	}
	fmt.Fprintln(w, "\nNodes:")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  NAME\tREADY\tROLES\tVERSION\tINTERNAL-IP")
	for _, n := range st.Nodes {
		fmt.Fprintf(tw, "  %s\t%t\t%s\t%s\t%s\n", n.Name, n.Ready, n.Roles, n.KubeletVersion, n.InternalIP)
	}
	tw.Flush()
}
