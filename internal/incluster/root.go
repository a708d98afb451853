package incluster

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kfup/kfup/internal/apihost"
	"github.com/kfup/kfup/internal/errs"
	"github.com/kfup/kfup/internal/version"
)

// NoArgs is cobra.NoArgs with a usage error.
func NoArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return errs.Usage(fmt.Sprintf("see '%s --help'", cmd.CommandPath()), "%s takes no arguments, got %q", cmd.CommandPath(), strings.Join(args, " "))
	}
	return nil
}

// ClassifyCobraError turns cobra's own parse errors (unknown command or flag, bad flag
// value, wrong number of arguments) into usage errors; kfup and kfup-manager share it.
func ClassifyCobraError(err error) error {
	if err == nil || errs.KindOf(err) != errs.KindUnknown {
		return err
	}
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "invalid argument", "accepts ", "requires ", "flag needs an argument"} {
		if strings.HasPrefix(msg, p) {
			return errs.Usage("see 'kfup --help'", "%s", msg)
		}
	}
	return err
}

// NewRootCmd is the command tree of the kfup-manager binary: the in-cluster commands
// only, the manager hosting apis, plus the helpers slices bring (kfup modelserver; those
// marked with AgentHelper go under kfup agent), which the composition root passes in
// because internal/ names no slice. It is named kfup because it stands in for kfup in
// the manager image (/kfup), where job pods run `/kfup agent ...`.
func NewRootCmd(out, errOut io.Writer, apis []apihost.API, helpers ...*cobra.Command) *cobra.Command {
	verbosity := 0
	root := &cobra.Command{
		Use:   "kfup",
		Short: "kfup's in-cluster commands: the controller manager and the job-pod helpers",
		Long: `kfup-manager is the part of kfup that runs inside the cluster: the controller
manager (kfup manager) and the helpers job pods run (kfup agent). kfup builds the
manager image from it. The host commands (create, delete, status, ...) are in kfup.`,
		Version:           version.Get().Version,
		SilenceUsage:      true,
		SilenceErrors:     true,
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
	}
	root.PersistentFlags().IntVarP(&verbosity, "verbosity", "v", 0, "log verbosity (0: info, 1+: development logging)")
	root.SetOut(out)
	root.SetErr(errOut)
	agentHelpers, rootHelpers := splitHelpers(helpers)
	root.AddCommand(NewCmdManager(apis, func() int { return verbosity }, nil), NewCmdAgent(out, agentHelpers...))
	root.AddCommand(rootHelpers...)
	return root
}

// Main runs the kfup-manager command tree (the manager hosting apis, and helpers) and
// returns the exit code: 0, 2 for a usage error, 1 for any other.
func Main(ctx context.Context, args []string, out, errOut io.Writer, apis []apihost.API, helpers ...*cobra.Command) int {
	root := NewRootCmd(out, errOut, apis, helpers...)
	root.SetArgs(args)
	err := ClassifyCobraError(root.ExecuteContext(ctx))
	if err == nil {
		return 0
	}
	fmt.Fprintln(errOut, "ERROR:", err)
	if hint := errs.HintOf(err); hint != "" {
		fmt.Fprintln(errOut, "  hint:", hint)
	}
	if errs.KindOf(err) == errs.KindUsage {
		return 2
	}
	return 1
}
