//go:build cgo && nvmlmock

package incluster

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	pluginapi "k8s.io/kubelet/pkg/apis/deviceplugin/v1beta1"

	"github.com/kfup/kfup/internal/testio"
)

type registrar struct {
	pluginapi.UnimplementedRegistrationServer
	reqs chan *pluginapi.RegisterRequest
}

func (r *registrar) Register(_ context.Context, req *pluginapi.RegisterRequest) (*pluginapi.Empty, error) {
	r.reqs <- req
	return &pluginapi.Empty{}, nil
}

// go test -tags nvmlmock: the hidden switch serves the mock's GPUs to a kubelet.
func TestAgentDevicePluginMockNVML(t *testing.T) {
	dir, err := os.MkdirTemp("", "dp")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	lis, err := net.Listen("unix", filepath.Join(dir, "kubelet.sock"))
	if err != nil {
		t.Fatal(err)
	}
	reg := &registrar{reqs: make(chan *pluginapi.RegisterRequest, 4)}
	srv := grpc.NewServer()
	pluginapi.RegisterRegistrationServer(srv, reg)
	go srv.Serve(lis)
	defer srv.Stop()

	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut testio.Buffer
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"agent", "device-plugin", "--mock-nvml=dgxa100", "--share=2", "--rename-by-default", "--plugin-dir", dir}, &out, &errOut, nil)
	}()
	select {
	case r := <-reg.reqs:
		if r.ResourceName != "nvidia.com/gpu.shared" {
			t.Errorf("registered %q, want nvidia.com/gpu.shared", r.ResourceName)
		}
	case code := <-done:
		t.Fatalf("exited %d before registering: %s", code, errOut.String())
	case <-time.After(10 * time.Second):
		t.Fatal("no registration after 10s")
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("exit %d after cancel: %s", code, errOut.String())
	}
}
