package bootstrap

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"

	"github.com/kfup/kfup/internal/errs"
)

func tcpMapping(container, host int, addr string) v1alpha4.PortMapping {
	return v1alpha4.PortMapping{
		ContainerPort: int32(container), HostPort: int32(host),
		ListenAddress: addr, Protocol: v1alpha4.PortMappingProtocolTCP,
	}
}

func TestBuildKindConfig(t *testing.T) {
	gpuMount := v1alpha4.Mount{HostPath: "/dev/nvidia0", ContainerPath: "/dev/nvidia0"}
	driverMount := v1alpha4.Mount{HostPath: "/usr/lib/nvidia", ContainerPath: "/usr/lib/nvidia", Readonly: true}
	tests := []struct {
		name string
		opts KindConfigOptions
		want *v1alpha4.Cluster
	}{
		{
			name: "defaults: one control-plane node with ingress ports on 127.0.0.1",
			opts: KindConfigOptions{Name: "kfup", HTTPPort: 80, HTTPSPort: 443},
			want: &v1alpha4.Cluster{
				TypeMeta: v1alpha4.TypeMeta{Kind: "Cluster", APIVersion: "kind.x-k8s.io/v1alpha4"},
				Name:     "kfup",
				Nodes: []v1alpha4.Node{{
					Role:   v1alpha4.ControlPlaneRole,
					Labels: map[string]string{IngressNodeLabel: "true"},
					ExtraPortMappings: []v1alpha4.PortMapping{
						tcpMapping(31080, 80, "127.0.0.1"),
						tcpMapping(31443, 443, "127.0.0.1"),
					},
				}},
			},
		},
		{
			name: "listen address and non-default host ports",
			opts: KindConfigOptions{Name: "ml-dev", HTTPPort: 8080, HTTPSPort: 8443, ListenAddress: "0.0.0.0"},
			want: &v1alpha4.Cluster{
				TypeMeta: v1alpha4.TypeMeta{Kind: "Cluster", APIVersion: "kind.x-k8s.io/v1alpha4"},
				Name:     "ml-dev",
				Nodes: []v1alpha4.Node{{
					Role:   v1alpha4.ControlPlaneRole,
					Labels: map[string]string{IngressNodeLabel: "true"},
					ExtraPortMappings: []v1alpha4.PortMapping{
						tcpMapping(31080, 8080, "0.0.0.0"),
						tcpMapping(31443, 8443, "0.0.0.0"),
					},
				}},
			},
		},
		{
			name: "zero ports add no mapping",
			opts: KindConfigOptions{Name: "kfup"},
			want: &v1alpha4.Cluster{
				TypeMeta: v1alpha4.TypeMeta{Kind: "Cluster", APIVersion: "kind.x-k8s.io/v1alpha4"},
				Name:     "kfup",
				Nodes: []v1alpha4.Node{{
					Role:   v1alpha4.ControlPlaneRole,
					Labels: map[string]string{IngressNodeLabel: "true"},
				}},
			},
		},
		{
			name: "cgroup v1 adds the kubelet patch",
			opts: KindConfigOptions{Name: "kfup", CgroupV1: true},
			want: &v1alpha4.Cluster{
				TypeMeta:             v1alpha4.TypeMeta{Kind: "Cluster", APIVersion: "kind.x-k8s.io/v1alpha4"},
				Name:                 "kfup",
				Nodes:                []v1alpha4.Node{{Role: v1alpha4.ControlPlaneRole, Labels: map[string]string{IngressNodeLabel: "true"}}},
				KubeadmConfigPatches: []string{cgroupV1KubeletPatch},
			},
		},
		{
			name: "user's mappings of the ingress node ports are kept, none added",
			opts: KindConfigOptions{
				Name: "kfup", HTTPPort: 80, HTTPSPort: 443,
				Base: &v1alpha4.Cluster{Nodes: []v1alpha4.Node{{
					Role: v1alpha4.ControlPlaneRole,
					ExtraPortMappings: []v1alpha4.PortMapping{
						{ContainerPort: 31080, HostPort: 9080},
						{ContainerPort: 31443, HostPort: 9443, ListenAddress: "0.0.0.0"},
					},
				}}},
			},
			want: &v1alpha4.Cluster{
				TypeMeta: v1alpha4.TypeMeta{Kind: "Cluster", APIVersion: "kind.x-k8s.io/v1alpha4"},
				Name:     "kfup",
				Nodes: []v1alpha4.Node{{
					Role:   v1alpha4.ControlPlaneRole,
					Labels: map[string]string{IngressNodeLabel: "true"},
					ExtraPortMappings: []v1alpha4.PortMapping{
						{ContainerPort: 31080, HostPort: 9080},
						{ContainerPort: 31443, HostPort: 9443, ListenAddress: "0.0.0.0"},
					},
				}},
			},
		},
		{
			name: "user maps only the HTTPS node port: kfup adds HTTP, keeps other mappings",
			opts: KindConfigOptions{
				Name: "kfup", HTTPPort: 80, HTTPSPort: 443,
				Base: &v1alpha4.Cluster{Nodes: []v1alpha4.Node{{
					ExtraPortMappings: []v1alpha4.PortMapping{
						{ContainerPort: 30000, HostPort: 30000},
						{ContainerPort: 31443, HostPort: 9443},
					},
				}}},
			},
			want: &v1alpha4.Cluster{
				TypeMeta: v1alpha4.TypeMeta{Kind: "Cluster", APIVersion: "kind.x-k8s.io/v1alpha4"},
				Name:     "kfup",
				Nodes: []v1alpha4.Node{{
					Labels: map[string]string{IngressNodeLabel: "true"},
					ExtraPortMappings: []v1alpha4.PortMapping{
						{ContainerPort: 30000, HostPort: 30000},
						{ContainerPort: 31443, HostPort: 9443},
						tcpMapping(31080, 80, "127.0.0.1"),
					},
				}},
			},
		},
		{
			name: "base with a worker first: the control-plane node gets ports and label, every node the mounts",
			opts: KindConfigOptions{
				Name: "kfup", HTTPPort: 80, HTTPSPort: 443,
				ExtraMounts: []v1alpha4.Mount{gpuMount, driverMount},
				Base: &v1alpha4.Cluster{
					Name: "kfup",
					Nodes: []v1alpha4.Node{
						{Role: v1alpha4.WorkerRole},
						{Role: v1alpha4.ControlPlaneRole, Labels: map[string]string{"team": "ml"}},
						{Role: v1alpha4.WorkerRole, ExtraMounts: []v1alpha4.Mount{{HostPath: "/data", ContainerPath: "/data"}}},
					},
				},
			},
			want: &v1alpha4.Cluster{
				TypeMeta: v1alpha4.TypeMeta{Kind: "Cluster", APIVersion: "kind.x-k8s.io/v1alpha4"},
				Name:     "kfup",
				Nodes: []v1alpha4.Node{
					{Role: v1alpha4.WorkerRole, ExtraMounts: []v1alpha4.Mount{gpuMount, driverMount}},
					{
						Role:        v1alpha4.ControlPlaneRole,
						Labels:      map[string]string{"team": "ml", IngressNodeLabel: "true"},
						ExtraMounts: []v1alpha4.Mount{gpuMount, driverMount},
						ExtraPortMappings: []v1alpha4.PortMapping{
							tcpMapping(31080, 80, "127.0.0.1"),
							tcpMapping(31443, 443, "127.0.0.1"),
						},
					},
					{Role: v1alpha4.WorkerRole, ExtraMounts: []v1alpha4.Mount{{HostPath: "/data", ContainerPath: "/data"}, gpuMount, driverMount}},
				},
			},
		},
		{
			name: "user's ingress-ready label value is kept",
			opts: KindConfigOptions{
				Name: "kfup",
				Base: &v1alpha4.Cluster{Nodes: []v1alpha4.Node{{
					Role: v1alpha4.ControlPlaneRole, Labels: map[string]string{IngressNodeLabel: "yes"},
				}}},
			},
			want: &v1alpha4.Cluster{
				TypeMeta: v1alpha4.TypeMeta{Kind: "Cluster", APIVersion: "kind.x-k8s.io/v1alpha4"},
				Name:     "kfup",
				Nodes:    []v1alpha4.Node{{Role: v1alpha4.ControlPlaneRole, Labels: map[string]string{IngressNodeLabel: "yes"}}},
			},
		},
		{
			name: "base patches kept, cgroup v1 patch appended",
			opts: KindConfigOptions{
				Name: "kfup", CgroupV1: true,
				Base: &v1alpha4.Cluster{KubeadmConfigPatches: []string{"kind: ClusterConfiguration\n"}},
			},
			want: &v1alpha4.Cluster{
				TypeMeta:             v1alpha4.TypeMeta{Kind: "Cluster", APIVersion: "kind.x-k8s.io/v1alpha4"},
				Name:                 "kfup",
				Nodes:                []v1alpha4.Node{{Role: v1alpha4.ControlPlaneRole, Labels: map[string]string{IngressNodeLabel: "true"}}},
				KubeadmConfigPatches: []string{"kind: ClusterConfiguration\n", cgroupV1KubeletPatch},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before *v1alpha4.Cluster
			if tt.opts.Base != nil {
				before = tt.opts.Base.DeepCopy()
			}
			got, err := BuildKindConfig(tt.opts)
			if err != nil {
				t.Fatalf("BuildKindConfig: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("BuildKindConfig mismatch (-want +got):\n%s", diff)
			}
			if before != nil {
				if diff := cmp.Diff(before, tt.opts.Base); diff != "" {
					t.Errorf("BuildKindConfig modified Base (-before +after):\n%s", diff)
				}
			}
		})
	}
}

func TestBuildKindConfigNoCgroupPatchByDefault(t *testing.T) {
	got, err := BuildKindConfig(KindConfigOptions{Name: "kfup", HTTPPort: 80, HTTPSPort: 443})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range got.KubeadmConfigPatches {
		if strings.Contains(p, "failCgroupV1") {
			t.Fatalf("cgroup v1 patch present without CgroupV1: %q", p)
		}
	}
}

func TestBuildKindConfigErrors(t *testing.T) {
	tests := []struct {
		name     string
		opts     KindConfigOptions
		wantMsg  string
		wantHint string
	}{
		{
			name: "config names another cluster",
			opts: KindConfigOptions{Name: "kfup", Base: &v1alpha4.Cluster{Name: "other"}},
			// the message names both; the hint tells how to reconcile them
			wantMsg:  `"other"`,
			wantHint: "--name other",
		},
		{
			name: "only worker nodes",
			opts: KindConfigOptions{Name: "kfup", Base: &v1alpha4.Cluster{Nodes: []v1alpha4.Node{
				{Role: v1alpha4.WorkerRole}, {Role: v1alpha4.WorkerRole},
			}}},
			wantMsg:  "no control-plane node",
			wantHint: "control-plane",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := tt.opts.Base.DeepCopy()
			got, err := BuildKindConfig(tt.opts)
			if err == nil {
				t.Fatalf("BuildKindConfig = %+v, want error", got)
			}
			if k := errs.KindOf(err); k != errs.KindUsage {
				t.Errorf("kind = %v, want usage (err: %v)", k, err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not contain %q", err, tt.wantMsg)
			}
			if h := errs.HintOf(err); !strings.Contains(h, tt.wantHint) {
				t.Errorf("hint %q does not contain %q", h, tt.wantHint)
			}
			if diff := cmp.Diff(before, tt.opts.Base); diff != "" {
				t.Errorf("Base modified (-before +after):\n%s", diff)
			}
		})
	}
}

func TestBuildKindConfigBaseSlicesNotShared(t *testing.T) {
	base := &v1alpha4.Cluster{Nodes: []v1alpha4.Node{{
		Role:              v1alpha4.ControlPlaneRole,
		ExtraPortMappings: make([]v1alpha4.PortMapping, 0, 8), // spare capacity an append could reuse
		ExtraMounts:       make([]v1alpha4.Mount, 0, 8),
	}}}
	got, err := BuildKindConfig(KindConfigOptions{
		Name: "kfup", Base: base, HTTPPort: 80, HTTPSPort: 443,
		ExtraMounts: []v1alpha4.Mount{{HostPath: "/a", ContainerPath: "/a"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	got.Nodes[0].ExtraPortMappings[0].HostPort = 1
	got.Nodes[0].ExtraMounts[0].HostPath = "/changed"
	if n := base.Nodes[0]; len(n.ExtraPortMappings) != 0 || len(n.ExtraMounts) != 0 || n.Labels != nil {
		t.Fatalf("base node changed: %+v", n)
	}
}

func TestIngressHostPorts(t *testing.T) {
	c, err := BuildKindConfig(KindConfigOptions{Name: "kfup", HTTPPort: 8080, HTTPSPort: 8443})
	if err != nil {
		t.Fatal(err)
	}
	if h, s := IngressHostPorts(c); h != 8080 || s != 8443 {
		t.Fatalf("IngressHostPorts = %d, %d; want 8080, 8443", h, s)
	}
	if h, s := IngressHostPorts(&v1alpha4.Cluster{}); h != 0 || s != 0 {
		t.Fatalf("IngressHostPorts(empty) = %d, %d; want 0, 0", h, s)
	}
}

func TestParseKindConfig(t *testing.T) {
	const header = "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\n"
	tests := []struct {
		name    string
		in      string
		want    *v1alpha4.Cluster
		wantErr []string // substrings of the error; nil means success
	}{
		{
			name: "minimal",
			in:   header,
			want: &v1alpha4.Cluster{TypeMeta: v1alpha4.TypeMeta{Kind: "Cluster", APIVersion: "kind.x-k8s.io/v1alpha4"}},
		},
		{
			name: "nodes, mappings and name",
			in: header + `name: ml-dev
nodes:
- role: control-plane
  extraPortMappings:
  - containerPort: 80
    hostPort: 9080
- role: worker
`,
			want: &v1alpha4.Cluster{
				TypeMeta: v1alpha4.TypeMeta{Kind: "Cluster", APIVersion: "kind.x-k8s.io/v1alpha4"},
				Name:     "ml-dev",
				Nodes: []v1alpha4.Node{
					{Role: v1alpha4.ControlPlaneRole, ExtraPortMappings: []v1alpha4.PortMapping{{ContainerPort: 80, HostPort: 9080}}},
					{Role: v1alpha4.WorkerRole},
				},
			},
		},
		{
			name:    "unknown top-level field",
			in:      header + "nodez: []\n",
			wantErr: []string{"cfg.yaml", "nodez"},
		},
		{
			name:    "unknown node field",
			in:      header + "nodes:\n- role: control-plane\n  extraPortMapping: []\n",
			wantErr: []string{"cfg.yaml", "extraPortMapping"},
		},
		{
			name:    "wrong kind",
			in:      "kind: Config\napiVersion: kind.x-k8s.io/v1alpha4\n",
			wantErr: []string{"cfg.yaml", `"Config"`, "not a kind cluster config"},
		},
		{
			name:    "wrong apiVersion",
			in:      "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha3\n",
			wantErr: []string{"cfg.yaml", `"kind.x-k8s.io/v1alpha3"`},
		},
		{
			name:    "missing kind and apiVersion",
			in:      "nodes: []\n",
			wantErr: []string{"cfg.yaml", "not a kind cluster config"},
		},
		{
			name:    "invalid YAML",
			in:      header + "nodes: [\n",
			wantErr: []string{"cfg.yaml"},
		},
		{
			name:    "wrong type",
			in:      header + "nodes: control-plane\n",
			wantErr: []string{"cfg.yaml"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseKindConfig("cfg.yaml", []byte(tt.in))
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("ParseKindConfig: %v", err)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("ParseKindConfig mismatch (-want +got):\n%s", diff)
				}
				return
			}
			if err == nil {
				t.Fatalf("ParseKindConfig = %+v, want error", got)
			}
			if k := errs.KindOf(err); k != errs.KindUsage {
				t.Errorf("kind = %v, want usage", k)
			}
			if errs.HintOf(err) == "" {
				t.Errorf("error %q has no hint", err)
			}
			for _, s := range tt.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
		})
	}
}

func TestLoadKindConfig(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, []byte("kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nname: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nbogus: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	// the most a config may hold, and a byte more
	doc := "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nname: x\n#"
	largest := filepath.Join(dir, "largest.yaml")
	if err := os.WriteFile(largest, []byte(doc+strings.Repeat("x", maxKindConfigSize-len(doc)-1)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	huge := filepath.Join(dir, "huge.yaml")
	if err := os.WriteFile(huge, []byte(doc+strings.Repeat("x", maxKindConfigSize-len(doc))+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKindConfig(largest); err != nil {
		t.Errorf("LoadKindConfig(%d bytes): %v", maxKindConfigSize, err)
	}

	c, err := LoadKindConfig(good)
	if err != nil {
		t.Fatalf("LoadKindConfig(good): %v", err)
	}
	if c.Name != "x" {
		t.Errorf("name = %q, want x", c.Name)
	}

	for _, tc := range []struct {
		path string
		want []string
	}{
		{filepath.Join(dir, "missing.yaml"), []string{"missing.yaml", "does not exist"}},
		{huge, []string{"huge.yaml: larger than 1024 KiB, the most a kind config may hold"}},
		{bad, []string{"bad.yaml", "bogus"}},
		{dir, []string{dir}},                                       // a directory cannot be read as a file
		{"/dev/zero", []string{"/dev/zero: larger than 1024 KiB"}}, // endless: refused, not read whole
	} {
		_, err := LoadKindConfig(tc.path)
		if err == nil {
			t.Errorf("LoadKindConfig(%s): want error", tc.path)
			continue
		}
		if k := errs.KindOf(err); k != errs.KindUsage {
			t.Errorf("LoadKindConfig(%s): kind = %v, want usage", tc.path, k)
		}
		for _, s := range tc.want {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("LoadKindConfig(%s): error %q does not contain %q", tc.path, err, s)
			}
		}
	}
}
