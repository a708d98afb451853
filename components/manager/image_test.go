package manager

import (
	"archive/tar"
	"context"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kfup/kfup/components"
	"github.com/kfup/kfup/internal/errs"
	"github.com/kfup/kfup/profiles"
)

// staticBinary finds a static linux executable on the host to build a test image from.
func staticBinary(t *testing.T) string {
	for _, p := range []string{"/bin/busybox", "/usr/bin/busybox"} {
		f, err := elf.Open(p)
		if err != nil {
			continue
		}
		static := true
		for _, prog := range f.Progs {
			if prog.Type == elf.PT_INTERP {
				static = false
			}
		}
		f.Close()
		if static {
			return p
		}
	}
	t.Skip("no static executable (busybox-static) on this host")
	return ""
}

func TestBuildImage(t *testing.T) {
	bin := staticBinary(t)
	img, tag, err := BuildImage(bin)
	if err != nil {
		t.Fatal(err)
	}
	_, tag2, err := BuildImage(bin)
	if err != nil || tag2 != tag {
		t.Fatalf("same binary, different tag: %s vs %s (%v)", tag, tag2, err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Config.User != "65532:65532" || cfg.Config.Entrypoint[0] != "/kfup" || cfg.Config.Cmd[0] != "manager" || cfg.OS != "linux" {
		t.Fatalf("image config: %+v", cfg.Config)
	}
	layers, _ := img.Layers()
	if len(layers) != 1 {
		t.Fatalf("want one layer, got %d", len(layers))
	}
}

func TestBuildImageRejectsNonStaticOrNonELF(t *testing.T) {
	p := filepath.Join(t.TempDir(), "script")
	os.WriteFile(p, []byte("#!/bin/sh\necho hi\n"), 0o755)
	if _, _, err := BuildImage(p); errs.KindOf(err) != errs.KindUsage {
		t.Fatalf("script: want usage error, got %v", err)
	}
	if _, err := os.Stat("/bin/sh"); err == nil {
		if _, _, err := BuildImage("/bin/sh"); err == nil {
			t.Fatalf("/bin/sh (dynamically linked) accepted")
		}
	}
}

func TestObjectsAreHardened(t *testing.T) {
	objs, err := Objects(ImageRepo+":abc", DefaultSettings())
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, o := range objs {
		kinds[o.GetKind()]++
	}
	for _, k := range []string{"Namespace", "ServiceAccount", "Deployment", "Service", "Role", "RoleBinding"} {
		if kinds[k] == 0 {
			t.Errorf("no %s among the manager's objects: %v", k, kinds)
		}
	}
}

func TestResolveBinary(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(BinaryEnv, "")
	slim := filepath.Join(filepath.Dir(exe), SlimBinary)
	t.Cleanup(func() { os.Remove(slim) })

	// no kfup-manager beside the executable: the executable itself
	if got, err := ResolveBinary(); err != nil || got != exe {
		t.Fatalf("without %s: got %q, %v; want %q", SlimBinary, got, err, exe)
	}
	// a kfup-manager that is no static linux binary is passed over
	if err := os.WriteFile(slim, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got, _ := ResolveBinary(); got != exe {
		t.Fatalf("with a script as %s: got %q, want %q", SlimBinary, got, exe)
	}
	// a static one from another build (busybox here) is passed over: no version skew
	data, err := os.ReadFile(staticBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(slim, data, 0o755); err != nil {
		t.Fatal(err)
	}
	if got, err := ResolveBinary(); err != nil || got != exe {
		t.Fatalf("with a %s from another build: got %q, %v; want %q", SlimBinary, got, err, exe)
	}
	// $KFUP_MANAGER_BINARY wins
	t.Setenv(BinaryEnv, "/elsewhere/kfup-linux")
	if got, _ := ResolveBinary(); got != "/elsewhere/kfup-linux" {
		t.Fatalf("with $%s: got %q", BinaryEnv, got)
	}
}

func TestSameBuild(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if !sameBuild(exe, exe) {
		t.Errorf("a binary differs from itself")
	}
	if sameBuild(exe, staticBinary(t)) {
		t.Errorf("busybox counted as the same build as the test binary")
	}
	script := filepath.Join(t.TempDir(), "script")
	os.WriteFile(script, []byte("#!/bin/sh\n"), 0o755)
	if sameBuild(exe, script) {
		t.Errorf("a script counted as the same build")
	}
}

// hostedAPI is an API slice whose settings become the given manager flags and
// namespaces.
type hostedAPI struct {
	name       string
	args       []string
	namespaces []string
}

func (h hostedAPI) Name() string                                     { return h.name }
func (h hostedAPI) DependsOn() []string                              { return nil }
func (h hostedAPI) Images(*components.Env) ([]string, error)         { return nil, nil }
func (h hostedAPI) Install(context.Context, *components.Env) error   { return nil }
func (h hostedAPI) Ready(context.Context, *components.Env) error     { return nil }
func (h hostedAPI) Smoke(context.Context, *components.Env) error     { return nil }
func (h hostedAPI) Uninstall(context.Context, *components.Env) error { return nil }
func (h hostedAPI) CRDs() []string                                   { return nil }
func (h hostedAPI) AddToScheme(*runtime.Scheme) error                { return nil }
func (h hostedAPI) ManagerArgs(*components.Env) []string             { return h.args }
func (h hostedAPI) Namespaces(*components.Env) []string              { return h.namespaces }

// The manager takes its own settings from the profile, and the flags and namespaces of
// the APIs it hosts from them: RBAC is bound in their namespaces together, or
// cluster-wide once one API serves every namespace.
func TestSettingsFromHostedAPIs(t *testing.T) {
	p := profiles.Defaults()
	p.Components.Manager.LogLevel = "debug"
	p.Components.Manager.Replicas = 2
	env := &components.Env{Profile: p}
	a := hostedAPI{name: "a", args: []string{"--gang-scheduler-name=volcano", "--namespace=team-a,team-b"}, namespaces: []string{"team-a", "team-b"}}
	b := hostedAPI{name: "b", args: []string{"--b-namespace=team-b,team-c"}, namespaces: []string{"team-b", "team-c"}}
	everywhere := hostedAPI{name: "c"}
	for _, tc := range []struct {
		name           string
		apis           []components.API
		wantArgs       []string
		wantNamespaces []string
	}{
		{"none", nil, nil, nil},
		{"one restricted", []components.API{a}, a.args, []string{"team-a", "team-b"}},
		{"two restricted", []components.API{a, b}, append(slices.Clone(a.args), b.args...), []string{"team-a", "team-b", "team-c"}},
		{"one everywhere", []components.API{a, everywhere}, a.args, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &Component{APIs: tc.apis}
			s := c.settings(env)
			if diff := cmp.Diff(tc.wantArgs, s.APIArgs); diff != "" {
				t.Errorf("API args (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantNamespaces, s.Namespaces); diff != "" {
				t.Errorf("namespaces (-want +got):\n%s", diff)
			}
			if s.Replicas != 2 || s.LogLevel != "debug" {
				t.Errorf("own settings not from the profile: %+v", s)
			}
			if diff := cmp.Diff(components.Names(tc.apis), s.APIs, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("hosted APIs (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(components.Names(tc.apis), c.DependsOn(), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("DependsOn (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDeploymentArgs(t *testing.T) {
	s := DefaultSettings()
	s.APIs = []string{"training", "tuning"}
	s.APIArgs = []string{"--gang-scheduler-name=volcano", "--namespace=team-a,team-b"}
	s.LogLevel = "debug"
	objs, err := Objects(ImageRepo+":abc", s)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if o.GetKind() != "Deployment" {
			continue
		}
		containers, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
		args := fmt.Sprint(containers[0].(map[string]any)["args"])
		for _, want := range []string{"--apis=training,tuning", "--gang-scheduler-name=volcano", "--namespace=team-a,team-b", "-v 1", "--leader-elect=true"} {
			if !strings.Contains(args, want) {
				t.Errorf("manager args %s: no %s", args, want)
			}
		}
		return
	}
	t.Fatal("no Deployment among the manager's objects")
}

// layerFiles lists the image's files: a regular file's size, a link's target.
func layerFiles(t *testing.T, img v1.Image) map[string]string {
	t.Helper()
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers: %d, %v", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	out := map[string]string{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		switch h.Typeflag {
		case tar.TypeSymlink:
			out[h.Name] = "-> " + h.Linkname
		case tar.TypeReg:
			out[h.Name] = fmt.Sprint(h.Size)
		}
	}
}

// The ingress proxy's own binary goes into the image as /kfup-ingress when one of the
// same build lies beside the manager binary; else /kfup-ingress links to /kfup (which
// runs the proxy by that name). The tag tells the two images apart.
func TestBuildImageIngressBinary(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "go.mod"), []byte("module example.com/tiny\n\ngo 1.26\n"), 0o644)
	os.WriteFile(filepath.Join(src, "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o644)
	mgr := filepath.Join(dir, "kfup-manager")
	build := exec.Command("go", "build", "-o", mgr, ".")
	build.Dir, build.Env = src, append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOFLAGS=-buildvcs=false")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	img, tagLinked, err := BuildImage(mgr)
	if err != nil {
		t.Fatal(err)
	}
	if got := layerFiles(t, img)[IngressBinary]; got != "-> kfup" {
		t.Errorf("without %s beside the manager: %s is %q, want a link to kfup", IngressBinary, IngressBinary, got)
	}
	// one from another build (busybox: no Go build info) is passed over
	other, err := os.ReadFile(staticBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, IngressBinary), other, 0o755)
	if img, _, err = BuildImage(mgr); err != nil || layerFiles(t, img)[IngressBinary] != "-> kfup" {
		t.Errorf("with a %s of another build: %v %v", IngressBinary, err, layerFiles(t, img))
	}
	// one of the same build (here: the same program) goes in
	data, _ := os.ReadFile(mgr)
	os.WriteFile(filepath.Join(dir, IngressBinary), data, 0o755)
	img, tag, err := BuildImage(mgr)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := layerFiles(t, img)[IngressBinary], fmt.Sprint(len(data)); got != want {
		t.Errorf("with %s of the same build: it is %q in the image, want a file of %s bytes", IngressBinary, got, want)
	}
	if tag == tagLinked {
		t.Errorf("the image with %s has the tag of the one without: %s", IngressBinary, tag)
	}
}
