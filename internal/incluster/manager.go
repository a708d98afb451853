// Package incluster holds the commands kfup runs inside the cluster — `kfup manager` (the
// controller manager) and `kfup agent` (helpers in job pods), and kfup as an MPI
// launcher's kubectl — apart from the host CLI, so that the slim kfup-manager binary
// (cmd/kfup-manager) links none of kind, Helm or the image tooling.
package incluster

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"

	"github.com/KimMachineGun/automemlimit/memlimit"
	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/kfup/kfup/internal/apihost"
	"github.com/kfup/kfup/internal/errs"
)

// ManagerOptions are the flags of `kfup manager`.
type ManagerOptions struct {
	apihost.Options
	// APIs are the API slices whose controllers the manager hosts (those --apis names,
	// every slice kfup has by default); each registered its own flags.
	APIs []apihost.API
	// Hosted are the names --apis lists.
	Hosted []string
	// MemoryLimitRatio is the share of the container's memory limit (its cgroup's) the Go
	// runtime takes as its soft limit (GOMEMLIMIT); 0 leaves the runtime's default.
	MemoryLimitRatio float64
}

// DefaultMemoryLimitRatio leaves a tenth of the container's memory limit as headroom: the
// soft limit is a target the collector may overshoot briefly, and memory the Go runtime
// does not manage is charged to the container too. (The executable's own pages are
// file-backed: the kernel reclaims them under pressure before it kills the pod.)
const DefaultMemoryLimitRatio = 0.9

// NewCmdManager returns `kfup manager`, the in-cluster controller manager hosting the
// controllers of apis (the composition root's list, package apis), each with its own
// flags; runF replaces the real run in tests; verbosity reads the global -v level when the
// command runs.
func NewCmdManager(apis []apihost.API, verbosity func() int, runF func(context.Context, *ManagerOptions) error) *cobra.Command {
	opts := &ManagerOptions{}
	cmd := &cobra.Command{
		Use:   "manager",
		Short: "Run kfup's controller manager (in the cluster; kfup create installs it)",
		Long: `Run every kfup controller in one process against the cluster of the in-cluster
service account (or $KUBECONFIG). kfup create deploys it as kfup-system/kfup-manager;
you do not normally run it by hand.`,
		Args: NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			hosted, err := selectAPIs(apis, opts.Hosted)
			if err != nil {
				return err
			}
			opts.APIs = hosted
			for _, a := range opts.APIs {
				if err := a.Validate(); err != nil {
					return err
				}
			}
			if !(opts.MemoryLimitRatio >= 0 && opts.MemoryLimitRatio <= 1) {
				return errs.Usage("pass a share such as --memory-limit-ratio 0.9, or 0 to leave GOMEMLIMIT alone", "--memory-limit-ratio must be between 0 and 1")
			}
			if opts.WebhookPort < 0 || opts.WebhookPort > 65535 {
				return errs.Usage("pass a port such as --webhook-port 9443, or 0 to serve no webhooks", "--webhook-port %d is not a port", opts.WebhookPort)
			}
			if opts.WebhookPort > 0 && opts.WebhookCertDir == "" {
				return errs.Usage("pass --webhook-cert-dir DIR holding tls.crt and tls.key", "--webhook-port needs --webhook-cert-dir")
			}
			opts.Image = os.Getenv(ImageEnv)
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			ctrl.SetLogger(zap.New(zap.UseDevMode(verbosity() > 0)))
			setMemoryLimit(opts.MemoryLimitRatio)
			cfg, err := ctrl.GetConfig()
			if err != nil {
				return err
			}
			return apihost.Run(cmd.Context(), cfg, opts.Options, opts.APIs...)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.MetricsAddr, "metrics-bind-address", ":8080", "address of the Prometheus metrics endpoint (0 turns it off)")
	fl.StringVar(&opts.ProbeAddr, "health-probe-bind-address", ":8081", "address of /healthz and /readyz (0 turns them off)")
	fl.StringVar(&opts.PprofAddr, "pprof-bind-address", "0", "address of net/http/pprof profiles, for memory and CPU investigations (0 turns them off)")
	fl.IntVar(&opts.WebhookPort, "webhook-port", 0, "port of the API slices' admission webhooks (TLS); 0 serves none")
	fl.StringVar(&opts.WebhookCertDir, "webhook-cert-dir", "", "directory of the webhook server's tls.crt and tls.key (kfup install mounts them from a Secret)")
	fl.BoolVar(&opts.LeaderElect, "leader-elect", true, "elect a leader so that only one replica reconciles")
	fl.StringVar(&opts.LeaderElectionNamespace, "leader-election-namespace", "", "namespace of the leader lease (default: the pod's)")
	fl.Float64Var(&opts.MemoryLimitRatio, "memory-limit-ratio", DefaultMemoryLimitRatio, "share of the container's memory limit (cgroup) set as the Go runtime's soft limit, so that the collector works harder before the kernel kills the pod; 0: leave it (a GOMEMLIMIT variable always wins; AUTOMEMLIMIT=off turns it off, AUTOMEMLIMIT=<ratio> replaces this flag)")
	fl.StringSliceVar(&opts.Hosted, "apis", apihost.Names(apis), "the API slices whose controllers to run, comma-separated: those whose CRDs are installed (kfup create passes the profile's)")
	for _, a := range apis {
		a.AddFlags(fl)
	}
	return cmd
}

// selectAPIs returns those of apis that names lists, in apis' order, or a usage error
// naming what is unknown or listed twice. A slice left out is not started: its CRDs need
// not be installed, and its flags are not checked.
func selectAPIs(apis []apihost.API, names []string) ([]apihost.API, error) {
	known := apihost.Names(apis)
	seen := map[string]bool{}
	for _, n := range names {
		switch {
		case !slices.Contains(known, n):
			return nil, errs.Usage(fmt.Sprintf("name some of %s, e.g. --apis=%s", strings.Join(known, ", "), strings.Join(known, ",")),
				"--apis: unknown API %q", n)
		case seen[n]:
			return nil, errs.Usage("name each API once", "--apis: %q is listed twice", n)
		}
		seen[n] = true
	}
	var out []apihost.API
	for _, a := range apis {
		if seen[a.Name()] {
			out = append(out, a)
		}
	}
	return out, nil
}

// setMemoryLimit sets the Go runtime's soft memory limit to ratio × the memory limit of
// the process's cgroup (a container's resources.limits.memory), with automemlimit; without
// a cgroup limit, with $GOMEMLIMIT set or with AUTOMEMLIMIT=off it changes nothing
// (automemlimit's own variable AUTOMEMLIMIT=<ratio> takes the place of ratio). It logs
// what it set, and why it set nothing when the limit could not be read; the runtime then
// keeps its default.
func setMemoryLimit(ratio float64) {
	if ratio == 0 {
		return
	}
	_, _ = memlimit.Set(memlimit.WithRatio(ratio), memlimit.WithProvider(memlimit.FromCgroup),
		memlimit.WithLogger(slog.New(logr.ToSlogHandler(ctrl.Log.WithName("memlimit")))))
}

// ImageEnv names the variable through which the manager Deployment tells the manager its
// own image, which job-pod helpers (kfup agent) then run from.
const ImageEnv = "KFUP_IMAGE"
