package modelserver

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func testServer(t *testing.T, model string, opts ...Option) (*Server, *httptest.Server) {
	t.Helper()
	m, err := LoadXGBoost("testdata/xgboost/" + model + ".json")
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer("iris", opts...)
	s.SetModel(m)
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, ts
}

func call(t *testing.T, method, url, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s %s: response %q is not a JSON object: %v", method, url, b, err)
	}
	return resp.StatusCode, out
}

// The OIP v2 infer endpoint answers booster.predict's values for the fixture rows, sent
// flat or nested, with missing values as null, and echoes the id.
func TestInferMatchesXGBoost(t *testing.T) {
	_, ts := testServer(t, "multi_softprob")
	c := loadCases(t)["multi_softprob"]
	nested, _ := json.Marshal(c.Rows)
	var flat []*float64
	for _, r := range c.Rows {
		flat = append(flat, r...)
	}
	flatJSON, _ := json.Marshal(flat)
	for _, data := range []string{string(nested), string(flatJSON)} {
		for _, path := range []string{"/v2/models/iris/infer", "/v2/models/iris/versions/3/infer"} {
			body := fmt.Sprintf(`{"id":"req-1","inputs":[{"name":"x","shape":[%d,4],"datatype":"FP64","data":%s}]}`, len(c.Rows), data)
			code, out := call(t, "POST", ts.URL+path, body)
			if code != 200 {
				t.Fatalf("%s: %d %v", path, code, out)
			}
			if out["id"] != "req-1" || out["model_name"] != "iris" {
				t.Errorf("id %v, model_name %v", out["id"], out["model_name"])
			}
			o := out["outputs"].([]any)[0].(map[string]any)
			if fmt.Sprint(o["shape"]) != fmt.Sprintf("[%d 3]", len(c.Rows)) || o["datatype"] != "FP32" {
				t.Errorf("output shape %v datatype %v", o["shape"], o["datatype"])
			}
			got := o["data"].([]any)
			for i, w := range c.Predict {
				if d := math.Abs(got[i].(float64) - w); d > 1e-6 {
					t.Errorf("value %d: %v, xgboost %v", i, got[i], w)
				}
			}
		}
	}
	// KServe v1: instances in, predictions out
	inst, _ := json.Marshal(map[string]any{"instances": c.Rows})
	code, out := call(t, "POST", ts.URL+"/v1/models/iris:predict", string(inst))
	if code != 200 {
		t.Fatalf("v1 predict: %d %v", code, out)
	}
	preds := out["predictions"].([]any)
	if len(preds) != len(c.Rows) || math.Abs(preds[0].([]any)[1].(float64)-c.Predict[1]) > 1e-6 {
		t.Errorf("v1 predictions %v, want %v", preds, c.Predict)
	}
}

