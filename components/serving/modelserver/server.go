package modelserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// DefaultMaxRequestBytes is the largest request body the server reads unless told.
const DefaultMaxRequestBytes = 16 << 20

// outputName is the one output tensor a model answers with.
const outputName = "output-0"

// Server answers the Open Inference Protocol v2 REST API and KServe's v1 predict API for
// one model. It is live at once and ready once SetModel has given it the model.
type Server struct {
	name     string
	maxBytes int64
	model    atomic.Pointer[Model]
	mux      *http.ServeMux
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	bufs     sync.Pool
	health   *health.Server // gRPC health (GRPC), SERVING once the model is set
	healthMu sync.Mutex
}

// Option configures a Server.
type Option interface{ apply(*Server) }

type optionFunc func(*Server)

func (f optionFunc) apply(s *Server) { f(s) }

// WithMaxRequestBytes limits request bodies to n bytes (413 beyond).
func WithMaxRequestBytes(n int64) Option { return optionFunc(func(s *Server) { s.maxBytes = n }) }

// NewServer returns a server for the model clients call name; it is not ready until
// SetModel.
func NewServer(name string, opts ...Option) *Server {
	s := &Server{name: name, maxBytes: DefaultMaxRequestBytes, mux: http.NewServeMux()}
	for _, o := range opts {
		o.apply(s)
	}
	reg := prometheus.NewRegistry()
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "kfup_modelserver_requests_total", Help: "Requests by endpoint and status code.",
	}, []string{"endpoint", "code"})
	s.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "kfup_modelserver_request_duration_seconds", Help: "Request latency by endpoint.",
		Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10),
	}, []string{"endpoint"})
	reg.MustRegister(s.requests, s.latency, prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	s.bufs.New = func() any { return new(bytes.Buffer) }

	s.handle("GET /v2/health/live", "live", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]bool{"live": true})
	})
	s.handle("GET /v2/health/ready", "ready", func(w http.ResponseWriter, r *http.Request) {
		ready := s.model.Load() != nil
		writeJSON(w, readyCode(ready), map[string]bool{"ready": ready})
	})
	for _, p := range []string{"/v2/models/{model}", "/v2/models/{model}/versions/{version}"} {
		s.handle("GET "+p, "metadata", s.metadata)
		s.handle("GET "+p+"/ready", "model_ready", s.modelReady)
		s.handle("POST "+p+"/infer", "infer", s.infer)
	}
	s.handle("GET /v1/models/{model}", "v1_ready", s.v1Ready)
	s.handle("POST /v1/models/{model}", "v1_predict", s.v1Predict) // {model} is "name:predict"
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no endpoint %s %s (see /v2/models/%s)", r.Method, r.URL.Path, s.name)
	})
	return s
}

// SetModel makes the server ready, serving m.
func (s *Server) SetModel(m *Model) {
	s.model.Store(m)
	s.healthMu.Lock()
	defer s.healthMu.Unlock()
	if s.health != nil {
		s.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	}
}

// ServeHTTP routes a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

func (s *Server) handle(pattern, endpoint string, h http.HandlerFunc) {
	observe := s.latency.WithLabelValues(endpoint)
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		h(sw, r)
		observe.Observe(time.Since(start).Seconds())
		s.requests.WithLabelValues(endpoint, strconv.Itoa(sw.code)).Inc()
	})
}

func readyCode(ready bool) int {
	if ready {
		return http.StatusOK
	}
	return http.StatusServiceUnavailable
}

// lookup returns the model a request names, or writes the error (404 for another name,
// 503 while loading).
func (s *Server) lookup(w http.ResponseWriter, name string) *Model {
	if name != s.name {
		writeError(w, http.StatusNotFound, "model %q is not served here (this server serves %q)", name, s.name)
		return nil
	}
	m := s.model.Load()
	if m == nil {
		writeError(w, http.StatusServiceUnavailable, "model %q is not ready: still loading", name)
	}
	return m
}

type tensorMetadata struct {
	Name     string  `json:"name"`
	Datatype string  `json:"datatype"`
	Shape    []int64 `json:"shape"`
}

func (s *Server) metadata(w http.ResponseWriter, r *http.Request) {
	m := s.lookup(w, r.PathValue("model"))
	if m == nil {
		return
	}
	out := []int64{-1}
	if m.OutputWidth() > 1 {
		out = append(out, int64(m.OutputWidth()))
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"name":     s.name,
		"versions": []string{},
		"platform": "xgboost",
		"inputs":   []tensorMetadata{{"input-0", "FP32", []int64{-1, int64(m.NumFeatures())}}},
		"outputs":  []tensorMetadata{{outputName, "FP32", out}},
	})
}

