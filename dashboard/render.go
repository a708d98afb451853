package dashboard

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/kfup/kfup/profiles"
)

//go:embed templates/*.html
var templateFS embed.FS

// section is one view of the navigation, offered when its API slice is installed.
type section struct {
	Slice, Title, Path string
}

// sections are the dashboard's views per API slice (profiles' component names), in
// navigation order; Catalog says which the cluster has.
var sections = []section{
	{Slice: profiles.Training, Title: "Training jobs", Path: "training"},
	{Slice: profiles.Tuning, Title: "Experiments", Path: "experiments"},
	{Slice: profiles.Serving, Title: "Model endpoints", Path: "endpoints"},
	{Slice: profiles.Pipelines, Title: "Pipeline runs", Path: "runs"},
}

// navItem is one entry of the navigation bar.
type navItem struct {
	Title, Href string
	Current     bool
}

// page is what every template gets: the frame (navigation, namespace, banners, live
// region) and the view's own Data.
type page struct {
	Title      string
	NS         string
	Namespaces []string
	Nav        []navItem
	Cluster    string
	Problems   []Problem
	// Live lists the resources whose changes refresh the page's live region ("*": any).
	Live string
	// Self is the URL the live region refreshes from (the request's own).
	Self string
	Tab  string
	Data any
}

// problem adds a banner for err of verb on resource, once.
func (p *page) problem(err error, verb, resource, name string) {
	pr := problemOf(err, verb, resource, p.NS, name)
	if !slices.Contains(p.Problems, pr) {
		p.Problems = append(p.Problems, pr)
	}
}

// unreachable reports whether a banner says the cluster does not answer.
func (p *page) unreachable() bool {
	return slices.ContainsFunc(p.Problems, func(pr Problem) bool { return pr.Kind == "unreachable" })
}

type pages struct{ t map[string]*template.Template }

var funcs = template.FuncMap{
	"age": func(t any) string {
		switch v := t.(type) {
		case metav1.Time:
			if v.IsZero() {
				return "-"
			}
			return duration.HumanDuration(time.Since(v.Time))
		case *metav1.Time:
			if v == nil || v.IsZero() {
				return "-"
			}
			return duration.HumanDuration(time.Since(v.Time))
		case time.Time:
			if v.IsZero() {
				return "-"
			}
			return duration.HumanDuration(time.Since(v))
		}
		return "-"
	},
	"lower": strings.ToLower,
	// dict builds a map for a sub-template: dict "Pods" .Pods "LogsURL" "/..."
	"dict": func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			k, _ := kv[i].(string)
			m[k] = kv[i+1]
		}
		return m
	},
	"join": strings.Join,
	"pct": func(a, b int64) int64 {
		if b <= 0 {
			return 0
		}
		return min(100, a*100/b)
	},
}

func parsePages() (*pages, error) {
	base, err := template.New("").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("dashboard: parse layout: %w", err)
	}
	entries, err := templateFS.ReadDir("templates")
	if err != nil {
		return nil, err
	}
	p := &pages{t: map[string]*template.Template{}}
	for _, e := range entries {
		name := strings.TrimSuffix(e.Name(), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(templateFS, "templates/"+e.Name())
		if err != nil {
			return nil, fmt.Errorf("dashboard: parse %s: %w", e.Name(), err)
		}
		p.t[name] = t
	}
	return p, nil
}

// newPage starts the page of view title in the request's namespace; ok is false (and a
// 404 written) when the namespace is not a valid name.
func (s *Server) newPage(w http.ResponseWriter, r *http.Request, title, current string) (*page, bool) {
	ns := r.PathValue("ns")
	if len(validation.IsDNS1123Label(ns)) > 0 {
		http.Error(w, "no such namespace: "+ns, http.StatusNotFound)
		return nil, false
	}
	p := &page{Title: title, NS: ns, Cluster: s.cluster, Self: r.URL.RequestURI(), Live: "*", Tab: r.URL.Query().Get("tab")}
	cat := s.catalog(r.Context())
	p.Problems = append(p.Problems, cat.Problems...)
	p.Nav = append(p.Nav, navItem{Title: "Home", Href: "/ns/" + ns + "/", Current: current == ""})
	for _, sec := range sections {
		if cat.Has(sec.Slice) {
			p.Nav = append(p.Nav, navItem{Title: sec.Title, Href: "/ns/" + ns + "/" + sec.Path, Current: current == sec.Path})
		}
	}
	if !p.unreachable() {
		var list corev1.NamespaceList
		if err := s.client.List(r.Context(), &list); err == nil {
			for _, n := range list.Items {
				p.Namespaces = append(p.Namespaces, n.Name)
			}
		}
	}
	if !slices.Contains(p.Namespaces, ns) {
		p.Namespaces = append(p.Namespaces, ns)
	}
	sort.Strings(p.Namespaces)
	return p, true
}

