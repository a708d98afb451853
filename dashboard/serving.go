package dashboard

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/client"

	servingv1beta1 "github.com/kfup/kfup/components/serving/api/v1beta1"
	"github.com/kfup/kfup/profiles"
)

// Labels KServe puts on a component's pods.
const (
	labelInferenceService = "serving.kserve.io/inferenceservice"
	labelComponent        = "component"
)

func (s *Server) servingRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /ns/{ns}/endpoints", s.endpointList)
	mux.HandleFunc("GET /ns/{ns}/endpoints/{name}", s.endpoint)
	mux.HandleFunc("POST /ns/{ns}/endpoints/{name}/infer", s.inferForm)
	mux.HandleFunc("GET /ns/{ns}/endpoints/{name}/logs", func(w http.ResponseWriter, r *http.Request) {
		s.podLogs(w, r, func(p *corev1.Pod) bool { return p.Labels[labelInferenceService] == r.PathValue("name") })
	})
}

// endpointRow is one InferenceService in the list.
type endpointRow struct {
	Name, URL, Mode, Traffic, Href, Message string
	Ready                                   bool
	Created                                 time.Time
}

func endpointRowOf(isvc *servingv1beta1.InferenceService) endpointRow {
	row := endpointRow{Name: isvc.Name, URL: isvc.Status.URL, Mode: isvc.Status.DeploymentMode, Created: isvc.CreationTimestamp.Time,
		Href: "/ns/" + isvc.Namespace + "/endpoints/" + isvc.Name}
	for _, c := range isvc.Status.Conditions {
		if c.Type == servingv1beta1.Ready {
			row.Ready = c.Status == corev1.ConditionTrue
			if !row.Ready {
				row.Message = strings.TrimSpace(c.Reason + " " + c.Message)
			}
		}
	}
	row.Traffic = traffic(isvc)
	return row
}

// traffic is the predictor's traffic split ("r-2 10% (latest), r-1 90%"): from status,
// else from the canary percent asked for, else all to the latest.
func traffic(isvc *servingv1beta1.InferenceService) string {
	var parts []string
	for _, t := range isvc.Status.Components[servingv1beta1.PredictorComponent].Traffic {
		if t.Percent == nil {
			continue
		}
		name := t.RevisionName
		if name == "" {
			name = t.Tag
		}
		if t.LatestRevision != nil && *t.LatestRevision {
			name += " (latest)"
		}
		parts = append(parts, fmt.Sprintf("%s %d%%", name, *t.Percent))
	}
	if len(parts) > 0 {
		return strings.Join(parts, ", ")
	}
	if c := isvc.Spec.Predictor.CanaryTrafficPercent; c != nil {
		return fmt.Sprintf("latest %d%%, previous %d%%", *c, 100-*c)
	}
	return "latest 100%"
}

func (s *Server) endpointList(w http.ResponseWriter, r *http.Request) {
	p, ok := s.newPage(w, r, "Model endpoints", "endpoints")
	if !ok {
		return
	}
	p.Live = s.catalog(r.Context()).ID(profiles.Serving, "InferenceService") + " pods"
	var rows []endpointRow
	if !p.unreachable() {
		var list servingv1beta1.InferenceServiceList
		if err := s.client.List(r.Context(), &list, client.InNamespace(p.NS)); err != nil {
			p.problem(err, "list", s.catalog(r.Context()).ID(profiles.Serving, "InferenceService"), "")
		}
		for i := range list.Items {
			rows = append(rows, endpointRowOf(&list.Items[i]))
		}
		sort.Slice(rows, func(i, j int) bool { return rows[i].Name < rows[j].Name })
	}
	p.Data = rows
	s.render(w, "endpoints", p)
}

// componentRow is one component of an InferenceService (predictor, transformer, ...).
type componentRow struct {
	Name, URL, LatestReady, LatestCreated, Traffic string
}

type endpointDetail struct {
	Endpoint   endpointRow
	Found      bool
	Components []componentRow
	Conditions []conditionRow
	Model      servingv1beta1.ModelStatus
	Pods       []podRow
	Tabs       objectTabs
	// Sample is an OIP v2 request body for the "Try it" form.
	Sample string
}

// sampleRequest is the "Try it" form's starting body: one row of four FP32 features.
const sampleRequest = `{
  "inputs": [
    {"name": "input-0", "shape": [1, 4], "datatype": "FP32", "data": [6.8, 2.8, 4.8, 1.4]}
  ]
}`