func (s *Server) modelReady(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("model")
	if name != s.name {
		writeError(w, http.StatusNotFound, "model %q is not served here (this server serves %q)", name, s.name)
		return
	}
	ready := s.model.Load() != nil
	writeJSON(w, readyCode(ready), map[string]any{"name": name, "ready": ready})
}

type inferRequest struct {
	ID         string          `json:"id,omitempty"`
	Parameters json.RawMessage `json:"parameters,omitempty"`
	Inputs     []struct {
		Name     string          `json:"name"`
		Shape    []int64         `json:"shape"`
		Datatype string          `json:"datatype"`
		Data     json.RawMessage `json:"data"`
	} `json:"inputs"`
	Outputs []struct {
		Name string `json:"name"`
	} `json:"outputs,omitempty"`
}

type inferOutput struct {
	Name     string    `json:"name"`
	Shape    []int     `json:"shape"`
	Datatype string    `json:"datatype"`
	Data     []float32 `json:"data"`
}

type inferResponse struct {
	ModelName    string        `json:"model_name"`
	ModelVersion string        `json:"model_version,omitempty"`
	ID           string        `json:"id,omitempty"`
	Outputs      []inferOutput `json:"outputs"`
}

func (s *Server) infer(w http.ResponseWriter, r *http.Request) {
	m := s.lookup(w, r.PathValue("model"))
	if m == nil {
		return
	}
	buf := s.bufs.Get().(*bytes.Buffer)
	defer s.bufs.Put(buf)
	if !s.readBody(w, r, buf) {
		return
	}
	var req inferRequest
	if err := json.Unmarshal(buf.Bytes(), &req); err != nil {
		writeError(w, http.StatusBadRequest, "malformed JSON: %v", err)
		return
	}
	rows, n, err := requestRows(m, &req)
	if err != nil {
		writeError(w, http.StatusBadRequest, "%v", err)
		return
	}
	for _, o := range req.Outputs {
		if o.Name != outputName {
			writeError(w, http.StatusBadRequest, "unknown output %q: the model has one output, %q", o.Name, outputName)
			return
		}
	}
	out, shape := predictRows(m, rows, n)
	writeJSON(w, http.StatusOK, inferResponse{
		ModelName: s.name, ModelVersion: r.PathValue("version"), ID: req.ID,
		Outputs: []inferOutput{{Name: outputName, Shape: shape, Datatype: "FP32", Data: out}},
	})
}

// tensor is one decoded input: its values as float32, row-major along shape.
type tensor struct {
	name  string
	shape []int64
	data  []float32
}

// requestRows decodes the REST request's inputs and turns them into rows (modelRows).
func requestRows(m *Model, req *inferRequest) ([]float32, int, error) {
	ins := make([]tensor, len(req.Inputs))
	for i, in := range req.Inputs {
		if len(in.Data) == 0 {
			return nil, 0, fmt.Errorf("input %q: data is missing", in.Name)
		}
		data, err := decodeTensor(in.Data, in.Shape, in.Datatype)
		if err != nil {
			return nil, 0, fmt.Errorf("input %q: %w", in.Name, err)
		}
		ins[i] = tensor{in.Name, in.Shape, data}
	}
	return modelRows(m, ins)
}

// modelRows turns decoded inputs into rows of the model's features: one input of shape
// [n, features] (or [features] for one row), or one input per feature, each of shape [n]
// or [n, 1], in feature order. It returns the rows, flat, and their number.
func modelRows(m *Model, ins []tensor) ([]float32, int, error) {
	f := int64(m.NumFeatures())
	if len(ins) == 0 {
		return nil, 0, fmt.Errorf("inputs: the request has none; send one FP32 tensor of shape [n, %d]", f)
	}
	var n int64 = -1
	for _, in := range ins {
		sh := in.shape
		if len(ins) == 1 {
			switch {
			case len(sh) == 2 && sh[1] == f:
				return in.data, int(sh[0]), nil
			case len(sh) == 1 && sh[0] == f:
				return in.data, 1, nil
			case len(sh) == 2:
				return nil, 0, fmt.Errorf("input %q: shape %v: the model takes %d features per row, got %d", in.name, sh, f, sh[1])
			default:
				return nil, 0, fmt.Errorf("input %q: shape %v: want [n, %d] (rows of %d features)", in.name, sh, f, f)
			}
		}
		if len(sh) > 2 || len(sh) == 2 && sh[1] != 1 {
			return nil, 0, fmt.Errorf("input %q: shape %v: with one input per feature, each must be [n] or [n, 1]", in.name, sh)
		}
		if n >= 0 && sh[0] != n {
			return nil, 0, fmt.Errorf("input %q: shape %v has %d rows, input %q has %d", in.name, sh, sh[0], ins[0].name, n)
		}
		n = sh[0]
	}
	if int64(len(ins)) != f {
		return nil, 0, fmt.Errorf("inputs: %d inputs, one per feature, but the model takes %d features", len(ins), f)
	}
	rows := make([]float32, 0, n*f)
	for r := range n {
		for _, t := range ins {
			rows = append(rows, t.data[r])
		}
	}
	return rows, int(n), nil
}