// Every OIP datatype but BYTES decodes, flat and nested; out-of-range, fractional and
// wrongly typed values are refused.
func TestDecodeTensor(t *testing.T) {
	for _, tc := range []struct {
		data, datatype string
		shape          []int64
		want           string // decoded values, or the error
	}{
		{"[1,2,3,4]", "FP32", []int64{2, 2}, "[1 2 3 4]"},
		{"[[1,2],[3,4]]", "FP32", []int64{2, 2}, "[1 2 3 4]"},
		{"[[[1],[2]],[[3],[4]]]", "FP64", []int64{2, 2, 1}, "[1 2 3 4]"},
		{"[1.5, null, -2e3]", "FP16", []int64{3}, "[1.5 NaN -2000]"},
		{"[true,false]", "BOOL", []int64{2}, "[1 0]"},
		{"[0,255]", "UINT8", []int64{2}, "[0 255]"},
		{"[65535]", "UINT16", []int64{1}, "[65535]"},
		{"[4294967295]", "UINT32", []int64{1}, "[4.2949673e+09]"},
		{"[1]", "UINT64", []int64{1}, "[1]"},
		{"[-128,127]", "INT8", []int64{2}, "[-128 127]"},
		{"[-32768]", "INT16", []int64{1}, "[-32768]"},
		{"[-5]", "INT32", []int64{1}, "[-5]"},
		{"[7]", "INT64", []int64{1}, "[7]"},
		{"[]", "FP32", []int64{0, 4}, "[]"},
		{"[256]", "UINT8", []int64{1}, "data[0]: 256 is out of range for UINT8"},
		{"[-1]", "UINT32", []int64{1}, "data[0]: -1 is out of range for UINT32"},
		{"[1.5]", "INT32", []int64{1}, "data[0]: 1.5 is not an integer, as INT32 needs"},
		{"[1]", "BOOL", []int64{1}, "data[0]: 1 is not a BOOL (true or false)"},
		{"[true]", "FP32", []int64{1}, "data[0]: true is not a FP32"},
		{"[null]", "INT8", []int64{1}, "data[0]: null (missing) is only allowed in FP16, FP32 and FP64 tensors"},
		{`["a"]`, "FP32", []int64{1}, "data[0]: a string is not a FP32"},
		{`["a"]`, "BYTES", []int64{1}, "datatype BYTES holds strings; this model takes numeric features (FP32, FP64, INT*, UINT*, BOOL)"},
		{"[1]", "FLOAT", []int64{1}, `datatype "FLOAT" is not an Open Inference Protocol type (` + datatypeList + ")"},
		{"[1,2,3]", "FP32", []int64{2, 2}, "shape [2 2] holds 4 values, data has 3"},
		{"[[1,2],[3]]", "FP32", []int64{2, 2}, "data: an array at depth 1 has 1 values, shape [2 2] says 2"},
		{"[[1,2],[3,4],[5,6]]", "FP32", []int64{2, 2}, "data: an array at depth 0 has 3 values, shape [2 2] says 2"},
		{"[[1,2]]", "FP32", []int64{2}, "data is nested deeper than shape [2]"},
		{"[1,[2]]", "FP32", []int64{2}, "data is nested deeper than shape [2]"},
		{"[1,2", "FP32", []int64{2}, "data: unexpected end"},
		{"5", "FP32", []int64{1}, "data must be an array"},
		{"[1]", "FP32", nil, "shape is missing"},
		{"[1]", "FP32", []int64{-1}, "shape [-1] has a negative dimension"},
	} {
		got, err := decodeTensor([]byte(tc.data), tc.shape, tc.datatype)
		s := fmt.Sprint(got)
		if err != nil {
			s = err.Error()
		}
		if s != tc.want {
			t.Errorf("%s %s %v: %s, want %s", tc.datatype, tc.data, tc.shape, s, tc.want)
		}
	}
}

