package dashboard

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"html/template"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	tuningv1beta1 "github.com/kfup/kfup/components/tuning/api/v1beta1"
	"github.com/kfup/kfup/profiles"
)

func (s *Server) tuningRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /ns/{ns}/experiments", s.experimentList)
	mux.HandleFunc("GET /ns/{ns}/experiments.csv", s.experimentCSV)
	mux.HandleFunc("GET /ns/{ns}/experiments/{name}", s.experiment)
	mux.HandleFunc("GET /ns/{ns}/experiments/{name}/trials", s.experimentTrials)
	mux.HandleFunc("GET /ns/{ns}/experiments/{name}/trials/{trial}", s.trial)
	mux.HandleFunc("GET /ns/{ns}/experiments/{name}/trials/{trial}/logs", func(w http.ResponseWriter, r *http.Request) {
		s.podLogs(w, r, func(p *corev1.Pod) bool {
			return p.Labels[tuningv1beta1.LabelTrialName] == r.PathValue("trial") && p.Labels[tuningv1beta1.LabelExperimentName] == r.PathValue("name")
		})
	})
	mux.HandleFunc("POST /ns/{ns}/experiments", s.experimentCreate)
}

// experimentRow is one Katib experiment in the list (and the CSV export).
type experimentRow struct {
	Name, Href, State, Algorithm, Objective                       string
	Trials, Succeeded, Failed, Running, Pending, Killed, MaxTrial int32
	BestTrial, BestValue, BestParams                              string
	Created                                                       time.Time
}

func experimentRowOf(e *tuningv1beta1.Experiment) experimentRow {
	st := e.Status
	row := experimentRow{Name: e.Name, Href: "/ns/" + e.Namespace + "/experiments/" + e.Name, Created: e.CreationTimestamp.Time,
		Trials: st.Trials, Succeeded: st.TrialsSucceeded, Failed: st.TrialsFailed, Running: st.TrialsRunning,
		Pending: st.TrialsPending, Killed: st.TrialsKilled, BestTrial: st.CurrentOptimalTrial.BestTrialName}
	if e.Spec.MaxTrialCount != nil {
		row.MaxTrial = *e.Spec.MaxTrialCount
	}
	if e.Spec.Algorithm != nil {
		row.Algorithm = e.Spec.Algorithm.AlgorithmName
	}
	if o := e.Spec.Objective; o != nil {
		row.Objective = string(o.Type) + " " + o.ObjectiveMetricName
		for _, m := range st.CurrentOptimalTrial.Observation.Metrics {
			if m.Name == o.ObjectiveMetricName {
				row.BestValue = m.Latest
			}
		}
	}
	var ps []string
	for _, a := range st.CurrentOptimalTrial.ParameterAssignments {
		ps = append(ps, a.Name+"="+a.Value)
	}
	row.BestParams = strings.Join(ps, " ")
	row.State = "Created"
	last := metav1.Time{}
	for _, c := range st.Conditions {
		if c.Status == corev1.ConditionTrue && !c.LastTransitionTime.Before(&last) {
			row.State, last = string(c.Type), c.LastTransitionTime
		}
	}
	return row
}

func (s *Server) experiments(p *page, r *http.Request) []experimentRow {
	if p.unreachable() {
		return nil
	}
	var list tuningv1beta1.ExperimentList
	if err := s.client.List(r.Context(), &list, client.InNamespace(p.NS)); err != nil {
		p.problem(err, "list", s.catalog(r.Context()).ID(profiles.Tuning, "Experiment"), "")
		return nil
	}
	rows := make([]experimentRow, 0, len(list.Items))
	for i := range list.Items {
		rows = append(rows, experimentRowOf(&list.Items[i]))
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].Created.After(rows[j].Created) })
	return rows
}

func (s *Server) experimentList(w http.ResponseWriter, r *http.Request) {
	p, ok := s.newPage(w, r, "Experiments", "experiments")
	if !ok {
		return
	}
	p.Live = strings.Join(s.catalog(r.Context()).IDs(profiles.Tuning, "Experiment", "Trial"), " ")
	p.Data = struct {
		Experiments []experimentRow
		Sample      string
	}{s.experiments(p, r), sampleExperiment(p.NS)}
	s.render(w, "experiments", p)
}