// predictRows runs the model on n rows and returns the outputs, flat, and their shape.
func predictRows(m *Model, rows []float32, n int) ([]float32, []int) {
	width := m.OutputWidth()
	out := make([]float32, 0, n*width)
	f := m.NumFeatures()
	for i := range n {
		out = append(out, m.Predict(rows[i*f:(i+1)*f], out[len(out):])...)
	}
	shape := []int{n}
	if width > 1 {
		shape = append(shape, width)
	}
	return out, shape
}

func (s *Server) v1Name(w http.ResponseWriter, r *http.Request, verb string) (string, bool) {
	name, v, _ := strings.Cut(r.PathValue("model"), ":")
	if v != verb {
		if verb == "" {
			writeError(w, http.StatusNotFound, "no endpoint GET %s (KServe v1: GET /v1/models/%s, POST /v1/models/%s:predict)", r.URL.Path, s.name, s.name)
		} else {
			writeError(w, http.StatusNotFound, "no endpoint POST %s (KServe v1: POST /v1/models/%s:predict)", r.URL.Path, s.name)
		}
		return "", false
	}
	return name, true
}

func (s *Server) v1Ready(w http.ResponseWriter, r *http.Request) {
	name, ok := s.v1Name(w, r, "")
	if !ok {
		return
	}
	if name != s.name {
		writeError(w, http.StatusNotFound, "model %q is not served here (this server serves %q)", name, s.name)
		return
	}
	ready := s.model.Load() != nil
	writeJSON(w, readyCode(ready), map[string]any{"name": name, "ready": ready})
}

func (s *Server) v1Predict(w http.ResponseWriter, r *http.Request) {
	name, ok := s.v1Name(w, r, "predict")
	if !ok {
		return
	}
	m := s.lookup(w, name)
	if m == nil {
		return
	}
	buf := s.bufs.Get().(*bytes.Buffer)
	defer s.bufs.Put(buf)
	if !s.readBody(w, r, buf) {
		return
	}
	var req struct {
		Instances [][]*float64 `json:"instances"`
	}
	if err := json.Unmarshal(buf.Bytes(), &req); err != nil {
		writeError(w, http.StatusBadRequest, "malformed request: %v (want {\"instances\": [[feature, ...], ...]})", err)
		return
	}
	if len(req.Instances) == 0 {
		writeError(w, http.StatusBadRequest, "instances: the request has none (want {\"instances\": [[feature, ...], ...]})")
		return
	}
	row := make([]float32, m.NumFeatures())
	var preds []any
	for i, inst := range req.Instances {
		if len(inst) != len(row) {
			writeError(w, http.StatusBadRequest, "instances[%d]: %d features, the model takes %d", i, len(inst), len(row))
			return
		}
		for k, v := range inst {
			row[k] = float32(math.NaN())
			if v != nil {
				row[k] = float32(*v)
			}
		}
		p := m.Predict(row, nil)
		if len(p) == 1 {
			preds = append(preds, p[0])
		} else {
			preds = append(preds, p)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"predictions": preds})
}

// readBody reads the body into buf within the size limit, or writes the error.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request, buf *bytes.Buffer) bool {
	buf.Reset()
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, s.maxBytes))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, "request body is larger than %d bytes (the server's --max-request-bytes)", s.maxBytes)
		return false
	case err != nil:
		writeError(w, http.StatusBadRequest, "read request body: %v", err)
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{"error":"encode response"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}

func writeError(w http.ResponseWriter, code int, format string, args ...any) {
	writeJSON(w, code, map[string]string{"error": fmt.Sprintf(format, args...)})
}

// Serve answers h on ln until ctx ends, then shuts down gracefully: it stops accepting,
// lets requests in flight finish (up to grace) and returns.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, grace time.Duration) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	<-done
	return nil
}