// Bad requests get a 400 (404, 413) whose error says what is wrong.
func TestInferErrors(t *testing.T) {
	_, ts := testServer(t, "multi_softprob", WithMaxRequestBytes(2048))
	for _, tc := range []struct {
		method, path, body string
		code               int
		want               string
	}{
		{"POST", "/v2/models/iris/infer", `{"inputs":[`, 400, "malformed JSON"},
		{"POST", "/v2/models/iris/infer", `{"inputs":[]}`, 400, "inputs: the request has none; send one FP32 tensor of shape [n, 4]"},
		{"POST", "/v2/models/iris/infer", `{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[1,2,3]}]}`, 400, `input "x": shape [1 3]: the model takes 4 features per row, got 3`},
		{"POST", "/v2/models/iris/infer", `{"inputs":[{"name":"x","shape":[1,4],"datatype":"FP32","data":[1,2,3]}]}`, 400, `input "x": shape [1 4] holds 4 values, data has 3`},
		{"POST", "/v2/models/iris/infer", `{"inputs":[{"name":"x","shape":[1,4],"datatype":"STRING","data":[1,2,3,4]}]}`, 400, `input "x": datatype "STRING" is not an Open Inference Protocol type`},
		{"POST", "/v2/models/iris/infer", `{"inputs":[{"name":"x","shape":[1,4],"datatype":"FP32"}]}`, 400, `input "x": data is missing`},
		{"POST", "/v2/models/iris/infer", `{"inputs":[{"name":"x","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]}],"outputs":[{"name":"probs"}]}`, 400, `unknown output "probs"`},
		{"POST", "/v2/models/iris/infer", `{"inputs":[{"name":"a","shape":[2],"datatype":"FP32","data":[1,2]},{"name":"b","shape":[3],"datatype":"FP32","data":[1,2,3]}]}`, 400, `input "b": shape [3] has 3 rows, input "a" has 2`},
		{"POST", "/v2/models/iris/infer", `{"inputs":[{"name":"a","shape":[2],"datatype":"FP32","data":[1,2]},{"name":"b","shape":[2],"datatype":"FP32","data":[1,2]}]}`, 400, "inputs: 2 inputs, one per feature, but the model takes 4 features"},
		{"POST", "/v2/models/iris/infer", `{"inputs":[{"name":"x","shape":[1,4],"datatype":"FP32","data":[` + strings.Repeat("1,", 2000) + `1]}]}`, 413, "request body is larger than 2048 bytes"},
		{"POST", "/v2/models/other/infer", `{}`, 404, `model "other" is not served here (this server serves "iris")`},
		{"GET", "/v2/models/other", ``, 404, `model "other" is not served here`},
		{"GET", "/v2/models/other/ready", ``, 404, `model "other" is not served here`},
		{"GET", "/v2/nothing", ``, 404, "no endpoint GET /v2/nothing"},
		{"POST", "/v1/models/iris:explain", `{}`, 404, "no endpoint POST /v1/models/iris:explain"},
		{"POST", "/v1/models/iris:predict", `{"instances":[[1,2]]}`, 400, "instances[0]: 2 features, the model takes 4"},
		{"POST", "/v1/models/iris:predict", `{"instances":"x"}`, 400, "malformed request"},
		{"POST", "/v1/models/iris:predict", `{}`, 400, "instances: the request has none"},
	} {
		code, out := call(t, tc.method, ts.URL+tc.path, tc.body)
		if msg, _ := out["error"].(string); code != tc.code || !strings.Contains(msg, tc.want) {
			t.Errorf("%s %s %.60s: %d %q, want %d %q", tc.method, tc.path, tc.body, code, msg, tc.code, tc.want)
		}
	}
}

// The server is live at once, ready (and answers infer) only once the model has loaded;
// metadata describes the model; /metrics counts requests.
func TestHealthReadyMetadataMetrics(t *testing.T) {
	s := NewServer("iris")
	ts := httptest.NewServer(s)
	defer ts.Close()
	for _, p := range []string{"/v2/health/ready", "/v2/models/iris/ready", "/v1/models/iris", "/v2/models/iris"} {
		if code, out := call(t, "GET", ts.URL+p, ""); code != 503 {
			t.Errorf("%s before load: %d %v, want 503", p, code, out)
		}
	}
	if code, _ := call(t, "GET", ts.URL+"/v2/health/live", ""); code != 200 {
		t.Errorf("live: %d", code)
	}
	m, _ := LoadXGBoost("testdata/xgboost/multi_softprob.json")
	s.SetModel(m)
	for _, p := range []string{"/v2/health/ready", "/v2/models/iris/ready", "/v2/models/iris/versions/1/ready", "/v1/models/iris"} {
		if code, out := call(t, "GET", ts.URL+p, ""); code != 200 || out["ready"] != true {
			t.Errorf("%s after load: %d %v", p, code, out)
		}
	}
	code, md := call(t, "GET", ts.URL+"/v2/models/iris", "")
	b, _ := json.Marshal(md)
	if want := `{"inputs":[{"datatype":"FP32","name":"input-0","shape":[-1,4]}],"name":"iris","outputs":[{"datatype":"FP32","name":"output-0","shape":[-1,3]}],"platform":"xgboost","versions":[]}`; code != 200 || string(b) != want {
		t.Errorf("metadata: %d %s\nwant %s", code, b, want)
	}
	resp, err := http.Get(ts.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `kfup_modelserver_requests_total{code="503",endpoint="ready"} 1`) {
		t.Errorf("metrics lack the ready 503 count:\n%s", body)
	}
}

// Serve lets a request in flight finish when the context ends, then returns.
func TestServeShutsDownGracefully(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		time.Sleep(200 * time.Millisecond)
		io.WriteString(w, "done")
	})
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, ln, h, 5*time.Second) }()
	got := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String())
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got <- string(b)
	}()
	<-started
	cancel()
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if g := <-got; g != "done" {
		t.Fatalf("request in flight got %q, want done", g)
	}
}
