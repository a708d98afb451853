package preflight

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// goodProbes describes a healthy host; tests change one thing at a time.
func goodProbes() Probes {
	return Probes{
		DockerInfo: func(context.Context) (DockerInfo, error) {
			return DockerInfo{
				ServerVersion: "27.1.0", CgroupVersion: "2", NCPU: 8, MemTotal: 16 * GiB,
				DockerRootDir: "/var/lib/docker", OperatingSystem: "Ubuntu 24.04",
			}, nil
		},
		HostCPUs:   func() int { return 8 },
		HostMemory: func() (uint64, error) { return 16 * GiB, nil },
		DiskFree:   func(string) (uint64, error) { return 100 * GiB, nil },
		Sysctl: func(name string) (string, error) {
			switch name {
			case inotifyWatchesSysctl:
				return strconv.Itoa(RecommendedWatches) + "\n", nil
			case inotifyInstancesSysctl:
				return strconv.Itoa(RecommendedInstances), nil
			}
			return "", errors.New("no such sysctl")
		},
		PortFree:     func(string, int) bool { return true },
		ImagePresent: func(context.Context, string) (bool, error) { return true, nil },
	}
}

func withDocker(p Probes, mut func(*DockerInfo)) Probes {
	inner := p.DockerInfo
	p.DockerInfo = func(ctx context.Context) (DockerInfo, error) {
		i, err := inner(ctx)
		mut(&i)
		return i, err
	}
	return p
}

func find(checks []Check, name string) (Check, bool) {
	for _, c := range checks {
		if c.Name == name {
			return c, true
		}
	}
	return Check{}, false
}

var defaultOpts = Options{
	ListenAddress: "127.0.0.1",
	Ports:         []Port{{Port: 80, Flag: "http-port"}, {Port: 443, Flag: "https-port"}},
	NodeImage:     "kindest/node:v1.37.2",
}

func TestRunAllPass(t *testing.T) {
	checks := Run(context.Background(), goodProbes(), defaultOpts)
	var names []string
	for _, c := range checks {
		names = append(names, c.Name)
		if c.Status != Pass {
			t.Errorf("check %q = %s (%s), want pass", c.Name, c.Status, c.Detail)
		}
		if c.Fix != "" {
			t.Errorf("passing check %q has a fix %q", c.Name, c.Fix)
		}
	}
	want := []string{
		"docker", "cgroup version", "cpus", "memory", "disk",
		inotifyWatchesSysctl, inotifyInstancesSysctl,
		"host port 80", "host port 443", "node image",
	}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("check names (-want +got):\n%s", diff)
	}
	if f := Failed(checks); len(f) != 0 {
		t.Errorf("Failed = %v, want none", f)
	}
}

