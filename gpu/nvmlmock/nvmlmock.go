//go:build cgo

// Package nvmlmock builds go-nvml's mock DGX servers for kfup's tests and for the
// device plugin's test-only --mock-nvml switch: stable UUIDs (the mocks draw random
// ones), MIG devices on top of the mock's GPU and compute instances (the mocks create
// instances but expose no MIG device handles), and an event set that tests feed XID
// errors into. Needs cgo, as go-nvml's mocks do.
package nvmlmock

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxa100"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxb200"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxh100"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxh200"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/server"
)

var servers = map[string]func() *server.Server{
	"dgxa100": dgxa100.New,
	"dgxh100": dgxh100.New,
	"dgxh200": dgxh200.New,
	"dgxb200": dgxb200.New,
}

// Names lists the mock servers New knows.
func Names() []string {
	var n []string
	for k := range servers {
		n = append(n, k)
	}
	slices.Sort(n)
	return n
}

// New returns the named mock server (see Names) with eight GPUs whose UUIDs are
// GPU-<name>-0000-0000-0000-00000000000<i>, so golden files stay stable.
func New(name string) (*server.Server, error) {
	mk, ok := servers[name]
	if !ok {
		return nil, fmt.Errorf("unknown mock server %q (known: %s)", name, strings.Join(Names(), ", "))
	}
	s := mk()
	for i, d := range s.Devices {
		d.(*server.Device).UUID = fmt.Sprintf("GPU-%s-0000-0000-0000-%012d", name, i)
	}
	return s, nil
}

// MIGUUID is the UUID EnableMIG gives the n-th MIG device of the GPU with uuid parent.
func MIGUUID(parent string, n int) string {
	return fmt.Sprintf("MIG-%s-%d", strings.TrimPrefix(parent, "GPU-"), n)
}

// EnableMIG turns MIG on for d and creates, for each GPU instance profile ID (e.g.
// nvml.GPU_INSTANCE_PROFILE_1_SLICE), one GPU instance with one compute instance that
// spans it, through the mock's own CreateGpuInstance and CreateComputeInstance. It then
// exposes them as MIG device handles, the way the driver does.
func EnableMIG(d *server.Device, giProfiles ...int) error {
	d.SetMigMode(nvml.DEVICE_MIG_ENABLE)
	var handles []nvml.Device
	gis := map[int]nvml.GpuInstance{}
	for _, p := range giProfiles {
		giInfo, ret := d.GetGpuInstanceProfileInfo(p)
		if ret != nvml.SUCCESS {
			return fmt.Errorf("gpu instance profile %d: %v", p, ret)
		}
		gi, ret := d.CreateGpuInstance(&giInfo)
		if ret != nvml.SUCCESS {
			return fmt.Errorf("create gpu instance %d: %v", p, ret)
		}
		mgi := gi.(*server.GpuInstance)
		ciInfo, err := spanningCIProfile(mgi, giInfo)
		if err != nil {
			return err
		}
		ci, ret := gi.CreateComputeInstance(&ciInfo)
		if ret != nvml.SUCCESS {
			return fmt.Errorf("create compute instance on gpu instance profile %d: %v", p, ret)
		}
		cis := []nvml.ComputeInstance{ci}
		mgi.GetComputeInstanceByIdFunc = func(id int) (nvml.ComputeInstance, nvml.Return) {
			for _, c := range cis {
				if int(c.(*server.ComputeInstance).Info.Id) == id {
					return c, nvml.SUCCESS
				}
			}
			return nil, nvml.ERROR_NOT_FOUND
		}
		giID := int(mgi.Info.Id)
		gis[giID] = gi
		ciID := int(ci.(*server.ComputeInstance).Info.Id)
		h := &mock.Device{}
		uuid := MIGUUID(d.UUID, len(handles))
		memMiB := giInfo.MemorySizeMB
		h.GetUUIDFunc = func() (string, nvml.Return) { return uuid, nvml.SUCCESS }
		h.GetGpuInstanceIdFunc = func() (int, nvml.Return) { return giID, nvml.SUCCESS }
		h.GetComputeInstanceIdFunc = func() (int, nvml.Return) { return ciID, nvml.SUCCESS }
		h.GetMemoryInfoFunc = func() (nvml.Memory, nvml.Return) { return nvml.Memory{Total: memMiB << 20}, nvml.SUCCESS }
		h.IsMigDeviceHandleFunc = func() (bool, nvml.Return) { return true, nvml.SUCCESS }
		h.GetDeviceHandleFromMigDeviceHandleFunc = func() (nvml.Device, nvml.Return) { return d, nvml.SUCCESS }
		handles = append(handles, h)
	}
	d.GetMaxMigDeviceCountFunc = func() (int, nvml.Return) { return 7, nvml.SUCCESS }
	d.GetMigDeviceHandleByIndexFunc = func(i int) (nvml.Device, nvml.Return) {
		if i < 0 || i >= len(handles) {
			return nil, nvml.ERROR_NOT_FOUND
		}
		return handles[i], nvml.SUCCESS
	}
	d.GetGpuInstanceByIdFunc = func(id int) (nvml.GpuInstance, nvml.Return) {
		if gi, ok := gis[id]; ok {
			return gi, nvml.SUCCESS
		}
		return nil, nvml.ERROR_NOT_FOUND
	}
	return nil
}

