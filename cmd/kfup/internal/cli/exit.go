package cli

import "github.com/kfup/kfup/internal/errs"

// Exit codes, in one place. Scripts may rely on them; docs/cli.md lists them.
const (
	ExitOK          = 0
	ExitError       = 1
	ExitUsage       = 2
	ExitPreflight   = 3
	ExitNotFound    = 4
	ExitConflict    = 5
	ExitTimeout     = 124
	ExitInterrupted = 130
)

// ExitCode maps an error to the process exit code.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	switch errs.KindOf(err) {
	case errs.KindUsage:
		return ExitUsage
	case errs.KindPreflight:
		return ExitPreflight
	case errs.KindNotFound:
		return ExitNotFound
	case errs.KindConflict:
		return ExitConflict
	case errs.KindTimeout:
		return ExitTimeout
	case errs.KindInterrupted:
		return ExitInterrupted
	default:
		return ExitError
	}
}
