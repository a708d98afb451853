package incluster

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/kfup/kfup/internal/errs"
)

// newCmdAgentCopySelf returns `kfup agent copy-self DEST`, the init container of a
// pipeline task pod: it puts kfup into the pod's shared volume, where the main container
// (the component's image, which has no kfup) runs it as its launcher.
func newCmdAgentCopySelf(out io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "copy-self DEST",
		Short: "Copy this kfup binary to DEST (mode 0755, atomically), for a container of another image to run",
		RunE: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 || !filepath.IsAbs(args[0]) {
				return errs.Usage("kfup agent copy-self /kfup/bin/kfup", "copy-self takes one absolute destination path")
			}
			self, err := os.Executable()
			if err != nil {
				return fmt.Errorf("copy-self: find this binary: %w", err)
			}
			if err := copyFile(self, args[0]); err != nil {
				return fmt.Errorf("copy-self: %w", err)
			}
			fmt.Fprintf(out, "copied %s to %s\n", self, args[0])
			return nil
		},
	}
}

// copyFile copies src to dest, mode 0755, making dest's directory: it writes a temporary
// file beside dest and renames it, so dest is never a part of the binary.
func copyFile(src, dest string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	dir := filepath.Dir(dest)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(dest)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a rename, nothing is there
	if _, err := io.Copy(tmp, in); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Chmod(0o755); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dest)
}
