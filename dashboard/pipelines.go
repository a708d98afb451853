package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pipelinesv1alpha1 "github.com/kfup/kfup/components/pipelines/api/v1alpha1"
	pipelinesv2beta1 "github.com/kfup/kfup/components/pipelines/api/v2beta1"
	"github.com/kfup/kfup/components/pipelines/ir"
	"github.com/kfup/kfup/components/pipelines/runctl"
	"github.com/kfup/kfup/profiles"
)

func (s *Server) pipelinesRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /ns/{ns}/runs", s.runList)
	mux.HandleFunc("GET /ns/{ns}/runs/compare", s.runCompare)
	mux.HandleFunc("GET /ns/{ns}/runs/{name}", s.run)
	mux.HandleFunc("POST /ns/{ns}/runs/{name}/clone", s.runClone)
	mux.HandleFunc("POST /ns/{ns}/runs/{name}/terminate", s.runTerminate)
	mux.HandleFunc("POST /ns/{ns}/runs/{name}/retry", s.runRetry)
	mux.HandleFunc("GET /ns/{ns}/runs/{name}/dag", s.runDAG)
	mux.HandleFunc("GET /ns/{ns}/runs/{name}/task", s.runTask)
	mux.HandleFunc("GET /ns/{ns}/runs/{name}/artifact", s.runArtifact)
	mux.HandleFunc("GET /ns/{ns}/runs/{name}/logs", s.runLogs)
}

// runLogs is a task pod's log; once the pod is gone, the log its task kept in the
// artifact store (kfup agent launch writes it, the last 1 MiB of the last attempt).
func (s *Server) runLogs(w http.ResponseWriter, r *http.Request) {
	ctx, ns, pod := r.Context(), r.PathValue("ns"), r.URL.Query().Get("pod")
	err := s.client.Get(ctx, client.ObjectKey{Namespace: ns, Name: pod}, &corev1.Pod{})
	if apierrors.IsNotFound(err) {
		if run, err := s.getRun(ctx, ns, r.PathValue("name")); err == nil {
			for _, t := range run.Status.Tasks {
				if t.PodName == "" || t.PodName != pod {
					continue
				}
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				b, uri, err := s.readTaskLog(ctx, run, t.ID)
				if err != nil {
					fmt.Fprintf(w, `<p class="problem">%s</p>`, html.EscapeString("Pod "+pod+" is gone, and its task's kept log cannot be read: "+err.Error()))
					return
				}
				if len(b) > maxLogBytes { // as a pod's log is shown: its end
					b = append([]byte(fmt.Sprintf("[the last %d KiB of %d KiB]\n", maxLogBytes>>10, len(b)>>10)), b[len(b)-maxLogBytes:]...)
				}
				fmt.Fprintf(w, `<p class="meta">Pod %s is gone: the log its task kept in the artifact store (%s).</p><pre class="log" data-pod="%s">%s</pre>`,
					html.EscapeString(pod), html.EscapeString(uri), html.EscapeString(pod), html.EscapeString(string(b)))
				return
			}
		}
	}
	s.podLogs(w, r, func(p *corev1.Pod) bool { return p.Labels[pipelinesv1alpha1.LabelRun] == r.PathValue("name") })
}

// runRow is one PipelineRun in the list.
type runRow struct {
	Name, Href, Pipeline, Phase, Tasks, Duration, Error string
	Created                                             time.Time
}

func (s *Server) runRowOf(run *pipelinesv1alpha1.PipelineRun) runRow {
	st := run.Status
	row := runRow{Name: run.Name, Href: "/ns/" + run.Namespace + "/runs/" + run.Name, Pipeline: st.Pipeline, Phase: string(st.Phase),
		Error: st.Error, Created: run.CreationTimestamp.Time}
	if row.Phase == "" {
		row.Phase = string(pipelinesv1alpha1.PhasePending)
	}
	if row.Pipeline == "" && run.Spec.PipelineVersionRef != nil {
		row.Pipeline = run.Spec.PipelineVersionRef.Name
	}
	done := 0
	for _, t := range st.Tasks {
		if t.Phase == pipelinesv1alpha1.PhaseSucceeded || t.Phase == pipelinesv1alpha1.PhaseSkipped {
			done++
		}
	}
	row.Tasks = itoa(int32(done)) + "/" + itoa(int32(len(st.Tasks)))
	if st.StartTime != nil {
		end := s.now()
		if st.CompletionTime != nil {
			end = st.CompletionTime.Time
		}
		row.Duration = duration.HumanDuration(end.Sub(st.StartTime.Time))
	}
	return row
}

