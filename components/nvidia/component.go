// Package nvidia is the install component of GPU support: kfup's own device plugin (kfup
// agent device-plugin, from the manager's image) as a DaemonSet on the nodes that kfup
// create --gpu labelled nvidia.com/gpu.present=true. It advertises nvidia.com/gpu from
// the inventory kfup wrote into the node and allocates through the CDI spec beside it;
// containerd injects the devices, so no RuntimeClass is needed (docs/gpu.md).
package nvidia

import (
	"context"
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfup/kfup/components"
	"github.com/kfup/kfup/components/manager"
	"github.com/kfup/kfup/profiles"
)

// Names of the component and of what it installs.
const (
	Name = profiles.NVIDIA
	// AppName names the DaemonSet and labels its pods.
	AppName = "kfup-nvidia-device-plugin"
	// Namespace is the manager's: the plugin runs from its image.
	Namespace = manager.Namespace
)

// Node paths the plugin uses.
const (
	// PluginDir is the kubelet's device-plugins directory (kubelet.sock, plugin sockets).
	PluginDir = "/var/lib/kubelet/device-plugins"
	// InventoryDir holds the inventory kfup create --gpu mounted into the GPU node
	// (bootstrap.NodeGPUInventory).
	InventoryDir  = "/etc/kfup/gpu"
	InventoryFile = InventoryDir + "/inventory.json"
)

// LabelGPUPresent selects the GPU nodes (GPU Feature Discovery's label, set by kfup
// create --gpu).
const LabelGPUPresent = "nvidia.com/gpu.present"

// Settings configure the device plugin.
type Settings struct {
	// DevicePlugin installs it; false installs nothing.
	DevicePlugin bool
	// Share is the time-slicing replicas of each GPU (0 or 1: none).
	Share int
	// RenameByDefault advertises shared GPUs as <resource>.shared.
	RenameByDefault bool
	// MIGStrategy is none, single or mixed.
	MIGStrategy string
	// PullPolicy is the manager image's: Never when kfup loads it into the nodes.
	PullPolicy corev1.PullPolicy
}

// SettingsFor returns the settings of profile p's components.nvidia.
func SettingsFor(p *profiles.Profile) Settings {
	n := p.Components.NVIDIA
	s := Settings{DevicePlugin: n.DevicePlugin, Share: n.TimeSlicingReplicas, RenameByDefault: n.RenameByDefault,
		MIGStrategy: n.MIGStrategy, PullPolicy: manager.PullPolicy(p.Components.Manager.Registry)}
	if s.MIGStrategy == "" {
		s.MIGStrategy = profiles.MIGNone
	}
	return s
}

// Component installs kfup's NVIDIA device plugin.
type Component struct {
	// Binary is the kfup binary of the manager image (manager.ResolveBinary when empty).
	Binary string
}

// Name returns "nvidia".
func (Component) Name() string { return Name }

// DependsOn returns what profiles.Requires says nvidia needs: the manager, whose image
// and namespace the plugin uses.
func (Component) DependsOn() []string { return profiles.Requires()[profiles.NVIDIA] }

// image is the manager image as the manager component runs it.
func (c Component) image(env *components.Env) (string, error) {
	return manager.RunningImage(env, c.Binary)
}

// Images returns the manager image, which the plugin runs.
func (c Component) Images(env *components.Env) ([]string, error) {
	img, err := c.image(env)
	if err != nil {
		return nil, err
	}
	return []string{img}, nil
}

// Args are the device plugin's arguments for settings s.
func Args(s Settings) []string {
	args := []string{"agent", "device-plugin", "--inventory=" + InventoryFile, "--plugin-dir=" + PluginDir,
		"--mig-strategy=" + s.MIGStrategy}
	if s.Share > 1 {
		args = append(args, fmt.Sprintf("--share=%d", s.Share), fmt.Sprintf("--rename-by-default=%t", s.RenameByDefault))
	}
	return args
}

// DaemonSet returns the device plugin's DaemonSet running image with settings s. The
// plugin serves the inventory kfup found on the host, so it opens no device and loads
// no driver library: it runs without privileges, as root only to own its socket in the
// kubelet's root-owned directory (docs/security.md).
func DaemonSet(image string, s Settings) *appsv1.DaemonSet {
	labels := map[string]string{"app.kubernetes.io/name": AppName}
	hostPath := func(name, path string, t corev1.HostPathType) corev1.Volume {
		return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: path, Type: ptr.To(t)}}}
	}
	return &appsv1.DaemonSet{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "DaemonSet"},
		ObjectMeta: metav1.ObjectMeta{Name: AppName, Namespace: Namespace, Labels: labels},
		Spec: appsv1.DaemonSetSpec{
			Selector:       &metav1.LabelSelector{MatchLabels: labels},
			UpdateStrategy: appsv1.DaemonSetUpdateStrategy{Type: appsv1.RollingUpdateDaemonSetStrategyType},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: map[string]string{"sidecar.istio.io/inject": "false"}},
				Spec: corev1.PodSpec{
					NodeSelector: map[string]string{LabelGPUPresent: "true"},
					// on GPU nodes whatever their taints: the control plane of a one-node
					// kind cluster, nodes tainted nvidia.com/gpu
					Tolerations: []corev1.Toleration{
						{Key: "nvidia.com/gpu", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
						{Key: "node-role.kubernetes.io/control-plane", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
						{Key: "CriticalAddonsOnly", Operator: corev1.TolerationOpExists},
					},
					PriorityClassName:             "system-node-critical",
					AutomountServiceAccountToken:  ptr.To(false), // it talks to the kubelet only
					TerminationGracePeriodSeconds: ptr.To[int64](10),
					SecurityContext: &corev1.PodSecurityContext{
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					Containers: []corev1.Container{{
						Name:            "device-plugin",
						Image:           image,
						ImagePullPolicy: s.PullPolicy,
						Args:            Args(s),
						Resources: corev1.ResourceRequirements{
							Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("16Mi")},
							Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")},
						},
						SecurityContext: &corev1.SecurityContext{
							// root: kubelet.sock and the plugin sockets live in a directory
							// only root may write; no capability is needed for that
							RunAsUser: ptr.To[int64](0), RunAsNonRoot: ptr.To(false),
							Privileged: ptr.To(false), AllowPrivilegeEscalation: ptr.To(false),
							ReadOnlyRootFilesystem: ptr.To(true),
							Capabilities:           &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
						},
						VolumeMounts: []corev1.VolumeMount{
							{Name: "device-plugins", MountPath: PluginDir},
							{Name: "inventory", MountPath: InventoryDir, ReadOnly: true},
						},
					}},
					Volumes: []corev1.Volume{
						hostPath("device-plugins", PluginDir, corev1.HostPathDirectory),
						hostPath("inventory", InventoryDir, corev1.HostPathDirectory),
					},
				},
			},
		},
	}
}

