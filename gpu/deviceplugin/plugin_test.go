//go:build cgo

package deviceplugin_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/server"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	pluginapi "k8s.io/kubelet/pkg/apis/deviceplugin/v1beta1"

	"github.com/kfup/kfup/gpu"
	"github.com/kfup/kfup/gpu/deviceplugin"
	"github.com/kfup/kfup/gpu/nvmlmock"
)

// fakeKubelet is the kubelet's Registration service on a temp unix socket.
type fakeKubelet struct {
	pluginapi.UnimplementedRegistrationServer
	dir  string
	reqs chan *pluginapi.RegisterRequest
}

func startKubelet(t *testing.T) *fakeKubelet {
	t.Helper()
	dir, err := os.MkdirTemp("", "dp") // short: unix socket paths are limited to 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	k := &fakeKubelet{dir: dir, reqs: make(chan *pluginapi.RegisterRequest, 16)}
	lis, err := net.Listen("unix", filepath.Join(dir, "kubelet.sock"))
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	pluginapi.RegisterRegistrationServer(srv, k)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	return k
}

func (k *fakeKubelet) Register(_ context.Context, r *pluginapi.RegisterRequest) (*pluginapi.Empty, error) {
	k.reqs <- r
	return &pluginapi.Empty{}, nil
}

// registrations waits for n registrations and returns them by resource name.
func (k *fakeKubelet) registrations(t *testing.T, n int) map[string]*pluginapi.RegisterRequest {
	t.Helper()
	got := map[string]*pluginapi.RegisterRequest{}
	for len(got) < n {
		select {
		case r := <-k.reqs:
			got[r.ResourceName] = r
		case <-time.After(10 * time.Second):
			t.Fatalf("%d of %d registrations after 10s: %v", len(got), n, got)
		}
	}
	return got
}