// pipelineRow is one Pipeline with its versions.
type pipelineRow struct {
	Name, DisplayName, Description string
	Versions                       []string
	Created                        time.Time
}

// recurringRow is one RecurringRun.
type recurringRow struct {
	Name, Schedule, Pipeline, Last, Next string
	Suspended                            bool
	Active                               int
}

type runsData struct {
	Runs      []runRow
	Pipelines []pipelineRow
	Recurring []recurringRow
}

// runList is the pipelines view: runs (one List: the status carries everything a row
// shows), pipelines with their versions, and recurring runs.
func (s *Server) runList(w http.ResponseWriter, r *http.Request) {
	p, ok := s.newPage(w, r, "Pipeline runs", "runs")
	if !ok {
		return
	}
	ctx := r.Context()
	cat := s.catalog(ctx)
	p.Live = strings.Join(cat.IDs(profiles.Pipelines, "PipelineRun", "RecurringRun", "Pipeline", "PipelineVersion"), " ")
	var d runsData
	if !p.unreachable() {
		var list pipelinesv1alpha1.PipelineRunList
		if err := s.client.List(ctx, &list, client.InNamespace(p.NS)); err != nil {
			p.problem(err, "list", cat.ID(profiles.Pipelines, "PipelineRun"), "")
		}
		for i := range list.Items {
			d.Runs = append(d.Runs, s.runRowOf(&list.Items[i]))
		}
		sort.SliceStable(d.Runs, func(i, j int) bool { return d.Runs[i].Created.After(d.Runs[j].Created) })
	}
	if _, ok := cat.Find(profiles.Pipelines, "Pipeline"); ok && !p.unreachable() {
		var pls pipelinesv2beta1.PipelineList
		var vers pipelinesv2beta1.PipelineVersionList
		if err := s.client.List(ctx, &pls, client.InNamespace(p.NS)); err != nil {
			p.problem(err, "list", cat.ID(profiles.Pipelines, "Pipeline"), "")
		} else if err := s.client.List(ctx, &vers, client.InNamespace(p.NS)); err != nil {
			p.problem(err, "list", cat.ID(profiles.Pipelines, "PipelineVersion"), "")
		}
		for _, pl := range pls.Items {
			row := pipelineRow{Name: pl.Name, DisplayName: pl.Spec.DisplayName, Description: pl.Spec.Description, Created: pl.CreationTimestamp.Time}
			for _, v := range vers.Items {
				if v.Spec.PipelineName == pl.Name {
					row.Versions = append(row.Versions, v.Name)
				}
			}
			sort.Strings(row.Versions)
			d.Pipelines = append(d.Pipelines, row)
		}
		sort.Slice(d.Pipelines, func(i, j int) bool { return d.Pipelines[i].Name < d.Pipelines[j].Name })
	}
	if _, ok := cat.Find(profiles.Pipelines, "RecurringRun"); ok && !p.unreachable() {
		var rrs pipelinesv1alpha1.RecurringRunList
		if err := s.client.List(ctx, &rrs, client.InNamespace(p.NS)); err != nil {
			p.problem(err, "list", cat.ID(profiles.Pipelines, "RecurringRun"), "")
		}
		for _, rr := range rrs.Items {
			row := recurringRow{Name: rr.Name, Schedule: rr.Spec.Schedule, Suspended: rr.Spec.Suspend, Active: len(rr.Status.Active)}
			if ref := rr.Spec.RunSpec.PipelineVersionRef; ref != nil {
				row.Pipeline = ref.Name
			}
			if t := rr.Status.LastScheduleTime; t != nil {
				row.Last = duration.HumanDuration(s.now().Sub(t.Time)) + " ago"
			}
			if t := rr.Status.NextScheduleTime; t != nil && !rr.Spec.Suspend {
				row.Next = "in " + duration.HumanDuration(t.Sub(s.now()))
			}
			d.Recurring = append(d.Recurring, row)
		}
		sort.Slice(d.Recurring, func(i, j int) bool { return d.Recurring[i].Name < d.Recurring[j].Name })
	}
	p.Data = d
	s.render(w, "runs", p)
}

