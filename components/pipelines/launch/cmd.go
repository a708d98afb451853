package launch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/kfup/kfup/internal/errs"
)

// NewCmd returns `kfup agent launch -- COMMAND [ARG...]`, the main container of a
// pipeline task pod. It exits with the command's own exit code.
func NewCmd() *cobra.Command { return newCmd(os.Exit, Options{}) }

// newCmd is NewCmd with the process exit and the options but Args, TerminationLog,
// Signals and the output swapped, for tests.
func newCmd(exit func(int), base Options) *cobra.Command {
	var termLog string
	cmd := &cobra.Command{
		Use:                   "launch [--termination-log FILE] -- COMMAND [ARG...]",
		DisableFlagsInUseLine: true,
		Short:                 "Run a pipeline task's command: resolve its placeholders, move its artifacts, report its outputs",
		Long: `Run a Kubeflow Pipelines task's COMMAND, as KFP's launcher does, in the main container
of a task pod that kfup's run controller made:

  1. resolve the placeholders of COMMAND, its arguments and the environment ({{$}},
     {{$.inputs.parameters['x']}}, {"Concat": ...}, {"IfPresent": ...}, ...) against
     $KFUP_EXECUTOR_INPUT and $KFUP_RUN_INFO;
  2. download the input artifacts in kfup's artifact store ($KFUP_ARTIFACT_STORE) to
     their local paths (minio://X to /minio/X, s3://X to /s3/X);
  3. run COMMAND, stdin empty, output passed through, SIGTERM and SIGINT forwarded;
  4. after exit code 0, read the output parameters (typed by $KFUP_COMPONENT_SPEC) and the
     executor output file, and upload the output artifacts;
  5. report the outputs, or the failure in one line, as JSON in --termination-log (the
     report goes to the store at $KFUP_RESULT_KEY when it is over 4 KiB).

It exits with COMMAND's exit code (127 when COMMAND is not there, 1 when the launcher
itself failed).`,
		Example: `  kfup agent launch -- sh -c 'echo "$0" > "$1"' "{{$.inputs.parameters['text']}}" "{{$.outputs.parameters['out'].output_file}}"`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return errs.Usage("kfup agent launch -- COMMAND [ARG...]", "launch needs the component's command")
			}
			sigs := make(chan os.Signal, 4)
			signal.Notify(sigs, syscall.SIGTERM, os.Interrupt)
			defer signal.Stop(sigs)
			// A signal is the command's to handle; the launcher finishes what the command's
			// exit asks (the kubelet's grace period bounds it), so nothing cancels it.
			o := base
			o.Args, o.TerminationLog, o.Signals = args, termLog, sigs
			o.Stdout, o.Stderr = cmd.OutOrStdout(), cmd.ErrOrStderr()
			err := Run(context.WithoutCancel(cmd.Context()), o)
			var ee *ExitError
			if errors.As(err, &ee) {
				fmt.Fprintln(cmd.ErrOrStderr(), "kfup launch:", ee.Msg)
				exit(ee.Code)
				return nil
			}
			if err != nil {
				return fmt.Errorf("launch: %w", err)
			}
			return nil
		},
	}
	cmd.Flags().SetInterspersed(false) // everything from COMMAND on is the command's
	cmd.Flags().StringVar(&termLog, "termination-log", "/dev/termination-log", "where the report goes for the kubelet (empty: nowhere)")
	return cmd
}
