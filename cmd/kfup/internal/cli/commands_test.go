package cli

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"

	"github.com/kfup/kfup/bootstrap"
	"github.com/kfup/kfup/internal/errs"
)

// testFactory returns a Factory over buffers whose Env fails the test if a command reaches
// for the host.
func testFactory(t *testing.T) (*Factory, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	out, errOut := &bytes.Buffer{}, &bytes.Buffer{}
	f := NewFactory(IOStreams{In: strings.NewReader(""), Out: out, ErrOut: errOut})
	f.Env = func() (*bootstrap.Env, error) {
		t.Error("command touched the host (Factory.Env called)")
		return nil, errors.New("no host in unit tests")
	}
	return f, out, errOut
}

// execute runs args against a root with the global flags and the one subcommand sub, and
// returns the error as Main classifies it.
func execute(f *Factory, sub *cobra.Command, args ...string) error {
	root := newRootCmd(f)
	root.AddCommand(sub)
	root.SetArgs(args)
	if err := root.ExecuteContext(context.Background()); err != nil {
		return classifyCobraError(err)
	}
	return nil
}

func TestCreateOptions(t *testing.T) {
	defaults := bootstrap.CreateOptions{
		Name: "kfup", Provider: bootstrap.ProviderKind, Wait: 5 * time.Minute, ListenAddress: "127.0.0.1",
	}
	tests := []struct {
		name string
		args []string
		want bootstrap.CreateOptions
	}{
		{name: "defaults", args: nil, want: defaults},
		{
			name: "existing provider with context",
			args: []string{"--provider", "existing", "--context", "foo", "--wait", "2m"},
			want: bootstrap.CreateOptions{
				Name: "kfup", Provider: bootstrap.ProviderExisting, Context: "foo", Wait: 2 * time.Minute, ListenAddress: "127.0.0.1",
			},
		},
		{
			name: "every kind flag",
			args: []string{
				"--name", "ml-dev", "--node-image", "my/node:v1", "--config", "kind.yaml", "--wait", "90s", "--retain",
				"--http-port", "8080", "--https-port", "8443", "--listen-address", "0.0.0.0", "--kubeconfig", "/tmp/kc",
			},
			want: bootstrap.CreateOptions{
				Name: "ml-dev", Provider: bootstrap.ProviderKind, NodeImage: "my/node:v1", ConfigFile: "kind.yaml",
				Wait: 90 * time.Second, Retain: true, HTTPPort: 8080, HTTPSPort: 8443, ListenAddress: "0.0.0.0",
				Kubeconfig: "/tmp/kc",
			},
		},
		{
			name: "global flags before the subcommand",
			args: []string{"--name", "ml-dev", "--kubeconfig", "/tmp/kc", "-v", "2", "-q", "@create"},
			want: bootstrap.CreateOptions{
				Name: "ml-dev", Provider: bootstrap.ProviderKind, Wait: 5 * time.Minute, ListenAddress: "127.0.0.1", Kubeconfig: "/tmp/kc",
			},
		},
		{
			name: "--gpu alone",
			args: []string{"--gpu"},
			want: withGPU(defaults, bootstrap.GPUOptions{Mode: bootstrap.GPUOn}),
		},
		{
			name: "--gpu=auto",
			args: []string{"--gpu=auto"},
			want: withGPU(defaults, bootstrap.GPUOptions{Mode: bootstrap.GPUAuto}),
		},
		{
			name: "--gpu=false",
			args: []string{"--gpu=false"},
			want: defaults,
		},
		{
			name: "every GPU flag",
			args: []string{"--gpu", "--gpus", "0,GPU-abc", "--gpu-share", "4", "--gpu-mig-strategy", "mixed"},
			want: withGPU(defaults, bootstrap.GPUOptions{Mode: bootstrap.GPUOn, Select: []string{"0", "GPU-abc"}, Share: 4, MIGStrategy: "mixed"}),
		},
		{
			name: "--gpus implies --gpu",
			args: []string{"--gpus", "1"},
			want: withGPU(defaults, bootstrap.GPUOptions{Mode: bootstrap.GPUOn, Select: []string{"1"}}),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.want.GPU.Share == 0 {
				tt.want.GPU.Share = 1
			}
			if tt.want.GPU.MIGStrategy == "" {
				tt.want.GPU.MIGStrategy = "none"
			}
			f, out, _ := testFactory(t)
			var got *CreateOptions
			cmd := NewCmdCreate(f, func(_ context.Context, o *CreateOptions) error { got = o; return nil })
			if err := execute(f, cmd, withSubcommand("create", tt.args)...); err != nil {
				t.Fatalf("execute: %v", err)
			}
			if got == nil {
				t.Fatal("runF not called")
			}
			if diff := cmp.Diff(tt.want, got.Cluster); diff != "" {
				t.Errorf("options (-want +got):\n%s", diff)
			}
			if out.Len() != 0 {
				t.Errorf("stdout = %q, want nothing from a stubbed run", out)
			}
		})
	}
}

