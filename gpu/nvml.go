//go:build cgo

package gpu

import (
	"context"
	"fmt"
	"math"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

func init() {
	nvmlDiscover = func(_ context.Context, o *options) (*Inventory, error) {
		lib, _ := o.nvml.(nvml.Interface)
		if lib == nil {
			lib = nvml.New()
		}
		return FromNVML(lib)
	}
}

// WithNVML makes Discover use lib (tests: one of go-nvml's mock servers) instead of the
// driver's libnvidia-ml. Only in cgo builds.
func WithNVML(lib nvml.Interface) Option {
	return optionFunc(func(o *options) { o.nvml = lib })
}

// FromNVML initialises lib, reads every device, and shuts lib down again. A library that
// does not load is ErrNoDriver, zero devices ErrNoDevices.
func FromNVML(lib nvml.Interface) (*Inventory, error) {
	if ret := lib.Init(); ret != nvml.SUCCESS {
		if ret == nvml.ERROR_LIBRARY_NOT_FOUND || ret == nvml.ERROR_DRIVER_NOT_LOADED {
			return nil, fmt.Errorf("%w: nvml: %v", ErrNoDriver, ret)
		}
		return nil, fmt.Errorf("nvml init: %v", ret)
	}
	defer lib.Shutdown()
	inv := &Inventory{Source: SourceNVML}
	var ret nvml.Return
	if inv.DriverVersion, ret = lib.SystemGetDriverVersion(); ret != nvml.SUCCESS {
		return nil, fmt.Errorf("nvml driver version: %v", ret)
	}
	if v, ret := lib.SystemGetCudaDriverVersion(); ret == nvml.SUCCESS {
		inv.CUDAVersion = fmt.Sprintf("%d.%d", v/1000, v%1000/10)
	}
	n, ret := lib.DeviceGetCount()
	if ret != nvml.SUCCESS {
		return nil, fmt.Errorf("nvml device count: %v", ret)
	}
	if n == 0 {
		return nil, fmt.Errorf("nvml: %w", ErrNoDevices)
	}
	for i := range n {
		h, ret := lib.DeviceGetHandleByIndex(i)
		if ret != nvml.SUCCESS {
			return nil, fmt.Errorf("nvml device %d: %v", i, ret)
		}
		d, err := nvmlDevice(i, h)
		if err != nil {
			return nil, fmt.Errorf("nvml device %d: %w", i, err)
		}
		inv.GPUs = append(inv.GPUs, d)
	}
	return inv, nil
}

func nvmlDevice(i int, h nvml.Device) (Device, error) {
	d := Device{Index: i, Minor: i}
	var ret nvml.Return
	if d.UUID, ret = h.GetUUID(); ret != nvml.SUCCESS {
		return d, fmt.Errorf("uuid: %v", ret)
	}
	if d.Name, ret = h.GetName(); ret != nvml.SUCCESS {
		return d, fmt.Errorf("name: %v", ret)
	}
	if m, ret := h.GetMinorNumber(); ret == nvml.SUCCESS {
		d.Minor = m
	}
	if mem, ret := h.GetMemoryInfo(); ret == nvml.SUCCESS {
		d.MemoryMiB = mem.Total / (1 << 20)
	}
	if pci, ret := h.GetPciInfo(); ret == nvml.SUCCESS {
		d.PCIBusID = cString(pci.BusId[:])
	}
	if major, minor, ret := h.GetCudaComputeCapability(); ret == nvml.SUCCESS {
		d.ComputeCapability = fmt.Sprintf("%d.%d", major, minor)
	}
	// GPUs without MIG answer ERROR_NOT_SUPPORTED; that is "off", not a failure
	if cur, _, ret := h.GetMigMode(); ret == nvml.SUCCESS && cur == nvml.DEVICE_MIG_ENABLE {
		d.MIGEnabled = true
		migs, err := nvmlMIGDevices(h)
		if err != nil {
			return d, fmt.Errorf("mig devices: %w", err)
		}
		d.MIGDevices = migs
	}
	return d, nil
}

// nvmlMIGDevices walks the MIG device handles of parent, as the driver numbers them, and
// names each by its GPU and compute instance profiles.
func nvmlMIGDevices(parent nvml.Device) ([]MIGDevice, error) {
	slots, ret := parent.GetMaxMigDeviceCount()
	if ret != nvml.SUCCESS {
		return nil, fmt.Errorf("max count: %v", ret)
	}
	mem, ret := parent.GetMemoryInfo()
	if ret != nvml.SUCCESS {
		return nil, fmt.Errorf("parent memory: %v", ret)
	}
	var migs []MIGDevice
	for i := range slots {
		h, ret := parent.GetMigDeviceHandleByIndex(i)
		if ret == nvml.ERROR_NOT_FOUND || ret == nvml.ERROR_INVALID_ARGUMENT {
			continue // an unused slot
		}
		if ret != nvml.SUCCESS {
			return nil, fmt.Errorf("handle %d: %v", i, ret)
		}
		m, err := nvmlMIGDevice(parent, h, mem.Total)
		if err != nil {
			return nil, fmt.Errorf("mig device %d: %w", i, err)
		}
		m.Index = len(migs)
		migs = append(migs, m)
	}
	return migs, nil
}

func nvmlMIGDevice(parent, h nvml.Device, parentMemBytes uint64) (MIGDevice, error) {
	var m MIGDevice
	var ret nvml.Return
	if m.UUID, ret = h.GetUUID(); ret != nvml.SUCCESS {
		return m, fmt.Errorf("uuid: %v", ret)
	}
	if m.GPUInstanceID, ret = h.GetGpuInstanceId(); ret != nvml.SUCCESS {
		return m, fmt.Errorf("gpu instance id: %v", ret)
	}
	if m.ComputeInstanceID, ret = h.GetComputeInstanceId(); ret != nvml.SUCCESS {
		return m, fmt.Errorf("compute instance id: %v", ret)
	}
	if mem, ret := h.GetMemoryInfo(); ret == nvml.SUCCESS {
		m.MemoryMiB = mem.Total / (1 << 20)
	}
	gi, ret := parent.GetGpuInstanceById(m.GPUInstanceID)
	if ret != nvml.SUCCESS {
		return m, fmt.Errorf("gpu instance %d: %v", m.GPUInstanceID, ret)
	}
	giInfo, ret := gi.GetInfo()
	if ret != nvml.SUCCESS {
		return m, fmt.Errorf("gpu instance %d info: %v", m.GPUInstanceID, ret)
	}
	giProfile, ret := parent.GetGpuInstanceProfileInfo(int(giInfo.ProfileId))
	if ret != nvml.SUCCESS {
		return m, fmt.Errorf("gpu instance profile %d: %v", giInfo.ProfileId, ret)
	}
	ci, ret := gi.GetComputeInstanceById(m.ComputeInstanceID)
	if ret != nvml.SUCCESS {
		return m, fmt.Errorf("compute instance %d: %v", m.ComputeInstanceID, ret)
	}
	ciInfo, ret := ci.GetInfo()
	if ret != nvml.SUCCESS {
		return m, fmt.Errorf("compute instance %d info: %v", m.ComputeInstanceID, ret)
	}
	ciProfile, ret := gi.GetComputeInstanceProfileInfo(int(ciInfo.ProfileId), nvml.COMPUTE_INSTANCE_ENGINE_PROFILE_SHARED)
	if ret != nvml.SUCCESS {
		return m, fmt.Errorf("compute instance profile %d: %v", ciInfo.ProfileId, ret)
	}
	if m.MemoryMiB == 0 {
		m.MemoryMiB = giProfile.MemorySizeMB
	}
	m.Profile = MIGProfileName(int(ciProfile.SliceCount), int(giProfile.SliceCount), migMemoryGB(parentMemBytes, giProfile.MemorySizeMB))
	return m, nil
}

// MIGProfileName names a MIG partition as nvidia-smi and NVIDIA's device plugin do:
// "<g>g.<mem>gb" when the compute instance spans its GPU instance, else
// "<c>c.<g>g.<mem>gb".
func MIGProfileName(ciSlices, giSlices int, memGB uint64) string {
	if ciSlices == giSlices {
		return fmt.Sprintf("%dg.%dgb", giSlices, memGB)
	}
	return fmt.Sprintf("%dc.%dg.%dgb", ciSlices, giSlices, memGB)
}

// migMemoryGB is the "5gb" of "1g.5gb": the instance's share of the parent's memory,
// rounded up to eighths, times the parent's memory in whole GiB. NVML's MemorySizeMB
// (4864 for a 1g on a 40 GB A100) is not itself a round number.
func migMemoryGB(parentBytes, instanceMiB uint64) uint64 {
	const gib = 1 << 30
	share := float64(instanceMiB<<20) / float64(parentBytes)
	share = math.Ceil(share*8) / 8
	return uint64(math.Round(share * float64((parentBytes+gib-1)/gib)))
}

// cString reads a NUL-terminated C char array.
func cString[T int8 | uint8](b []T) string {
	s := make([]byte, 0, len(b))
	for _, c := range b {
		if c == 0 {
			break
		}
		s = append(s, byte(c))
	}
	return string(s)
}
