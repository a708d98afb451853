package deviceplugin_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kfup/kfup/gpu"
	"github.com/kfup/kfup/gpu/deviceplugin"
)

func inventory(migs ...[]string) *gpu.Inventory {
	inv := &gpu.Inventory{DriverVersion: "550.54.15"}
	for i, profiles := range migs {
		d := gpu.Device{Index: i, Minor: i, UUID: "GPU-" + string(rune('a'+i)), MIGEnabled: profiles != nil}
		for j, p := range profiles {
			d.MIGDevices = append(d.MIGDevices, gpu.MIGDevice{Index: j, UUID: d.UUID + "-mig" + string(rune('0'+j)), Profile: p, GPUInstanceID: j})
		}
		inv.GPUs = append(inv.GPUs, d)
	}
	return inv
}

// summary is resource → unit IDs → CDI names, compactly.
func summary(res []deviceplugin.Resource) map[string][]string {
	out := map[string][]string{}
	for _, r := range res {
		for _, u := range r.Units {
			out[r.Name] = append(out[r.Name], u.ID+" "+strings.TrimPrefix(u.CDIName, "nvidia.com/gpu="))
		}
	}
	return out
}

func TestResources(t *testing.T) {
	for _, tc := range []struct {
		name string
		inv  *gpu.Inventory
		cfg  deviceplugin.Config
		want map[string][]string
	}{
		{"whole GPUs", inventory(nil, nil), deviceplugin.Config{},
			map[string][]string{"nvidia.com/gpu": {"GPU-a GPU-a", "GPU-b GPU-b"}}},
		{"time-slicing keeps the name", inventory(nil), deviceplugin.Config{Share: 3},
			map[string][]string{"nvidia.com/gpu": {"GPU-a::0 GPU-a", "GPU-a::1 GPU-a", "GPU-a::2 GPU-a"}}},
		{"time-slicing renamed", inventory(nil), deviceplugin.Config{Share: 2, RenameByDefault: true},
			map[string][]string{"nvidia.com/gpu.shared": {"GPU-a::0 GPU-a", "GPU-a::1 GPU-a"}}},
		{"share 1 is no sharing", inventory(nil), deviceplugin.Config{Share: 1, RenameByDefault: true},
			map[string][]string{"nvidia.com/gpu": {"GPU-a GPU-a"}}},
		{"single: MIG devices are nvidia.com/gpu", inventory([]string{"1g.5gb", "1g.5gb"}, []string{"1g.5gb"}), deviceplugin.Config{MIGStrategy: "single"},
			map[string][]string{"nvidia.com/gpu": {"GPU-a-mig0 GPU-a-mig0", "GPU-a-mig1 GPU-a-mig1", "GPU-b-mig0 GPU-b-mig0"}}},
		{"single without MIG anywhere is whole GPUs", inventory(nil), deviceplugin.Config{MIGStrategy: "single"},
			map[string][]string{"nvidia.com/gpu": {"GPU-a GPU-a"}}},
		{"mixed", inventory(nil, []string{"3g.20gb", "1g.5gb", "1g.5gb"}), deviceplugin.Config{MIGStrategy: "mixed"},
			map[string][]string{
				"nvidia.com/gpu":         {"GPU-a GPU-a"},
				"nvidia.com/mig-3g.20gb": {"GPU-b-mig0 GPU-b-mig0"},
				"nvidia.com/mig-1g.5gb":  {"GPU-b-mig1 GPU-b-mig1", "GPU-b-mig2 GPU-b-mig2"},
			}},
		{"mixed and shared", inventory([]string{"1g.5gb"}), deviceplugin.Config{MIGStrategy: "mixed", Share: 2, RenameByDefault: true},
			map[string][]string{"nvidia.com/mig-1g.5gb.shared": {"GPU-a-mig0::0 GPU-a-mig0", "GPU-a-mig0::1 GPU-a-mig0"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := deviceplugin.Resources(tc.inv, tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, summary(res)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestResourcesRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		inv  *gpu.Inventory
		cfg  deviceplugin.Config
		want string
	}{
		{"MIG on under strategy none", inventory(nil, []string{"1g.5gb"}), deviceplugin.Config{}, "GPU 1 has MIG on: use MIG strategy single or mixed, or turn MIG off with 'sudo nvidia-smi -i 1 -mig 0'"},
		{"single with two profiles", inventory([]string{"1g.5gb", "3g.20gb"}), deviceplugin.Config{MIGStrategy: "single"}, "found 1g.5gb and 3g.20gb"},
		{"single with a GPU without MIG", inventory([]string{"1g.5gb"}, nil), deviceplugin.Config{MIGStrategy: "single"}, "GPU 1 has it off: use strategy mixed"},
		{"unknown strategy", inventory(nil), deviceplugin.Config{MIGStrategy: "auto"}, `MIG strategy "auto"`},
		{"negative share", inventory(nil), deviceplugin.Config{Share: -1}, "share -1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := deviceplugin.Resources(tc.inv, tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestSocketName(t *testing.T) {
	if got := deviceplugin.SocketName("nvidia.com/mig-1g.5gb"); got != "kfup-nvidia.com_mig-1g.5gb.sock" {
		t.Errorf("got %q", got)
	}
}