// experimentCSV exports the list: one row per experiment, its counts and optimal trial.
func (s *Server) experimentCSV(w http.ResponseWriter, r *http.Request) {
	p, ok := s.newPage(w, r, "", "experiments")
	if !ok {
		return
	}
	rows := s.experiments(p, r)
	if len(p.Problems) > 0 {
		http.Error(w, p.Problems[0].Text+" "+p.Problems[0].Fix, http.StatusBadGateway)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="experiments-`+p.NS+`.csv"`)
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"name", "state", "algorithm", "objective", "trials", "succeeded", "failed", "running", "pending", "killed",
		"max_trials", "optimal_trial", "optimal_value", "optimal_parameters", "created"})
	for _, e := range rows {
		n := func(v int32) string { return strconv.Itoa(int(v)) }
		_ = cw.Write([]string{e.Name, e.State, e.Algorithm, e.Objective, n(e.Trials), n(e.Succeeded), n(e.Failed), n(e.Running), n(e.Pending),
			n(e.Killed), n(e.MaxTrial), e.BestTrial, e.BestValue, e.BestParams, e.Created.UTC().Format(time.RFC3339)})
	}
	cw.Flush()
}

// trialRow is one trial of an experiment.
type trialRow struct {
	Name, State string
	Params      []string // in the experiment's parameter order
	Metrics     []string // latest value of each metric, objective first
	Best        bool
	Created     time.Time
}

type experimentDetail struct {
	Experiment experimentRow
	Found      bool
	ParamNames []string
	Metrics    []string
	Trials     []trialRow
	Conditions []conditionRow
	Tabs       objectTabs
}

func (s *Server) experiment(w http.ResponseWriter, r *http.Request) {
	p, ok := s.newPage(w, r, r.PathValue("name"), "experiments")
	if !ok {
		return
	}
	p.Live = strings.Join(s.catalog(r.Context()).IDs(profiles.Tuning, "Experiment", "Trial"), " ") + " events"
	ctx := r.Context()
	d := experimentDetail{Experiment: experimentRow{Name: r.PathValue("name")}}
	var e tuningv1beta1.Experiment
	if err := s.client.Get(ctx, client.ObjectKey{Namespace: p.NS, Name: r.PathValue("name")}, &e); err != nil {
		if apierrors.IsNotFound(err) {
			p.Problems = append(p.Problems, Problem{Kind: "error", Text: "Experiment " + r.PathValue("name") + " does not exist in namespace " + p.NS + "."})
		} else {
			p.problem(err, "get", s.catalog(r.Context()).ID(profiles.Tuning, "Experiment"), r.PathValue("name"))
		}
		p.Data = d
		s.render(w, "experiment", p)
		return
	}
	d.Found = true
	d.Experiment = experimentRowOf(&e)
	for _, ps := range e.Spec.Parameters {
		d.ParamNames = append(d.ParamNames, ps.Name)
	}
	if o := e.Spec.Objective; o != nil {
		d.Metrics = append([]string{o.ObjectiveMetricName}, o.AdditionalMetricNames...)
	}
	for _, c := range e.Status.Conditions {
		d.Conditions = append(d.Conditions, conditionRow{Type: string(c.Type), Status: string(c.Status), Reason: c.Reason, Message: c.Message, Time: c.LastTransitionTime.Time})
	}
	var trials tuningv1beta1.TrialList
	if err := s.client.List(ctx, &trials, client.InNamespace(p.NS), client.MatchingLabels{tuningv1beta1.LabelExperimentName: e.Name}); err != nil {
		p.problem(err, "list", s.catalog(r.Context()).ID(profiles.Tuning, "Trial"), "")
	}
	d.Trials = trialRows(&e, d.ParamNames, d.Metrics, trials.Items)
	d.Tabs = s.tabs(ctx, p, &e)
	p.Data = d
	s.render(w, "experiment", p)
}

// trialRows are an experiment's trials in creation order, their parameters in the order
// of paramNames and their latest metrics in the order of metrics.
func trialRows(e *tuningv1beta1.Experiment, paramNames, metrics []string, trials []tuningv1beta1.Trial) []trialRow {
	var out []trialRow
	for _, t := range trials {
		row := trialRow{Name: t.Name, Created: t.CreationTimestamp.Time, Best: t.Name == e.Status.CurrentOptimalTrial.BestTrialName, State: "Created"}
		last := metav1.Time{}
		for _, c := range t.Status.Conditions {
			if c.Status == corev1.ConditionTrue && !c.LastTransitionTime.Before(&last) {
				row.State, last = string(c.Type), c.LastTransitionTime
			}
		}
		for _, n := range paramNames {
			v := ""
			for _, a := range t.Spec.ParameterAssignments {
				if a.Name == n {
					v = a.Value
				}
			}
			row.Params = append(row.Params, v)
		}
		for _, n := range metrics {
			v := ""
			if t.Status.Observation != nil {
				for _, m := range t.Status.Observation.Metrics {
					if m.Name == n {
						v = m.Latest
					}
				}
			}
			row.Metrics = append(row.Metrics, v)
		}
		out = append(out, row)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Created.Equal(out[j].Created) {
			return out[i].Created.Before(out[j].Created)
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// trialsJSON is what the experiment page's charts draw: the parameters and metrics named,
// the objective's direction, and each trial's values (strings, as Katib reports them).
type trialsJSON struct {
	Params   []string    `json:"params"`
	Metrics  []string    `json:"metrics"`
	Maximize bool        `json:"maximize"`
	Best     string      `json:"best"`
	Trials   []trialJSON `json:"trials"`
}

type trialJSON struct {
	Name    string   `json:"name"`
	State   string   `json:"state"`
	Params  []string `json:"params"`
	Metrics []string `json:"metrics"`
}

// experimentTrials serves the experiment's trials as JSON for its charts: the objective
// per trial (uPlot) and the parallel coordinates of parameters and objective.
func (s *Server) experimentTrials(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	ns, name := r.PathValue("ns"), r.PathValue("name")
	var e tuningv1beta1.Experiment
	if err := s.client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &e); err != nil {
		pr := problemOf(err, "get", s.catalog(ctx).ID(profiles.Tuning, "Experiment"), ns, name)
		http.Error(w, pr.Text, http.StatusBadGateway)
		return
	}
	var trials tuningv1beta1.TrialList
	if err := s.client.List(ctx, &trials, client.InNamespace(ns), client.MatchingLabels{tuningv1beta1.LabelExperimentName: name}); err != nil {
		pr := problemOf(err, "list", s.catalog(ctx).ID(profiles.Tuning, "Trial"), ns, "")
		http.Error(w, pr.Text, http.StatusBadGateway)
		return
	}
	out := trialsJSON{Params: []string{}, Metrics: []string{}, Trials: []trialJSON{}, Best: e.Status.CurrentOptimalTrial.BestTrialName}
	for _, ps := range e.Spec.Parameters {
		out.Params = append(out.Params, ps.Name)
	}
	if o := e.Spec.Objective; o != nil {
		out.Metrics = append([]string{o.ObjectiveMetricName}, o.AdditionalMetricNames...)
		out.Maximize = o.Type == tuningv1beta1.ObjectiveTypeMaximize
	}
	for _, t := range trialRows(&e, out.Params, out.Metrics, trials.Items) {
		out.Trials = append(out.Trials, trialJSON{Name: t.Name, State: t.State, Params: t.Params, Metrics: t.Metrics})
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

// maxYAML bounds an Experiment submitted from the form.
const maxYAML = 512 << 10

// experimentCreate creates the Experiment of the form's YAML in the page's namespace,
// with the API server's strict field validation: its message is shown inline, and
// nothing is created; on success the browser goes to the experiment's page.
func (s *Server) experimentCreate(w http.ResponseWriter, r *http.Request) {
	ns := r.PathValue("ns")
	fail := func(msg string) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusUnprocessableEntity)
		_, _ = w.Write([]byte(`<p class="problem submit-error">` + template.HTMLEscapeString(msg) + `</p>`))
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxYAML)
	if err := r.ParseForm(); err != nil {
		fail("the YAML is too large or the form malformed: " + err.Error())
		return
	}
	k, ok := s.catalog(r.Context()).Find(profiles.Tuning, "Experiment")
	if !ok {
		fail("this cluster serves no Experiment kind (is tuning installed? 'kfup status')")
		return
	}
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(r.PostForm.Get("yaml")), &u.Object); err != nil || u.Object == nil {
		msg := "the YAML does not parse"
		if err != nil {
			msg += ": " + err.Error()
		}
		fail(msg)
		return
	}
	if gvk := u.GroupVersionKind(); gvk.Kind != k.Kind || gvk.Group != k.Group {
		fail("this form creates Experiments (apiVersion " + k.Group + "/" + k.Version + ", kind " + k.Kind + "), not " + gvk.Kind)
		return
	}
	if u.GetNamespace() == "" {
		u.SetNamespace(ns)
	}
	if u.GetNamespace() != ns {
		fail("the YAML names namespace " + u.GetNamespace() + "; this page creates in " + ns + " (switch namespace or drop metadata.namespace)")
		return
	}
	if err := s.client.Create(r.Context(), u, &client.CreateOptions{Raw: &metav1.CreateOptions{FieldValidation: metav1.FieldValidationStrict}}); err != nil {
		if apierrors.IsForbidden(err) || !isAPIStatus(err) {
			pr := problemOf(err, "create", k.ID(), ns, u.GetName())
			fail(strings.TrimSpace(pr.Text + " " + pr.Fix))
			return
		}
		fail("The API server refused it, nothing was created: " + err.Error())
		return
	}
	w.Header().Set("HX-Redirect", "/ns/"+ns+"/experiments/"+u.GetName())
	w.WriteHeader(http.StatusCreated)
}

// sampleExperiment is the create form's starting YAML: random search over one
// parameter, a tiny trial that prints its metric.
func sampleExperiment(ns string) string {
	return `apiVersion: kubeflow.org/v1beta1
kind: Experiment
metadata:
  name: random-example
  namespace: ` + ns + `
spec:
  objective:
    type: maximize
    goal: 0.99
    objectiveMetricName: accuracy
  algorithm:
    algorithmName: random
  parallelTrialCount: 2
  maxTrialCount: 6
  maxFailedTrialCount: 2
  parameters:
    - name: lr
      parameterType: double
      feasibleSpace: {min: "0.01", max: "0.1"}
  trialTemplate:
    primaryContainerName: training
    trialParameters:
      - name: learningRate
        reference: lr
    trialSpec:
      apiVersion: batch/v1
      kind: Job
      spec:
        template:
          spec:
            restartPolicy: Never
            containers:
              - name: training
                image: busybox
                command: ["sh", "-c", "echo accuracy=0.9 lr=${trialParameters.learningRate}"]
`
}

type trialDetail struct {
	Experiment, Name, State string
	Found                   bool
	Params                  []tuningv1beta1.ParameterAssignment
	Metrics                 []tuningv1beta1.Metric
	Objective               string
	Run                     string
	Conditions              []conditionRow
	Pods                    []podRow
	Tabs                    objectTabs
	// Series is the observation log as JSON for the page's charts (observationSeries);
	// empty when the trial has none. SeriesNote says why there is none or what is left out.
	Series, SeriesNote string
}

// seriesJSON is one metric's reports over time, as the trial page's charts draw them:
// Steps[i] is the report's number (1, 2, ...), Values[i] its value, Times[i] its time
// (RFC 3339; "" when the collector saw none).
type seriesJSON struct {
	Name   string    `json:"name"`
	Steps  []int     `json:"steps"`
	Values []float64 `json:"values"`
	Times  []string  `json:"times"`
}

// observationSeries reads trial t's observation log (the ConfigMap the tuning controller
// keeps, Katib's observation_logs table) into one series per numeric metric, the
// objective first; what is not numeric (a NAS genotype) is left out and said.
func (s *Server) observationSeries(ctx context.Context, p *page, t *tuningv1beta1.Trial) (string, string) {
	name := tuningv1beta1.ObservationLogName(t.Name)
	var cm corev1.ConfigMap
	err := s.client.Get(ctx, client.ObjectKey{Namespace: t.Namespace, Name: name}, &cm)
	switch {
	case apierrors.IsNotFound(err):
		return "", "No reports in the observation log yet (ConfigMap " + name + "): a Push trial's appear as its code reports them, the other collectors' once the run ends."
	case apierrors.IsForbidden(err):
		return "", "No metric-over-time charts: you may not get configmaps in namespace " + p.NS + " (the observation log is ConfigMap " + name + ")."
	case err != nil:
		return "", "No metric-over-time charts: reading ConfigMap " + name + ": " + err.Error()
	case !metav1.IsControlledBy(&cm, t):
		return "", "ConfigMap " + name + " is not trial " + t.Name + "'s observation log: kfup leaves it alone."
	}
	var reports []tuningv1beta1.ObservationLogLine
	for _, key := range []string{tuningv1beta1.ObservationLogKept, tuningv1beta1.ObservationLogBeyond} {
		lines, err := tuningv1beta1.DecodeObservationLogLines(cm.Data[key], "ConfigMap "+name+" key "+key)
		if err != nil {
			return "", "No metric-over-time charts: " + err.Error()
		}
		reports = append(reports, lines...)
	}
	var out []*seriesJSON
	byName := map[string]*seriesJSON{}
	skipped := map[string]bool{}
	steps := map[string]int{}
	for _, o := range reports {
		steps[o.Name]++
		v, err := strconv.ParseFloat(o.Value, 64)
		if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
			skipped[o.Name] = true
			continue
		}
		sr := byName[o.Name]
		if sr == nil {
			sr = &seriesJSON{Name: o.Name, Steps: []int{}, Values: []float64{}, Times: []string{}}
			byName[o.Name] = sr
			out = append(out, sr)
		}
		sr.Steps, sr.Values, sr.Times = append(sr.Steps, steps[o.Name]), append(sr.Values, v), append(sr.Times, o.Time)
	}
	if obj := t.Spec.Objective; obj != nil {
		sort.SliceStable(out, func(i, j int) bool {
			return out[i].Name == obj.ObjectiveMetricName && out[j].Name != obj.ObjectiveMetricName
		})
	}
	var left []string
	for name := range skipped {
		if byName[name] == nil {
			left = append(left, name)
		}
	}
	sort.Strings(left)
	note := ""
	if len(left) > 0 {
		note = "Not charted (not numbers): " + strings.Join(left, ", ") + "."
	}
	if len(out) == 0 {
		return "", note
	}
	b, err := json.Marshal(out)
	if err != nil {
		return "", err.Error()
	}
	return string(b), note
}

// trial is one trial's page: its state and conditions, parameters, each metric's latest,
// min and max (what the trial's status keeps) and its reports over time (the observation
// log), its run object, its pods with their logs.
func (s *Server) trial(w http.ResponseWriter, r *http.Request) {
	p, ok := s.newPage(w, r, r.PathValue("trial"), "experiments")
	if !ok {
		return
	}
	ctx := r.Context()
	cat := s.catalog(ctx)
	p.Live = strings.Join(cat.IDs(profiles.Tuning, "Trial"), " ") + " pods events"
	d := trialDetail{Experiment: r.PathValue("name"), Name: r.PathValue("trial"), State: "Created"}
	var t tuningv1beta1.Trial
	err := s.client.Get(ctx, client.ObjectKey{Namespace: p.NS, Name: d.Name}, &t)
	if err == nil && t.Labels[tuningv1beta1.LabelExperimentName] != d.Experiment {
		err = apierrors.NewNotFound(tuningv1beta1.GroupVersion.WithResource("trials").GroupResource(), d.Name)
	}
	if err != nil {
		if apierrors.IsNotFound(err) {
			p.Problems = append(p.Problems, Problem{Kind: "error", Text: "Trial " + d.Name + " of experiment " + d.Experiment + " does not exist in namespace " + p.NS + "."})
		} else {
			p.problem(err, "get", cat.ID(profiles.Tuning, "Trial"), d.Name)
		}
		p.Data = d
		s.render(w, "trial", p)
		return
	}
	d.Found = true
	d.Params = t.Spec.ParameterAssignments
	if t.Status.Observation != nil {
		d.Metrics = t.Status.Observation.Metrics
	}
	if o := t.Spec.Objective; o != nil {
		d.Objective = string(o.Type) + " " + o.ObjectiveMetricName
	}
	if t.Spec.RunSpec != nil {
		d.Run = t.Spec.RunSpec.GetKind() + " " + t.Name
	}
	last := metav1.Time{}
	for _, c := range t.Status.Conditions {
		d.Conditions = append(d.Conditions, conditionRow{Type: string(c.Type), Status: string(c.Status), Reason: c.Reason, Message: c.Message, Time: c.LastTransitionTime.Time})
		if c.Status == corev1.ConditionTrue && !c.LastTransitionTime.Before(&last) {
			d.State, last = string(c.Type), c.LastTransitionTime
		}
	}
	sort.SliceStable(d.Conditions, func(i, j int) bool { return d.Conditions[i].Time.Before(d.Conditions[j].Time) })
	d.Series, d.SeriesNote = s.observationSeries(ctx, p, &t)
	d.Pods = s.pods(ctx, p, client.MatchingLabels{tuningv1beta1.LabelTrialName: t.Name, tuningv1beta1.LabelExperimentName: d.Experiment},
		func(pod *corev1.Pod) (string, bool) { return "trial", true })
	d.Tabs = s.tabs(ctx, p, &t)
	p.Data = d
	s.render(w, "trial", p)
}