func TestRunChecks(t *testing.T) {
	dockerDown := func(p Probes) Probes {
		p.DockerInfo = func(context.Context) (DockerInfo, error) {
			return DockerInfo{}, errors.New("cannot connect to the Docker daemon")
		}
		return p
	}
	tests := []struct {
		name       string
		probes     Probes
		opts       Options
		check      string
		wantStatus Status
		wantDetail string // substring
		wantFix    string // substring; "" means the fix is not checked
	}{
		{
			name:       "docker unreachable fails with a fix",
			probes:     dockerDown(goodProbes()),
			check:      "docker",
			wantStatus: Fail, wantDetail: "cannot connect", wantFix: "start",
		},
		{
			name:       "docker reachable names the server and OS",
			probes:     goodProbes(),
			check:      "docker",
			wantStatus: Pass, wantDetail: "27.1.0 on Ubuntu 24.04",
		},
		{
			name:       "cgroup v1 warns",
			probes:     withDocker(goodProbes(), func(i *DockerInfo) { i.CgroupVersion = "1" }),
			check:      "cgroup version",
			wantStatus: Warn, wantDetail: "v1", wantFix: "cgroup v2",
		},
		{
			name:       "cgroup unknown warns",
			probes:     withDocker(goodProbes(), func(i *DockerInfo) { i.CgroupVersion = "" }),
			check:      "cgroup version",
			wantStatus: Warn, wantDetail: "unknown",
		},
		{
			name:       "one CPU warns",
			probes:     withDocker(goodProbes(), func(i *DockerInfo) { i.NCPU = 1 }),
			check:      "cpus",
			wantStatus: Warn, wantDetail: "1 available to Docker", wantFix: "at least 2 CPUs",
		},
		{
			name: "docker down: CPUs from the host",
			probes: func() Probes {
				p := dockerDown(goodProbes())
				p.HostCPUs = func() int { return 4 }
				return p
			}(),
			check:      "cpus",
			wantStatus: Pass, wantDetail: "4 on the host",
		},
		{
			name:       "memory below 2GiB fails",
			probes:     withDocker(goodProbes(), func(i *DockerInfo) { i.MemTotal = 2*GiB - 1 }),
			check:      "memory",
			wantStatus: Fail, wantDetail: "available to Docker", wantFix: "at least 2.0 GiB",
		},
		{
			name:       "memory exactly 2GiB warns",
			probes:     withDocker(goodProbes(), func(i *DockerInfo) { i.MemTotal = 2 * GiB }),
			check:      "memory",
			wantStatus: Warn, wantDetail: "2.0 GiB", wantFix: "4.0 GiB",
		},
		{
			name:       "memory below 4GiB warns",
			probes:     withDocker(goodProbes(), func(i *DockerInfo) { i.MemTotal = 3 * GiB }),
			check:      "memory",
			wantStatus: Warn, wantDetail: "3.0 GiB",
		},
		{
			name:       "memory exactly 4GiB passes",
			probes:     withDocker(goodProbes(), func(i *DockerInfo) { i.MemTotal = 4 * GiB }),
			check:      "memory",
			wantStatus: Pass, wantDetail: "4.0 GiB",
		},
		{
			name: "docker down: host memory below 2GiB fails",
			probes: func() Probes {
				p := dockerDown(goodProbes())
				p.HostMemory = func() (uint64, error) { return 1 << 30, nil }
				return p
			}(),
			check:      "memory",
			wantStatus: Fail, wantDetail: "on the host",
		},
		{
			name: "docker reports no memory: host memory is used",
			probes: func() Probes {
				p := withDocker(goodProbes(), func(i *DockerInfo) { i.MemTotal = 0 })
				p.HostMemory = func() (uint64, error) { return 512 << 20, nil }
				return p
			}(),
			check:      "memory",
			wantStatus: Fail, wantDetail: "512 MiB on the host",
		},
		{
			name: "unreadable memory warns",
			probes: func() Probes {
				p := dockerDown(goodProbes())
				p.HostMemory = func() (uint64, error) { return 0, errors.New("no /proc/meminfo") }
				return p
			}(),
			check:      "memory",
			wantStatus: Warn, wantDetail: "cannot read", wantFix: "free -h",
		},
		{
			name: "disk below 3GiB fails",
			probes: func() Probes {
				p := goodProbes()
				p.DiskFree = func(string) (uint64, error) { return 3*GiB - 1, nil }
				return p
			}(),
			check:      "disk",
			wantStatus: Fail, wantDetail: "/var/lib/docker", wantFix: "docker system prune",
		},
		{
			name: "disk below 10GiB warns",
			probes: func() Probes {
				p := goodProbes()
				p.DiskFree = func(string) (uint64, error) { return 5 * GiB, nil }
				return p
			}(),
			check:      "disk",
			wantStatus: Warn, wantDetail: "5.0 GiB free", wantFix: "10.0 GiB",
		},
		{
			name: "disk exactly 10GiB passes",
			probes: func() Probes {
				p := goodProbes()
				p.DiskFree = func(string) (uint64, error) { return 10 * GiB, nil }
				return p
			}(),
			check:      "disk",
			wantStatus: Pass, wantDetail: "10.0 GiB free",
		},
		{
			name: "docker root dir not on this host: falls back to /",
			probes: func() Probes {
				p := goodProbes()
				p.DiskFree = func(path string) (uint64, error) {
					if path != "/" {
						return 0, errors.New("no such file or directory")
					}
					return 50 * GiB, nil
				}
				return p
			}(),
			check:      "disk",
			wantStatus: Pass, wantDetail: "free in /",
		},
		{
			name: "unreadable disk warns",
			probes: func() Probes {
				p := goodProbes()
				p.DiskFree = func(string) (uint64, error) { return 0, errors.New("statfs failed") }
				return p
			}(),
			check:      "disk",
			wantStatus: Warn, wantDetail: "statfs failed", wantFix: "df -h",
		},
		{
			name: "inotify watches below recommended warns with sysctl -w",
			probes: func() Probes {
				p := goodProbes()
				p.Sysctl = func(string) (string, error) { return "8192", nil }
				return p
			}(),
			check:      inotifyWatchesSysctl,
			wantStatus: Warn, wantDetail: "8192", wantFix: "sysctl -w " + inotifyWatchesSysctl + "=524288",
		},
		{
			name: "inotify instances below recommended warns with sysctl -w",
			probes: func() Probes {
				p := goodProbes()
				p.Sysctl = func(string) (string, error) { return "128", nil }
				return p
			}(),
			check:      inotifyInstancesSysctl,
			wantStatus: Warn, wantDetail: "128", wantFix: "sysctl -w " + inotifyInstancesSysctl + "=512",
		},
		{
			name: "inotify above recommended passes",
			probes: func() Probes {
				p := goodProbes()
				p.Sysctl = func(string) (string, error) { return "1048576\n", nil }
				return p
			}(),
			check:      inotifyWatchesSysctl,
			wantStatus: Pass, wantDetail: "1048576",
		},
		{
			name: "unreadable sysctl warns",
			probes: func() Probes {
				p := goodProbes()
				p.Sysctl = func(string) (string, error) { return "", errors.New("not linux") }
				return p
			}(),
			check:      inotifyWatchesSysctl,
			wantStatus: Warn, wantDetail: "cannot read", wantFix: "sysctl " + inotifyWatchesSysctl,
		},
		{
			name: "garbage sysctl warns",
			probes: func() Probes {
				p := goodProbes()
				p.Sysctl = func(string) (string, error) { return "lots", nil }
				return p
			}(),
			check:      inotifyWatchesSysctl,
			wantStatus: Warn, wantDetail: `unexpected value "lots"`,
		},
		{
			name: "explicit busy port fails naming the flag",
			probes: func() Probes {
				p := goodProbes()
				p.PortFree = func(_ string, port int) bool { return port != 8080 }
				return p
			}(),
			opts:       Options{ListenAddress: "0.0.0.0", Ports: []Port{{Port: 8080, Flag: "http-port", Explicit: true}}},
			check:      "host port 8080",
			wantStatus: Fail, wantDetail: "in use on 0.0.0.0 (--http-port)", wantFix: "--http-port",
		},
		{
			name: "automatic busy port warns",
			probes: func() Probes {
				p := goodProbes()
				p.PortFree = func(_ string, port int) bool { return port != 80 }
				return p
			}(),
			opts:       defaultOpts,
			check:      "host port 80",
			wantStatus: Warn, wantDetail: "kfup will pick another port", wantFix: "free the port",
		},
		{
			name:       "empty listen address means 127.0.0.1",
			probes:     goodProbes(),
			opts:       Options{Ports: []Port{{Port: 443, Flag: "https-port"}}},
			check:      "host port 443",
			wantStatus: Pass, wantDetail: "free on 127.0.0.1",
		},
		{
			name: "node image absent warns",
			probes: func() Probes {
				p := goodProbes()
				p.ImagePresent = func(context.Context, string) (bool, error) { return false, nil }
				return p
			}(),
			opts:       defaultOpts,
			check:      "node image",
			wantStatus: Warn, wantDetail: "kindest/node:v1.37.2 is not present locally", wantFix: "KFUP_NODE_IMAGE",
		},
		{
			name: "node image inspect error warns",
			probes: func() Probes {
				p := goodProbes()
				p.ImagePresent = func(context.Context, string) (bool, error) { return false, errors.New("boom") }
				return p
			}(),
			opts:       defaultOpts,
			check:      "node image",
			wantStatus: Warn, wantDetail: "boom", wantFix: "docker image inspect",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checks := Run(context.Background(), tt.probes, tt.opts)
			c, ok := find(checks, tt.check)
			if !ok {
				t.Fatalf("no check %q in %+v", tt.check, checks)
			}
			if c.Status != tt.wantStatus {
				t.Errorf("status = %s, want %s (detail %q)", c.Status, tt.wantStatus, c.Detail)
			}
			if !strings.Contains(c.Detail, tt.wantDetail) {
				t.Errorf("detail %q does not contain %q", c.Detail, tt.wantDetail)
			}
			if tt.wantFix != "" && !strings.Contains(c.Fix, tt.wantFix) {
				t.Errorf("fix %q does not contain %q", c.Fix, tt.wantFix)
			}
			if c.Status == Fail && c.Fix == "" {
				t.Errorf("failing check %q has no fix", c.Name)
			}
		})
	}
}

