package cli

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kfup/kfup/bootstrap"
	"github.com/kfup/kfup/components/nvidia"
	"github.com/kfup/kfup/internal/errs"
	"github.com/kfup/kfup/platform"
	"github.com/kfup/kfup/profiles"
)

func TestCreateProfileOptions(t *testing.T) {
	tests := []struct {
		name        string
		args        []string
		wantErr     errs.Kind
		wantEnabled []string
		wantProfile bool
	}{
		{name: "default profile is minimal", args: []string{"create"}, wantEnabled: []string{"manager", "training", "tuning", "serving", "pipelines", "ingress"}, wantProfile: true},
		{name: "none is the cluster only", args: []string{"create", "--profile", "none"}, wantProfile: false},
		{name: "set disables a component", args: []string{"create", "--profile", "standard", "--set", "components.knative.enabled=false", "--set", "components.istio.enabled=false"},
			wantEnabled: []string{"manager", "training", "tuning", "serving", "pipelines", "ingress"}, wantProfile: true},
		{name: "unknown profile", args: []string{"create", "--profile", "nope"}, wantErr: errs.KindUsage},
		{name: "unknown key", args: []string{"create", "--set", "components.manager.replica=2"}, wantErr: errs.KindUsage},
		{name: "set with none", args: []string{"create", "--profile", "none", "--set", "components.manager.replicas=2"}, wantErr: errs.KindUsage},
		{name: "conflict", args: []string{"create", "--set", "components.manager.enabled=false"}, wantErr: errs.KindUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _, _ := testFactory(t)
			var got *CreateOptions
			err := execute(f, NewCmdCreate(f, func(_ context.Context, o *CreateOptions) error { got = o; return nil }), tt.args...)
			if tt.wantErr != errs.KindUnknown {
				if errs.KindOf(err) != tt.wantErr || got != nil {
					t.Fatalf("want %v error before running, got %v (ran: %v)", tt.wantErr, err, got != nil)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (got.profile != nil) != tt.wantProfile {
				t.Fatalf("profile resolved = %v, want %v", got.profile != nil, tt.wantProfile)
			}
			if got.profile != nil {
				if d := cmp.Diff(tt.wantEnabled, got.profile.Enabled()); d != "" {
					t.Errorf("enabled (-want +got):\n%s", d)
				}
			}
		})
	}
}

// A create without --profile or --set on an existing cluster applies what its last install
// applied (every --set of it included, or nothing after --profile none); with either, or
// on a new or unfinished cluster, the flags decide.
func TestCreateKeepsRecordedProfile(t *testing.T) {
	istio, err := platform.ResolveProfile("minimal", []string{"components.istio.enabled=true", "components.istio.ingressGateway=false"})
	if err != nil {
		t.Fatal(err)
	}
	ready := func(profile string, applied *profiles.Profile) *bootstrap.Record {
		return &bootstrap.Record{Phase: bootstrap.PhaseReady, Profile: profile, Applied: applied}
	}
	for _, tc := range []struct {
		name        string
		args        []string
		prev        *bootstrap.Record
		wantProfile string
		wantEnabled []string // nil: no profile (none)
	}{
		{"new cluster", []string{"create"}, nil, "minimal", []string{"manager", "training", "tuning", "serving", "pipelines", "ingress"}},
		{"recorded profile kept", []string{"create"}, ready("minimal", istio), "minimal", []string{"manager", "training", "tuning", "serving", "pipelines", "ingress", "istio"}},
		{"recorded none kept", []string{"create"}, ready("none", nil), "none", nil},
		{"--profile decides", []string{"create", "--profile", "minimal"}, ready("minimal", istio), "minimal", []string{"manager", "training", "tuning", "serving", "pipelines", "ingress"}},
		{"--set decides", []string{"create", "--set", "components.manager.replicas=2"}, ready("minimal", istio), "minimal", []string{"manager", "training", "tuning", "serving", "pipelines", "ingress"}},
		{"unfinished cluster", []string{"create"}, &bootstrap.Record{Phase: bootstrap.PhaseCreating, Applied: istio}, "minimal", []string{"manager", "training", "tuning", "serving", "pipelines", "ingress"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, _, _ := testFactory(t)
			var got *CreateOptions
			if err := execute(f, NewCmdCreate(f, func(_ context.Context, o *CreateOptions) error { got = o; return nil }), tc.args...); err != nil {
				t.Fatal(err)
			}
			keepRecordedProfile(got, tc.prev)
			var enabled []string
			if got.profile != nil {
				enabled = got.profile.Enabled()
			}
			if got.Profile != tc.wantProfile || !cmp.Equal(enabled, tc.wantEnabled) {
				t.Fatalf("profile %q enabled %v, want %q %v", got.Profile, enabled, tc.wantProfile, tc.wantEnabled)
			}
		})
	}
}

func TestTestAndImagesOptions(t *testing.T) {
	f, _, _ := testFactory(t)
	var to *TestOptions
	err := execute(f, NewCmdTest(f, func(_ context.Context, o *TestOptions) error { to = o; return nil }),
		"--name", "ml", "test", "--component", "manager", "--timeout", "30s")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(&TestOptions{Name: "ml", Components: []string{"manager"}, Timeout: 30 * time.Second, Output: OutputTable,
		GPUImage: nvidia.DefaultSMIImage, GPUTimeout: 10 * time.Minute}, to); d != "" {
		t.Errorf("test options (-want +got):\n%s", d)
	}
	if err := execute(f, NewCmdTest(f, nil), "test", "--timeout", "0s"); ExitCode(err) != ExitUsage {
		t.Errorf("test --timeout 0s: %v", err)
	}

	cases := []struct {
		args    []string
		wantSub string
		wantErr bool
	}{
		{args: []string{"images", "list", "--profile", "none"}, wantSub: "list"},
		{args: []string{"images", "save", "-o", "b.tar"}, wantSub: "save"},
		{args: []string{"images", "save"}, wantErr: true},
		{args: []string{"images", "load"}, wantErr: true},
		{args: []string{"images", "load", "a.tar", "b.tar"}, wantErr: true},
		{args: []string{"images", "load", "a.tar"}, wantSub: "load"},
		{args: []string{"images", "list", "-o", "xml"}, wantErr: true},
	}
	for _, c := range cases {
		f, _, _ := testFactory(t)
		var sub string
		var got *ImagesOptions
		err := execute(f, NewCmdImages(f, func(_ context.Context, s string, o *ImagesOptions) error { sub, got = s, o; return nil }), c.args...)
		if c.wantErr {
			if ExitCode(err) != ExitUsage || got != nil {
				t.Errorf("%v: want usage error before running, got %v", c.args, err)
			}
			continue
		}
		if err != nil || sub != c.wantSub {
			t.Errorf("%v: sub %q err %v", c.args, sub, err)
		}
	}
}
