package incluster

import (
	"bytes"
	"testing"

	"github.com/spf13/cobra"
)

// Helpers the composition root passes in (kfup modelserver) join the command tree.
func TestRootCmdAddsHelpers(t *testing.T) {
	ran := false
	helper := &cobra.Command{Use: "modelserver", RunE: func(*cobra.Command, []string) error { ran = true; return nil }}
	root := NewRootCmd(&bytes.Buffer{}, &bytes.Buffer{}, nil, helper)
	root.SetArgs([]string{"modelserver"})
	if err := root.Execute(); err != nil || !ran {
		t.Fatalf("modelserver helper: ran %v, err %v", ran, err)
	}
}
