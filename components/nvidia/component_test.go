package nvidia

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kfup/kfup/profiles"
)

func gpuProfile(t *testing.T, sets ...string) *profiles.Profile {
	t.Helper()
	p, err := profiles.Load("gpu")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sets {
		if err := p.Set(s); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func TestArgs(t *testing.T) {
	tests := []struct {
		name string
		sets []string
		want []string
	}{
		{name: "gpu profile", want: []string{"agent", "device-plugin", "--inventory=/etc/kfup/gpu/inventory.json",
			"--plugin-dir=/var/lib/kubelet/device-plugins", "--mig-strategy=none"}},
		{name: "shared and renamed, MIG mixed",
			sets: []string{"components.nvidia.timeSlicingReplicas=4", "components.nvidia.renameByDefault=true", "components.nvidia.migStrategy=mixed"},
			want: []string{"agent", "device-plugin", "--inventory=/etc/kfup/gpu/inventory.json",
				"--plugin-dir=/var/lib/kubelet/device-plugins", "--mig-strategy=mixed", "--share=4", "--rename-by-default=true"}},
		{name: "one replica is no sharing", sets: []string{"components.nvidia.timeSlicingReplicas=1"},
			want: []string{"agent", "device-plugin", "--inventory=/etc/kfup/gpu/inventory.json",
				"--plugin-dir=/var/lib/kubelet/device-plugins", "--mig-strategy=none"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, Args(SettingsFor(gpuProfile(t, tt.sets...)))); diff != "" {
				t.Errorf("args (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDaemonSet pins what the plugin's pods may do: GPU nodes only, the kubelet's plugin
// directory and the inventory, no privilege, no capability, no API token.
func TestDaemonSet(t *testing.T) {
	ds := DaemonSet("kfup.local/kfup-manager:abc", SettingsFor(gpuProfile(t)))
	if ds.Namespace != "kfup-system" || ds.Name != AppName {
		t.Errorf("DaemonSet %s/%s", ds.Namespace, ds.Name)
	}
	pod := ds.Spec.Template.Spec
	if diff := cmp.Diff(map[string]string{"nvidia.com/gpu.present": "true"}, pod.NodeSelector); diff != "" {
		t.Errorf("nodeSelector (-want +got):\n%s", diff)
	}
	if !tolerates(pod.Tolerations, "node-role.kubernetes.io/control-plane") || !tolerates(pod.Tolerations, "nvidia.com/gpu") {
		t.Errorf("tolerations %v: want the control plane's and nvidia.com/gpu", pod.Tolerations)
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Error("the plugin gets an API token; it talks to the kubelet only")
	}
	if pod.HostNetwork || pod.HostPID || pod.HostIPC {
		t.Error("host namespaces shared")
	}
	c := pod.Containers[0]
	if c.Image != "kfup.local/kfup-manager:abc" || c.ImagePullPolicy != corev1.PullNever {
		t.Errorf("image %s, pull %s", c.Image, c.ImagePullPolicy)
	}
	sc := c.SecurityContext
	if *sc.Privileged || *sc.AllowPrivilegeEscalation || !*sc.ReadOnlyRootFilesystem || *sc.RunAsUser != 0 ||
		!cmp.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) != 0 {
		t.Errorf("security context %+v", sc)
	}
	var vols []string
	for _, v := range pod.Volumes {
		vols = append(vols, v.Name+"="+v.HostPath.Path)
	}
	if diff := cmp.Diff([]string{"device-plugins=/var/lib/kubelet/device-plugins", "inventory=/etc/kfup/gpu"}, vols); diff != "" {
		t.Errorf("volumes (-want +got):\n%s", diff)
	}
	if !c.VolumeMounts[1].ReadOnly {
		t.Error("inventory mounted read-write")
	}
	// pushed to a registry: pulled from there
	reg := DaemonSet("registry.example.com/kfup/manager:abc", SettingsFor(gpuProfile(t, "components.manager.registry=registry.example.com/kfup/manager")))
	if p := reg.Spec.Template.Spec.Containers[0].ImagePullPolicy; p != corev1.PullIfNotPresent {
		t.Errorf("with a registry: pull policy %s", p)
	}
}

func tolerates(ts []corev1.Toleration, key string) bool {
	for _, t := range ts {
		if t.Key == key && t.Operator == corev1.TolerationOpExists {
			return true
		}
	}
	return false
}

func TestObjects(t *testing.T) {
	objs, err := Objects("img:1", SettingsFor(gpuProfile(t)))
	if err != nil || len(objs) != 1 || objs[0].GetKind() != "DaemonSet" || objs[0].GetAPIVersion() != "apps/v1" {
		t.Fatalf("objects %v, %v", objs, err)
	}
	objs, err = Objects("img:1", SettingsFor(gpuProfile(t, "components.nvidia.devicePlugin=false")))
	if err != nil || len(objs) != 0 {
		t.Errorf("devicePlugin=false: %v, %v; want nothing", objs, err)
	}
}

func TestNotReady(t *testing.T) {
	gpuNode := func(alloc string) corev1.Node {
		n := corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n", Labels: map[string]string{LabelGPUPresent: "true"}}}
		if alloc != "" {
			n.Status.Allocatable = corev1.ResourceList{corev1.ResourceName(alloc): resource.MustParse("8")}
		}
		return n
	}
	ds := func(desired, ready int32) *appsv1.DaemonSet {
		return &appsv1.DaemonSet{Status: appsv1.DaemonSetStatus{DesiredNumberScheduled: desired, NumberReady: ready, UpdatedNumberScheduled: desired}}
	}
	tests := []struct {
		name    string
		ds      *appsv1.DaemonSet
		nodes   []corev1.Node
		want    string
		wantErr string
	}{
		{name: "ready", ds: ds(1, 1), nodes: []corev1.Node{gpuNode("nvidia.com/gpu")}},
		{name: "ready, shared", ds: ds(1, 1), nodes: []corev1.Node{gpuNode("nvidia.com/gpu.shared")}},
		{name: "ready, MIG mixed", ds: ds(1, 1), nodes: []corev1.Node{gpuNode("nvidia.com/mig-1g.5gb")}},
		{name: "pod not ready", ds: ds(1, 0), nodes: []corev1.Node{gpuNode("")}, want: "0 of 1 pods ready"},
		{name: "not advertised yet", ds: ds(1, 1), nodes: []corev1.Node{gpuNode("")}, want: "no node advertises nvidia.com/gpu yet"},
		{name: "not scheduled", ds: ds(0, 0), nodes: []corev1.Node{gpuNode("")}, want: "DaemonSet not scheduled yet"},
		{name: "no GPU node: stop with the fix", ds: ds(0, 0), nodes: []corev1.Node{{}},
			want: "no node is labelled nvidia.com/gpu.present=true", wantErr: "kfup create --gpu"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := notReady(tt.ds, tt.nodes)
			if got != tt.want {
				t.Errorf("notReady = %q, want %q", got, tt.want)
			}
			if (tt.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}
