// Package training is the install component of the kubeflow.org/v1 training job API
// (TFJob, PyTorchJob, MPIJob, XGBoostJob, JAXJob, PaddleJob): it applies the CRDs generated
// from api/v1 and checks that the API server validates jobs. The job controllers run in
// kfup's manager.
package training

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfup/kfup/components"
	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	kfupmanager "github.com/kfup/kfup/internal/manager"
	"github.com/kfup/kfup/manifests"
)

// Name is the component name.
const Name = "training"

// Component installs the training API.
type Component struct{}

// Name returns "training".
func (Component) Name() string { return Name }

// DependsOn returns nothing: CRDs need nothing else.
func (Component) DependsOn() []string { return nil }

// Images returns none: the controllers run in the manager image.
func (Component) Images(*components.Env) ([]string, error) { return nil, nil }

func objects() ([]*unstructured.Unstructured, error) {
	crds, err := manifests.CRDs()
	if err != nil {
		return nil, err
	}
	scheme, err := kfupmanager.NewScheme()
	if err != nil {
		return nil, err
	}
	var typed []client.Object
	for _, c := range crds {
		if c.Spec.Group == trainingv1.GroupVersion.Group {
			typed = append(typed, c)
		}
	}
	return components.ToUnstructured(scheme, typed...)
}

// Install applies the CRDs and waits until they are Established.
func (Component) Install(ctx context.Context, env *components.Env) error {
	objs, err := objects()
	if err != nil {
		return err
	}
	return components.Apply(ctx, env.Client, Name, objs)
}

// Ready waits for the CRDs to be Established (Install already did; this covers a re-check).
func (Component) Ready(ctx context.Context, env *components.Env) error {
	objs, err := objects()
	if err != nil {
		return err
	}
	names := make([]string, len(objs))
	for i, o := range objs {
		names[i] = o.GetName()
	}
	return components.WaitEstablished(ctx, env.Client, names...)
}

// Smoke creates (server-side dry run, nothing is stored) a valid PyTorchJob, which must be
// accepted, and one with negative replicas, which must be rejected by the schema.
func (Component) Smoke(ctx context.Context, env *components.Env) error {
	job := func(replicas int32) *trainingv1.PyTorchJob {
		return &trainingv1.PyTorchJob{
			ObjectMeta: metav1.ObjectMeta{Name: "kfup-smoke", Namespace: "default"},
			Spec: trainingv1.PyTorchJobSpec{PyTorchReplicaSpecs: map[trainingv1.ReplicaType]*trainingv1.ReplicaSpec{
				trainingv1.PyTorchJobReplicaTypeWorker: {
					Replicas: ptr.To(replicas),
					Template: corev1PodTemplate(),
				},
			}},
		}
	}
	if err := env.Client.Create(ctx, job(1), client.DryRunAll); err != nil {
		return fmt.Errorf("a valid PyTorchJob was refused: %w", err)
	}
	err := env.Client.Create(ctx, job(-1), client.DryRunAll)
	if err == nil || !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "replicas") {
		return fmt.Errorf("a PyTorchJob with replicas -1 was not rejected by the schema (got %v)", err)
	}
	return nil
}

// Uninstall deletes the CRDs, and with them every training job in the cluster.
func (Component) Uninstall(ctx context.Context, env *components.Env) error {
	objs, err := objects()
	if err != nil {
		return err
	}
	return components.Delete(ctx, env.Client, objs)
}

func corev1PodTemplate() corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{
		Name: trainingv1.PyTorchJobDefaultContainerName, Image: "kfup-offline/busybox:1", Command: []string{"true"},
	}}}}
}
