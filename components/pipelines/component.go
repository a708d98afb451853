// Package pipelines is the install component of Kubeflow Pipelines v2 on kfup: KFP's
// Kubernetes-native pipelines.kubeflow.org/v2beta1 Pipeline and PipelineVersion, and
// kfup's pipelines.kfup.dev/v1alpha1 PipelineRun and RecurringRun. It applies the CRDs and,
// for the pvc artifact store, the manager's artifacts volume; the run controller and the
// store's server run in kfup's manager: no Argo, no MySQL, no object-store server, no ML
// Metadata.
package pipelines

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfup/kfup/components"
	"github.com/kfup/kfup/components/manager"
	pipelinesv1alpha1 "github.com/kfup/kfup/components/pipelines/api/v1alpha1"
	pipelinesv2beta1 "github.com/kfup/kfup/components/pipelines/api/v2beta1"
)

// Name is the component name (the in-cluster side's too).
const Name = "pipelines"

// labelComponent marks the objects this component made (the artifacts claim).
const labelComponent = "kfup.dev/component"

// Component installs the pipelines API: the host side of the pipelines slice.
type Component struct{}

var (
	_ components.API              = Component{}
	_ components.ManagerServer    = Component{}
	_ components.ManagerVolumer   = Component{}
	_ components.ManagerWebhooker = Component{}
)

// Name returns "pipelines".
func (Component) Name() string { return Name }

// DependsOn returns nothing: CRDs need nothing else.
func (Component) DependsOn() []string { return nil }

// Images returns none: task pods run the user's images with kfup's launcher, copied in
// from the manager's image.
func (Component) Images(*components.Env) ([]string, error) { return nil, nil }

// CRDs names the four CRDs.
func (Component) CRDs() []string {
	return []string{
		"pipelines.pipelines.kubeflow.org", "pipelineversions.pipelines.kubeflow.org",
		"pipelineruns.pipelines.kfup.dev", "recurringruns.pipelines.kfup.dev",
	}
}

// AddToScheme registers both groups.
func (Component) AddToScheme(s *runtime.Scheme) error {
	if err := pipelinesv2beta1.AddToScheme(s); err != nil {
		return err
	}
	return pipelinesv1alpha1.AddToScheme(s)
}

// ManagerArgs are --pipelines-namespace and --pipelines-artifact-store.
func (c Component) ManagerArgs(env *components.Env) []string {
	var args []string
	if ns := c.Namespaces(env); len(ns) > 0 {
		args = append(args, "--pipelines-namespace="+strings.Join(ns, ","))
	}
	cfg := env.Config().Components.Pipelines
	if cfg.ArtifactStore == "s3" {
		args = append(args, "--pipelines-artifact-store=s3")
	}
	switch cfg.Launcher {
	case "imageVolume":
		args = append(args, "--pipelines-launcher=image-volume")
	case "initContainer":
		args = append(args, "--pipelines-launcher=init-container")
	}
	return args
}

// ManagerServices is the pvc artifact store, which the manager serves to task pods.
func (Component) ManagerServices(env *components.Env) []components.ManagerService {
	if env.Config().Components.Pipelines.ArtifactStore == "s3" {
		return nil
	}
	return []components.ManagerService{{Name: pipelinesv1alpha1.ArtifactService, PortName: "artifacts", Port: pipelinesv1alpha1.ArtifactPort}}
}

// ManagerVolumes is the pvc artifact store's claim.
func (Component) ManagerVolumes(env *components.Env) []components.ManagerVolume {
	if env.Config().Components.Pipelines.ArtifactStore == "s3" {
		return nil
	}
	return []components.ManagerVolume{{Name: "artifacts", Claim: pipelinesv1alpha1.ArtifactClaim, MountPath: pipelinesv1alpha1.ArtifactRoot}}
}

