package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kfup/kfup/bootstrap"
	"github.com/kfup/kfup/internal/errs"
)

// DeleteOptions are the flags of `kfup delete`.
type DeleteOptions struct {
	Name       string
	All        bool
	Kubeconfig string
}

// NewCmdDelete returns `kfup delete`; runF replaces the real run in tests.
func NewCmdDelete(f *Factory, runF func(context.Context, *DeleteOptions) error) *cobra.Command {
	opts := &DeleteOptions{}
	cmd := &cobra.Command{
		Use:   "delete",
		Short: "Delete the cluster and everything kfup made for it",
		Long: `Delete the cluster's node containers, its kubeconfig context and kfup's record of it.
Deleting a cluster that does not exist succeeds. A cluster used with --provider existing
keeps running; kfup only forgets it. kfup never deletes a kind cluster it did not create.`,
		Example: `  kfup delete
  kfup delete --name ml-dev
  kfup delete --all`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Name, opts.Kubeconfig = f.Global.Name, f.Global.Kubeconfig
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
			return runDelete(cmd.Context(), f, opts)
		},
	}
	cmd.Flags().BoolVar(&opts.All, "all", false, "delete every cluster kfup created")
	return cmd
}

func runDelete(ctx context.Context, f *Factory, opts *DeleteOptions) error {
	env, err := f.Env()
	if err != nil {
		return err
	}
	var results []bootstrap.DeleteResult
	if opts.All {
		results, err = bootstrap.DeleteAll(ctx, env, opts.Kubeconfig)
	} else {
		var r *bootstrap.DeleteResult
		r, err = bootstrap.Delete(ctx, env, opts.Name, opts.Kubeconfig)
		if r != nil {
			results = append(results, *r)
		}
	}
	for _, r := range results {
		if r.Deleted {
			fmt.Fprintf(f.IO.Out, "Deleted cluster %q.\n", r.Name)
		} else {
			fmt.Fprintf(f.IO.Out, "Cluster %q not found; nothing to delete.\n", r.Name)
		}
	}
	if opts.All && len(results) == 0 && err == nil {
		fmt.Fprintln(f.IO.Out, "No kfup clusters; nothing to delete.")
	}
	return err
}