type runDetail struct {
	Run   runRow
	Found bool
	Tasks int
	Tabs  objectTabs
	// Graph is the run's DAG as JSON (runGraph), in the page so that the script lays it
	// out without a second request.
	Graph string
	// CanTerminate: the run has not ended and is not being terminated; CanRetry: it
	// failed or was canceled and no retry is pending (the actions the page offers).
	CanTerminate, CanRetry bool
}

func (s *Server) getRun(ctx context.Context, ns, name string) (*pipelinesv1alpha1.PipelineRun, error) {
	var run pipelinesv1alpha1.PipelineRun
	err := s.client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &run)
	return &run, err
}

func (s *Server) run(w http.ResponseWriter, r *http.Request) {
	p, ok := s.newPage(w, r, r.PathValue("name"), "runs")
	if !ok {
		return
	}
	p.Live = s.catalog(r.Context()).ID(profiles.Pipelines, "PipelineRun") + " pods"
	d := runDetail{Run: runRow{Name: r.PathValue("name")}}
	run, err := s.getRun(r.Context(), p.NS, r.PathValue("name"))
	if err != nil {
		if apierrors.IsNotFound(err) {
			p.Problems = append(p.Problems, Problem{Kind: "error", Text: "PipelineRun " + r.PathValue("name") + " does not exist in namespace " + p.NS + "."})
		} else {
			p.problem(err, "get", s.catalog(r.Context()).ID(profiles.Pipelines, "PipelineRun"), r.PathValue("name"))
		}
		p.Data = d
		s.render(w, "run", p)
		return
	}
	d.Found = true
	d.Run = s.runRowOf(run)
	d.Tasks = len(run.Status.Tasks)
	if b, err := json.Marshal(runGraph(s.runSpec(r.Context(), run), run.Status.Tasks)); err == nil {
		d.Graph = string(b)
	}
	d.CanTerminate = !run.Status.Phase.Final() && run.Spec.Shutdown == ""
	d.CanRetry = run.Status.Phase.Retryable() && run.Spec.Retry <= run.Status.ObservedRetry
	d.Tabs = s.tabs(r.Context(), p, run)
	p.Data = d
	s.render(w, "run", p)
}

// dagNode and dag are the run's graph as the page's script lays it out (dagre).
type dagNode struct {
	ID    string `json:"id"`
	Label string `json:"label"`
	Phase string `json:"phase"`
}

type dag struct {
	Nodes []dagNode   `json:"nodes"`
	Edges [][2]string `json:"edges"`
}

// iteration matches a loop iteration's index in a task ID ("for-loop-1[2]").
var iteration = regexp.MustCompile(`\[\d+\]`)

