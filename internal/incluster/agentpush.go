package incluster

import (
	"context"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/kfup/kfup/internal/agent"
	"github.com/kfup/kfup/internal/errs"
)

// newCmdAgentPush returns `kfup agent push`, Katib's katib.report_metrics for trials
// without Python: a Push trial (metricsCollectorSpec.collector.kind: Push) reports its
// metrics to Katib's DBManager API, which kfup's manager serves.
func newCmdAgentPush(out io.Writer) *cobra.Command {
	var addr, trial string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "push NAME=VALUE...",
		Short: "Report a Push trial's metrics (as Katib's katib.report_metrics), such as kfup agent push loss=0.25 accuracy=0.9",
		Long: `Report metrics of the trial named by $KATIB_TRIAL_NAME (kfup sets it in a Push trial's
primary container) to Katib's DBManager API, by default at katib-db-manager.kubeflow:6789,
which kfup's manager serves: what katib.report_metrics({...}) does in Katib's Python SDK,
for shell-based trainings. Each call is one report of each metric, at the current time;
only the trial's own pods may report, and only its experiment's metrics.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if trial == "" {
				return errs.Usage("run it in a Push trial's primary container (kfup sets $"+agent.TrialNameEnv+"), or pass --trial", "no trial name: $%s is not set", agent.TrialNameEnv)
			}
			metrics, err := agent.ParseMetrics(args)
			if err != nil {
				return errs.Usage("pass name=value pairs such as kfup agent push loss=0.25 accuracy=0.9", "%v", err)
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			return agent.PushMetrics(ctx, addr, trial, metrics, time.Now())
		},
	}
	cmd.SetOut(out)
	cmd.Flags().StringVar(&addr, "address", agent.DefaultDBManagerAddress, "host:port of Katib's DBManager API (Katib's SDK's db_manager_address)")
	cmd.Flags().StringVar(&trial, "trial", os.Getenv(agent.TrialNameEnv), "the trial's name (default $"+agent.TrialNameEnv+")")
	cmd.Flags().DurationVar(&timeout, "timeout", 30*time.Second, "how long to wait for the DBManager API")
	return cmd
}