func withGPU(o bootstrap.CreateOptions, g bootstrap.GPUOptions) bootstrap.CreateOptions {
	o.GPU = g
	return o
}

// TestCreateGPUFlagErrors: bad GPU flags are usage errors before anything runs.
func TestCreateGPUFlagErrors(t *testing.T) {
	for args, want := range map[string]string{
		"--gpu=maybe":                  "want true, false or auto",
		"--gpu --gpu-share 0":          "--gpu-share 0: out of range",
		"--gpu --gpu-share 65":         "--gpu-share 65: out of range",
		"--gpu --gpu-mig-strategy all": `unknown --gpu-mig-strategy "all"`,
		"--gpu=false --gpus 0":         "--gpus, --gpu-share and --gpu-mig-strategy need --gpu",
		"--gpu --provider existing":    "--gpu needs --provider kind",
	} {
		f, _, _ := testFactory(t)
		cmd := NewCmdCreate(f, func(context.Context, *CreateOptions) error {
			t.Errorf("%s: run called", args)
			return nil
		})
		err := execute(f, cmd, append([]string{"create"}, strings.Fields(args)...)...)
		if err == nil || !strings.Contains(err.Error(), want) || errs.KindOf(err) != errs.KindUsage {
			t.Errorf("%s: err %v (kind %v), want usage error with %q", args, err, errs.KindOf(err), want)
		}
	}
}

// withSubcommand puts sub first, or where args has the placeholder "@<sub>".
func withSubcommand(sub string, args []string) []string {
	for i, a := range args {
		if a == "@"+sub {
			r := append([]string{}, args...)
			r[i] = sub
			return r
		}
	}
	return append([]string{sub}, args...)
}

func TestGlobalFlags(t *testing.T) {
	f, _, _ := testFactory(t)
	cmd := NewCmdVersion(f, func(context.Context, *VersionOptions) error { return nil })
	if err := execute(f, cmd, "version", "-v", "2", "--quiet", "--name", "ml-dev", "--kubeconfig", "/k"); err != nil {
		t.Fatal(err)
	}
	want := GlobalOptions{Name: "ml-dev", Verbosity: 2, Quiet: true, Kubeconfig: "/k"}
	if diff := cmp.Diff(want, f.Global); diff != "" {
		t.Errorf("global options (-want +got):\n%s", diff)
	}

	f, _, _ = testFactory(t)
	cmd = NewCmdVersion(f, func(context.Context, *VersionOptions) error { return nil })
	if err := execute(f, cmd, "version"); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(GlobalOptions{Name: bootstrap.DefaultName}, f.Global); diff != "" {
		t.Errorf("default global options (-want +got):\n%s", diff)
	}
}

