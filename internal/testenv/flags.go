package testenv

import (
	"github.com/spf13/pflag"

	"github.com/kfup/kfup/internal/apihost"
)

// ParseFlags registers a's flags on a fresh flag set named as the manager's, parses args
// into a and, when they parse, validates a: what the manager does with one API slice's
// command line.
func ParseFlags(a apihost.API, args ...string) error {
	fl := pflag.NewFlagSet("manager", pflag.ContinueOnError)
	a.AddFlags(fl)
	if err := fl.Parse(args); err != nil {
		return err
	}
	return a.Validate()
}
