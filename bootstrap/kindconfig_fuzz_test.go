package bootstrap

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	"sigs.k8s.io/yaml"

	"github.com/kfup/kfup/internal/errs"
)

// FuzzKindConfig feeds an arbitrary --config file and ingress ports to ParseKindConfig and
// BuildKindConfig. Neither may panic. A rejected file gives a usage error that names it,
// bounded by the input; an accepted one gives a config that BuildKindConfig either
// refuses with a usage error or turns into kfup's cluster: named by --name, the user's
// nodes (or one control plane), the ingress label and port mappings on the first
// control-plane node, the user's config untouched, and YAML that ParseKindConfig reads
// back as the same config. The seeds (testdata/fuzz/FuzzKindConfig) run as a normal test;
// go test -run '^$' -fuzz '^FuzzKindConfig$' ./bootstrap/ explores further.
func FuzzKindConfig(f *testing.F) {
	const header = "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\n"
	for _, s := range []string{
		"",
		header,
		header + "name: kfup\nnodes:\n- role: control-plane\n  extraPortMappings:\n  - containerPort: 31080\n    hostPort: 9080\n- role: worker\n",
		header + "nodes:\n- role: worker\n- role: control-plane\n  labels: {team: ml, ingress-ready: \"yes\"}\n",
		header + "nodes:\n- role: worker\n",
		header + "name: other\n",
		header + "nodez: []\n",
		header + "nodes: control-plane\n",
		header + "kubeadmConfigPatches:\n- |\n  kind: ClusterConfiguration\nfeatureGates: {Foo: true}\nnetworking: {apiServerPort: 6443, podSubnet: 10.0.0.0/16}\n",
		"kind: Config\napiVersion: kind.x-k8s.io/v1alpha4\n",
		"{\"kind\": \"Cluster\", \"apiVersion\": \"kind.x-k8s.io/v1alpha4\", \"nodes\": [{}]}",
		"a: &x [*x]\n",
	} {
		f.Add([]byte(s), uint16(80), uint16(443), false)
	}
	f.Add([]byte(header), uint16(0), uint16(0), true)
	f.Fuzz(func(t *testing.T, data []byte, http, https uint16, cgroupV1 bool) {
		base, err := ParseKindConfig("cfg.yaml", data)
		if err != nil {
			if base != nil {
				t.Fatalf("ParseKindConfig returned a config and an error: %v", err)
			}
			checkUsage(t, err, len(data))
			if !strings.HasPrefix(err.Error(), "--config cfg.yaml: ") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		before := base.DeepCopy()
		o := KindConfigOptions{Name: "kfup", Base: base, HTTPPort: int(http), HTTPSPort: int(https), CgroupV1: cgroupV1}
		got, err := BuildKindConfig(o)
		if diff := cmp.Diff(before, base); diff != "" {
			t.Fatalf("BuildKindConfig modified the user's config (-before +after):\n%s", diff)
		}
		if err != nil {
			if got != nil {
				t.Fatalf("BuildKindConfig returned a config and an error: %v", err)
			}
			checkUsage(t, err, len(data))
			return
		}
		checkBuilt(t, o, got)

		out, err := yaml.Marshal(got)
		if err != nil {
			t.Fatalf("yaml.Marshal(BuildKindConfig): %v", err)
		}
		back, err := ParseKindConfig("built.yaml", out)
		if err != nil {
			t.Fatalf("ParseKindConfig(yaml.Marshal(BuildKindConfig)): %v\n%s", err, out)
		}
		// YAML does not tell an empty list or map from a missing one.
		if diff := cmp.Diff(got, back, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("config changed through YAML (-built +read back):\n%s\n%s", diff, out)
		}
	})
}

// checkUsage checks that err is a usage error with a hint, bounded by the n bytes of input
// it is about.
func checkUsage(t *testing.T, err error, n int) {
	t.Helper()
	if k := errs.KindOf(err); k != errs.KindUsage {
		t.Fatalf("error kind %v, want usage: %v", k, err)
	}
	if errs.HintOf(err) == "" {
		t.Fatalf("error %q has no hint", err)
	}
	if l := len(err.Error()); l > 4<<10+8*n {
		t.Fatalf("%d-byte error for %d bytes of input", l, n)
	}
}

// checkBuilt checks the invariants of a config BuildKindConfig made from o.
func checkBuilt(t *testing.T, o KindConfigOptions, got *v1alpha4.Cluster) {
	t.Helper()
	if got.Kind != "Cluster" || got.APIVersion != "kind.x-k8s.io/v1alpha4" || got.Name != o.Name {
		t.Fatalf("kind %q, apiVersion %q, name %q", got.Kind, got.APIVersion, got.Name)
	}
	if want := max(1, len(o.Base.Nodes)); len(got.Nodes) != want {
		t.Fatalf("%d nodes, want %d", len(got.Nodes), want)
	}
	ingress := -1
	for i, n := range got.Nodes {
		if n.Role == v1alpha4.ControlPlaneRole || n.Role == "" {
			ingress = i
			break
		}
	}
	if ingress < 0 {
		t.Fatal("no control-plane node")
	}
	n := got.Nodes[ingress]
	if _, ok := n.Labels[IngressNodeLabel]; !ok {
		t.Fatalf("ingress node %d has no %s label: %v", ingress, IngressNodeLabel, n.Labels)
	}
	for _, m := range []struct{ container, host int }{
		{IngressHTTPContainerPort, o.HTTPPort},
		{IngressHTTPSContainerPort, o.HTTPSPort},
	} {
		user := 0 // the user's own mappings of the port, which kfup keeps
		if len(o.Base.Nodes) > 0 {
			user = countContainerPort(o.Base.Nodes[ingress].ExtraPortMappings, m.container)
		}
		mapped := countContainerPort(n.ExtraPortMappings, m.container)
		want := user
		if user == 0 && m.host != 0 {
			want = 1
		}
		if mapped != want {
			t.Fatalf("ingress node maps container port %d %d times, want %d (the user's %d, host port %d)", m.container, mapped, want, user, m.host)
		}
	}
	if o.CgroupV1 {
		if ps := got.KubeadmConfigPatches; len(ps) == 0 || ps[len(ps)-1] != cgroupV1KubeletPatch {
			t.Fatalf("cgroup v1: the last kubeadm patch is not the kubelet patch: %q", ps)
		}
	}
}

func countContainerPort(ms []v1alpha4.PortMapping, port int) int {
	n := 0
	for _, m := range ms {
		if int(m.ContainerPort) == port {
			n++
		}
	}
	return n
}
