package controller

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	servingv1alpha1 "github.com/kfup/kfup/components/serving/api/v1alpha1"
	"github.com/kfup/kfup/components/serving/engine"
	"github.com/kfup/kfup/internal/apihost"
)

// RuntimeInstaller creates the built-in ClusterServingRuntimes (engine.BuiltinRuntimes)
// when the manager becomes leader, and keeps those it created (labelled kfup's) up to
// date — kfup's own carries the manager's image. A runtime of a built-in's name that is
// not kfup's (the user's, or KServe's own install) is left alone.
type RuntimeInstaller struct {
	// Image is kfup's image, for the kfup-modelserver runtime.
	Image string
}

// Name returns "servingruntime-installer".
func (i *RuntimeInstaller) Name() string { return "servingruntime-installer" }

// SetupWithManager adds the installer as a leader-elected runnable.
func (i *RuntimeInstaller) SetupWithManager(mgr manager.Manager) error {
	return mgr.Add(&runtimeRunnable{install: i, c: mgr.GetClient(), reader: mgr.GetAPIReader()})
}

type runtimeRunnable struct {
	install *RuntimeInstaller
	c       client.Client
	reader  client.Reader
}

// NeedLeaderElection is true: only the leader writes.
func (r *runtimeRunnable) NeedLeaderElection() bool { return true }

// Start installs the runtimes once; an error is logged, not fatal: the manager keeps
// serving (a missing CRD must never crash it), and InferenceServices say no runtime fits.
func (r *runtimeRunnable) Start(ctx context.Context) error {
	log := ctrl.Log.WithName(r.install.Name())
	if err := r.install.Install(ctx, r.c, r.reader); err != nil {
		log.Error(err, "built-in ClusterServingRuntimes not installed")
	}
	return nil
}

// Install creates or updates the built-in runtimes through c, reading what is there
// through reader.
func (i *RuntimeInstaller) Install(ctx context.Context, c client.Client, reader client.Reader) error {
	for _, rt := range engine.BuiltinRuntimes(i.Image) {
		apihost.MarkChild(&rt, APIName)
		existing := &metav1.PartialObjectMetadata{}
		existing.SetGroupVersionKind(servingv1alpha1.GroupVersion.WithKind(servingv1alpha1.ClusterServingRuntimeKind))
		err := reader.Get(ctx, client.ObjectKey{Name: rt.Name}, existing)
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			return fmt.Errorf("read clusterservingruntime %s: %w", rt.Name, err)
		case existing.Labels[apihost.LabelAPI] != APIName:
			continue // not kfup's
		}
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&rt)
		if err != nil {
			return err
		}
		u := &unstructured.Unstructured{Object: m}
		unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
		unstructured.RemoveNestedField(u.Object, "status")
		if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(FieldOwner), client.ForceOwnership); err != nil {
			return fmt.Errorf("apply clusterservingruntime %s: %w", rt.Name, err)
		}
	}
	return nil
}