// runGraph joins the pipeline's IR (tasks and their dependencies, nested DAGs) with the
// run's task statuses: every task the run has started with its phase, the rest Pending.
func runGraph(spec *ir.PipelineSpec, tasks []pipelinesv1alpha1.TaskStatus) dag {
	deps := map[string][]string{} // template path → dependency paths (same DAG)
	var walk func(c *ir.ComponentSpec, prefix string, depth int)
	walk = func(c *ir.ComponentSpec, prefix string, depth int) {
		if c == nil || c.DAG == nil || depth > 16 {
			return
		}
		for name, t := range c.DAG.Tasks {
			id := prefix + name
			for _, d := range t.DependentTasks {
				deps[id] = append(deps[id], prefix+d)
			}
			if _, ok := deps[id]; !ok {
				deps[id] = nil
			}
			if spec != nil {
				if sub, ok := spec.Components[t.ComponentRef.Name]; ok {
					walk(&sub, id+"/", depth+1)
				}
			}
		}
	}
	if spec != nil {
		walk(spec.Root, "", 0)
	}
	g := dag{Nodes: []dagNode{}, Edges: [][2]string{}}
	have := map[string]bool{}
	started := map[string]bool{} // template paths with a status
	for _, t := range tasks {
		have[t.ID] = true
		started[iteration.ReplaceAllString(t.ID, "")] = true
		g.Nodes = append(g.Nodes, dagNode{ID: t.ID, Label: t.Task, Phase: string(t.Phase)})
	}
	var pending []string
	for path := range deps {
		if !started[path] {
			pending = append(pending, path)
		}
	}
	sort.Strings(pending)
	for _, path := range pending {
		have[path] = true
		g.Nodes = append(g.Nodes, dagNode{ID: path, Label: path[strings.LastIndex(path, "/")+1:], Phase: string(pipelinesv1alpha1.PhasePending)})
	}
	for _, n := range g.Nodes {
		prefix := ""
		if i := strings.LastIndex(n.ID, "/"); i >= 0 {
			prefix = n.ID[:i+1]
		}
		tpl := iteration.ReplaceAllString(n.ID, "")
		ds := deps[tpl]
		for _, d := range ds {
			from := prefix + d[strings.LastIndex(d, "/")+1:]
			if !have[from] {
				from = iteration.ReplaceAllString(from, "")
			}
			if have[from] {
				g.Edges = append(g.Edges, [2]string{from, n.ID})
			}
		}
		if len(ds) == 0 && prefix != "" {
			parent := strings.TrimSuffix(prefix, "/")
			if !have[parent] {
				parent = iteration.ReplaceAllString(parent, "")
			}
			if have[parent] && parent != n.ID {
				g.Edges = append(g.Edges, [2]string{parent, n.ID})
			}
		}
	}
	return g
}

// runSpec is the run's IR: inline, else its PipelineVersion's.
func (s *Server) runSpec(ctx context.Context, run *pipelinesv1alpha1.PipelineRun) *ir.PipelineSpec {
	var raw []byte
	if run.Spec.PipelineSpec != nil {
		raw = run.Spec.PipelineSpec.Raw
	} else if ref := run.Spec.PipelineVersionRef; ref != nil {
		var v pipelinesv2beta1.PipelineVersion
		if err := s.client.Get(ctx, client.ObjectKey{Namespace: run.Namespace, Name: ref.Name}, &v); err == nil {
			raw = v.Spec.PipelineSpec.Raw
		}
	}
	if len(raw) == 0 {
		return nil
	}
	var spec ir.PipelineSpec
	if json.Unmarshal(raw, &spec) != nil {
		return nil
	}
	return &spec
}

