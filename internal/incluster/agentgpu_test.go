package incluster

import (
	"context"
	"strings"
	"testing"

	"github.com/kfup/kfup/gpu"
	"github.com/kfup/kfup/internal/errs"
	"github.com/kfup/kfup/internal/testio"
)

func TestAgentDevicePluginUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--share", "0"}, "--share 0"},
		{[]string{"--mig-strategy", "auto"}, `unknown --mig-strategy "auto"`},
	} {
		var out, errOut testio.Buffer
		code := Main(context.Background(), append([]string{"agent", "device-plugin"}, tc.args...), &out, &errOut, nil)
		if code != 2 || !strings.Contains(errOut.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, errOut.String(), tc.want)
		}
	}
}

func TestSelectGPUs(t *testing.T) {
	inv := &gpu.Inventory{GPUs: []gpu.Device{{Index: 0, UUID: "GPU-a"}, {Index: 1, UUID: "GPU-b"}, {Index: 2, UUID: "GPU-c"}}}
	got, err := selectGPUs(inv, []int{2, 0})
	if err != nil || len(got.GPUs) != 2 || got.GPUs[0].UUID != "GPU-c" || got.GPUs[1].UUID != "GPU-a" || len(inv.GPUs) != 3 {
		t.Errorf("selectGPUs(2,0) = %+v, %v", got, err)
	}
	for _, only := range [][]int{{0, 0}, {3}} {
		if _, err := selectGPUs(inv, only); errs.KindOf(err) != errs.KindUsage {
			t.Errorf("selectGPUs(%v): %v, want a usage error", only, err)
		}
	}
}
