// Package controller is the pipelines slice's in-cluster side: the PipelineRun controller
// (the DAG driven by plan.Compute, one pod per executed task, kfup's launcher inside), the
// PipelineVersion controller (validates the IR, says so in a Ready condition), the
// RecurringRun controller (cron), and the artifact store the task pods read and write
// through (served by the manager over HTTP from its volume, or S3).
package controller

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	pipelinesv1alpha1 "github.com/kfup/kfup/components/pipelines/api/v1alpha1"
	pipelinesv2beta1 "github.com/kfup/kfup/components/pipelines/api/v2beta1"
	"github.com/kfup/kfup/components/pipelines/store"
	"github.com/kfup/kfup/internal/apihost"
	"github.com/kfup/kfup/internal/errs"
)

// APIName is the slice's name: its profile component and its children's apihost.LabelAPI
// value.
const APIName = "pipelines"

// The artifact store's defaults in the manager.
const (
	ArtifactPort    = pipelinesv1alpha1.ArtifactPort
	ArtifactService = pipelinesv1alpha1.ArtifactService
	ArtifactRoot    = pipelinesv1alpha1.ArtifactRoot
)

// The launcher modes (Config.Launcher, --pipelines-launcher).
const (
	LauncherAuto          = "auto"
	LauncherImageVolume   = "image-volume"
	LauncherInitContainer = "init-container"
)

// imageVolumeSince is the first Kubernetes minor release with image volumes on by
// default (beta in 1.35, GA in 1.36).
const imageVolumeSince = 35