func TestDeleteOptions(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want DeleteOptions
	}{
		{name: "defaults", want: DeleteOptions{Name: "kfup"}},
		{name: "name and kubeconfig", args: []string{"--name", "ml-dev", "--kubeconfig", "/k"}, want: DeleteOptions{Name: "ml-dev", Kubeconfig: "/k"}},
		{name: "all", args: []string{"--all"}, want: DeleteOptions{Name: "kfup", All: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _, _ := testFactory(t)
			var got *DeleteOptions
			cmd := NewCmdDelete(f, func(_ context.Context, o *DeleteOptions) error { got = o; return nil })
			if err := execute(f, cmd, withSubcommand("delete", tt.args)...); err != nil {
				t.Fatalf("execute: %v", err)
			}
			if got == nil {
				t.Fatal("runF not called")
			}
			if diff := cmp.Diff(tt.want, *got); diff != "" {
				t.Errorf("options (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStatusOptions(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want StatusOptions
	}{
		{name: "defaults", want: StatusOptions{Name: "kfup", Output: OutputTable}},
		{name: "json", args: []string{"-o", "json", "--name", "ml-dev"}, want: StatusOptions{Name: "ml-dev", Output: OutputJSON}},
		{name: "all yaml", args: []string{"--all", "--output", "yaml"}, want: StatusOptions{Name: "kfup", All: true, Output: OutputYAML}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _, _ := testFactory(t)
			var got *StatusOptions
			cmd := NewCmdStatus(f, func(_ context.Context, o *StatusOptions) error { got = o; return nil })
			if err := execute(f, cmd, withSubcommand("status", tt.args)...); err != nil {
				t.Fatalf("execute: %v", err)
			}
			if got == nil {
				t.Fatal("runF not called")
			}
			if diff := cmp.Diff(tt.want, *got); diff != "" {
				t.Errorf("options (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDoctorOptions(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want DoctorOptions
	}{
		{name: "defaults", want: DoctorOptions{Output: OutputTable, HTTPPort: 80, HTTPSPort: 443, ListenAddress: "127.0.0.1", GPUMIGStrategy: "none"}},
		{
			name: "gpu",
			args: []string{"--gpu", "--gpu-mig-strategy", "mixed", "--gpu-docker-probe"},
			want: DoctorOptions{Output: OutputTable, HTTPPort: 80, HTTPSPort: 443, ListenAddress: "127.0.0.1", GPU: true, GPUMIGStrategy: "mixed", GPUDockerProbe: true},
		},
		{
			name: "every flag",
			args: []string{"-o", "json", "--http-port", "8080", "--https-port", "8443", "--listen-address", "0.0.0.0", "--node-image", "n:v1"},
			want: DoctorOptions{Output: OutputJSON, HTTPPort: 8080, HTTPSPort: 8443, ListenAddress: "0.0.0.0", NodeImage: "n:v1", GPUMIGStrategy: "none"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _, _ := testFactory(t)
			var got *DoctorOptions
			cmd := NewCmdDoctor(f, func(_ context.Context, o *DoctorOptions) error { got = o; return nil })
			if err := execute(f, cmd, withSubcommand("doctor", tt.args)...); err != nil {
				t.Fatalf("execute: %v", err)
			}
			if got == nil {
				t.Fatal("runF not called")
			}
			if diff := cmp.Diff(tt.want, *got); diff != "" {
				t.Errorf("options (-want +got):\n%s", diff)
			}
		})
	}
}

func TestVersionOptions(t *testing.T) {
	f, _, _ := testFactory(t)
	var got *VersionOptions
	cmd := NewCmdVersion(f, func(_ context.Context, o *VersionOptions) error { got = o; return nil })
	if err := execute(f, cmd, "version", "-o", "yaml"); err != nil {
		t.Fatal(err)
	}
	if got == nil || got.Output != OutputYAML {
		t.Fatalf("options = %+v, want Output yaml", got)
	}
}

// TestUsageErrors checks that bad input is a usage error (exit 2) caught before the run
// function.
func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name    string
		cmd     string
		args    []string
		wantMsg string // substring of the error
	}{
		{"create: bad name", "create", []string{"--name", "Bad_Name"}, "invalid cluster name"},
		{"create: empty name", "create", []string{"--name", ""}, "empty"},
		{"create: name too long", "create", []string{"--name", strings.Repeat("a", 50)}, "too long"},
		{"create: unknown provider", "create", []string{"--provider", "k3d"}, `unknown provider "k3d"`},
		{"create: zero wait", "create", []string{"--wait", "0s"}, "--wait must be positive"},
		{"create: unparsable wait", "create", []string{"--wait", "soon"}, "soon"},
		{"create: unparsable port", "create", []string{"--http-port", "eighty"}, "eighty"},
		{"create: existing with node image", "create", []string{"--provider", "existing", "--node-image", "n:v1"}, "--provider existing"},
		{"create: existing with ports", "create", []string{"--provider", "existing", "--http-port", "8080"}, "--provider existing"},
		{"create: kind with context", "create", []string{"--context", "foo"}, "--context"},
		{"create: unknown flag", "create", []string{"--bogus"}, "--bogus"},
		{"create: extra argument", "create", []string{"ml-dev"}, "takes no arguments"},
		{"delete: all with name", "delete", []string{"--all", "--name", "x"}, "cannot be combined"},
		{"delete: name with all (order)", "delete", []string{"--name", "kfup", "--all"}, "cannot be combined"},
		{"delete: bad name", "delete", []string{"--name", "UPPER"}, "invalid cluster name"},
		{"delete: extra argument", "delete", []string{"kfup"}, "takes no arguments"},
		{"status: xml", "status", []string{"-o", "xml"}, `unknown output format "xml"`},
		{"status: bad name", "status", []string{"--name", "a_b"}, "invalid cluster name"},
		{"status: extra argument", "status", []string{"kfup", "more"}, "takes no arguments"},
		{"doctor: xml", "doctor", []string{"-o", "xml"}, `unknown output format "xml"`},
		{"doctor: extra argument", "doctor", []string{"now"}, "takes no arguments"},
		{"doctor: mig strategy without gpu", "doctor", []string{"--gpu-mig-strategy", "mixed"}, "need --gpu"},
		{"doctor: docker probe without gpu", "doctor", []string{"--gpu-docker-probe"}, "need --gpu"},
		{"doctor: unknown mig strategy", "doctor", []string{"--gpu", "--gpu-mig-strategy", "all"}, `unknown --gpu-mig-strategy "all"`},
		{"version: xml", "version", []string{"-o", "xml"}, `unknown output format "xml"`},
		{"version: extra argument", "version", []string{"please"}, "takes no arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, out, _ := testFactory(t)
			called := false
			var cmd *cobra.Command
			switch tt.cmd {
			case "create":
				cmd = NewCmdCreate(f, func(context.Context, *CreateOptions) error { called = true; return nil })
			case "delete":
				cmd = NewCmdDelete(f, func(context.Context, *DeleteOptions) error { called = true; return nil })
			case "status":
				cmd = NewCmdStatus(f, func(context.Context, *StatusOptions) error { called = true; return nil })
			case "doctor":
				cmd = NewCmdDoctor(f, func(context.Context, *DoctorOptions) error { called = true; return nil })
			case "version":
				cmd = NewCmdVersion(f, func(context.Context, *VersionOptions) error { called = true; return nil })
			}
			err := execute(f, cmd, withSubcommand(tt.cmd, tt.args)...)
			if err == nil {
				t.Fatal("want error")
			}
			if called {
				t.Error("runF called despite invalid input")
			}
			if code := ExitCode(err); code != ExitUsage {
				t.Errorf("ExitCode = %d, want %d (kind %v, err %v)", code, ExitUsage, errs.KindOf(err), err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not contain %q", err, tt.wantMsg)
			}
			if errs.HintOf(err) == "" {
				t.Errorf("error %q has no hint", err)
			}
			if out.Len() != 0 {
				t.Errorf("stdout = %q, want nothing", out)
			}
		})
	}
}

func TestRunFErrorPassesThrough(t *testing.T) {
	f, _, _ := testFactory(t)
	want := errs.New(errs.KindNotFound, "", "no cluster")
	cmd := NewCmdStatus(f, func(context.Context, *StatusOptions) error { return want })
	if err := execute(f, cmd, "status"); !errors.Is(err, want) {
		t.Fatalf("err = %v, want %v", err, want)
	}
}

// TestCreateGPUProfile: --gpu adds the nvidia component to the chosen profile (its
// settings from --gpu-share and --gpu-mig-strategy) once the node has GPUs, and a
// profile with GPU support turns --gpu on.
func TestCreateGPUProfile(t *testing.T) {
	run := func(t *testing.T, args ...string) (*CreateOptions, error) {
		f, _, _ := testFactory(t)
		var got *CreateOptions
		cmd := NewCmdCreate(f, func(_ context.Context, o *CreateOptions) error { got = o; return nil })
		return got, execute(f, cmd, append([]string{"create"}, args...)...)
	}
	o, err := run(t, "--gpu", "--gpu-share", "4", "--gpu-mig-strategy", "mixed")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"components.nvidia.enabled=true", "components.nvidia.timeSlicingReplicas=4", "components.nvidia.migStrategy=mixed"}
	if diff := cmp.Diff(want, o.gpuSets); diff != "" {
		t.Errorf("gpu sets (-want +got):\n%s", diff)
	}
	if o.profile.IsEnabled("nvidia") {
		t.Error("nvidia enabled before the cluster has GPUs")
	}
	// --gpu=auto found none: nothing added
	if err := withGPUSupport(o, &bootstrap.Record{}); err != nil || o.profile.IsEnabled("nvidia") {
		t.Errorf("no GPUs: nvidia %t, %v", o.profile.IsEnabled("nvidia"), err)
	}
	if err := withGPUSupport(o, &bootstrap.Record{GPUs: []string{"GPU-a"}}); err != nil {
		t.Fatal(err)
	}
	if n := o.profile.Components.NVIDIA; !n.Enabled || n.TimeSlicingReplicas != 4 || n.MIGStrategy != "mixed" {
		t.Errorf("nvidia settings %+v", n)
	}

	if o, err = run(t, "--profile", "gpu"); err != nil || o.Cluster.GPU.Mode != bootstrap.GPUOn {
		t.Errorf("--profile gpu: mode %q, %v; want --gpu on", o.Cluster.GPU.Mode, err)
	}
	if o, err = run(t, "--profile", "gpu", "--gpu=auto"); err != nil || o.Cluster.GPU.Mode != bootstrap.GPUAuto {
		t.Errorf("--profile gpu --gpu=auto: mode %q, %v", o.Cluster.GPU.Mode, err)
	}
	if o, err = run(t, "--gpu", "--gpu-share", "1"); err != nil || !slices.Contains(o.gpuSets, "components.nvidia.timeSlicingReplicas=0") {
		t.Errorf("--gpu-share 1: %v, %v; want time slicing off", o.gpuSets, err)
	}
	// a profile that cannot take the nvidia component is refused before anything runs
	if _, err := run(t, "--gpu", "--set", "components.manager.enabled=false"); err == nil || errs.KindOf(err) != errs.KindUsage {
		t.Errorf("--gpu without the manager: %v, want a usage error", err)
	}
}
