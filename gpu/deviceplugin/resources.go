// Package deviceplugin is kfup's NVIDIA device plugin: it advertises the GPUs of an
// Inventory to the kubelet over the device-plugin API (k8s.io/kubelet v1beta1), one
// resource per kind of unit, and allocates them as CDI device names, which containerd
// resolves with the spec from gpu/cdi. Time-slicing (Share replicas per GPU), MIG
// strategies single and mixed, and health from NVML XID events follow NVIDIA's own
// k8s-device-plugin, which the Go module proxy does not serve.
package deviceplugin

import (
	"fmt"
	"strings"

	"github.com/kfup/kfup/gpu"
	"github.com/kfup/kfup/gpu/cdi"
)

// ResourceGPU is the resource name of whole GPUs (and, under MIG strategy single, of MIG
// devices).
const ResourceGPU = "nvidia.com/gpu"

// MIG strategies, as NVIDIA's plugin names them.
const (
	MIGNone   = "none"
	MIGSingle = "single"
	MIGMixed  = "mixed"
)

// ValidMIGStrategy reports whether s is one of MIGNone, MIGSingle and MIGMixed.
func ValidMIGStrategy(s string) bool {
	return s == MIGNone || s == MIGSingle || s == MIGMixed
}

// Config says how GPUs become resources.
type Config struct {
	// MIGStrategy is MIGNone (no GPU may have MIG on), MIGSingle (every GPU has MIG on
	// with one profile; MIG devices are nvidia.com/gpu) or MIGMixed (MIG devices are
	// nvidia.com/mig-<profile>, the other GPUs nvidia.com/gpu).
	MIGStrategy string
	// Share is the number of schedulable replicas of each unit (time-slicing); 0 or 1 is
	// none.
	Share int
	// RenameByDefault appends ".shared" to the names of shared resources
	// (nvidia.com/gpu.shared), so pods see that they get a slice of a GPU.
	RenameByDefault bool
}

// Resource is one resource the plugin advertises and the units that make it up.
type Resource struct {
	Name  string
	Units []Unit
}

// Unit is one schedulable device as the kubelet sees it.
type Unit struct {
	// ID is the kubelet's device ID: the UUID, or <uuid>::<replica> when shared.
	ID string
	// UUID is the GPU's or MIG device's UUID; health events name it.
	UUID string
	// Parent is the physical GPU's UUID (UUID itself for a whole GPU).
	Parent string
	// CDIName is the qualified CDI device that Allocate returns for it.
	CDIName string
}

// Resources turns inv into the resources cfg asks for. A MIG setup the strategy cannot
// use is an error that says how to fix it.
func Resources(inv *gpu.Inventory, cfg Config) ([]Resource, error) {
	if cfg.Share < 0 {
		return nil, fmt.Errorf("share %d: must be 1 or more", cfg.Share)
	}
	var byName = map[string]*Resource{}
	var order []string
	add := func(name string, u Unit) {
		r := byName[name]
		if r == nil {
			r = &Resource{Name: name}
			byName[name] = r
			order = append(order, name)
		}
		r.Units = append(r.Units, u)
	}
	whole := func(d gpu.Device) Unit {
		return Unit{ID: d.UUID, UUID: d.UUID, Parent: d.UUID, CDIName: cdi.QualifiedName(d.UUID)}
	}
	mig := func(d gpu.Device, m gpu.MIGDevice) Unit {
		return Unit{ID: m.UUID, UUID: m.UUID, Parent: d.UUID, CDIName: cdi.QualifiedName(m.UUID)}
	}
	switch cfg.MIGStrategy {
	case "", MIGNone:
		for _, d := range inv.GPUs {
			if d.MIGEnabled {
				return nil, fmt.Errorf("GPU %d has MIG on: use MIG strategy single or mixed, or turn MIG off with 'sudo nvidia-smi -i %d -mig 0'", d.Index, d.Index)
			}
			add(ResourceGPU, whole(d))
		}
	case MIGSingle:
		profile := ""
		for _, d := range inv.GPUs {
			if !d.MIGEnabled {
				if anyMIG(inv) {
					return nil, fmt.Errorf("MIG strategy single needs MIG on every GPU, but GPU %d has it off: use strategy mixed, or 'sudo nvidia-smi -i %d -mig 1'", d.Index, d.Index)
				}
				add(ResourceGPU, whole(d))
				continue
			}
			for _, m := range d.MIGDevices {
				if profile != "" && m.Profile != profile {
					return nil, fmt.Errorf("MIG strategy single needs one MIG profile on every GPU, found %s and %s (GPU %d): use strategy mixed", profile, m.Profile, d.Index)
				}
				profile = m.Profile
				add(ResourceGPU, mig(d, m))
			}
		}
	case MIGMixed:
		for _, d := range inv.GPUs {
			if !d.MIGEnabled {
				add(ResourceGPU, whole(d))
				continue
			}
			for _, m := range d.MIGDevices {
				add("nvidia.com/mig-"+m.Profile, mig(d, m))
			}
		}
	default:
		return nil, fmt.Errorf("MIG strategy %q: use none, single or mixed", cfg.MIGStrategy)
	}
	var out []Resource
	for _, name := range order {
		r := *byName[name]
		if cfg.Share > 1 {
			r = share(r, cfg)
		}
		out = append(out, r)
	}
	return out, nil
}

// share replaces each unit of r by cfg.Share replicas <id>::<n> that allocate the same
// CDI device.
func share(r Resource, cfg Config) Resource {
	out := Resource{Name: r.Name}
	if cfg.RenameByDefault {
		out.Name += ".shared"
	}
	for _, u := range r.Units {
		for n := range cfg.Share {
			c := u
			c.ID = fmt.Sprintf("%s::%d", u.ID, n)
			out.Units = append(out.Units, c)
		}
	}
	return out
}

// SocketName is the file name of a resource's plugin socket in the kubelet's
// device-plugins directory: kfup-nvidia.com_mig-1g.5gb.sock.
func SocketName(resource string) string {
	return "kfup-" + strings.ReplaceAll(resource, "/", "_") + ".sock"
}

func anyMIG(inv *gpu.Inventory) bool {
	for _, d := range inv.GPUs {
		if d.MIGEnabled {
			return true
		}
	}
	return false
}
