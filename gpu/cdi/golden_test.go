//go:build cgo

package cdi_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/server"

	"github.com/kfup/kfup/gpu"
	"github.com/kfup/kfup/gpu/cdi"
	"github.com/kfup/kfup/gpu/nvmlmock"
)

func discover(t *testing.T, s *server.Server) *gpu.Inventory {
	t.Helper()
	inv, err := gpu.Discover(t.Context(), gpu.WithNVML(s))
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

func mockServer(t *testing.T, name string) *server.Server {
	t.Helper()
	s, err := nvmlmock.New(name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func writeSpec(t *testing.T, inv *gpu.Inventory, opts ...cdi.Option) []byte {
	t.Helper()
	s, err := cdi.Spec(inv, opts...)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := cdi.Write(&b, s); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestSpecGolden(t *testing.T) {
	t.Run("dgxa100", func(t *testing.T) {
		r := newFakeRoot(t, "550.54.15", 0, 1, 2, 3, 4, 5, 6, 7)
		golden(t, "dgxa100.yaml", writeSpec(t, discover(t, mockServer(t, "dgxa100")), cdi.WithDriverRoot(r.dir)))
	})
	t.Run("dgxh100 GPUs 0 and 2", func(t *testing.T) {
		r := newFakeRoot(t, "550.54.15", 0, 2) // the unselected GPUs' nodes are not needed
		golden(t, "dgxh100-gpus-0-2.yaml", writeSpec(t, discover(t, mockServer(t, "dgxh100")), cdi.WithDriverRoot(r.dir), cdi.WithGPUs(0, 2)))
	})
	t.Run("dgxa100 with MIG on GPU 1", func(t *testing.T) {
		s := mockServer(t, "dgxa100")
		if err := nvmlmock.EnableMIG(s.Devices[1].(*server.Device), nvml.GPU_INSTANCE_PROFILE_3_SLICE, nvml.GPU_INSTANCE_PROFILE_1_SLICE); err != nil {
			t.Fatal(err)
		}
		r := newFakeRoot(t, "550.54.15", 0, 1)
		// the driver's capability files: gi<g>/access, gi<g>/ci<c>/access, minors as on a host
		for gi, minors := range [][2]int{{30, 31}, {39, 40}} {
			r.write(t, fmt.Sprintf("/proc/driver/nvidia/capabilities/gpu1/mig/gi%d/access", gi), fmt.Sprintf("DeviceFileMinor: %d\nDeviceFileMode: 292\nDeviceFileModify: 1\n", minors[0]))
			r.write(t, fmt.Sprintf("/proc/driver/nvidia/capabilities/gpu1/mig/gi%d/ci0/access", gi), fmt.Sprintf("DeviceFileMinor: %d\nDeviceFileMode: 292\nDeviceFileModify: 1\n", minors[1]))
		}
		got := writeSpec(t, discover(t, s), cdi.WithDriverRoot(r.dir), cdi.WithProcRoot(r.dir), cdi.WithGPUs(0, 1))
		golden(t, "dgxa100-mig.yaml", got)

		t.Run("without nvidia-caps", func(t *testing.T) {
			r := newFakeRoot(t, "550.54.15", 0, 1)
			_, err := cdi.Spec(discover(t, s), cdi.WithDriverRoot(r.dir), cdi.WithProcRoot(r.dir), cdi.WithGPUs(1))
			if err == nil || !strings.Contains(err.Error(), "MIG device 1:0") || !strings.Contains(err.Error(), "modprobe nvidia-caps") {
				t.Errorf("got %v, want MIG device 1:0 and the fix", err)
			}
		})
	})
}