// Objects returns what the component applies: the DaemonSet, or nothing when the
// profile turns the device plugin off.
func Objects(image string, s Settings) ([]*unstructured.Unstructured, error) {
	if !s.DevicePlugin {
		return nil, nil
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	return components.ToUnstructured(scheme, DaemonSet(image, s))
}

// Install applies the device plugin's DaemonSet (the manager loaded its image).
func (c Component) Install(ctx context.Context, env *components.Env) error {
	img, err := c.image(env)
	if err != nil {
		return err
	}
	objs, err := Objects(img, SettingsFor(env.Config()))
	if err != nil {
		return err
	}
	return components.Apply(ctx, env.Client, Name, objs)
}

// Ready waits until the plugin's pods are Ready on every GPU node and a node advertises
// an NVIDIA resource (nvidia.com/gpu, .shared or mig-*). A cluster without GPU nodes is
// reported as such, with the fix.
func (c Component) Ready(ctx context.Context, env *components.Env) error {
	s := SettingsFor(env.Config())
	if !s.DevicePlugin {
		return nil
	}
	var why string
	err := wait.PollUntilContextCancel(ctx, 2*time.Second, true, func(ctx context.Context) (bool, error) {
		ds := &appsv1.DaemonSet{}
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: Namespace, Name: AppName}, ds); err != nil {
			why = err.Error()
			return false, client.IgnoreNotFound(err)
		}
		nodes := &corev1.NodeList{}
		if err := env.Client.List(ctx, nodes); err != nil {
			return false, err
		}
		var err error
		why, err = notReady(ds, nodes.Items)
		return why == "", err
	})
	if err != nil {
		return fmt.Errorf("nvidia device plugin: %s: %w", why, err)
	}
	return nil
}

// notReady says why the plugin is not ready yet ("" when it is); an error means waiting
// will not help.
func notReady(ds *appsv1.DaemonSet, nodes []corev1.Node) (string, error) {
	gpuNodes := 0
	advertised := false
	for _, n := range nodes {
		if n.Labels[LabelGPUPresent] == "true" {
			gpuNodes++
		}
		if len(Advertised(&n)) > 0 {
			advertised = true
		}
	}
	st := ds.Status
	switch {
	case gpuNodes == 0:
		return "no node is labelled " + LabelGPUPresent + "=true",
			fmt.Errorf("this cluster has no GPU node: create it with 'kfup create --gpu' (GPUs are wired into the node at creation), or disable the component with --set components.nvidia.enabled=false")
	case ds.Generation != st.ObservedGeneration || st.DesiredNumberScheduled == 0:
		return "DaemonSet not scheduled yet", nil
	case st.NumberReady < st.DesiredNumberScheduled || st.UpdatedNumberScheduled < st.DesiredNumberScheduled:
		return fmt.Sprintf("%d of %d pods ready", st.NumberReady, st.DesiredNumberScheduled), nil
	case !advertised:
		return "no node advertises nvidia.com/gpu yet", nil
	}
	return "", nil
}

// Advertised returns node n's allocatable NVIDIA resources with a non-zero quantity,
// e.g. {"nvidia.com/gpu": 8}.
func Advertised(n *corev1.Node) map[string]int64 {
	out := map[string]int64{}
	for name, q := range n.Status.Allocatable {
		if strings.HasPrefix(string(name), "nvidia.com/") && !q.IsZero() {
			out[string(name)] = q.Value()
		}
	}
	return out
}

// Smoke checks what Ready checks: pods scheduled onto a GPU need only the advertised
// resource. kfup test --gpu runs GPU work on it (RunGPUSmoke).
func (c Component) Smoke(ctx context.Context, env *components.Env) error { return c.Ready(ctx, env) }

// Uninstall deletes the DaemonSet; the plugin's sockets go with its pods, and the
// kubelet stops advertising nvidia.com/gpu.
func (c Component) Uninstall(ctx context.Context, env *components.Env) error {
	s := SettingsFor(env.Config())
	s.DevicePlugin = true // delete it even if the profile now turns it off
	objs, err := Objects(manager.ImageRepo+":unused", s)
	if err != nil {
		return err
	}
	return components.Delete(ctx, env.Client, objs)
}
