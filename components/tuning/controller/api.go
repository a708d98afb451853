package controller

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	tuningv1beta1 "github.com/kfup/kfup/components/tuning/api/v1beta1"
	"github.com/kfup/kfup/components/tuning/controller/dbmanager"
	"github.com/kfup/kfup/internal/apihost"
	"github.com/kfup/kfup/internal/errs"
)

// APIName is the slice's name: its profile component and its children's apihost.LabelAPI
// value.
const APIName = "tuning"

// DefaultTrialResources are the kinds a trial may run as (Katib's --trial-resources):
// batch Jobs and kfup's training jobs. The manager's RBAC covers exactly these.
var DefaultTrialResources = []string{
	"Job.v1.batch",
	"TFJob.v1.kubeflow.org", "PyTorchJob.v1.kubeflow.org", "MPIJob.v1.kubeflow.org",
	"XGBoostJob.v1.kubeflow.org", "JAXJob.v1.kubeflow.org", "PaddleJob.v1.kubeflow.org",
}

// Config configures the tuning controllers.
type Config struct {
	// Workers is how many experiments, suggestions and trials (each) are reconciled at once.
	Workers int
	// PollInterval is how often a running trial's run is judged and, when early stopping
	// is on, its metrics read.
	PollInterval time.Duration
	// LogLimitBytes bounds what is read of one container's log per collection.
	LogLimitBytes int64
	// TrialResources are the kinds trials may run as, Kind.version.group.
	TrialResources []string
	// Image is kfup's image, which runs the File and TensorFlowEvent collectors' metrics
	// sidecar (`kfup agent metrics`); empty outside a cluster, where those collectors are
	// refused.
	Image string
	// DBManagerAddress is where Katib's DBManager API (the Push collector's) is served;
	// "0" or empty: not served.
	DBManagerAddress string
	// Logs reads container logs; nil reads them from the API server. Tests substitute
	// canned logs (envtest runs no kubelet).
	Logs LogSource
	// SkipNameValidation lets tests start several managers in one process.
	SkipNameValidation bool
}

// DefaultConfig is the configuration the manager starts with.
func DefaultConfig() Config {
	return Config{
		Workers:          4,
		PollInterval:     3 * time.Second,
		LogLimitBytes:    8 << 20,
		TrialResources:   append([]string(nil), DefaultTrialResources...),
		DBManagerAddress: fmt.Sprintf(":%d", tuningv1beta1.DBManagerPort),
	}
}

// API is the tuning slice's in-cluster side (apihost.API).
type API struct {
	// Config configures the controllers; the flags write into it.
	Config Config
	// Namespace restricts the controllers to experiments in these namespaces
	// (--tuning-namespace); empty: every namespace.
	Namespace []string
}

var _ apihost.API = (*API)(nil)

// NewAPI returns the tuning slice with kfup's defaults.
func NewAPI() *API { return &API{Config: DefaultConfig()} }

// Name returns "tuning".
func (a *API) Name() string { return APIName }

// AddToScheme registers the kubeflow.org/v1beta1 types.
func (a *API) AddToScheme(s *runtime.Scheme) error { return tuningv1beta1.AddToScheme(s) }

// AddFlags registers the --tuning-* flags.
func (a *API) AddFlags(fl *pflag.FlagSet) {
	c := &a.Config
	fl.IntVar(&c.Workers, "tuning-workers", c.Workers, "experiments, suggestions and trials (each) reconciled at once")
	fl.StringSliceVar(&a.Namespace, "tuning-namespace", a.Namespace, "reconcile only experiments in these namespaces (repeatable or comma-separated; default: all)")
	fl.DurationVar(&c.PollInterval, "tuning-poll-interval", c.PollInterval, "how often running trials are judged and, with early stopping, their metrics read")
	fl.StringVar(&c.DBManagerAddress, "tuning-db-manager-bind-address", c.DBManagerAddress, "address of Katib's DBManager gRPC API, where Push trials report their metrics (katib.report_metrics, kfup agent push); 0 turns it off")
	fl.StringSliceVar(&c.TrialResources, "tuning-trial-resources", c.TrialResources, "kinds trials may run as, Kind.version.group (Katib's --trial-resources); the manager's RBAC must allow creating them")
}

// Validate checks the flag values.
func (a *API) Validate() error {
	if a.Config.Workers < 1 {
		return errs.Usage("pass --tuning-workers 1 or more", "--tuning-workers must be at least 1")
	}
	if a.Config.PollInterval < 100*time.Millisecond {
		return errs.Usage("pass a duration such as --tuning-poll-interval 5s", "--tuning-poll-interval must be at least 100ms")
	}
	for _, ns := range a.Namespace {
		if len(validation.IsDNS1123Label(ns)) > 0 {
			return errs.Usage("pass namespace names such as --tuning-namespace team-a", "--tuning-namespace %q is not a namespace name", ns)
		}
	}
	if _, err := parseResources(a.Config.TrialResources); err != nil {
		return errs.Usage("pass kinds such as --tuning-trial-resources Job.v1.batch,PyTorchJob.v1.kubeflow.org", "%v", err)
	}
	return nil
}

// Namespaces returns --tuning-namespace.
func (a *API) Namespaces() []string { return a.Namespace }

// Objects returns an Experiment, a Suggestion and a Trial.
func (a *API) Objects() []client.Object {
	return []client.Object{&tuningv1beta1.Experiment{}, &tuningv1beta1.Suggestion{}, &tuningv1beta1.Trial{}}
}

// Controllers returns the experiment, suggestion and trial controllers and the
// DBManager server.
func (a *API) Controllers(p apihost.Process) ([]apihost.Controller, error) {
	cfg := a.Config
	if p.Image != "" {
		cfg.Image = p.Image
	}
	kinds, err := parseResources(cfg.TrialResources)
	if err != nil {
		return nil, err
	}
	return []apihost.Controller{
		&ExperimentReconciler{cfg: cfg, kinds: kinds},
		&SuggestionReconciler{cfg: cfg},
		&TrialReconciler{cfg: cfg},
		dbmanager.New(cfg.DBManagerAddress),
	}, nil
}

// parseResources parses Kind.version.group names.
func parseResources(names []string) ([]schema.GroupVersionKind, error) {
	var out []schema.GroupVersionKind
	for _, n := range names {
		kind, rest, ok := strings.Cut(n, ".")
		version, group, _ := strings.Cut(rest, ".")
		if !ok || kind == "" || version == "" {
			return nil, fmt.Errorf("trial resource %q is not Kind.version.group (such as Job.v1.batch)", n)
		}
		out = append(out, schema.GroupVersionKind{Group: group, Version: version, Kind: kind})
	}
	return out, nil
}

// clientsetFor returns a clientset on the manager's connection (for pods/log).
func clientsetFor(mgr manager.Manager) (kubernetes.Interface, error) {
	return kubernetes.NewForConfigAndClient(mgr.GetConfig(), mgr.GetHTTPClient())
}