// spanningCIProfile is the compute instance profile of gi that uses all its slices.
func spanningCIProfile(gi *server.GpuInstance, giInfo nvml.GpuInstanceProfileInfo) (nvml.ComputeInstanceProfileInfo, error) {
	for _, ci := range gi.MIGProfiles.ComputeInstanceProfiles[int(giInfo.Id)] {
		if ci.SliceCount == giInfo.SliceCount {
			return ci, nil
		}
	}
	return nvml.ComputeInstanceProfileInfo{}, fmt.Errorf("no compute instance profile spans gpu instance profile %d", giInfo.Id)
}

// Events is an NVML event set on a mock server that tests feed events into.
type Events struct {
	ch chan nvml.EventData

	mu         sync.Mutex
	registered map[nvml.Device]uint64
}

// InstallEvents makes s's EventSetCreate return one shared event set, and its devices
// accept RegisterEvents for XID errors; Send then delivers events to whoever waits.
func InstallEvents(s *server.Server) *Events {
	e := &Events{ch: make(chan nvml.EventData, 16), registered: map[nvml.Device]uint64{}}
	set := &mock.EventSet{
		WaitFunc: func(timeoutMs uint32) (nvml.EventData, nvml.Return) {
			select {
			case ev := <-e.ch:
				return ev, nvml.SUCCESS
			case <-time.After(time.Duration(timeoutMs) * time.Millisecond):
				return nvml.EventData{}, nvml.ERROR_TIMEOUT
			}
		},
		FreeFunc: func() nvml.Return { return nvml.SUCCESS },
	}
	s.EventSetCreateFunc = func() (nvml.EventSet, nvml.Return) { return set, nvml.SUCCESS }
	for _, d := range s.Devices {
		md := d.(*server.Device)
		md.GetSupportedEventTypesFunc = func() (uint64, nvml.Return) {
			return nvml.EventTypeXidCriticalError | nvml.EventTypeSingleBitEccError | nvml.EventTypeDoubleBitEccError, nvml.SUCCESS
		}
		md.RegisterEventsFunc = func(types uint64, _ nvml.EventSet) nvml.Return {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.registered[d] |= types
			return nvml.SUCCESS
		}
	}
	return e
}

// Registered reports the event types registered for d.
func (e *Events) Registered(d nvml.Device) uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.registered[d]
}

// SendXID delivers an XID critical error on d (a GPU or MIG device handle); gi and ci are
// the MIG instance IDs (0xFFFFFFFF for "the whole GPU", as the driver sends).
func (e *Events) SendXID(d nvml.Device, xid uint64, gi, ci uint32) {
	e.ch <- nvml.EventData{Device: d, EventType: nvml.EventTypeXidCriticalError, EventData: xid, GpuInstanceId: gi, ComputeInstanceId: ci}
}
