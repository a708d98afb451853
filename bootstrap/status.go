package bootstrap

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kfup/kfup/internal/errs"
)

// Cluster states reported by Status.
const (
	StateRunning     = "Running"
	StateNotReady    = "NotReady"
	StateStopped     = "Stopped"
	StateUnreachable = "Unreachable"
	StateCreating    = "Creating"
	StateDegraded    = "Degraded"
)

// NodeStatus is one node as `kfup status` shows it.
type NodeStatus struct {
	Name           string `json:"name"`
	Ready          bool   `json:"ready"`
	Roles          string `json:"roles"`
	KubeletVersion string `json:"kubeletVersion"`
	InternalIP     string `json:"internalIP,omitempty"`
}

// ClusterStatus is what `kfup status` reports about one cluster.
type ClusterStatus struct {
	Name              string       `json:"name"`
	Provider          string       `json:"provider"`
	State             string       `json:"state"`
	Message           string       `json:"message,omitempty"`
	Context           string       `json:"context"`
	Kubeconfig        string       `json:"kubeconfig,omitempty"`
	NodeImage         string       `json:"nodeImage,omitempty"`
	KubernetesVersion string       `json:"kubernetesVersion,omitempty"`
	IngressHTTPPort   int          `json:"ingressHTTPPort,omitempty"`
	IngressHTTPSPort  int          `json:"ingressHTTPSPort,omitempty"`
	Nodes             []NodeStatus `json:"nodes"`
	// Profile is the install profile last applied.
	Profile string `json:"profile,omitempty"`
	// Components reports each installed component's health.
	Components []ComponentHealth `json:"components"`
	CreatedAt  time.Time         `json:"createdAt"`
}

// ComponentHealth is one component's state as `kfup status` and `kfup test` report it.
type ComponentHealth struct {
	Name    string `json:"name"`
	Healthy bool   `json:"healthy"`
	Message string `json:"message,omitempty"`
}

// Status reports cluster name. A cluster kfup has no record of is a not-found error.
func Status(ctx context.Context, env *Env, name string) (*ClusterStatus, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	rec, err := env.Store.Load(name)
	if err != nil {
		return nil, err
	}
	if rec == nil {
		return nil, errs.New(errs.KindNotFound, fmt.Sprintf("create it with 'kfup create --name %s'", name), "no kfup cluster named %q", name)
	}
	st := &ClusterStatus{
		Name: name, Provider: rec.Provider, Context: rec.Context, Kubeconfig: rec.Kubeconfig,
		NodeImage: rec.NodeImage, IngressHTTPPort: rec.HTTPPort, IngressHTTPSPort: rec.HTTPSPort,
		CreatedAt: rec.CreatedAt, Nodes: []NodeStatus{}, Profile: rec.Profile, Components: []ComponentHealth{},
	}
	if rec.Phase != PhaseReady {
		st.State, st.Message = StateCreating, "creation did not finish; run 'kfup create' to complete it or 'kfup delete' to remove it"
		return st, nil
	}
	p, err := env.provider(rec.Provider)
	if err != nil {
		return nil, err
	}
	running, why, err := p.NodesRunning(ctx, name)
	if err != nil {
		return nil, err
	}
	if !running {
		st.State, st.Message = StateStopped, why+"; 'kfup create --name "+name+"' starts it again"
		return st, nil
	}
	cfg, err := RESTConfig(rec.Context, rec.Kubeconfig)
	if err != nil {
		st.State, st.Message = StateUnreachable, err.Error()
		return st, nil
	}
	cfg.Timeout = 10 * time.Second
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	if v, err := cs.Discovery().ServerVersion(); err == nil {
		st.KubernetesVersion = v.GitVersion
	} else {
		st.State, st.Message = StateUnreachable, "API server: "+err.Error()
		return st, nil
	}
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		st.State, st.Message = StateUnreachable, "list nodes: "+err.Error()
		return st, nil
	}
	st.State = StateRunning
	for i := range nodes.Items {
		n := &nodes.Items[i]
		ready, why := nodeReady(n)
		ns := NodeStatus{Name: n.Name, Ready: ready, Roles: nodeRoles(n), KubeletVersion: n.Status.NodeInfo.KubeletVersion}
		for _, a := range n.Status.Addresses {
			if a.Type == corev1.NodeInternalIP {
				ns.InternalIP = a.Address
			}
		}
		if !ready && st.State == StateRunning {
			st.State, st.Message = StateNotReady, fmt.Sprintf("node %s: %s", n.Name, why)
		}
		st.Nodes = append(st.Nodes, ns)
	}
	if len(rec.Components) > 0 && env.ComponentHealth != nil {
		health, err := env.ComponentHealth(ctx, env, rec, 5*time.Second)
		if err != nil {
			return nil, err
		}
		st.Components = health
		for _, h := range health {
			if !h.Healthy && st.State == StateRunning {
				st.State, st.Message = StateDegraded, fmt.Sprintf("component %s: %s", h.Name, h.Message)
			}
		}
	}
	return st, nil
}

// StatusAll reports every cluster kfup has a record of.
func StatusAll(ctx context.Context, env *Env) ([]ClusterStatus, error) {
	names, err := env.Store.Names()
	if err != nil {
		return nil, err
	}
	out := []ClusterStatus{}
	for _, n := range names {
		s, err := Status(ctx, env, n)
		if err != nil {
			return nil, err
		}
		out = append(out, *s)
	}
	return out, nil
}

func nodeRoles(n *corev1.Node) string {
	var roles []string
	for k := range n.Labels {
		if r, ok := strings.CutPrefix(k, "node-role.kubernetes.io/"); ok && r != "" {
			roles = append(roles, r)
		}
	}
	sort.Strings(roles)
	if len(roles) == 0 {
		return "<none>"
	}
	return strings.Join(roles, ",")
}
