// Package frameworks lists the training engine's plug-ins, one sub-package per
// kubeflow.org/v1 kind: tensorflow (TFJob), pytorch (PyTorchJob), mpi (MPIJob), xgboost
// (XGBoostJob), jax (JAXJob) and paddle (PaddleJob). Each reproduces the Kubeflow Training
// Operator v1.9's defaults, labels and environment for its kind; package engine turns them
// into pods and services.
package frameworks

import (
	"github.com/kfup/kfup/components/training/engine"
	"github.com/kfup/kfup/components/training/frameworks/jax"
	"github.com/kfup/kfup/components/training/frameworks/mpi"
	"github.com/kfup/kfup/components/training/frameworks/paddle"
	"github.com/kfup/kfup/components/training/frameworks/pytorch"
	"github.com/kfup/kfup/components/training/frameworks/tensorflow"
	"github.com/kfup/kfup/components/training/frameworks/xgboost"
)

// Config holds the manager-wide settings of the plug-ins; the zero value is upstream's
// defaults.
type Config struct {
	// ClusterDomain is appended to service names in TF_CONFIG (upstream's
	// CUSTOM_CLUSTER_DOMAIN), e.g. "cluster.local"; empty leaves "<svc>.<ns>.svc".
	ClusterDomain string
	// PyTorchInitImage is the image of the PyTorch workers' wait-for-master init container;
	// empty means pytorch.DefaultInitContainerImage.
	PyTorchInitImage string
	// PyTorchInitMaxTries bounds that init container's lookups; 0 means
	// pytorch.DefaultInitContainerMaxTries.
	PyTorchInitMaxTries int
	// PyTorchInitCommand replaces the init container's shell loop: the command gets the
	// master's name appended and must retry by itself (kfup agent wait-for-host).
	PyTorchInitCommand []string
	// MPIDeliveryImage is the image of the MPI launcher's init container that installs the
	// exec client; empty means mpi.DefaultDeliveryImage.
	MPIDeliveryImage string
	// MPIDeliveryCommand is that init container's command; nil runs the image's entrypoint.
	MPIDeliveryCommand []string
}

// All returns one plug-in per kind, configured by cfg, in the order TFJob, PyTorchJob,
// MPIJob, XGBoostJob, JAXJob, PaddleJob.
func All(cfg Config) []engine.Framework {
	pt := []pytorch.Option{}
	if cfg.PyTorchInitImage != "" {
		pt = append(pt, pytorch.WithInitContainerImage(cfg.PyTorchInitImage))
	}
	if cfg.PyTorchInitMaxTries > 0 {
		pt = append(pt, pytorch.WithInitContainerMaxTries(cfg.PyTorchInitMaxTries))
	}
	if cfg.PyTorchInitCommand != nil {
		pt = append(pt, pytorch.WithInitContainerCommand(cfg.PyTorchInitCommand))
	}
	mp := []mpi.Option{}
	if cfg.MPIDeliveryImage != "" {
		mp = append(mp, mpi.WithDeliveryImage(cfg.MPIDeliveryImage))
	}
	if cfg.MPIDeliveryCommand != nil {
		mp = append(mp, mpi.WithDeliveryCommand(cfg.MPIDeliveryCommand...))
	}
	return []engine.Framework{
		tensorflow.New(tensorflow.WithClusterDomain(cfg.ClusterDomain)),
		pytorch.New(pt...),
		mpi.New(mp...),
		xgboost.New(),
		jax.New(),
		paddle.New(),
	}
}

// ForKind returns the plug-in of kind (e.g. "PyTorchJob") configured by cfg, or false.
func ForKind(cfg Config, kind string) (engine.Framework, bool) {
	for _, fw := range All(cfg) {
		if fw.Kind() == kind {
			return fw, true
		}
	}
	return nil, false
}
