package incluster

import (
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/kfup/kfup/internal/agent"
	"github.com/kfup/kfup/internal/errs"
)

// newCmdAgentUnpack returns `kfup agent unpack`, the init container of a `kfup run` pod:
// it joins the archive's chunks (a projected volume of its ConfigMaps), checks the
// digest and extracts the files into the workspace.
func newCmdAgentUnpack(out io.Writer) *cobra.Command {
	var from, digest, to string
	cmd := &cobra.Command{
		Use:   "unpack --from DIR --digest sha256:... --to DIR",
		Short: "Unpack a kfup run archive from its chunks into the workspace, checking its digest",
		Args:  NoArgs,
		RunE: func(_ *cobra.Command, _ []string) error {
			if !filepath.IsAbs(from) || !filepath.IsAbs(to) || digest == "" {
				return errs.Usage("kfup agent unpack --from /kfup-run/src --digest sha256:... --to /workspace", "--from and --to must be absolute and --digest set")
			}
			return agent.Unpack(out, from, digest, to)
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "the directory of the archive's chunks, read in name order")
	cmd.Flags().StringVar(&digest, "digest", "", "the archive's sha256 digest (sha256:<hex>)")
	cmd.Flags().StringVar(&to, "to", "", "where to extract the files")
	return cmd
}

// newCmdAgentOutputs returns `kfup agent outputs`: without --pack or --release, the
// native sidecar of a `kfup run` pod that holds the finished pod until the CLI fetched
// the outputs; --pack (over exec) writes them as a tar.gz to stdout, --release lets the
// sidecar end.
func newCmdAgentOutputs(out io.Writer) *cobra.Command {
	var dir, state string
	var wait time.Duration
	var pack, release bool
	cmd := &cobra.Command{
		Use:   "outputs --dir DIR --state DIR [--wait D] | --pack --dir DIR | --release --state DIR",
		Short: "Hold a finished kfup run pod until its outputs are fetched; pack or release them",
		Args:  NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case pack && release:
				return errs.Usage("pass one of them", "--pack and --release exclude each other")
			case pack:
				return agent.PackOutputs(out, cmd.ErrOrStderr(), dir)
			case release:
				return agent.ReleaseOutputs(state)
			}
			if !filepath.IsAbs(dir) || !filepath.IsAbs(state) {
				return errs.Usage("kfup agent outputs --dir /kfup-run/outputs --state /kfup-run/state", "--dir and --state must be absolute")
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, os.Interrupt)
			defer stop()
			return agent.HoldOutputs(ctx, out, dir, state, wait, 200*time.Millisecond)
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "/kfup-run/outputs", "the outputs directory ($KFUP_OUTPUT_DIR)")
	cmd.Flags().StringVar(&state, "state", "/kfup-run/state", "the sidecar's own directory, where --release leaves its mark")
	cmd.Flags().DurationVar(&wait, "wait", time.Minute, "how long a finished pod waits for its outputs to be fetched")
	cmd.Flags().BoolVar(&pack, "pack", false, "write the outputs as a gzipped tar to stdout (nothing when there are none)")
	cmd.Flags().BoolVar(&release, "release", false, "mark the outputs fetched: the sidecar ends")
	return cmd
}
