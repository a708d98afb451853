package bootstrap

import (
	"net"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kfup/kfup/internal/errs"
)

// busyPorts returns a PortFreeFunc under which exactly the given ports are taken, and
// records every address it was asked about.
func busyPorts(addrs *[]string, busy ...int) PortFreeFunc {
	set := map[int]bool{}
	for _, p := range busy {
		set[p] = true
	}
	return func(addr string, port int) bool {
		if addrs != nil {
			*addrs = append(*addrs, addr)
		}
		return !set[port]
	}
}

var (
	httpPref  = []int{80, 8080, 18080}
	httpsPref = []int{443, 8443, 18443}
)

func TestResolvePorts(t *testing.T) {
	tests := []struct {
		name string
		busy []int
		reqs []PortRequest
		want []int
	}{
		{
			name: "no requests",
			want: []int{},
		},
		{
			name: "preferred ports free",
			reqs: []PortRequest{{Flag: "http-port", Preferred: httpPref}, {Flag: "https-port", Preferred: httpsPref}},
			want: []int{80, 443},
		},
		{
			name: "80 busy falls back to 8080",
			busy: []int{80},
			reqs: []PortRequest{{Flag: "http-port", Preferred: httpPref}, {Flag: "https-port", Preferred: httpsPref}},
			want: []int{8080, 443},
		},
		{
			name: "80 and 8080 busy falls back to 18080",
			busy: []int{80, 8080, 443},
			reqs: []PortRequest{{Flag: "http-port", Preferred: httpPref}, {Flag: "https-port", Preferred: httpsPref}},
			want: []int{18080, 8443},
		},
		{
			name: "explicit ports win over preferred",
			reqs: []PortRequest{{Flag: "http-port", Explicit: 9080, Preferred: httpPref}, {Flag: "https-port", Explicit: 9443, Preferred: httpsPref}},
			want: []int{9080, 9443},
		},
		{
			name: "explicit and automatic mixed",
			busy: []int{443},
			reqs: []PortRequest{{Flag: "http-port", Explicit: 9080, Preferred: httpPref}, {Flag: "https-port", Preferred: httpsPref}},
			want: []int{9080, 8443},
		},
		{
			name: "two requests with the same preferences get distinct ports",
			reqs: []PortRequest{{Flag: "a", Preferred: []int{80, 8080}}, {Flag: "b", Preferred: []int{80, 8080}}},
			want: []int{80, 8080},
		},
		{
			name: "automatic request skips a port another request names explicitly",
			reqs: []PortRequest{{Flag: "http-port", Preferred: []int{80, 8080}}, {Flag: "https-port", Explicit: 80}},
			want: []int{8080, 80},
		},
		{
			name: "automatic fallback never takes a later explicit port",
			busy: []int{80},
			reqs: []PortRequest{{Flag: "http-port", Preferred: httpPref}, {Flag: "https-port", Explicit: 8080, Preferred: httpsPref}},
			want: []int{18080, 8080},
		},
		{
			name: "explicit port at the top of the range",
			reqs: []PortRequest{{Flag: "http-port", Explicit: 65535}},
			want: []int{65535},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var addrs []string
			got, err := ResolvePorts("127.0.0.1", busyPorts(&addrs, tt.busy...), tt.reqs...)
			if err != nil {
				t.Fatalf("ResolvePorts: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ResolvePorts mismatch (-want +got):\n%s", diff)
			}
			for _, a := range addrs {
				if a != "127.0.0.1" {
					t.Errorf("probed address %q, want 127.0.0.1", a)
				}
			}
		})
	}
}

func TestResolvePortsErrors(t *testing.T) {
	tests := []struct {
		name     string
		busy     []int
		reqs     []PortRequest
		wantKind errs.Kind
		wantMsg  []string
		wantHint string
	}{
		{
			name:     "explicit busy port is a conflict naming the flag",
			busy:     []int{8080},
			reqs:     []PortRequest{{Flag: "http-port", Explicit: 8080, Preferred: httpPref}},
			wantKind: errs.KindConflict,
			wantMsg:  []string{"--http-port", "127.0.0.1:8080", "in use"},
			wantHint: "--http-port 0",
		},
		{
			name:     "explicit busy https port names its own flag",
			busy:     []int{443},
			reqs:     []PortRequest{{Flag: "http-port", Preferred: httpPref}, {Flag: "https-port", Explicit: 443}},
			wantKind: errs.KindConflict,
			wantMsg:  []string{"--https-port"},
			wantHint: "--https-port",
		},
		{
			name:     "explicit port above range",
			reqs:     []PortRequest{{Flag: "http-port", Explicit: 65536}},
			wantKind: errs.KindUsage,
			wantMsg:  []string{"--http-port 65536", "not a valid port"},
			wantHint: "65535",
		},
		{
			name:     "negative explicit port",
			reqs:     []PortRequest{{Flag: "https-port", Explicit: -1}},
			wantKind: errs.KindUsage,
			wantMsg:  []string{"--https-port -1"},
		},
		{
			name:     "explicit port duplicated",
			reqs:     []PortRequest{{Flag: "http-port", Explicit: 9000}, {Flag: "https-port", Explicit: 9000}},
			wantKind: errs.KindUsage,
			wantMsg:  []string{"--https-port 9000", "another port flag"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ResolvePorts("127.0.0.1", busyPorts(nil, tt.busy...), tt.reqs...)
			if err == nil {
				t.Fatalf("ResolvePorts = %v, want error", got)
			}
			if k := errs.KindOf(err); k != tt.wantKind {
				t.Errorf("kind = %v, want %v (err: %v)", k, tt.wantKind, err)
			}
			for _, s := range tt.wantMsg {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
			if h := errs.HintOf(err); !strings.Contains(h, tt.wantHint) {
				t.Errorf("hint %q does not contain %q", h, tt.wantHint)
			}
		})
	}
}

// TestResolvePortsKernelFallback covers all preferred ports being busy: the kernel picks a
// port on the loopback address (no traffic leaves the host).
func TestResolvePortsKernelFallback(t *testing.T) {
	if l, err := net.Listen("tcp", "127.0.0.1:0"); err != nil {
		t.Skipf("cannot listen on loopback: %v", err)
	} else {
		l.Close()
	}
	got, err := ResolvePorts("127.0.0.1", busyPorts(nil, httpPref...),
		PortRequest{Flag: "http-port", Preferred: httpPref},
		PortRequest{Flag: "https-port", Preferred: httpsPref})
	if err != nil {
		t.Fatalf("ResolvePorts: %v", err)
	}
	if got[0] <= 0 || got[0] > 65535 || got[0] == 80 || got[0] == 8080 || got[0] == 18080 {
		t.Errorf("http port = %d, want a kernel-picked port", got[0])
	}
	if got[1] != 443 || got[0] == got[1] {
		t.Errorf("ports = %v, want [<kernel port> 443]", got)
	}
}
