package dashboard

import (
	"context"
	"net/http"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfup/kfup/bootstrap"
	"github.com/kfup/kfup/profiles"
)

// gpuResource is the extended resource NVIDIA's (and kfup's) device plugin advertises.
const gpuResource corev1.ResourceName = "nvidia.com/gpu"

// usage is one resource of a node: what pods request of what it can allocate.
type usage struct {
	Name                 string
	Requested, Allocated string
	Percent              int64
}

// nodeRow is one node of the home view.
type nodeRow struct {
	Name  string
	Ready bool
	Use   []usage
}

// recentRow is one object of the home view's recent list.
type recentRow struct {
	Kind, Name, Href, State string
	Created                 time.Time
}

type homeData struct {
	Status *bootstrap.ClusterStatus
	Nodes  []nodeRow
	Recent []recentRow
	Events []eventRow
}

// home is the landing view: the cluster's and components' health (kfup status), node
// capacity against requests, recent objects of every installed kind with a view, and the
// namespace's Events.
func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	p, ok := s.newPage(w, r, "Home", "")
	if !ok {
		return
	}
	ctx := r.Context()
	d := homeData{}
	if s.status != nil {
		d.Status = s.clusterStatus(ctx)
	}
	if !p.unreachable() {
		d.Nodes = s.nodes(ctx, p)
		d.Recent = s.recent(ctx, p)
	}
	d.Events = s.eventRows(ctx, p, func(*corev1.Event) bool { return true })
	if len(d.Events) > 25 {
		d.Events = d.Events[:25]
	}
	p.Data = d
	s.render(w, "home", p)
}

// clusterStatus is kfup status's report, computed at most every 10 s (it probes every
// component).
func (s *Server) clusterStatus(ctx context.Context) *bootstrap.ClusterStatus {
	s.statusMu.Lock()
	defer s.statusMu.Unlock()
	if s.statusVal != nil && s.now().Sub(s.statusAt) < 10*time.Second {
		return s.statusVal
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	st, err := s.status(ctx)
	if err != nil {
		st = &bootstrap.ClusterStatus{Name: s.cluster, State: "Unknown", Message: err.Error()}
	}
	s.statusVal, s.statusAt = st, s.now()
	return st
}

func (s *Server) nodes(ctx context.Context, p *page) []nodeRow {
	var nodes corev1.NodeList
	if err := s.client.List(ctx, &nodes); err != nil {
		p.problem(err, "list", "nodes", "")
		return nil
	}
	var pods corev1.PodList
	if err := s.client.List(ctx, &pods); err != nil {
		p.problem(err, "list", "pods", "")
	}
	req := map[string]corev1.ResourceList{}
	for i := range pods.Items {
		pod := &pods.Items[i]
		if pod.Spec.NodeName == "" || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
			continue
		}
		sum := req[pod.Spec.NodeName]
		if sum == nil {
			sum = corev1.ResourceList{}
		}
		for _, c := range pod.Spec.Containers {
			for name, q := range c.Resources.Requests {
				cur := sum[name]
				cur.Add(q)
				sum[name] = cur
			}
		}
		req[pod.Spec.NodeName] = sum
	}
	var out []nodeRow
	for _, n := range nodes.Items {
		row := nodeRow{Name: n.Name}
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady {
				row.Ready = c.Status == corev1.ConditionTrue
			}
		}
		for _, res := range []struct {
			name  corev1.ResourceName
			title string
		}{{corev1.ResourceCPU, "CPU"}, {corev1.ResourceMemory, "Memory"}, {gpuResource, "GPU"}} {
			alloc, has := n.Status.Allocatable[res.name]
			if !has && res.name == gpuResource {
				continue
			}
			used := req[n.Name][res.name]
			u := usage{Name: res.title, Requested: fmtQty(res.name, used), Allocated: fmtQty(res.name, alloc)}
			if a := alloc.MilliValue(); a > 0 {
				u.Percent = min(100, used.MilliValue()*100/a)
			}
			row.Use = append(row.Use, u)
		}
		out = append(out, row)
	}
	return out
}

func fmtQty(name corev1.ResourceName, q resource.Quantity) string {
	switch name {
	case corev1.ResourceMemory:
		return resource.NewQuantity(q.Value()/(1<<20)*(1<<20), resource.BinarySI).String()
	case corev1.ResourceCPU:
		return resource.NewMilliQuantity(q.MilliValue(), resource.DecimalSI).String()
	}
	return q.String()
}

// viewed reports whether kind has a page of its own, and its path.
func viewHref(k Kind, ns, name string) (string, bool) {
	base := "/ns/" + ns + "/"
	switch {
	case k.Slice == profiles.Training:
		return base + "training/" + k.Kind + "/" + name, true
	case k.Slice == profiles.Tuning && k.Kind == "Experiment":
		return base + "experiments/" + name, true
	case k.Slice == profiles.Serving && k.Kind == "InferenceService":
		return base + "endpoints/" + name, true
	case k.Slice == profiles.Pipelines && k.Kind == "PipelineRun":
		return base + "runs/" + name, true
	}
	return "", false
}

// recent lists the namespace's ten newest objects of the kinds that have a view.
func (s *Server) recent(ctx context.Context, p *page) []recentRow {
	var out []recentRow
	for _, k := range s.catalog(ctx).Kinds {
		if _, ok := viewHref(k, p.NS, "x"); !ok {
			continue
		}
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(k.GVK().GroupVersion().WithKind(k.Kind + "List"))
		if err := s.client.List(ctx, list, client.InNamespace(p.NS)); err != nil {
			p.problem(err, "list", k.ID(), "")
			if p.unreachable() {
				return nil
			}
			continue
		}
		for _, o := range list.Items {
			href, _ := viewHref(k, p.NS, o.GetName())
			out = append(out, recentRow{Kind: k.Kind, Name: o.GetName(), Href: href, State: stateOf(&o), Created: o.GetCreationTimestamp().Time})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Created.After(out[j].Created) })
	if len(out) > 10 {
		out = out[:10]
	}
	return out
}

// stateOf is an object's state from its status: a phase, else its Ready condition (Knative
// style, as an InferenceService has), else its newest true condition (Kubeflow style).
func stateOf(o *unstructured.Unstructured) string {
	if ph, _, _ := unstructured.NestedString(o.Object, "status", "phase"); ph != "" {
		return ph
	}
	conds, _, _ := unstructured.NestedSlice(o.Object, "status", "conditions")
	for _, c := range conds {
		if m, _ := c.(map[string]any); m["type"] == "Ready" {
			if m["status"] == "True" {
				return "Ready"
			}
			return "NotReady"
		}
	}
	state, last := "", ""
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["status"] != "True" {
			continue
		}
		t, _ := m["lastTransitionTime"].(string)
		if typ, _ := m["type"].(string); typ != "" && t >= last {
			state, last = typ, t
		}
	}
	if state == "" {
		return "Pending"
	}
	return state
}
