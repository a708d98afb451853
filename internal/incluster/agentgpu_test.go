package incluster

import (
	"context"
	"errors"
	"os"
	"path/filepath"
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

func TestInventoryGPUs(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	inv, health, err := inventoryGPUs(write("ok.json", `{"source":"nvidia-smi","driverVersion":"550.54.15","gpus":[{"index":1,"minor":1,"name":"Tesla T4","uuid":"GPU-b","memoryMiB":15360,"migEnabled":false}]}`))(t.Context())
	if err != nil || health != nil || len(inv.GPUs) != 1 || inv.GPUs[0].UUID != "GPU-b" {
		t.Errorf("inventory: %+v, health %v, %v", inv, health, err)
	}
	if _, _, err := inventoryGPUs(write("empty.json", `{"gpus":[]}`))(t.Context()); !errors.Is(err, gpu.ErrNoDevices) {
		t.Errorf("empty inventory: %v, want ErrNoDevices", err)
	}
	if _, _, err := inventoryGPUs(write("bad.json", `{`))(t.Context()); err == nil || !strings.Contains(err.Error(), "bad.json") {
		t.Errorf("bad inventory: %v, want the file named", err)
	}
	if _, _, err := inventoryGPUs(filepath.Join(dir, "missing.json"))(t.Context()); err == nil {
		t.Error("missing inventory: no error")
	}
}
