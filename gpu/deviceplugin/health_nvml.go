//go:build cgo

package deviceplugin

import (
	"context"
	"fmt"
	"slices"

	"github.com/NVIDIA/go-nvml/pkg/nvml"

	"github.com/kfup/kfup/gpu"
)

// ApplicationXIDs are XID errors that a crashing application causes, not a failing GPU
// (graphics engine exception, GPU memory page fault, ...); NVIDIA's plugin skips them too.
var ApplicationXIDs = []uint64{13, 31, 43, 45, 68, 109}

// allInstances is the GPU/compute instance ID of an event about the whole GPU.
const allInstances = 0xFFFFFFFF

// NVMLHealth watches NVML's XID critical error events for the GPUs of Inventory.
type NVMLHealth struct {
	Lib       nvml.Interface
	Inventory *gpu.Inventory
	// Skip lists XIDs that do not mark a device unhealthy; nil means ApplicationXIDs.
	Skip []uint64
}

// Run registers for XID events on every GPU and reports the GPU, or the MIG device an
// event names, until ctx ends.
func (h NVMLHealth) Run(ctx context.Context, unhealthy func(uuid string)) error {
	if ret := h.Lib.Init(); ret != nvml.SUCCESS {
		return fmt.Errorf("nvml init: %v", ret)
	}
	defer h.Lib.Shutdown()
	set, ret := h.Lib.EventSetCreate()
	if ret != nvml.SUCCESS {
		return fmt.Errorf("nvml event set: %v", ret)
	}
	defer set.Free()
	for _, d := range h.Inventory.GPUs {
		dev, ret := h.Lib.DeviceGetHandleByUUID(d.UUID)
		if ret != nvml.SUCCESS {
			return fmt.Errorf("nvml GPU %s: %v", d.UUID, ret)
		}
		supported, ret := dev.GetSupportedEventTypes()
		if ret != nvml.SUCCESS || supported&nvml.EventTypeXidCriticalError == 0 {
			unhealthy(d.UUID) // NVIDIA's plugin does the same: a GPU it cannot watch is not trusted
			continue
		}
		if ret := dev.RegisterEvents(nvml.EventTypeXidCriticalError, set); ret != nvml.SUCCESS {
			return fmt.Errorf("nvml register events on %s: %v", d.UUID, ret)
		}
	}
	skip := h.Skip
	if skip == nil {
		skip = ApplicationXIDs
	}
	for ctx.Err() == nil {
		ev, ret := set.Wait(1000)
		if ret == nvml.ERROR_TIMEOUT {
			continue
		}
		if ret != nvml.SUCCESS {
			return fmt.Errorf("nvml wait: %v", ret)
		}
		if ev.EventType != nvml.EventTypeXidCriticalError || slices.Contains(skip, ev.EventData) {
			continue
		}
		uuid, ret := ev.Device.GetUUID()
		if ret != nvml.SUCCESS {
			continue
		}
		unhealthy(h.eventDevice(uuid, ev.GpuInstanceId, ev.ComputeInstanceId))
	}
	return nil
}

// eventDevice is the MIG device of GPU uuid that an event's instance IDs name, or the GPU.
func (h NVMLHealth) eventDevice(uuid string, gi, ci uint32) string {
	if gi == allInstances || ci == allInstances {
		return uuid
	}
	for _, d := range h.Inventory.GPUs {
		if d.UUID != uuid {
			continue
		}
		for _, m := range d.MIGDevices {
			if uint32(m.GPUInstanceID) == gi && uint32(m.ComputeInstanceID) == ci {
				return m.UUID
			}
		}
	}
	return uuid
}

// DefaultHealth is the health source of a real node: NVML's XID events for inv's GPUs.
func DefaultHealth(inv *gpu.Inventory) HealthSource {
	return NVMLHealth{Lib: nvml.New(), Inventory: inv}
}
