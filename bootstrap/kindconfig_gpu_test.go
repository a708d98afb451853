//go:build cgo

package bootstrap

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/server"
	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	"sigs.k8s.io/yaml"

	"github.com/kfup/kfup/gpu"
	"github.com/kfup/kfup/gpu/cdi"
	"github.com/kfup/kfup/gpu/nvmlmock"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// The kind config kfup generates for --gpu, from go-nvml's mock DGX servers and a fake
// driver root, golden: `go test ./bootstrap -run KindConfigGPU -update` rewrites them
// after a deliberate change.
func TestKindConfigGPUGolden(t *testing.T) {
	tests := []struct {
		name   string
		server string
		mig    bool // MIG on GPU 1 (two GPU instances)
		gpus   []string
		base   string // the user's --config
	}{{
		name: "dgxa100-gpus-0-1", server: "dgxa100", gpus: []string{"0", "1"},
	}, {
		name: "dgxh100-all", server: "dgxh100",
	}, {
		name: "dgxa100-mig-user-config", server: "dgxa100", mig: true, gpus: []string{"1", "GPU-dgxa100-0000-0000-0000-000000000002"},
		base: `kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
nodes:
- role: control-plane
  labels: {team: ml}
- role: worker
  labels: {nvidia.com/gpu.product: my-name}
  extraMounts:
  - {hostPath: /data, containerPath: /data}
containerdConfigPatches:
- |
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "/etc/containerd/certs.d"
`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := nvmlmock.New(tt.server)
			if err != nil {
				t.Fatal(err)
			}
			root := fakeDriverRoot(t, "550.54.15", 0, 1, 2, 3, 4, 5, 6, 7)
			if tt.mig {
				if err := nvmlmock.EnableMIG(s.Devices[1].(*server.Device), nvml.GPU_INSTANCE_PROFILE_3_SLICE, nvml.GPU_INSTANCE_PROFILE_1_SLICE); err != nil {
					t.Fatal(err)
				}
				for gi, minors := range [][2]int{{30, 31}, {39, 40}} {
					writeFile(t, filepath.Join(root, fmt.Sprintf("/proc/driver/nvidia/capabilities/gpu1/mig/gi%d/access", gi)), fmt.Sprintf("DeviceFileMinor: %d\n", minors[0]))
					writeFile(t, filepath.Join(root, fmt.Sprintf("/proc/driver/nvidia/capabilities/gpu1/mig/gi%d/ci0/access", gi)), fmt.Sprintf("DeviceFileMinor: %d\n", minors[1]))
				}
			}
			inv, err := gpu.Discover(t.Context(), gpu.WithNVML(s))
			if err != nil {
				t.Fatal(err)
			}
			sel, err := gpu.Select(inv, tt.gpus)
			if err != nil {
				t.Fatal(err)
			}
			spec, err := cdi.Spec(sel, cdi.WithDriverRoot(root), cdi.WithProcRoot(root))
			if err != nil {
				t.Fatal(err)
			}
			state := "/home/u/.local/state/kfup/clusters/kfup/gpu"
			node := GPUNodeConfig(sel, spec, root, state+"/nvidia.yaml", state+"/inventory.json")
			var base *v1alpha4.Cluster
			if tt.base != "" {
				if base, err = ParseKindConfig("kind.yaml", []byte(tt.base)); err != nil {
					t.Fatal(err)
				}
			}
			cfg, err := BuildKindConfig(KindConfigOptions{Name: "kfup", Base: base, HTTPPort: 80, HTTPSPort: 443, GPU: &node})
			if err != nil {
				t.Fatal(err)
			}
			b, err := yaml.Marshal(cfg)
			if err != nil {
				t.Fatal(err)
			}
			// the fake driver root is the host's "/"
			got := strings.ReplaceAll(string(b), root, "")
			// kind reads it back as the same config
			if _, err := ParseKindConfig("generated", []byte(got)); err != nil {
				t.Fatalf("generated config does not parse: %v", err)
			}
			goldenFile(t, tt.name+".yaml", got)
		})
	}
}

func goldenFile(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "kindconfig-gpu", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./bootstrap -run KindConfigGPU -update to write it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", path, diff)
	}
}