func (s *Server) runDAG(w http.ResponseWriter, r *http.Request) {
	run, err := s.getRun(r.Context(), r.PathValue("ns"), r.PathValue("name"))
	if err != nil {
		pr := problemOf(err, "get", s.catalog(r.Context()).ID(profiles.Pipelines, "PipelineRun"), r.PathValue("ns"), r.PathValue("name"))
		http.Error(w, pr.Text, http.StatusBadGateway)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(runGraph(s.runSpec(r.Context(), run), run.Status.Tasks))
}

// taskPanel is the side panel of one task of a run.
type taskPanel struct {
	NS, Run string
	// Container is the task pod's container that runs the component (its log).
	Container  string
	Task       *pipelinesv1alpha1.TaskStatus
	ID         string
	Parameters map[string]string
	Inputs     map[string][]pipelinesv1alpha1.Artifact
	Outputs    map[string][]pipelinesv1alpha1.Artifact
	Metrics    []metricsView
}

// metricsView is what the panel shows of one metrics artifact, from the metadata the
// kfp SDK writes: scalars (system.Metrics), a confusion matrix and an ROC curve
// (system.ClassificationMetrics). HTML and Markdown artifacts live in the artifact store:
// their viewer reads them from there (runArtifact).
type metricsView struct {
	Name, Type, URI string
	// Index is the artifact's place in its output's list; View, for an HTML or Markdown
	// artifact, the URL of its viewer (runArtifact).
	Index      int
	View       string
	Scalars    [][2]string
	Categories []string
	Matrix     [][]string
	// ROC is the curve's points as JSON ([[fpr...], [tpr...]]) for the page's script.
	ROC string
}

// metricsOf reads the viewable metrics of a task's output artifacts.
func metricsOf(outputs map[string][]pipelinesv1alpha1.Artifact) []metricsView {
	var out []metricsView
	names := make([]string, 0, len(outputs))
	for n := range outputs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		for i, a := range outputs[name] {
			v := metricsView{Name: name, Type: a.Type, URI: a.URI, Index: i}
			var md map[string]any
			if a.Metadata != nil {
				_ = json.Unmarshal(a.Metadata.Raw, &md)
			}
			switch a.Type {
			case "system.Metrics":
				keys := make([]string, 0, len(md))
				for k := range md {
					if k != "display_name" {
						keys = append(keys, k)
					}
				}
				sort.Strings(keys)
				for _, k := range keys {
					v.Scalars = append(v.Scalars, [2]string{k, fmt.Sprint(md[k])})
				}
			case "system.ClassificationMetrics":
				if cm, ok := md["confusionMatrix"].(map[string]any); ok {
					specs, _ := cm["annotationSpecs"].([]any)
					for _, sp := range specs {
						m, _ := sp.(map[string]any)
						v.Categories = append(v.Categories, fmt.Sprint(m["displayName"]))
					}
					rows, _ := cm["rows"].([]any)
					for _, r := range rows {
						m, _ := r.(map[string]any)
						cells, _ := m["row"].([]any)
						var row []string
						for _, c := range cells {
							row = append(row, fmt.Sprint(c))
						}
						v.Matrix = append(v.Matrix, row)
					}
				}
				if pts, ok := md["confidenceMetrics"].([]any); ok && len(pts) > 0 {
					type pt struct{ fpr, tpr float64 }
					var ps []pt
					for _, p := range pts {
						m, _ := p.(map[string]any)
						fpr, _ := m["falsePositiveRate"].(float64)
						tpr, _ := m["recall"].(float64)
						ps = append(ps, pt{fpr, tpr})
					}
					sort.SliceStable(ps, func(i, j int) bool { return ps[i].fpr < ps[j].fpr })
					xs, ys := make([]float64, len(ps)), make([]float64, len(ps))
					for i, p := range ps {
						xs[i], ys[i] = p.fpr, p.tpr
					}
					b, _ := json.Marshal([][]float64{xs, ys})
					v.ROC = string(b)
				}
			case artifactHTML, artifactMarkdown:
			default:
				continue
			}
			out = append(out, v)
		}
	}
	return out
}

func (s *Server) runTask(w http.ResponseWriter, r *http.Request) {
	run, err := s.getRun(r.Context(), r.PathValue("ns"), r.PathValue("name"))
	if err != nil {
		pr := problemOf(err, "get", s.catalog(r.Context()).ID(profiles.Pipelines, "PipelineRun"), r.PathValue("ns"), r.PathValue("name"))
		http.Error(w, pr.Text, http.StatusBadGateway)
		return
	}
	tp := taskPanel{NS: run.Namespace, Run: run.Name, ID: r.URL.Query().Get("id"), Container: pipelinesv1alpha1.MainContainer, Parameters: map[string]string{},
		Inputs: map[string][]pipelinesv1alpha1.Artifact{}, Outputs: map[string][]pipelinesv1alpha1.Artifact{}}
	for i := range run.Status.Tasks {
		if t := &run.Status.Tasks[i]; t.ID == tp.ID {
			tp.Task = t
			for k, v := range t.Parameters {
				tp.Parameters[k] = string(v.Raw)
			}
			for k, v := range t.Inputs {
				tp.Inputs[k] = v.Artifacts
			}
			for k, v := range t.Artifacts {
				tp.Outputs[k] = v.Artifacts
			}
			tp.Metrics = metricsOf(tp.Outputs)
			for i := range tp.Metrics {
				if m := &tp.Metrics[i]; m.Type == artifactHTML || m.Type == artifactMarkdown {
					m.View = "/ns/" + url.PathEscape(run.Namespace) + "/runs/" + url.PathEscape(run.Name) + "/artifact?" +
						url.Values{"task": {t.ID}, "output": {m.Name}, "i": {strconv.Itoa(m.Index)}}.Encode()
				}
			}
		}
	}
	s.fragment(w, "run", "task", tp)
}

