//go:build cgo && nvmlmock

package incluster

import (
	"context"

	"github.com/kfup/kfup/gpu"
	"github.com/kfup/kfup/gpu/deviceplugin"
	"github.com/kfup/kfup/gpu/nvmlmock"
)

// In builds with -tags nvmlmock (tests and the GPU-less e2e image only), `kfup agent
// device-plugin --mock-nvml=NAME` serves a mock server's GPUs; health events come from
// its (idle) event set.
func init() {
	mockGPUs = func(name string) gpuSource {
		return func(ctx context.Context) (*gpu.Inventory, deviceplugin.HealthSource, error) {
			s, err := nvmlmock.New(name)
			if err != nil {
				return nil, nil, err
			}
			nvmlmock.InstallEvents(s)
			inv, err := gpu.Discover(ctx, gpu.WithNVML(s))
			if err != nil {
				return nil, nil, err
			}
			return inv, deviceplugin.NVMLHealth{Lib: s, Inventory: inv}, nil
		}
	}
}