// Config configures the pipelines controllers.
type Config struct {
	// Workers is how many runs (and, apart, versions and schedules) are reconciled at once.
	Workers int
	// Image is kfup's image: task pods run kfup's launcher from it.
	Image string
	// Launcher is how task pods get kfup's launcher: LauncherImageVolume (kfup's image
	// mounted as a volume), LauncherInitContainer (an init container copies kfup in), or
	// LauncherAuto (an image volume where the API server is 1.35 or later).
	Launcher string
	// ArtifactStore is "fs" (the manager serves ArtifactRoot over HTTP) or "s3" (task pods
	// and the manager use the bucket named by the KFUP_ARTIFACT_S3_* environment).
	ArtifactStore string
	// ArtifactRoot is the fs store's directory.
	ArtifactRoot string
	// ArtifactAddress is where the fs store is served; "0": not served.
	ArtifactAddress string
	// ArtifactURL is the fs store's address as task pods dial it; empty: the Service in
	// the manager's namespace.
	ArtifactURL string
	// Store replaces the store (tests); nil: made from the fields above.
	Store store.Store
	// Getenv reads the environment (os.Getenv when nil).
	Getenv func(string) string
	// SkipNameValidation lets tests start several managers in one process.
	SkipNameValidation bool
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// DefaultConfig is the configuration the manager starts with.
func DefaultConfig() Config {
	return Config{
		Workers: 4, ArtifactStore: "fs", ArtifactRoot: ArtifactRoot, Launcher: LauncherAuto,
		ArtifactAddress: fmt.Sprintf(":%d", ArtifactPort),
	}
}

func (c Config) getenv(k string) string {
	if c.Getenv == nil {
		return os.Getenv(k)
	}
	return c.Getenv(k)
}

func (c Config) now() time.Time {
	if c.Now == nil {
		return time.Now()
	}
	return c.Now()
}

// API is the pipelines slice's in-cluster side (apihost.API).
type API struct {
	// Config configures the controllers; the flags write into it.
	Config Config
	// Namespace restricts the controllers to these namespaces (--pipelines-namespace);
	// empty: every namespace.
	Namespace []string
}

var _ apihost.API = (*API)(nil)

// NewAPI returns the pipelines slice with kfup's defaults.
func NewAPI() *API { return &API{Config: DefaultConfig()} }

// Name returns "pipelines".
func (a *API) Name() string { return APIName }

// AddToScheme registers pipelines.kubeflow.org/v2beta1 and pipelines.kfup.dev/v1alpha1.
func (a *API) AddToScheme(s *runtime.Scheme) error {
	if err := pipelinesv2beta1.AddToScheme(s); err != nil {
		return err
	}
	return pipelinesv1alpha1.AddToScheme(s)
}

// AddFlags registers the --pipelines-* flags.
func (a *API) AddFlags(fl *pflag.FlagSet) {
	c := &a.Config
	fl.IntVar(&c.Workers, "pipelines-workers", c.Workers, "pipeline runs reconciled at once")
	fl.StringSliceVar(&a.Namespace, "pipelines-namespace", a.Namespace, "reconcile only pipelines and runs in these namespaces (repeatable or comma-separated; default: all)")
	fl.StringVar(&c.Launcher, "pipelines-launcher", c.Launcher, "how task pods get kfup's launcher: image-volume (kfup's image mounted read-only; Kubernetes 1.35+ with containerd 2.1+ or CRI-O 1.31+), init-container (copied in by an init container: any cluster, one container start more per task), or auto (image-volume on Kubernetes 1.35+)")
	fl.StringVar(&c.ArtifactStore, "pipelines-artifact-store", c.ArtifactStore, "where artifacts live: fs (the manager serves --pipelines-artifact-root to task pods) or s3 (the bucket of KFUP_ARTIFACT_S3_BUCKET, with the AWS_* environment)")
	fl.StringVar(&c.ArtifactRoot, "pipelines-artifact-root", c.ArtifactRoot, "directory of the fs artifact store (the manager's artifacts volume)")
	fl.StringVar(&c.ArtifactAddress, "pipelines-artifact-bind-address", c.ArtifactAddress, "address the fs artifact store is served on; 0 turns it off")
	fl.StringVar(&c.ArtifactURL, "pipelines-artifact-url", c.ArtifactURL, "the fs artifact store's URL as task pods reach it (default: the kfup-artifacts Service of the manager's namespace)")
}

// Validate checks the flag values.
func (a *API) Validate() error {
	if a.Config.Workers < 1 {
		return errs.Usage("pass --pipelines-workers 1 or more", "--pipelines-workers must be at least 1")
	}
	switch a.Config.Launcher {
	case LauncherAuto, LauncherImageVolume, LauncherInitContainer:
	default:
		return errs.Usage("pass --pipelines-launcher auto, image-volume or init-container", "--pipelines-launcher %q is not auto, image-volume or init-container", a.Config.Launcher)
	}
	switch a.Config.ArtifactStore {
	case "fs", "s3":
	default:
		return errs.Usage("pass --pipelines-artifact-store fs or s3", "--pipelines-artifact-store %q is not fs or s3", a.Config.ArtifactStore)
	}
	for _, ns := range a.Namespace {
		if len(validation.IsDNS1123Label(ns)) > 0 {
			return errs.Usage("pass namespace names such as --pipelines-namespace team-a", "--pipelines-namespace %q is not a namespace name", ns)
		}
	}
	return nil
}

// Namespaces returns --pipelines-namespace.
func (a *API) Namespaces() []string { return a.Namespace }

// Objects returns one object of each kind.
func (a *API) Objects() []client.Object {
	return []client.Object{&pipelinesv2beta1.Pipeline{}, &pipelinesv2beta1.PipelineVersion{}, &pipelinesv1alpha1.PipelineRun{}, &pipelinesv1alpha1.RecurringRun{}}
}

// Controllers returns the run, version and recurring-run controllers and the artifact
// server.
func (a *API) Controllers(p apihost.Process) ([]apihost.Controller, error) {
	cfg := a.Config
	if p.Image != "" {
		cfg.Image = p.Image
	}
	cs := []apihost.Controller{
		&RunReconciler{cfg: cfg},
		&VersionReconciler{cfg: cfg},
		&RecurringRunReconciler{cfg: cfg},
	}
	if cfg.ArtifactStore == "fs" && cfg.Store == nil && cfg.ArtifactAddress != "0" && cfg.ArtifactAddress != "" {
		cs = append(cs, &ArtifactServer{addr: cfg.ArtifactAddress, store: store.NewFS(cfg.ArtifactRoot)})
	}
	return cs, nil
}

var _ apihost.Webhooker = (*API)(nil)

// Webhooks returns the admission checks of runs, schedules and versions (Webhooks).
func (a *API) Webhooks(mgr manager.Manager) ([]apihost.Webhook, error) {
	return Webhooks(mgr.GetScheme(), mgr.GetAPIReader()), nil
}
