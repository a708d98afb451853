package cli

import (
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/kfup/kfup/internal/agent"
	"github.com/kfup/kfup/internal/errs"
)

// NewCmdAgent returns the hidden `kfup agent` helpers that run inside job pods from kfup's
// own image (no shell or busybox image needed).
func NewCmdAgent(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:    "agent",
		Short:  "Helpers that kfup runs inside job pods",
		Hidden: true,
	}
	var tries int
	var interval time.Duration
	wait := &cobra.Command{
		Use:   "wait-for-host HOST",
		Short: "Wait until HOST resolves (PyTorch workers wait for their master)",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return errs.Usage("kfup agent wait-for-host HOST", "wait-for-host takes one host name")
			}
			return agent.WaitForHost(cmd.Context(), f.IO.Out, agent.DefaultLookup, args[0], tries, interval)
		},
	}
	wait.Flags().IntVar(&tries, "tries", 100, "lookups before giving up")
	wait.Flags().DurationVar(&interval, "interval", 2*time.Second, "pause between lookups")
	var url string
	quit := &cobra.Command{
		Use:   "quit-sidecar",
		Short: "Ask the Istio agent of this pod to stop its proxy",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return agent.QuitSidecar(cmd.Context(), f.IO.Out, &http.Client{Timeout: 5 * time.Second}, url, tries, interval)
		},
	}
	quit.Flags().StringVar(&url, "url", agent.IstioQuitURL, "the sidecar's quit endpoint")
	quit.Flags().IntVar(&tries, "tries", 10, "attempts before giving up")
	quit.Flags().DurationVar(&interval, "interval", 2*time.Second, "pause between attempts")
	cmd.AddCommand(wait, quit)
	return cmd
}
