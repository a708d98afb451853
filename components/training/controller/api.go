package controller

import (
	"fmt"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	"github.com/kfup/kfup/components/training/engine"
	"github.com/kfup/kfup/components/training/frameworks"
	"github.com/kfup/kfup/internal/apihost"
	"github.com/kfup/kfup/internal/errs"
)

// API is the training slice's in-cluster side (apihost.API): the kubeflow.org/v1 job
// types, upstream training-operator's flags, and one controller per job kind. Its zero
// value is not ready: use NewAPI.
type API struct {
	// Config configures the controllers; the flags write into it.
	Config Config
	// Namespace restricts the controllers to jobs in these namespaces (--namespace, as
	// upstream's); empty: every namespace.
	Namespace []string
}

var _ apihost.API = (*API)(nil)

// NewAPI returns the training slice with kfup's defaults (DefaultConfig).
func NewAPI() *API { return &API{Config: DefaultConfig()} }

// Name returns "training".
func (a *API) Name() string { return engine.APIName }

// AddToScheme registers the kubeflow.org/v1 job types.
func (a *API) AddToScheme(s *runtime.Scheme) error { return trainingv1.AddToScheme(s) }

// AddFlags registers upstream training-operator's flag names (kept unprefixed, so its
// documentation holds).
func (a *API) AddFlags(fl *pflag.FlagSet) {
	c := &a.Config
	fl.IntVar(&c.Workers, "job-workers", c.Workers, "training jobs of one kind reconciled at once")
	fl.DurationVar(&c.StuckPodGrace, "stuck-pod-grace", c.StuckPodGrace, "how long a job pod may fail to start (image pull errors, bad config) before its job fails")
	fl.StringSliceVar(&a.Namespace, "namespace", a.Namespace, "reconcile only training jobs in these namespaces (repeatable or comma-separated; default: all)")
	fl.StringVar(&c.GangScheduler, "gang-scheduler-name", c.GangScheduler, "gang-schedule training jobs with PodGroups: volcano, or the name of a scheduler-plugins coscheduling scheduler (empty: off)")
	fl.StringVar(&c.ClusterDomain, "cluster-domain", c.ClusterDomain, "cluster DNS domain appended to service names in TF_CONFIG (empty: <svc>.<ns>.svc)")
}

// Validate checks the flag values.
func (a *API) Validate() error {
	if a.Config.Workers < 1 {
		return errs.Usage("pass --job-workers 1 or more", "--job-workers must be at least 1")
	}
	for _, ns := range a.Namespace {
		if len(validation.IsDNS1123Label(ns)) > 0 {
			return errs.Usage("pass namespace names such as --namespace team-a", "--namespace %q is not a namespace name", ns)
		}
	}
	if a.Config.StuckPodGrace < 0 {
		return errs.Usage("pass a duration such as --stuck-pod-grace 1m", "--stuck-pod-grace must not be negative")
	}
	return nil
}

// Namespaces returns --namespace.
func (a *API) Namespaces() []string { return a.Namespace }

// Objects returns one job of each kind.
func (a *API) Objects() []client.Object {
	var out []client.Object
	for _, fw := range frameworks.All(a.Config.Frameworks()) {
		obj, ok := fw.NewJob().(client.Object)
		if !ok {
			panic(fmt.Sprintf("%s: %T is not a client.Object", fw.Kind(), fw.NewJob())) // the plug-ins' own types
		}
		out = append(out, obj)
	}
	return out
}

// Controllers returns one controller per job kind, the job-pod helpers taken from the
// manager's image when it has one.
func (a *API) Controllers(p apihost.Process) ([]apihost.Controller, error) {
	return Controllers(a.Config.WithKfupImage(p.Image)), nil
}