// client dials the plugin that registered r.
func (k *fakeKubelet) client(t *testing.T, r *pluginapi.RegisterRequest) pluginapi.DevicePluginClient {
	t.Helper()
	if r.Version != pluginapi.Version {
		t.Errorf("registered version %q, want %q", r.Version, pluginapi.Version)
	}
	conn, err := grpc.NewClient("unix://"+filepath.Join(k.dir, r.Endpoint), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return pluginapi.NewDevicePluginClient(conn)
}

// runPlugin runs the device plugin for inv until the test ends.
func runPlugin(t *testing.T, k *fakeKubelet, inv *gpu.Inventory, cfg deviceplugin.Config, health deviceplugin.HealthSource) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- deviceplugin.Run(ctx, inv, cfg, deviceplugin.Options{PluginDir: k.dir, Health: health, Log: tlog{t}, RecheckInterval: 20 * time.Millisecond})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

type tlog struct{ t *testing.T }

func (l tlog) Write(b []byte) (int, error) { l.t.Log(string(b)); return len(b), nil }

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

// health is a device list as ID → health.
func health(r *pluginapi.ListAndWatchResponse) map[string]string {
	out := map[string]string{}
	for _, d := range r.Devices {
		out[d.ID] = d.Health
	}
	return out
}

func allHealthy(ids ...string) map[string]string {
	out := map[string]string{}
	for _, id := range ids {
		out[id] = pluginapi.Healthy
	}
	return out
}

func uuids(inv *gpu.Inventory) []string {
	var out []string
	for _, d := range inv.GPUs {
		out = append(out, d.UUID)
	}
	return out
}

func cdiNames(t *testing.T, resp *pluginapi.AllocateResponse) [][]string {
	t.Helper()
	var out [][]string
	for _, c := range resp.ContainerResponses {
		var names []string
		for _, d := range c.CdiDevices {
			names = append(names, d.Name)
		}
		out = append(out, names)
	}
	return out
}

func TestPluginListAndWatchAllocateHealth(t *testing.T) {
	for _, name := range []string{"dgxa100", "dgxh100"} {
		t.Run(name, func(t *testing.T) {
			s := mockServer(t, name)
			events := nvmlmock.InstallEvents(s)
			inv := discover(t, s)
			k := startKubelet(t)
			runPlugin(t, k, inv, deviceplugin.Config{}, deviceplugin.NVMLHealth{Lib: s, Inventory: inv})

			reg := k.registrations(t, 1)["nvidia.com/gpu"]
			if reg == nil || reg.Endpoint != "kfup-nvidia.com_gpu.sock" {
				t.Fatalf("registration %+v, want nvidia.com/gpu at kfup-nvidia.com_gpu.sock", reg)
			}
			c := k.client(t, reg)
			stream, err := c.ListAndWatch(t.Context(), &pluginapi.Empty{})
			if err != nil {
				t.Fatal(err)
			}
			first, err := stream.Recv()
			if err != nil {
				t.Fatal(err)
			}
			ids := uuids(inv)
			if diff := cmp.Diff(allHealthy(ids...), health(first)); diff != "" {
				t.Errorf("first list (-want +got):\n%s", diff)
			}

			resp, err := c.Allocate(t.Context(), &pluginapi.AllocateRequest{ContainerRequests: []*pluginapi.ContainerAllocateRequest{
				{DevicesIds: []string{ids[1], ids[3]}}, {DevicesIds: []string{ids[0]}},
			}})
			if err != nil {
				t.Fatal(err)
			}
			want := [][]string{{"nvidia.com/gpu=" + ids[1], "nvidia.com/gpu=" + ids[3]}, {"nvidia.com/gpu=" + ids[0]}}
			if diff := cmp.Diff(want, cdiNames(t, resp)); diff != "" {
				t.Errorf("CDI devices (-want +got):\n%s", diff)
			}
			_, err = c.Allocate(t.Context(), &pluginapi.AllocateRequest{ContainerRequests: []*pluginapi.ContainerAllocateRequest{{DevicesIds: []string{"GPU-nope"}}}})
			if status.Code(err) != codes.InvalidArgument {
				t.Errorf("unknown device: %v, want InvalidArgument", err)
			}

			// an application's XID (13) changes nothing; a critical one (79, fallen off
			// the bus) marks its GPU unhealthy and the list is sent again
			waitRegistered(t, events, s.Devices[5])
			events.SendXID(s.Devices[2], 13, 0xFFFFFFFF, 0xFFFFFFFF)
			events.SendXID(s.Devices[5], 79, 0xFFFFFFFF, 0xFFFFFFFF)
			next, err := stream.Recv()
			if err != nil {
				t.Fatal(err)
			}
			wantHealth := allHealthy(ids...)
			wantHealth[ids[5]] = pluginapi.Unhealthy
			if diff := cmp.Diff(wantHealth, health(next)); diff != "" {
				t.Errorf("after XID 79 (-want +got):\n%s", diff)
			}
		})
	}
}

func waitRegistered(t *testing.T, e *nvmlmock.Events, d nvml.Device) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for e.Registered(d)&nvml.EventTypeXidCriticalError == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the health checker never registered for XID events")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestPluginTimeSlicing(t *testing.T) {
	s := mockServer(t, "dgxa100")
	inv := discover(t, s)
	k := startKubelet(t)
	runPlugin(t, k, inv, deviceplugin.Config{Share: 4, RenameByDefault: true}, nil)
	reg := k.registrations(t, 1)["nvidia.com/gpu.shared"]
	if reg == nil {
		t.Fatal("no nvidia.com/gpu.shared registration")
	}
	c := k.client(t, reg)
	stream, err := c.ListAndWatch(t.Context(), &pluginapi.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	first, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Devices) != 32 {
		t.Errorf("%d devices, want 8 GPUs × 4 replicas", len(first.Devices))
	}
	gpu0 := inv.GPUs[0].UUID
	resp, err := c.Allocate(t.Context(), &pluginapi.AllocateRequest{ContainerRequests: []*pluginapi.ContainerAllocateRequest{{DevicesIds: []string{gpu0 + "::0", gpu0 + "::3"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([][]string{{"nvidia.com/gpu=" + gpu0}}, cdiNames(t, resp)); diff != "" {
		t.Errorf("two replicas of one GPU (-want +got):\n%s", diff)
	}
}

func TestPluginMIGMixed(t *testing.T) {
	s := mockServer(t, "dgxa100")
	events := nvmlmock.InstallEvents(s)
	if err := nvmlmock.EnableMIG(s.Devices[1].(*server.Device), nvml.GPU_INSTANCE_PROFILE_1_SLICE, nvml.GPU_INSTANCE_PROFILE_1_SLICE, nvml.GPU_INSTANCE_PROFILE_3_SLICE); err != nil {
		t.Fatal(err)
	}
	inv := discover(t, s)
	k := startKubelet(t)
	runPlugin(t, k, inv, deviceplugin.Config{MIGStrategy: deviceplugin.MIGMixed}, deviceplugin.NVMLHealth{Lib: s, Inventory: inv})
	regs := k.registrations(t, 3)
	var names []string
	for n := range regs {
		names = append(names, n)
	}
	slices.Sort(names)
	if diff := cmp.Diff([]string{"nvidia.com/gpu", "nvidia.com/mig-1g.5gb", "nvidia.com/mig-3g.20gb"}, names); diff != "" {
		t.Fatalf("resources (-want +got):\n%s", diff)
	}
	c := k.client(t, regs["nvidia.com/mig-1g.5gb"])
	stream, err := c.ListAndWatch(t.Context(), &pluginapi.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	first, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	mig0, mig1 := inv.GPUs[1].MIGDevices[0].UUID, inv.GPUs[1].MIGDevices[1].UUID
	if diff := cmp.Diff(allHealthy(mig0, mig1), health(first)); diff != "" {
		t.Errorf("mig-1g.5gb (-want +got):\n%s", diff)
	}
	resp, err := c.Allocate(t.Context(), &pluginapi.AllocateRequest{ContainerRequests: []*pluginapi.ContainerAllocateRequest{{DevicesIds: []string{mig1}}}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([][]string{{"nvidia.com/gpu=" + mig1}}, cdiNames(t, resp)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// an XID naming GPU instance 1, compute instance 0 of GPU 1 is MIG device 1's
	waitRegistered(t, events, s.Devices[1])
	events.SendXID(s.Devices[1], 48, 1, 0)
	next, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	want := allHealthy(mig0)
	want[mig1] = pluginapi.Unhealthy
	if diff := cmp.Diff(want, health(next)); diff != "" {
		t.Errorf("after XID 48 on gi 1 (-want +got):\n%s", diff)
	}
}

func TestPluginReregistersWhenKubeletRestarts(t *testing.T) {
	inv := discover(t, mockServer(t, "dgxh100"))
	k := startKubelet(t)
	runPlugin(t, k, inv, deviceplugin.Config{}, nil)
	reg := k.registrations(t, 1)["nvidia.com/gpu"]
	// a restarting kubelet removes every plugin socket
	if err := os.Remove(filepath.Join(k.dir, reg.Endpoint)); err != nil {
		t.Fatal(err)
	}
	again := k.registrations(t, 1)["nvidia.com/gpu"]
	stream, err := k.client(t, again).ListAndWatch(t.Context(), &pluginapi.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := stream.Recv(); err != nil || len(r.Devices) != 8 {
		t.Errorf("after re-registering: %v, %v", r, err)
	}
}
