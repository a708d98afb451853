package bootstrap

import (
	"context"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"

	"github.com/kfup/kfup/internal/errs"
	"github.com/kfup/kfup/manifests"
)

func TestCreateOptionsValidate(t *testing.T) {
	valid := func(mut func(o *CreateOptions)) CreateOptions {
		o := CreateOptions{Name: "kfup", Provider: ProviderKind, Wait: 5 * time.Minute, ListenAddress: "127.0.0.1"}
		if mut != nil {
			mut(&o)
		}
		return o
	}
	tests := []struct {
		name    string
		opts    CreateOptions
		wantErr string // substring; empty means valid
	}{
		{name: "kind defaults", opts: valid(nil)},
		{name: "kind with everything", opts: valid(func(o *CreateOptions) {
			o.NodeImage, o.ConfigFile, o.HTTPPort, o.HTTPSPort, o.Retain = "img:v1", "cfg.yaml", 8080, 8443, true
		})},
		{name: "existing with context", opts: valid(func(o *CreateOptions) { o.Provider, o.Context = ProviderExisting, "prod" })},
		{name: "existing, current context", opts: valid(func(o *CreateOptions) { o.Provider = ProviderExisting })},
		{name: "bad name", opts: valid(func(o *CreateOptions) { o.Name = "Bad_Name" }), wantErr: "invalid cluster name"},
		{name: "empty name", opts: valid(func(o *CreateOptions) { o.Name = "" }), wantErr: "empty"},
		{name: "unknown provider", opts: valid(func(o *CreateOptions) { o.Provider = "k3d" }), wantErr: `unknown provider "k3d"`},
		{name: "empty provider", opts: valid(func(o *CreateOptions) { o.Provider = "" }), wantErr: "unknown provider"},
		{name: "zero wait", opts: valid(func(o *CreateOptions) { o.Wait = 0 }), wantErr: "--wait must be positive"},
		{name: "negative wait", opts: valid(func(o *CreateOptions) { o.Wait = -time.Second }), wantErr: "--wait must be positive"},
		{name: "existing with node image", opts: valid(func(o *CreateOptions) { o.Provider, o.NodeImage = ProviderExisting, "img:v1" }), wantErr: "--provider existing"},
		{name: "existing with config", opts: valid(func(o *CreateOptions) { o.Provider, o.ConfigFile = ProviderExisting, "cfg.yaml" }), wantErr: "--provider existing"},
		{name: "existing with http port", opts: valid(func(o *CreateOptions) { o.Provider, o.HTTPPort = ProviderExisting, 8080 }), wantErr: "--provider existing"},
		{name: "existing with https port", opts: valid(func(o *CreateOptions) { o.Provider, o.HTTPSPort = ProviderExisting, 8443 }), wantErr: "--provider existing"},
		{name: "kind with context", opts: valid(func(o *CreateOptions) { o.Context = "prod" }), wantErr: "--context"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.opts.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate = nil, want error containing %q", tt.wantErr)
			}
			if k := errs.KindOf(err); k != errs.KindUsage {
				t.Errorf("kind = %v, want usage (err: %v)", k, err)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not contain %q", err, tt.wantErr)
			}
			if errs.HintOf(err) == "" {
				t.Errorf("error %q has no hint", err)
			}
		})
	}
}

func TestResolveNodeImage(t *testing.T) {
	tests := []struct {
		name, flag, env, want string
	}{
		{name: "default", want: manifests.DefaultNodeImage},
		{name: "env", env: "kfup-offline/node:v1", want: "kfup-offline/node:v1"},
		{name: "flag beats env", flag: "my/node:v2", env: "kfup-offline/node:v1", want: "my/node:v2"},
		{name: "flag alone", flag: "my/node:v2", want: "my/node:v2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(manifests.NodeImageEnv, tt.env)
			if got := ResolveNodeImage(tt.flag); got != tt.want {
				t.Errorf("ResolveNodeImage(%q) with $%s=%q = %q, want %q", tt.flag, manifests.NodeImageEnv, tt.env, got, tt.want)
			}
		})
	}
}

func TestShortImage(t *testing.T) {
	for in, want := range map[string]string{
		"kindest/node:v1.37.2@sha256:abc": "kindest/node:v1.37.2",
		"kindest/node:v1.37.2":            "kindest/node:v1.37.2",
	} {
		if got := shortImage(in); got != want {
			t.Errorf("shortImage(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestKindConfigStepPorts(t *testing.T) {
	busy := map[int]bool{80: true}
	free := func(_ string, p int) bool { return !busy[p] }
	run := func(o CreateOptions, base *v1alpha4.Cluster) (*Env, error) {
		env := &Env{PortFree: free, Record: &Record{Name: "k"}}
		o.Name = "k"
		return env, kindConfigStep{opts: o, base: base}.Run(context.Background(), env)
	}

	// 80 busy: http falls back to 8080, https gets 443
	env, err := run(CreateOptions{}, nil)
	if err != nil || env.Record.HTTPPort != 8080 || env.Record.HTTPSPort != 443 {
		t.Fatalf("defaults: ports %d/%d, %v", env.Record.HTTPPort, env.Record.HTTPSPort, err)
	}
	// explicit ports win
	if env, err = run(CreateOptions{HTTPPort: 9080, HTTPSPort: 9443}, nil); err != nil || env.Record.HTTPPort != 9080 || env.Record.HTTPSPort != 9443 {
		t.Fatalf("explicit: ports %d/%d, %v", env.Record.HTTPPort, env.Record.HTTPSPort, err)
	}
	// an explicit busy port is a conflict naming its flag
	if _, err = run(CreateOptions{HTTPPort: 80}, nil); errs.KindOf(err) != errs.KindConflict || !strings.Contains(err.Error(), "--http-port") {
		t.Fatalf("busy explicit port: %v", err)
	}
	// a --config that maps the http node port keeps its mapping; only https is picked
	base := &v1alpha4.Cluster{Nodes: []v1alpha4.Node{{Role: v1alpha4.ControlPlaneRole,
		ExtraPortMappings: []v1alpha4.PortMapping{tcpMapping(31080, 7080, "127.0.0.1")}}}}
	if env, err = run(CreateOptions{}, base); err != nil || env.Record.HTTPPort != 7080 || env.Record.HTTPSPort != 443 {
		t.Fatalf("with --config mapping http: ports %d/%d, %v", env.Record.HTTPPort, env.Record.HTTPSPort, err)
	}
}