func (s *Server) endpoint(w http.ResponseWriter, r *http.Request) {
	p, ok := s.newPage(w, r, r.PathValue("name"), "endpoints")
	if !ok {
		return
	}
	ctx := r.Context()
	p.Live = s.catalog(ctx).ID(profiles.Serving, "InferenceService") + " pods events"
	d := endpointDetail{Endpoint: endpointRow{Name: r.PathValue("name")}, Sample: sampleRequest}
	var isvc servingv1beta1.InferenceService
	if err := s.client.Get(ctx, client.ObjectKey{Namespace: p.NS, Name: r.PathValue("name")}, &isvc); err != nil {
		if apierrors.IsNotFound(err) {
			p.Problems = append(p.Problems, Problem{Kind: "error", Text: "InferenceService " + r.PathValue("name") + " does not exist in namespace " + p.NS + "."})
		} else {
			p.problem(err, "get", s.catalog(ctx).ID(profiles.Serving, "InferenceService"), r.PathValue("name"))
		}
		p.Data = d
		s.render(w, "endpoint", p)
		return
	}
	d.Found = true
	d.Endpoint = endpointRowOf(&isvc)
	d.Model = isvc.Status.ModelStatus
	for name, c := range isvc.Status.Components {
		row := componentRow{Name: string(name), URL: c.URL, LatestReady: c.LatestReadyRevision, LatestCreated: c.LatestCreatedRevision}
		if name == servingv1beta1.PredictorComponent {
			row.Traffic = d.Endpoint.Traffic
		}
		d.Components = append(d.Components, row)
	}
	sort.Slice(d.Components, func(i, j int) bool { return d.Components[i].Name < d.Components[j].Name })
	for _, c := range isvc.Status.Conditions {
		d.Conditions = append(d.Conditions, conditionRow{Type: string(c.Type), Status: string(c.Status), Reason: c.Reason, Message: c.Message, Time: c.LastTransitionTime.Time})
	}
	sort.SliceStable(d.Conditions, func(i, j int) bool { return d.Conditions[i].Time.Before(d.Conditions[j].Time) })
	d.Pods = s.pods(ctx, p, client.MatchingLabels{labelInferenceService: isvc.Name}, func(pod *corev1.Pod) (string, bool) {
		return pod.Labels[labelComponent], true
	})
	d.Tabs = s.tabs(ctx, p, &isvc)
	p.Data = d
	s.render(w, "endpoint", p)
}

// inferResult is what the "Try it" form shows.
type inferResult struct {
	URL, Status, Body, Error string
	Millis                   int64
}

// maxInferBody bounds a "Try it" request and the response shown.
const maxInferBody = 1 << 20

// inferForm sends the form's OIP v2 request to the InferenceService's own URL (from its
// status, never one the browser names) at /v2/models/<model>/infer and shows the answer.
func (s *Server) inferForm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxInferBody)
	if err := r.ParseForm(); err != nil {
		s.fragment(w, "endpoint", "infer-result", inferResult{Error: "the request is too large or malformed: " + err.Error()})
		return
	}
	res := s.callModel(r.Context(), r.PathValue("ns"), r.PathValue("name"), r.PostForm.Get("model"), r.PostForm.Get("body"))
	s.fragment(w, "endpoint", "infer-result", res)
}

func (s *Server) callModel(ctx context.Context, ns, name, model, body string) inferResult {
	if model == "" {
		model = name
	}
	if errs := validation.IsDNS1123Subdomain(model); len(errs) > 0 {
		return inferResult{Error: "model name " + model + ": " + strings.Join(errs, "; ")}
	}
	var req struct {
		Inputs []json.RawMessage `json:"inputs"`
	}
	if err := json.Unmarshal([]byte(body), &req); err != nil || len(req.Inputs) == 0 {
		msg := "the body must be an OIP v2 inference request: a JSON object with a non-empty \"inputs\" list"
		if err != nil {
			msg += " (" + err.Error() + ")"
		}
		return inferResult{Error: msg}
	}
	var isvc servingv1beta1.InferenceService
	if err := s.client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &isvc); err != nil {
		pr := problemOf(err, "get", s.catalog(ctx).ID(profiles.Serving, "InferenceService"), ns, name)
		return inferResult{Error: strings.TrimSpace(pr.Text + " " + pr.Fix)}
	}
	base := isvc.Status.URL
	if base == "" {
		return inferResult{Error: "InferenceService " + name + " has no URL yet (not ready): wait for Ready, see its conditions and events"}
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return inferResult{Error: "InferenceService " + name + " has an URL kfup cannot call: " + base}
	}
	u = u.JoinPath("v2", "models", model, "infer")
	res := inferResult{URL: u.String()}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader([]byte(body)))
	if err != nil {
		res.Error = err.Error()
		return res
	}
	hreq.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := (&http.Client{Transport: s.inferRT, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(hreq)
	res.Millis = time.Since(start).Milliseconds()
	if err != nil {
		res.Error = "the model did not answer: " + err.Error() + " (is the cluster's ingress up? 'kfup status')"
		return res
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxInferBody))
	res.Status = resp.Status
	var pretty bytes.Buffer
	if json.Indent(&pretty, b, "", "  ") == nil {
		res.Body = pretty.String()
	} else {
		res.Body = string(b)
	}
	return res
}

// IngressTransport reaches every InferenceService URL through the cluster's ingress on
// this host (addr, "127.0.0.1:<kfup's HTTP port>"), keeping the URL's host name as the
// Host header: models answer at http://<name>-<namespace>.kfup.localhost without DNS.
func IngressTransport(addr string) http.RoundTripper {
	d := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
	}
}