// compareData is the comparison of several runs: their parameters, outputs and scalar
// metrics, one column per run.
type compareData struct {
	Runs []runRow
	Rows []compareRow
}

type compareRow struct {
	Section, Name string
	Values        []string
	Differ        bool
}

// maxCompare bounds the runs compared at once.
const maxCompare = 10

// runCompare compares the runs named by ?run= (2 to 10): parameters, pipeline outputs and
// every scalar metric (task/artifact/name) side by side, differing rows marked.
func (s *Server) runCompare(w http.ResponseWriter, r *http.Request) {
	p, ok := s.newPage(w, r, "Compare runs", "runs")
	if !ok {
		return
	}
	p.Live = s.catalog(r.Context()).ID(profiles.Pipelines, "PipelineRun")
	names := r.URL.Query()["run"]
	if len(names) > maxCompare {
		names = names[:maxCompare]
	}
	var d compareData
	values := map[[2]string][]string{}
	var keys [][2]string
	add := func(i int, section, name, v string) {
		k := [2]string{section, name}
		if _, ok := values[k]; !ok {
			values[k] = make([]string, len(names))
			keys = append(keys, k)
		}
		values[k][i] = v
	}
	for i, name := range names {
		run, err := s.getRun(r.Context(), p.NS, name)
		if err != nil {
			p.problem(err, "get", s.catalog(r.Context()).ID(profiles.Pipelines, "PipelineRun"), name)
			d.Runs = append(d.Runs, runRow{Name: name, Phase: "-"})
			continue
		}
		d.Runs = append(d.Runs, s.runRowOf(run))
		for k, v := range run.Spec.Parameters {
			add(i, "parameter", k, string(v.Raw))
		}
		for k, v := range run.Status.Outputs {
			add(i, "output", k, string(v.Raw))
		}
		for _, t := range run.Status.Tasks {
			art := map[string][]pipelinesv1alpha1.Artifact{}
			for k, v := range t.Artifacts {
				art[k] = v.Artifacts
			}
			for _, m := range metricsOf(art) {
				for _, sc := range m.Scalars {
					add(i, "metric", t.ID+"/"+m.Name+"/"+sc[0], sc[1])
				}
			}
		}
	}
	order := map[string]int{"parameter": 0, "output": 1, "metric": 2}
	sort.SliceStable(keys, func(i, j int) bool {
		if keys[i][0] != keys[j][0] {
			return order[keys[i][0]] < order[keys[j][0]]
		}
		return keys[i][1] < keys[j][1]
	})
	for _, k := range keys {
		row := compareRow{Section: k[0], Name: k[1], Values: values[k]}
		for _, v := range row.Values[1:] {
			if v != row.Values[0] {
				row.Differ = true
			}
		}
		d.Rows = append(d.Rows, row)
	}
	p.Data = d
	s.render(w, "compare", p)
}

// runClone creates a new run with the spec of the run named (as kubectl create of its
// spec would) and sends the browser to it.
func (s *Server) runClone(w http.ResponseWriter, r *http.Request) {
	ns, name := r.PathValue("ns"), r.PathValue("name")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fail := func(msg string) {
		w.WriteHeader(http.StatusUnprocessableEntity)
		_, _ = w.Write([]byte(`<p class="problem">` + html.EscapeString(msg) + `</p>`))
	}
	run, err := s.getRun(r.Context(), ns, name)
	if err != nil {
		pr := problemOf(err, "get", s.catalog(r.Context()).ID(profiles.Pipelines, "PipelineRun"), ns, name)
		fail(pr.Text + " " + pr.Fix)
		return
	}
	prefix := name
	if len(prefix) > 40 {
		prefix = prefix[:40]
	}
	clone := &pipelinesv1alpha1.PipelineRun{ObjectMeta: metav1.ObjectMeta{Namespace: ns, GenerateName: strings.TrimSuffix(prefix, "-") + "-",
		Labels: map[string]string{}, Annotations: map[string]string{"pipelines.kfup.dev/cloned-from": name}}, Spec: *run.Spec.DeepCopy()}
	clone.Spec.Shutdown, clone.Spec.Retry = "", 0 // a new run: not stopped, no retry asked
	for k, v := range run.Labels {
		clone.Labels[k] = v
	}
	if err := s.client.Create(r.Context(), clone); err != nil {
		if isAPIStatus(err) && !apierrors.IsForbidden(err) {
			fail("The API server refused the clone, nothing was created: " + err.Error())
			return
		}
		pr := problemOf(err, "create", s.catalog(r.Context()).ID(profiles.Pipelines, "PipelineRun"), ns, "")
		fail(pr.Text + " " + pr.Fix)
		return
	}
	w.Header().Set("HX-Redirect", "/ns/"+ns+"/runs/"+clone.Name)
	w.WriteHeader(http.StatusCreated)
}

