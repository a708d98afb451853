package incluster

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/kfup/kfup/internal/errs"
)

// newCmdAgentOwnDir returns `kfup agent own-dir --uid U --gid G DIR`, the manager's init
// container for a volume it keeps data on: many provisioners (kind's host-path among them)
// give a new volume's root to root alone and ignore fsGroup, so the manager, which runs as
// a non-root user, could not write there. Run as root with only CAP_CHOWN, it hands DIR to
// the manager's user; a DIR owned so already is left alone.
func newCmdAgentOwnDir(out io.Writer) *cobra.Command {
	var uid, gid int
	cmd := &cobra.Command{
		Use:   "own-dir --uid UID --gid GID DIR",
		Short: "Give directory DIR (a volume's root) to UID:GID, for a non-root container to write",
		RunE: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 || !filepath.IsAbs(args[0]) {
				return errs.Usage("kfup agent own-dir --uid 65532 --gid 65532 /var/lib/kfup/artifacts", "own-dir takes one absolute directory")
			}
			if uid < 0 || gid < 0 {
				return errs.Usage("pass --uid and --gid", "--uid and --gid must be set")
			}
			return OwnDir(out, args[0], uid, gid)
		},
	}
	cmd.Flags().IntVar(&uid, "uid", -1, "the owner to give DIR")
	cmd.Flags().IntVar(&gid, "gid", -1, "the group to give DIR")
	return cmd
}

// OwnDir gives dir to uid:gid (mode 0750 at least for the owner) unless it is theirs.
func OwnDir(out io.Writer, dir string, uid, gid int) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("own-dir: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("own-dir: %s is not a directory", dir)
	}
	if owner(fi) == [2]int{uid, gid} {
		fmt.Fprintf(out, "%s belongs to %d:%d already\n", dir, uid, gid)
		return nil
	}
	if err := os.Chown(dir, uid, gid); err != nil {
		return fmt.Errorf("own-dir: give %s to %d:%d: %w (the container needs CAP_CHOWN)", dir, uid, gid, err)
	}
	fmt.Fprintf(out, "gave %s to %d:%d\n", dir, uid, gid)
	return nil
}
