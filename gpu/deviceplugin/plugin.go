package deviceplugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	pluginapi "k8s.io/kubelet/pkg/apis/deviceplugin/v1beta1"

	"github.com/kfup/kfup/gpu"
)

// HealthSource reports devices that went bad: Run calls unhealthy with the UUID of a GPU
// or MIG device until ctx ends. NVMLHealth (cgo builds) is the real one.
type HealthSource interface {
	Run(ctx context.Context, unhealthy func(uuid string)) error
}

// Options are where the plugin talks to the kubelet.
type Options struct {
	// PluginDir is the kubelet's device-plugins directory (pluginapi.DevicePluginPath).
	PluginDir string
	// KubeletSocket is the kubelet's registration socket (pluginapi.KubeletSocket).
	KubeletSocket string
	// Health reports unhealthy devices; nil means devices stay Healthy.
	Health HealthSource
	// Log receives one line per registration, health change and restart; nil discards.
	Log io.Writer
	// RecheckInterval is how often the plugin checks that its socket still exists (the
	// kubelet removes every plugin socket when it restarts); 0 means 5s.
	RecheckInterval time.Duration
}

// Run serves one plugin per resource of inv under cfg, registers each with the kubelet,
// and serves until ctx ends. When the kubelet restarts and removes the sockets, each
// plugin serves again and re-registers.
func Run(ctx context.Context, inv *gpu.Inventory, cfg Config, o Options) error {
	res, err := Resources(inv, cfg)
	if err != nil {
		return err
	}
	if len(res) == 0 {
		return errors.New("device plugin: no GPU to advertise")
	}
	if o.PluginDir == "" {
		o.PluginDir = pluginapi.DevicePluginPath
	}
	if o.KubeletSocket == "" {
		o.KubeletSocket = filepath.Join(o.PluginDir, filepath.Base(pluginapi.KubeletSocket))
	}
	if o.RecheckInterval == 0 {
		o.RecheckInterval = 5 * time.Second
	}
	logger := log.New(io.Discard, "", 0)
	if o.Log != nil {
		logger = log.New(o.Log, "device-plugin: ", log.LstdFlags)
	}
	plugins := make([]*plugin, len(res))
	for i, r := range res {
		plugins[i] = newPlugin(r, o, logger)
	}
	g, ctx := errgroup.WithContext(ctx)
	for _, p := range plugins {
		g.Go(func() error { return p.run(ctx) })
	}
	if o.Health != nil {
		g.Go(func() error {
			err := o.Health.Run(ctx, func(uuid string) {
				for _, p := range plugins {
					p.markUnhealthy(uuid)
				}
			})
			if err != nil && ctx.Err() == nil {
				// a broken health source must not take the devices away: log and go on
				logger.Printf("health checks stopped: %v", err)
			}
			return nil
		})
	}
	return g.Wait()
}

// plugin is the DevicePlugin service of one resource.
type plugin struct {
	pluginapi.UnimplementedDevicePluginServer
	res    Resource
	opts   Options
	log    *log.Logger
	socket string

	mu      sync.Mutex
	health  map[string]string // unit ID → pluginapi.Healthy/Unhealthy
	changed chan struct{}     // closed and replaced on every health change
}

func newPlugin(r Resource, o Options, l *log.Logger) *plugin {
	p := &plugin{res: r, opts: o, log: l, socket: filepath.Join(o.PluginDir, SocketName(r.Name)), health: map[string]string{}, changed: make(chan struct{})}
	for _, u := range r.Units {
		p.health[u.ID] = pluginapi.Healthy
	}
	return p
}

// run serves and registers, and serves again whenever the socket disappears.
func (p *plugin) run(ctx context.Context) error {
	for {
		err := p.serveOnce(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return fmt.Errorf("device plugin %s: %w", p.res.Name, err)
		}
		p.log.Printf("%s: socket %s removed (kubelet restart?): serving again", p.res.Name, p.socket)
	}
}