// render writes view name with p; a template error is a 500 with its message.
func (s *Server) render(w http.ResponseWriter, name string, p *page) {
	t, ok := s.pages.t[name]
	if !ok {
		http.Error(w, "no template "+name, http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		http.Error(w, "render "+name+": "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}

// fragment writes template block name of view (an htmx partial) with data.
func (s *Server) fragment(w http.ResponseWriter, view, name string, data any) {
	var buf bytes.Buffer
	if err := s.pages.t[view].ExecuteTemplate(&buf, name, data); err != nil {
		http.Error(w, "render "+name+": "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}

// objectTabs is the YAML view and the Events tab every object's page has.
type objectTabs struct {
	YAML   string
	Events []eventRow
}

// eventRow is one Event as the views list it.
type eventRow struct {
	Type, Reason, Object, Message string
	Count                         int32
	Last                          time.Time
}

// tabs fills the YAML and Events tabs of obj (only the one p.Tab asks for).
func (s *Server) tabs(ctx context.Context, p *page, obj client.Object) objectTabs {
	var t objectTabs
	gvk := obj.GetObjectKind().GroupVersionKind()
	if gvk.Kind == "" {
		if gvks, _, err := s.client.Scheme().ObjectKinds(obj); err == nil && len(gvks) > 0 {
			gvk = gvks[0]
		}
	}
	switch p.Tab {
	case "yaml":
		obj = obj.DeepCopyObject().(client.Object)
		obj.GetObjectKind().SetGroupVersionKind(gvk)
		t.YAML = objectYAML(obj)
	case "events":
		t.Events = s.eventRows(ctx, p, func(e *corev1.Event) bool {
			return e.InvolvedObject.Name == obj.GetName() && e.InvolvedObject.Kind == gvk.Kind
		})
	}
	return t
}

// eventRows lists the namespace's Events that keep says to, newest first (at most 100).
func (s *Server) eventRows(ctx context.Context, p *page, keep func(*corev1.Event) bool) []eventRow {
	if p.unreachable() {
		return nil
	}
	var list corev1.EventList
	if err := s.client.List(ctx, &list, client.InNamespace(p.NS)); err != nil {
		p.problem(err, "list", "events", "")
		return nil
	}
	var out []eventRow
	for i := range list.Items {
		e := &list.Items[i]
		if !keep(e) {
			continue
		}
		last := e.LastTimestamp.Time
		if last.IsZero() {
			last = e.EventTime.Time
		}
		if last.IsZero() {
			last = e.CreationTimestamp.Time
		}
		out = append(out, eventRow{Type: e.Type, Reason: e.Reason, Message: e.Message, Count: e.Count, Last: last,
			Object: strings.ToLower(e.InvolvedObject.Kind) + "/" + e.InvolvedObject.Name})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Last.After(out[j].Last) })
	if len(out) > 100 {
		out = out[:100]
	}
	return out
}

// objectYAML is obj as kubectl get -o yaml shows it, without managed fields.
func objectYAML(obj client.Object) string {
	m, err := toUnstructured(obj)
	if err != nil {
		return "# " + err.Error()
	}
	unstructured.RemoveNestedField(m, "metadata", "managedFields")
	out, err := yaml.Marshal(m)
	if err != nil {
		return "# " + err.Error()
	}
	return string(out)
}

func toUnstructured(obj any) (map[string]any, error) {
	if u, ok := obj.(*unstructured.Unstructured); ok {
		return u.DeepCopy().Object, nil
	}
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	return m, json.Unmarshal(b, &m)
}
