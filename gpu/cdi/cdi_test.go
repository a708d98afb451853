package cdi_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kfup/kfup/gpu"
	"github.com/kfup/kfup/gpu/cdi"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// fakeRoot is a driver root with regular files where a host has device nodes, driver
// libraries and nvidia-smi.
type fakeRoot struct {
	dir     string
	version string
}

func newFakeRoot(t *testing.T, version string, minors ...int) *fakeRoot {
	t.Helper()
	r := &fakeRoot{dir: t.TempDir(), version: version}
	files := []string{"/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools", "/usr/bin/nvidia-smi"}
	for _, l := range []string{"libcuda", "libnvidia-ml", "libnvidia-ptxjitcompiler", "libnvidia-nvvm"} {
		files = append(files, "/usr/lib/x86_64-linux-gnu/"+l+".so."+version)
	}
	for _, m := range minors {
		files = append(files, "/dev/nvidia"+strconv.Itoa(m))
	}
	r.add(t, files...)
	return r
}

func (r *fakeRoot) add(t *testing.T, paths ...string) {
	t.Helper()
	for _, p := range paths {
		r.write(t, p, "")
	}
}

func (r *fakeRoot) write(t *testing.T, p, content string) {
	t.Helper()
	full := filepath.Join(r.dir, p)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (r *fakeRoot) remove(t *testing.T, p string) {
	t.Helper()
	if err := os.Remove(filepath.Join(r.dir, p)); err != nil {
		t.Fatal(err)
	}
}

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./gpu/cdi -update to write it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s (-want +got):\n%s", path, diff)
	}
}

func twoGPUs() *gpu.Inventory {
	return &gpu.Inventory{Source: gpu.SourceNVIDIASMI, DriverVersion: "535.104.05", GPUs: []gpu.Device{
		{Index: 0, Minor: 0, Name: "Tesla T4", UUID: "GPU-t4-0"},
		{Index: 1, Minor: 3, Name: "Tesla T4", UUID: "GPU-t4-1"},
	}}
}

func TestSpecFromNVIDIASMIInventory(t *testing.T) {
	r := newFakeRoot(t, "535.104.05", 0, 3)
	r.add(t, "/dev/nvidia-modeset", "/usr/lib64/libnvidia-opencl.so.535.104.05")
	s, err := cdi.Spec(twoGPUs(), cdi.WithDriverRoot(r.dir))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := cdi.Write(&b, s); err != nil {
		t.Fatal(err)
	}
	golden(t, "t4-nvidia-smi.yaml", b.Bytes())
	if cdi.QualifiedName("1") != "nvidia.com/gpu=1" {
		t.Errorf("QualifiedName(1) = %q", cdi.QualifiedName("1"))
	}
}

func TestSpecErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		edit func(t *testing.T, r *fakeRoot)
		opts []cdi.Option
		want string
	}{
		"no libcuda":      {edit: func(t *testing.T, r *fakeRoot) { r.remove(t, "/usr/lib/x86_64-linux-gnu/libcuda.so.535.104.05") }, want: "libcuda.so.535.104.05 not found under"},
		"no nvidiactl":    {edit: func(t *testing.T, r *fakeRoot) { r.remove(t, "/dev/nvidiactl") }, want: "/dev/nvidiactl not found"},
		"no GPU node":     {edit: func(t *testing.T, r *fakeRoot) { r.remove(t, "/dev/nvidia3") }, want: "GPU 1: device node /dev/nvidia3 not found"},
		"index not there": {opts: []cdi.Option{cdi.WithGPUs(0, 2)}, want: "no GPU 2 on this host (it has 2)"},
	} {
		t.Run(name, func(t *testing.T) {
			r := newFakeRoot(t, "535.104.05", 0, 3)
			if tc.edit != nil {
				tc.edit(t, r)
			}
			_, err := cdi.Spec(twoGPUs(), append([]cdi.Option{cdi.WithDriverRoot(r.dir)}, tc.opts...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
