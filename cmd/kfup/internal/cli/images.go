package cli

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/kfup/kfup/bootstrap"
	"github.com/kfup/kfup/bundle"
	"github.com/kfup/kfup/internal/errs"
	"github.com/kfup/kfup/platform"
	"github.com/kfup/kfup/profiles"
)

// ImagesOptions are the flags of `kfup images ...`.
type ImagesOptions struct {
	Name      string
	Profile   string
	Sets      []string
	NodeImage string
	Output    string
	File      string
}

// NewCmdImages returns `kfup images` with list, save and load; runF replaces the real runs
// in tests (it gets the subcommand name).
func NewCmdImages(f *Factory, runF func(context.Context, string, *ImagesOptions) error) *cobra.Command {
	opts := &ImagesOptions{Output: OutputTable}
	cmd := &cobra.Command{
		Use:   "images",
		Short: "List, save and load every image a profile needs (air-gapped installs)",
		Long: `Every image a cluster with a profile needs: the kind node image and the images of the
enabled components (kfup's manager image is built from kfup-manager beside kfup, else
on Linux from kfup itself; elsewhere set KFUP_MANAGER_BINARY). Save them into one archive on a machine that has them — images named
by tag from Docker, images pinned by digest fetched from their registry with their
digests kept — carry it over, and load it:

  kfup images save -o bundle.tar --profile minimal
  kfup create --images bundle.tar        # or: kfup images load bundle.tar`,
	}
	run := func(sub string) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, args []string) error {
			opts.Name = f.Global.Name
			if sub == "load" {
				if len(args) != 1 {
					return errs.Usage("kfup images load bundle.tar", "images load takes one bundle file")
				}
				opts.File = args[0]
			} else if len(args) > 0 {
				return noArgs(cmd, args)
			}
			if sub == "save" && opts.File == "" {
				return errs.Usage("pass -o bundle.tar", "images save needs an output file")
			}
			if err := validateOutput(opts.Output); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), sub, opts)
			}
			return runImages(cmd.Context(), f, sub, opts)
		}
	}
	profileFlags := func(c *cobra.Command) {
		c.Flags().StringVar(&opts.Profile, "profile", "minimal", "profile whose images to use: "+strings.Join(profiles.Builtins(), ", ")+", a profile file, or none")
		c.Flags().StringArrayVar(&opts.Sets, "set", nil, "override a profile setting (as kfup create)")
		c.Flags().StringVar(&opts.NodeImage, "node-image", "", "kind node image (default: as kfup create)")
	}
	list := &cobra.Command{Use: "list", Short: "List the images a profile needs", RunE: run("list")}
	profileFlags(list)
	list.Flags().StringVarP(&opts.Output, "output", "o", OutputTable, "output format: table, json or yaml")
	save := &cobra.Command{Use: "save -o FILE", Short: "Save every image a profile needs into one archive", RunE: run("save")}
	profileFlags(save)
	save.Flags().StringVarP(&opts.File, "file", "o", "", "archive to write")
	load := &cobra.Command{Use: "load FILE", Short: "Load an archive into Docker and, if the cluster exists, into its nodes", RunE: run("load")}
	cmd.AddCommand(list, save, load)
	return cmd
}

func runImages(ctx context.Context, f *Factory, sub string, opts *ImagesOptions) error {
	env, err := f.Env()
	if err != nil {
		return err
	}
	if sub == "load" {
		return loadImages(ctx, f, env, opts.Name, opts.File)
	}
	p, err := platform.ResolveProfile(opts.Profile, opts.Sets)
	if err != nil {
		return err
	}
	refs, err := bundle.ProfileImages(p, opts.NodeImage, "")
	if err != nil {
		return err
	}
	if sub == "list" {
		if opts.Output != OutputTable {
			return writeStructured(f.IO.Out, opts.Output, refs)
		}
		tw := tabwriter.NewWriter(f.IO.Out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "IMAGE\tSOURCE")
		for _, r := range refs {
			src := r.Source
			if r.Node {
				src += " (kind node image)"
			}
			fmt.Fprintf(tw, "%s\t%s\n", r.Ref, src)
		}
		return tw.Flush()
	}
	st := f.Printer().Step(fmt.Sprintf("Saving %d images to %s", len(refs), opts.File))
	if err := st.End(bundle.Save(ctx, opts.File, refs)); err != nil {
		return err
	}
	fmt.Fprintf(f.IO.Out, "Saved %d images to %s.\n", len(refs), opts.File)
	return nil
}

// loadImages loads a bundle into Docker and, when kfup has a cluster of that name whose
// provider loads images into nodes (kind), into its nodes.
func loadImages(ctx context.Context, f *Factory, env *bootstrap.Env, cluster, file string) error {
	st := f.Printer().Step("Loading " + file + " into Docker")
	if err := st.End(bundle.LoadIntoDocker(ctx, file)); err != nil {
		return err
	}
	rec, err := env.Store.Load(cluster)
	if err != nil {
		return err
	}
	var loader bootstrap.ImageLoader
	if rec != nil {
		loader, _ = env.Providers[rec.Provider].(bootstrap.ImageLoader)
	}
	if loader == nil || rec.Phase != bootstrap.PhaseReady {
		fmt.Fprintf(f.IO.Out, "Loaded %s into Docker (no kfup cluster %q to load into yet).\n", file, cluster)
		return nil
	}
	st = f.Printer().Step(fmt.Sprintf("Loading images into the nodes of %q", cluster))
	loaded, err := bundle.LoadIntoNodes(ctx, loader, cluster, file)
	if err := st.End(err); err != nil {
		return err
	}
	fmt.Fprintf(f.IO.Out, "Loaded %d images into cluster %q: %s\n", len(loaded), cluster, strings.Join(loaded, ", "))
	return nil
}
