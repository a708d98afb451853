package incluster

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/kfup/kfup/internal/errs"
)

// newCmdAgentWriteFile is `kfup agent write-file PATH TEXT`: writes TEXT to PATH, making
// its directories, for steps that run kfup's own image, which has no shell (kfup test's
// pipeline writes its output parameters so).
func newCmdAgentWriteFile(out io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "write-file PATH TEXT",
		Short: "Write TEXT to PATH, making its directories",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 2 || args[0] == "" {
				return errs.Usage("kfup agent write-file /kfup-pod/outputs/msg/data hello", "write-file takes a path and a text")
			}
			if err := os.MkdirAll(filepath.Dir(args[0]), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(args[0], []byte(args[1]), 0o644); err != nil {
				return err
			}
			fmt.Fprintf(out, "wrote %d bytes to %s\n", len(args[1]), args[0])
			return nil
		},
	}
}
