package mpi_test

import (
	"path"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/kfup/kfup/components/training/engine"
	"github.com/kfup/kfup/components/training/frameworks/mpi"
)

// fileIn is the content container c sees at file, following its volume mounts to pod's
// ConfigMap volumes and their items into cm; false when no ConfigMap item is there.
func fileIn(pod *corev1.Pod, c corev1.Container, file string, cm *corev1.ConfigMap) (string, bool) {
	for _, m := range c.VolumeMounts {
		for _, v := range pod.Spec.Volumes {
			if v.Name != m.Name || v.ConfigMap == nil || v.ConfigMap.Name != cm.Name {
				continue
			}
			for _, it := range v.ConfigMap.Items {
				if path.Join(m.MountPath, it.Path) == file {
					data, ok := cm.Data[it.Key]
					return data, ok
				}
			}
		}
	}
	return "", false
}

// The launcher's init container waits for the hosts of the hostfile it reads
// (/etc/mpi/hostfile, the path upstream's kubectl-delivery and kfup's agent read) to run.
// A GPU launcher is itself a host of mpirun's hostfile, and its own pod is Pending until
// that init container ends: the init container must see the workers only, or the job
// never starts. mpirun itself still sees the launcher's line.
func TestDeliveryWaitsForWorkersOnly(t *testing.T) {
	workers := "pi-worker-0 slots=1\npi-worker-1 slots=1\n"
	cases := []struct {
		name, launcher string
		mpirunSees     string
	}{
		{name: "cpu launcher", launcher: cpuLauncher, mpirunSees: workers},
		{name: "gpu launcher",
			launcher:   `spec: {containers: [{name: mpi, image: i, resources: {limits: {nvidia.com/gpu: "1"}}}]}`,
			mpirunSees: "pi-launcher slots=1\n" + workers},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fw := mpi.New()
			c, err := engine.Desired(fw, job(t, "", tc.launcher, plainWorker), nil)
			if err != nil {
				t.Fatal(err)
			}
			cm, ok := c.Extras[0].(*corev1.ConfigMap)
			if !ok {
				t.Fatalf("first extra is a %T, want the ConfigMap", c.Extras[0])
			}
			launcher := c.Pods[0]
			if launcher.Name != "pi-launcher" || len(launcher.Spec.InitContainers) != 1 {
				t.Fatalf("first pod %s with init containers %v, want pi-launcher with kubectl-delivery", launcher.Name, launcher.Spec.InitContainers)
			}
			got, ok := fileIn(launcher, launcher.Spec.InitContainers[0], "/etc/mpi/hostfile", cm)
			if !ok || got != workers {
				t.Errorf("%s sees /etc/mpi/hostfile %q (present: %v), want the workers only %q", launcher.Spec.InitContainers[0].Name, got, ok, workers)
			}
			got, ok = fileIn(launcher, launcher.Spec.Containers[0], "/etc/mpi/hostfile", cm)
			if !ok || got != tc.mpirunSees {
				t.Errorf("mpirun sees /etc/mpi/hostfile %q (present: %v), want %q", got, ok, tc.mpirunSees)
			}
		})
	}
}