// runAction answers a run action's form (htmx swaps the answer in beside its buttons):
// ok says what happens now, a refusal says why, as `kfup pipeline terminate|retry` do.
func runAction(w http.ResponseWriter, code int, class, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(`<span class="` + class + `">` + html.EscapeString(msg) + `</span>`))
}

// runTerminate stops a run as `kfup pipeline terminate` does: spec.shutdown Terminate
// (kubectl patch pipelinerun RUN --type merge -p '{"spec":{"shutdown":"Terminate"}}').
func (s *Server) runTerminate(w http.ResponseWriter, r *http.Request) {
	ctx, ns, name := r.Context(), r.PathValue("ns"), r.PathValue("name")
	out, run, err := runctl.Terminate(ctx, s.client, s.runGetter(ns, name))
	switch {
	case err != nil && run == nil:
		pr := problemOf(err, "get", s.catalog(ctx).ID(profiles.Pipelines, "PipelineRun"), ns, name)
		runAction(w, http.StatusBadGateway, "problem", pr.Text+" "+pr.Fix)
	case err != nil:
		pr := problemOf(err, "patch", s.catalog(ctx).ID(profiles.Pipelines, "PipelineRun"), ns, name)
		runAction(w, http.StatusUnprocessableEntity, "problem", "The API server refused it: "+strings.TrimSpace(pr.Text+" "+pr.Fix))
	case out == runctl.Ended:
		runAction(w, http.StatusOK, "meta", "Run "+name+" has already ended ("+string(run.Status.Phase)+"): nothing to terminate.")
	case out == runctl.Terminating:
		runAction(w, http.StatusOK, "meta", "Run "+name+" is already terminating.")
	default:
		runAction(w, http.StatusOK, "meta", "Terminating: its running task pods are being deleted; it ends Canceled.")
	}
}

// runGetter reads run ns/name for runctl.
func (s *Server) runGetter(ns, name string) runctl.Getter {
	return func(ctx context.Context) (*pipelinesv1alpha1.PipelineRun, error) { return s.getRun(ctx, ns, name) }
}

// runRetry runs a failed or canceled run again from where it stopped, as `kfup pipeline
// retry` does (runctl.Retry: spec.retry raised by one and spec.shutdown cleared, in one
// patch that carries the resourceVersion read).
func (s *Server) runRetry(w http.ResponseWriter, r *http.Request) {
	ctx, ns, name := r.Context(), r.PathValue("ns"), r.PathValue("name")
	out, run, err := runctl.Retry(ctx, s.client, s.runGetter(ns, name))
	switch {
	case err != nil:
		pr := problemOf(err, "patch", s.catalog(ctx).ID(profiles.Pipelines, "PipelineRun"), ns, name)
		runAction(w, http.StatusUnprocessableEntity, "problem", strings.TrimSpace(pr.Text+" "+pr.Fix))
	case out == runctl.Asked:
		runAction(w, http.StatusOK, "meta", fmt.Sprintf("Retry %d is already asked for.", run.Spec.Retry))
	case out == runctl.Succeeded:
		runAction(w, http.StatusConflict, "problem", "Run "+name+" succeeded: there is nothing to retry; Clone run starts it anew.")
	case out == runctl.Running:
		runAction(w, http.StatusConflict, "problem", "Run "+name+" has not ended: only a run that failed or was canceled can be retried (terminate it first).")
	default:
		runAction(w, http.StatusOK, "meta", fmt.Sprintf("Retrying (retry %d): its failed and canceled tasks run again.", run.Spec.Retry))
	}
}