func TestRunDockerDownSkipsDockerChecks(t *testing.T) {
	p := goodProbes()
	p.DockerInfo = func(context.Context) (DockerInfo, error) { return DockerInfo{}, errors.New("down") }
	imageAsked := false
	p.ImagePresent = func(context.Context, string) (bool, error) { imageAsked = true; return true, nil }
	checks := Run(context.Background(), p, defaultOpts)
	for _, name := range []string{"cgroup version", "node image"} {
		if c, ok := find(checks, name); ok {
			t.Errorf("check %q present without Docker: %+v", name, c)
		}
	}
	if imageAsked {
		t.Error("ImagePresent called without Docker")
	}
	failed := Failed(checks)
	if len(failed) != 1 || failed[0].Name != "docker" {
		t.Errorf("Failed = %+v, want only docker", failed)
	}
	if failed[0].Fix == "" {
		t.Error("docker check has no fix")
	}
}

func TestRunDiskUsesDockerRootDir(t *testing.T) {
	p := goodProbes()
	var asked []string
	p.DiskFree = func(path string) (uint64, error) { asked = append(asked, path); return 100 * GiB, nil }
	Run(context.Background(), p, Options{})
	if diff := cmp.Diff([]string{"/var/lib/docker"}, asked); diff != "" {
		t.Errorf("DiskFree paths (-want +got):\n%s", diff)
	}
}

