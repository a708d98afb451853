package controller

import (
	"time"

	"github.com/kfup/kfup/components/training/controller/policy"
	"github.com/kfup/kfup/components/training/frameworks"
	"github.com/kfup/kfup/components/training/frameworks/mpi"
)

// DefaultHelperImage is the image of the small helpers kfup runs in job pods by default:
// busybox, as kfup's offline toolkit builds it and loads it into the nodes, so that job
// pods start without reaching a registry.
const DefaultHelperImage = "kfup-offline/busybox:1"

// DefaultWorkers is how many jobs of one kind are reconciled at once by default.
const DefaultWorkers = 4

// ManagedByTrainingOperator is the runPolicy.managedBy value (or its absence) of jobs kfup
// reconciles; jobs managed by anything else (e.g. Kueue's MultiKueue) are left alone.
const ManagedByTrainingOperator = "kubeflow.org/training-operator"

// Config holds the settings of the training job controllers. The zero value is
// upstream's: helper images from Docker Hub, no sidecar stopping; DefaultConfig is kfup's.
type Config struct {
	// Config holds the plug-ins' settings (cluster domain, PyTorch's wait-for-master init
	// container, MPI's exec-client delivery), promoted: cfg.ClusterDomain and so on.
	frameworks.Config
	// SidecarStopImage is the image of the ephemeral container that stops an istio-proxy
	// still running after the training container ended (sh, seq, sleep, wget); empty
	// leaves such sidecars running (the job's status does not wait for them either way).
	SidecarStopImage string
	// SidecarStopCommand replaces that container's shell loop; kfup's manager sets
	// ["/kfup", "agent", "quit-sidecar"] with its own image.
	SidecarStopCommand []string
	// StuckPodGrace is how long a container may wait with ImagePullBackOff and the like
	// before its job fails; 0 means policy.DefaultStuckPodGrace.
	StuckPodGrace time.Duration
	// GangScheduler turns on gang scheduling: "volcano" (Volcano's PodGroups), or the
	// name of a scheduler-plugins coscheduling scheduler; empty: off (policy/gang.go).
	GangScheduler string
	// Workers is how many jobs of one kind are reconciled at once; 0 means 1.
	Workers int
	// SkipNameValidation allows controllers of the same name in several managers of one
	// process (tests that start a manager each).
	SkipNameValidation bool
}

// DefaultConfig is the configuration of kfup's manager: helper images that need no
// registry (DefaultHelperImage for PyTorch's init container and for stopping sidecars;
// MPI's delivery image stays upstream's, as no offline one exists yet), the default grace
// for pods that cannot start, and DefaultWorkers.
func DefaultConfig() Config {
	return Config{
		Config:           frameworks.Config{PyTorchInitImage: DefaultHelperImage, MPIDeliveryImage: mpi.DefaultDeliveryImage},
		SidecarStopImage: DefaultHelperImage,
		StuckPodGrace:    policy.DefaultStuckPodGrace,
		Workers:          DefaultWorkers,
	}
}

// WithKfupImage makes the job-pod helpers (PyTorch's wait-for-master init container, the
// sidecar stopper, MPI's exec-client delivery) run `kfup agent` from kfup's own image, which kfup loads on every node:
// no shell image from a registry is needed.
func (c Config) WithKfupImage(image string) Config {
	if image == "" {
		return c
	}
	c.PyTorchInitImage = image
	c.PyTorchInitCommand = []string{"/kfup", "agent", "wait-for-host"}
	c.SidecarStopImage = image
	c.SidecarStopCommand = []string{"/kfup", "agent", "quit-sidecar"}
	c.MPIDeliveryImage = image
	c.MPIDeliveryCommand = []string{"/kfup", "agent", "mpi-delivery"}
	return c
}

// Frameworks returns the plug-ins' part of the configuration.
func (c Config) Frameworks() frameworks.Config { return c.Config }