// ManagerWebhooks are the admission checks of runs, schedules and versions: their IR
// parsed, validated and planned at submit, so a bad pipeline is never created.
func (Component) ManagerWebhooks(*components.Env) []components.ManagerWebhook {
	return []components.ManagerWebhook{
		{Name: "validate.pipelineruns.pipelines.kfup.dev", Path: pipelinesv1alpha1.WebhookPathRun,
			Group: pipelinesv1alpha1.GroupVersion.Group, Version: pipelinesv1alpha1.GroupVersion.Version, Resources: []string{"pipelineruns"},
			Probe: func(ns string) client.Object { return SmokeRun(ns, "kfup.local/kfup-probe:1", "probe") }},
		{Name: "validate.recurringruns.pipelines.kfup.dev", Path: pipelinesv1alpha1.WebhookPathRecurringRun,
			Group: pipelinesv1alpha1.GroupVersion.Group, Version: pipelinesv1alpha1.GroupVersion.Version, Resources: []string{"recurringruns"}},
		{Name: "validate.pipelineversions.pipelines.kubeflow.org", Path: pipelinesv1alpha1.WebhookPathVersion,
			Group: pipelinesv2beta1.GroupVersion.Group, Version: pipelinesv2beta1.GroupVersion.Version, Resources: []string{"pipelineversions"}},
	}
}

// Namespaces returns components.pipelines.namespaces.
func (Component) Namespaces(env *components.Env) []string {
	return env.Config().Components.Pipelines.NamespaceList()
}

// Install applies the CRDs, waits until they are Established, and makes the artifacts
// claim (pvc store).
func (c Component) Install(ctx context.Context, env *components.Env) error {
	if err := components.CRDs(c.CRDs()).Install(ctx, env, Name); err != nil {
		return err
	}
	cfg := env.Config().Components.Pipelines
	if cfg.ArtifactStore == "s3" {
		return nil
	}
	return ensureClaim(ctx, env.Client, cfg.ArtifactVolumeSize, cfg.ArtifactStorageClass)
}

// ArtifactClaim is the pvc store's claim, as Install creates it.
func ArtifactClaim(size, storageClass string) (*corev1.PersistentVolumeClaim, error) {
	q, err := resource.ParseQuantity(size)
	if err != nil {
		return nil, fmt.Errorf("components.pipelines.artifactVolumeSize %q: %w", size, err)
	}
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: pipelinesv1alpha1.ArtifactClaim, Namespace: manager.Namespace, Labels: map[string]string{labelComponent: Name}},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: q}},
		},
	}
	if storageClass != "" {
		pvc.Spec.StorageClassName = &storageClass
	}
	return pvc, nil
}

// ensureClaim creates the claim unless it exists; one kfup did not make is refused, and
// an existing one is never resized or replaced (it holds the artifacts).
func ensureClaim(ctx context.Context, c client.Client, size, storageClass string) error {
	want, err := ArtifactClaim(size, storageClass)
	if err != nil {
		return err
	}
	if err := manager.EnsureNamespaces(ctx, c, []string{manager.Namespace}); err != nil {
		return err
	}
	got := &corev1.PersistentVolumeClaim{}
	err = c.Get(ctx, client.ObjectKeyFromObject(want), got)
	switch {
	case apierrors.IsNotFound(err):
		if err := c.Create(ctx, want); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create the artifacts volume claim %s/%s: %w", want.Namespace, want.Name, err)
		}
		return nil
	case err != nil:
		return err
	case got.Labels[labelComponent] != Name:
		return fmt.Errorf("PersistentVolumeClaim %s/%s exists and is not kfup's: kfup keeps pipeline artifacts there; delete or rename it, or set components.pipelines.artifactStore=s3", want.Namespace, want.Name)
	}
	return nil
}

// Ready waits for the CRDs to be Established.
func (c Component) Ready(ctx context.Context, env *components.Env) error {
	return components.CRDs(c.CRDs()).Ready(ctx, env)
}

// Uninstall deletes the CRDs, and with them every pipeline, version and run. The
// artifacts claim stays (it holds the artifacts): `kfup delete` removes it with the
// cluster, or delete it by hand.
func (c Component) Uninstall(ctx context.Context, env *components.Env) error {
	return components.CRDs(c.CRDs()).Uninstall(ctx, env)
}
