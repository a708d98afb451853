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
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfup/kfup/components"
	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
)

// Name is the component name (the in-cluster side's engine.APIName too; package apis
// tests that the two sides agree).
const Name = "training"

// Component installs the training API: the host side of the training slice
// (components.API).
type Component struct{}

var _ components.API = Component{}

// Name returns "training".
func (Component) Name() string { return Name }

// DependsOn returns nothing: CRDs need nothing else.
func (Component) DependsOn() []string { return nil }

// Images returns none: the controllers run in the manager image.
func (Component) Images(*components.Env) ([]string, error) { return nil, nil }

// CRDs names the six job kinds' CRDs (Katib's and others' are kubeflow.org too: the
// component touches these and no other).
func (Component) CRDs() []string {
	var out []string
	for _, kind := range []string{trainingv1.TFJobKind, trainingv1.PyTorchJobKind, trainingv1.MPIJobKind,
		trainingv1.XGBoostJobKind, trainingv1.JAXJobKind, trainingv1.PaddleJobKind} {
		out = append(out, strings.ToLower(kind)+"s."+trainingv1.GroupVersion.Group) // the CRDs' plural
	}
	return out
}

// AddToScheme registers the kubeflow.org/v1 job types.
func (Component) AddToScheme(s *runtime.Scheme) error { return trainingv1.AddToScheme(s) }

// ManagerArgs are upstream's flags for components.training: --gang-scheduler-name and
// --namespace.
func (c Component) ManagerArgs(env *components.Env) []string {
	var args []string
	if g := env.Config().Components.Training.GangScheduler; g != "" {
		args = append(args, "--gang-scheduler-name="+g)
	}
	if ns := c.Namespaces(env); len(ns) > 0 {
		args = append(args, "--namespace="+strings.Join(ns, ","))
	}
	return args
}

// Namespaces returns components.training.namespaces.
func (Component) Namespaces(env *components.Env) []string {
	return env.Config().Components.Training.NamespaceList()
}

// Install applies the CRDs and waits until they are Established.
func (c Component) Install(ctx context.Context, env *components.Env) error {
	return components.CRDs(c.CRDs()).Install(ctx, env, Name)
}

// Ready waits for the CRDs to be Established (Install already did; this covers a re-check).
func (c Component) Ready(ctx context.Context, env *components.Env) error {
	return components.CRDs(c.CRDs()).Ready(ctx, env)
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
func (c Component) Uninstall(ctx context.Context, env *components.Env) error {
	return components.CRDs(c.CRDs()).Uninstall(ctx, env)
}

func corev1PodTemplate() corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{
		Name: trainingv1.PyTorchJobDefaultContainerName, Image: "kfup-offline/busybox:1", Command: []string{"true"},
	}}}}
}