// serveOnce serves on a fresh socket, registers, and returns when ctx ends (nil) or the
// socket was removed (nil, to be served again).
func (p *plugin) serveOnce(ctx context.Context) error {
	if err := os.Remove(p.socket); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	lis, err := net.Listen("unix", p.socket)
	if err != nil {
		return err
	}
	srv := grpc.NewServer()
	pluginapi.RegisterDevicePluginServer(srv, p)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	defer func() {
		srv.Stop()
		os.Remove(p.socket)
	}()
	if err := p.register(ctx); err != nil {
		return err
	}
	p.log.Printf("%s: registered %d devices with the kubelet", p.res.Name, len(p.res.Units))
	tick := time.NewTicker(p.opts.RecheckInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-served:
			return fmt.Errorf("serve: %w", err)
		case <-tick.C:
			if _, err := os.Stat(p.socket); errors.Is(err, os.ErrNotExist) {
				return nil
			}
		}
	}
}

func (p *plugin) register(ctx context.Context) error {
	conn, err := grpc.NewClient("unix://"+p.opts.KubeletSocket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("register with the kubelet at %s: %w", p.opts.KubeletSocket, err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err = pluginapi.NewRegistrationClient(conn).Register(ctx, &pluginapi.RegisterRequest{
		Version:      pluginapi.Version,
		Endpoint:     filepath.Base(p.socket),
		ResourceName: p.res.Name,
		Options:      &pluginapi.DevicePluginOptions{},
	}, grpc.WaitForReady(true))
	if err != nil {
		return fmt.Errorf("register with the kubelet at %s: %w", p.opts.KubeletSocket, err)
	}
	return nil
}

// markUnhealthy marks every unit of the device uuid, or of the GPU uuid, Unhealthy.
func (p *plugin) markUnhealthy(uuid string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, u := range p.res.Units {
		if (u.UUID == uuid || u.Parent == uuid) && p.health[u.ID] != pluginapi.Unhealthy {
			p.health[u.ID] = pluginapi.Unhealthy
			n++
		}
	}
	if n > 0 {
		p.log.Printf("%s: %s is unhealthy (%d devices)", p.res.Name, uuid, n)
		close(p.changed)
		p.changed = make(chan struct{})
	}
}

// devices returns the current device list and a channel closed at the next change.
func (p *plugin) devices() ([]*pluginapi.Device, <-chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]*pluginapi.Device, len(p.res.Units))
	for i, u := range p.res.Units {
		out[i] = &pluginapi.Device{ID: u.ID, Health: p.health[u.ID]}
	}
	return out, p.changed
}

// GetDevicePluginOptions says the plugin needs no PreStartContainer and offers no
// preferred allocation.
func (p *plugin) GetDevicePluginOptions(context.Context, *pluginapi.Empty) (*pluginapi.DevicePluginOptions, error) {
	return &pluginapi.DevicePluginOptions{}, nil
}

// ListAndWatch sends the devices, and again on every health change.
func (p *plugin) ListAndWatch(_ *pluginapi.Empty, stream pluginapi.DevicePlugin_ListAndWatchServer) error {
	for {
		devs, changed := p.devices()
		if err := stream.Send(&pluginapi.ListAndWatchResponse{Devices: devs}); err != nil {
			return err
		}
		select {
		case <-stream.Context().Done():
			return nil
		case <-changed:
		}
	}
}

// Allocate answers each container's device IDs with the CDI devices behind them; the
// replicas of one shared GPU yield its CDI device once.
func (p *plugin) Allocate(_ context.Context, req *pluginapi.AllocateRequest) (*pluginapi.AllocateResponse, error) {
	resp := &pluginapi.AllocateResponse{}
	for _, c := range req.ContainerRequests {
		var names []string
		for _, id := range c.DevicesIds {
			i := slices.IndexFunc(p.res.Units, func(u Unit) bool { return u.ID == id })
			if i < 0 {
				return nil, status.Errorf(codes.InvalidArgument, "%s: unknown device %q", p.res.Name, id)
			}
			if n := p.res.Units[i].CDIName; !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
		cr := &pluginapi.ContainerAllocateResponse{}
		for _, n := range names {
			cr.CdiDevices = append(cr.CdiDevices, &pluginapi.CDIDevice{Name: n})
		}
		resp.ContainerResponses = append(resp.ContainerResponses, cr)
	}
	return resp, nil
}

// PreStartContainer is not needed (GetDevicePluginOptions says so); it succeeds.
func (p *plugin) PreStartContainer(context.Context, *pluginapi.PreStartContainerRequest) (*pluginapi.PreStartContainerResponse, error) {
	return &pluginapi.PreStartContainerResponse{}, nil
}