func TestRunNodeImageOnlyWhenSet(t *testing.T) {
	p := goodProbes()
	if _, ok := find(Run(context.Background(), p, Options{}), "node image"); ok {
		t.Error("node image checked without Options.NodeImage")
	}
	p.ImagePresent = nil
	if _, ok := find(Run(context.Background(), p, defaultOpts), "node image"); ok {
		t.Error("node image checked without an ImagePresent probe")
	}
	var got string
	p.ImagePresent = func(_ context.Context, image string) (bool, error) { got = image; return true, nil }
	Run(context.Background(), p, defaultOpts)
	if got != defaultOpts.NodeImage {
		t.Errorf("ImagePresent asked for %q, want %q", got, defaultOpts.NodeImage)
	}
}

func TestFailed(t *testing.T) {
	checks := []Check{
		{Name: "a", Status: Pass},
		{Name: "b", Status: Fail, Fix: "fix b"},
		{Name: "c", Status: Warn},
		{Name: "d", Status: Fail, Fix: "fix d"},
	}
	want := []Check{{Name: "b", Status: Fail, Fix: "fix b"}, {Name: "d", Status: Fail, Fix: "fix d"}}
	if diff := cmp.Diff(want, Failed(checks)); diff != "" {
		t.Errorf("Failed (-want +got):\n%s", diff)
	}
	if got := Failed(nil); got != nil {
		t.Errorf("Failed(nil) = %v, want nil", got)
	}
	if got := Failed(checks[:1]); len(got) != 0 {
		t.Errorf("Failed(passing) = %v, want none", got)
	}
}

func TestFormatBytes(t *testing.T) {
	for in, want := range map[uint64]string{
		0:               "0 B",
		1023:            "1023 B",
		512 << 20:       "512 MiB",
		GiB:             "1.0 GiB",
		3*GiB + GiB/2:   "3.5 GiB",
		RecommendedDisk: "10.0 GiB",
	} {
		if got := formatBytes(in); got != want {
			t.Errorf("formatBytes(%d) = %q, want %q", in, got, want)
		}
	}
}
