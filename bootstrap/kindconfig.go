package bootstrap

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	"sigs.k8s.io/yaml"

	"github.com/kfup/kfup/internal/errs"
)

// Node ports of the ingress gateway's Service (the Istio ingress gateway is a NodePort
// Service on exactly these): the kind config maps them to the host ports chosen per
// cluster (80/443 when free).
const (
	IngressHTTPContainerPort  = 31080
	IngressHTTPSContainerPort = 31443
)

// IngressNodeLabel marks the node whose ports 80/443 are mapped to the host.
const IngressNodeLabel = "ingress-ready"

// cgroupV1KubeletPatch lets kubelet >= 1.35 start on a cgroup v1 host.
const cgroupV1KubeletPatch = `kind: KubeletConfiguration
failCgroupV1: false
`

// KindConfigOptions says what kfup needs in the kind cluster config.
type KindConfigOptions struct {
	// Name is the cluster name; a Base config naming another cluster is an error.
	Name string
	// Base is the user's --config, or nil.
	Base *v1alpha4.Cluster
	// HTTPPort and HTTPSPort are the host ports for the ingress; 0 adds no mapping.
	HTTPPort, HTTPSPort int
	// ListenAddress is the host address the ports bind to (default 127.0.0.1).
	ListenAddress string
	// CgroupV1 adds the kubelet patch a cgroup v1 host needs.
	CgroupV1 bool
	// ExtraMounts are added to every node.
	ExtraMounts []v1alpha4.Mount
	// GPU, when set, is what the GPU node gets (the first worker, else the control
	// plane); containerd's CDI support is then turned on.
	GPU *GPUNode
}

// maxKindConfigSize bounds the --config files LoadKindConfig reads (1 MiB; kind configs,
// kubeadm patches included, are a few KiB), so that a wrong path (a log, a disk image,
// /dev/zero) is refused rather than read into memory whole.
const maxKindConfigSize = 1 << 20

// LoadKindConfig reads a kind v1alpha4 Cluster config strictly: unknown fields, another
// kind or apiVersion, invalid YAML, or more than 1 MiB are errors that name the file and
// the problem.
func LoadKindConfig(path string) (*v1alpha4.Cluster, error) {
	b, err := readKindConfig(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errs.Usage("pass the path of a kind config file (kind: Cluster, apiVersion: kind.x-k8s.io/v1alpha4)",
			"--config %s: file does not exist", path)
	}
	if err != nil {
		return nil, errs.Usage("", "--config %s: %v", path, err)
	}
	if len(b) > maxKindConfigSize {
		return nil, errs.Usage("check that --config names a kind config file",
			"--config %s: larger than %d KiB, the most a kind config may hold", path, maxKindConfigSize>>10)
	}
	return ParseKindConfig(path, b)
}

// readKindConfig reads the file at path, stopping after maxKindConfigSize+1 bytes.
func readKindConfig(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxKindConfigSize+1))
}

// ParseKindConfig parses a kind config; source names it in errors.
func ParseKindConfig(source string, b []byte) (*v1alpha4.Cluster, error) {
	const hint = "the file must be a kind config: kind: Cluster, apiVersion: kind.x-k8s.io/v1alpha4 (see https://kind.sigs.k8s.io/docs/user/configuration/)"
	var c v1alpha4.Cluster
	if err := yaml.UnmarshalStrict(b, &c); err != nil {
		return nil, errs.Usage(hint, "--config %s: %v", source, err)
	}
	if c.Kind != "Cluster" || c.APIVersion != "kind.x-k8s.io/v1alpha4" {
		return nil, errs.Usage(hint, "--config %s: kind %q, apiVersion %q is not a kind cluster config", source, c.Kind, c.APIVersion)
	}
	return &c, nil
}

// BuildKindConfig returns the cluster config kfup creates: the user's config (or one
// control-plane node) plus the ingress port mappings, the ingress node label, the kubelet
// patches the host needs, extra mounts and the GPU node's wiring. The Base config is not modified.
func BuildKindConfig(o KindConfigOptions) (*v1alpha4.Cluster, error) {
	c := &v1alpha4.Cluster{}
	if o.Base != nil {
		c = o.Base.DeepCopy()
	}
	c.Kind, c.APIVersion = "Cluster", "kind.x-k8s.io/v1alpha4"
	if c.Name != "" && c.Name != o.Name {
		return nil, errs.Usage(fmt.Sprintf("remove 'name:' from the config or pass --name %s", c.Name),
			"the kind config names cluster %q but --name is %q", c.Name, o.Name)
	}
	c.Name = o.Name
	if len(c.Nodes) == 0 {
		c.Nodes = []v1alpha4.Node{{Role: v1alpha4.ControlPlaneRole}}
	}
	ingress := -1
	for i := range c.Nodes {
		if c.Nodes[i].Role == v1alpha4.ControlPlaneRole || c.Nodes[i].Role == "" {
			ingress = i
			break
		}
	}
	if ingress < 0 {
		return nil, errs.Usage("add a node with role: control-plane", "the kind config has no control-plane node")
	}
	addr := o.ListenAddress
	if addr == "" {
		addr = "127.0.0.1"
	}
	n := &c.Nodes[ingress]
	for _, m := range []struct{ container, host int }{
		{IngressHTTPContainerPort, o.HTTPPort},
		{IngressHTTPSContainerPort, o.HTTPSPort},
	} {
		if m.host == 0 || hasContainerPort(n.ExtraPortMappings, m.container) {
			continue
		}
		n.ExtraPortMappings = append(n.ExtraPortMappings, v1alpha4.PortMapping{
			ContainerPort: int32(m.container), HostPort: int32(m.host),
			ListenAddress: addr, Protocol: v1alpha4.PortMappingProtocolTCP,
		})
	}
	if n.Labels == nil {
		n.Labels = map[string]string{}
	}
	if _, ok := n.Labels[IngressNodeLabel]; !ok {
		n.Labels[IngressNodeLabel] = "true"
	}
	for i := range c.Nodes {
		c.Nodes[i].ExtraMounts = append(c.Nodes[i].ExtraMounts, o.ExtraMounts...)
	}
	if o.GPU != nil {
		g := &c.Nodes[gpuNodeIndex(c, ingress)]
		g.ExtraMounts = append(g.ExtraMounts, o.GPU.Mounts...)
		if g.Labels == nil {
			g.Labels = map[string]string{}
		}
		for k, v := range o.GPU.Labels {
			if _, ok := g.Labels[k]; !ok { // the user's own label wins
				g.Labels[k] = v
			}
		}
		c.ContainerdConfigPatches = append(c.ContainerdConfigPatches, cdiContainerdPatch)
	}
	if o.CgroupV1 {
		c.KubeadmConfigPatches = append(c.KubeadmConfigPatches, cgroupV1KubeletPatch)
	}
	return c, nil
}

func hasContainerPort(ms []v1alpha4.PortMapping, port int) bool {
	for _, m := range ms {
		if int(m.ContainerPort) == port {
			return true
		}
	}
	return false
}

// IngressHostPorts returns the host ports mapped to the ingress container ports of c.
func IngressHostPorts(c *v1alpha4.Cluster) (http, https int) {
	for _, n := range c.Nodes {
		for _, m := range n.ExtraPortMappings {
			switch int(m.ContainerPort) {
			case IngressHTTPContainerPort:
				http = int(m.HostPort)
			case IngressHTTPSContainerPort:
				https = int(m.HostPort)
			}
		}
	}
	return http, https
}
