package modelserver

import (
	"context"
	"encoding/binary"
	"math"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	pb "github.com/kfup/kfup/components/serving/modelserver/inferencepb"
)

// grpcClient serves s's gRPC API over an in-memory connection.
func grpcClient(t *testing.T, s *Server) *grpc.ClientConn {
	t.Helper()
	ln := bufconn.Listen(1 << 20)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ServeGRPC(ctx, ln, s.GRPC(), 5*time.Second) }()
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(context.Context, string) (net.Conn, error) { return ln.Dial() }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ServeGRPC: %v", err)
		}
	})
	return conn
}

func loadedServer(t *testing.T, model string) *Server {
	t.Helper()
	m, err := LoadXGBoost("testdata/xgboost/" + model + ".json")
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer("iris")
	s.SetModel(m)
	return s
}

// ModelInfer answers booster.predict's values (|Δ| ≤ 1e-6), whether the rows come as
// typed contents or as raw little-endian bytes (then the outputs go back raw too).
func TestGRPCInferMatchesXGBoost(t *testing.T) {
	c := loadCases(t)["multi_softprob"]
	client := pb.NewGRPCInferenceServiceClient(grpcClient(t, loadedServer(t, "multi_softprob")))
	ctx := context.Background()
	var fp64 []float64
	var raw []byte
	for _, r := range c.Rows {
		for _, v := range r {
			x := math.NaN()
			if v != nil {
				x = *v
			}
			fp64 = append(fp64, x)
			raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(float32(x)))
		}
	}
	shape := []int64{int64(len(c.Rows)), 4}
	check := func(name string, resp *pb.ModelInferResponse, got []float32) {
		t.Helper()
		o := resp.GetOutputs()[0]
		if resp.GetModelName() != "iris" || resp.GetId() != "req-1" || o.GetName() != "output-0" || o.GetDatatype() != "FP32" ||
			len(o.GetShape()) != 2 || o.GetShape()[0] != int64(len(c.Rows)) || o.GetShape()[1] != 3 {
			t.Errorf("%s: response %v", name, resp)
		}
		if len(got) != len(c.Predict) {
			t.Fatalf("%s: %d values, want %d", name, len(got), len(c.Predict))
		}
		for i, w := range c.Predict {
			if d := math.Abs(float64(got[i]) - w); d > 1e-6 {
				t.Errorf("%s: value %d: %v, xgboost %v", name, i, got[i], w)
			}
		}
	}
	resp, err := client.ModelInfer(ctx, &pb.ModelInferRequest{ModelName: "iris", Id: "req-1", Inputs: []*pb.ModelInferRequest_InferInputTensor{{
		Name: "x", Datatype: "FP64", Shape: shape, Contents: &pb.InferTensorContents{Fp64Contents: fp64},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	check("fp64_contents", resp, resp.GetOutputs()[0].GetContents().GetFp32Contents())
	resp, err = client.ModelInfer(ctx, &pb.ModelInferRequest{ModelName: "iris", ModelVersion: "3", Id: "req-1",
		Inputs:           []*pb.ModelInferRequest_InferInputTensor{{Name: "x", Datatype: "FP32", Shape: shape}},
		RawInputContents: [][]byte{raw},
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetModelVersion() != "3" || resp.GetOutputs()[0].GetContents() != nil || len(resp.GetRawOutputContents()) != 1 {
		t.Fatalf("raw request: want raw outputs, got %v", resp)
	}
	b := resp.GetRawOutputContents()[0]
	got := make([]float32, len(b)/4)
	for i := range got {
		got[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	check("raw_input_contents", resp, got)
}

// Every numeric datatype decodes from its contents field and from raw bytes; one input
// per feature works as over REST.
func TestGRPCDatatypes(t *testing.T) {
	client := pb.NewGRPCInferenceServiceClient(grpcClient(t, loadedServer(t, "reg_squarederror")))
	ctx := context.Background()
	m, err := LoadXGBoost("testdata/xgboost/reg_squarederror.json")
	if err != nil {
		t.Fatal(err)
	}
	f := m.NumFeatures()
	// every feature is 1, in each datatype
	want := m.Predict(repeat(f, float32(1)), nil)[0]
	shape := []int64{1, int64(f)}
	rep := func(n int, b []byte) []byte {
		var out []byte
		for range n {
			out = append(out, b...)
		}
		return out
	}
	for _, tc := range []struct {
		datatype string
		contents *pb.InferTensorContents
		raw      []byte
	}{
		{"BOOL", &pb.InferTensorContents{BoolContents: repeat(f, true)}, rep(f, []byte{1})},
		{"INT8", &pb.InferTensorContents{IntContents: repeat(f, int32(1))}, rep(f, []byte{1})},
		{"UINT8", &pb.InferTensorContents{UintContents: repeat(f, uint32(1))}, rep(f, []byte{1})},
		{"INT16", &pb.InferTensorContents{IntContents: repeat(f, int32(1))}, rep(f, []byte{1, 0})},
		{"UINT16", &pb.InferTensorContents{UintContents: repeat(f, uint32(1))}, rep(f, []byte{1, 0})},
		{"FP16", nil, rep(f, []byte{0x00, 0x3c})},
		{"INT32", &pb.InferTensorContents{IntContents: repeat(f, int32(1))}, rep(f, []byte{1, 0, 0, 0})},
		{"UINT32", &pb.InferTensorContents{UintContents: repeat(f, uint32(1))}, rep(f, []byte{1, 0, 0, 0})},
		{"INT64", &pb.InferTensorContents{Int64Contents: repeat(f, int64(1))}, rep(f, []byte{1, 0, 0, 0, 0, 0, 0, 0})},
		{"UINT64", &pb.InferTensorContents{Uint64Contents: repeat(f, uint64(1))}, rep(f, []byte{1, 0, 0, 0, 0, 0, 0, 0})},
		{"FP32", &pb.InferTensorContents{Fp32Contents: repeat(f, float32(1))}, rep(f, []byte{0, 0, 0x80, 0x3f})},
		{"FP64", &pb.InferTensorContents{Fp64Contents: repeat(f, 1.0)}, rep(f, []byte{0, 0, 0, 0, 0, 0, 0xf0, 0x3f})},
	} {
		t.Run(tc.datatype, func(t *testing.T) {
			reqs := []*pb.ModelInferRequest{{ModelName: "iris", Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "x", Datatype: tc.datatype, Shape: shape}}, RawInputContents: [][]byte{tc.raw}}}
			if tc.contents != nil {
				reqs = append(reqs, &pb.ModelInferRequest{ModelName: "iris", Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "x", Datatype: tc.datatype, Shape: shape, Contents: tc.contents}}})
			}
			for _, req := range reqs {
				resp, err := client.ModelInfer(ctx, req)
				if err != nil {
					t.Fatal(err)
				}
				var got float32
				if o := resp.GetOutputs()[0]; o.GetContents() != nil {
					got = o.GetContents().GetFp32Contents()[0]
				} else {
					got = math.Float32frombits(binary.LittleEndian.Uint32(resp.GetRawOutputContents()[0]))
				}
				if math.Abs(float64(got-want)) > 1e-6 {
					t.Errorf("raw %v: %v, want %v", len(req.GetRawInputContents()) > 0, got, want)
				}
			}
		})
	}
	// one [1]-shaped input per feature
	var ins []*pb.ModelInferRequest_InferInputTensor
	for i := range f {
		ins = append(ins, &pb.ModelInferRequest_InferInputTensor{Name: "f" + string(rune('a'+i)), Datatype: "FP32", Shape: []int64{1}, Contents: &pb.InferTensorContents{Fp32Contents: []float32{1}}})
	}
	resp, err := client.ModelInfer(ctx, &pb.ModelInferRequest{ModelName: "iris", Inputs: ins})
	if err != nil || math.Abs(float64(resp.GetOutputs()[0].GetContents().GetFp32Contents()[0]-want)) > 1e-6 {
		t.Errorf("one input per feature: %v %v", resp, err)
	}
}

func repeat[T any](n int, v T) []T {
	out := make([]T, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// Bad requests get InvalidArgument (or NotFound for another model) saying what is wrong.
func TestGRPCErrors(t *testing.T) {
	client := pb.NewGRPCInferenceServiceClient(grpcClient(t, loadedServer(t, "multi_softprob")))
	ctx := context.Background()
	in := func(datatype string, shape []int64, c *pb.InferTensorContents) *pb.ModelInferRequest {
		return &pb.ModelInferRequest{ModelName: "iris", Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "x", Datatype: datatype, Shape: shape, Contents: c}}}
	}
	four := &pb.InferTensorContents{Fp32Contents: []float32{1, 2, 3, 4}}
	withRaw := in("FP32", []int64{1, 4}, four)
	withRaw.RawInputContents = [][]byte{make([]byte, 16)}
	wrongOutput := in("FP32", []int64{1, 4}, four)
	wrongOutput.Outputs = []*pb.ModelInferRequest_InferRequestedOutputTensor{{Name: "probabilities"}}
	twoRaw := in("FP32", []int64{1, 4}, nil)
	twoRaw.RawInputContents = [][]byte{make([]byte, 16), make([]byte, 16)}
	shortRaw := in("FP32", []int64{1, 4}, nil)
	shortRaw.RawInputContents = [][]byte{make([]byte, 15)}
	for _, tc := range []struct {
		name string
		req  *pb.ModelInferRequest
		code codes.Code
		want string
	}{
		{"another model", &pb.ModelInferRequest{ModelName: "mnist"}, codes.NotFound, `model "mnist" is not served here`},
		{"no inputs", &pb.ModelInferRequest{ModelName: "iris"}, codes.InvalidArgument, "the request has none"},
		{"unknown datatype", in("FLOAT", []int64{1, 4}, four), codes.InvalidArgument, `datatype "FLOAT" is not an Open Inference Protocol type`},
		{"BYTES", in("BYTES", []int64{1, 4}, &pb.InferTensorContents{BytesContents: [][]byte{{1}}}), codes.InvalidArgument, "BYTES holds strings"},
		{"values in another field", in("FP32", []int64{1, 4}, &pb.InferTensorContents{Fp64Contents: []float64{1, 2, 3, 4}}), codes.InvalidArgument, "FP32 takes its values in fp32_contents, not fp64_contents"},
		{"too few values", in("FP32", []int64{2, 4}, four), codes.InvalidArgument, "shape [2 4] holds 8 values, contents have 4"},
		{"no contents", in("FP32", []int64{1, 4}, nil), codes.InvalidArgument, "contents are missing"},
		{"out of range", in("INT8", []int64{1, 4}, &pb.InferTensorContents{IntContents: []int32{1, 2, 300, 4}}), codes.InvalidArgument, "value 300 at 2 is out of range for INT8"},
		{"wrong width", in("FP32", []int64{1, 2}, &pb.InferTensorContents{Fp32Contents: []float32{1, 2}}), codes.InvalidArgument, "the model takes 4 features per row, got 2"},
		{"negative dimension", in("FP32", []int64{-1, 4}, four), codes.InvalidArgument, "negative dimension"},
		{"contents and raw", withRaw, codes.InvalidArgument, "send one or the other"},
		{"raw entries", twoRaw, codes.InvalidArgument, "raw_input_contents has 2 entries for 1 inputs"},
		{"short raw", shortRaw, codes.InvalidArgument, "raw contents are 15 bytes; shape and datatype FP32 need 16"},
		{"FP16 contents", in("FP16", []int64{1, 4}, four), codes.InvalidArgument, "FP16 has no contents field"},
		{"unknown output", wrongOutput, codes.InvalidArgument, `unknown output "probabilities"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := client.ModelInfer(ctx, tc.req)
			if status.Code(err) != tc.code || !strings.Contains(status.Convert(err).Message(), tc.want) {
				t.Fatalf("got %v, want %s with %q", err, tc.code, tc.want)
			}
		})
	}
}

// Liveness at once; readiness, health and metadata once the model is set.
func TestGRPCHealthAndMetadata(t *testing.T) {
	s := NewServer("iris")
	conn := grpcClient(t, s)
	client := pb.NewGRPCInferenceServiceClient(conn)
	hc := healthpb.NewHealthClient(conn)
	ctx := context.Background()
	if r, err := client.ServerLive(ctx, &pb.ServerLiveRequest{}); err != nil || !r.GetLive() {
		t.Fatalf("live: %v %v", r, err)
	}
	if r, err := client.ServerReady(ctx, &pb.ServerReadyRequest{}); err != nil || r.GetReady() {
		t.Fatalf("ready before the model: %v %v", r, err)
	}
	if h, err := hc.Check(ctx, &healthpb.HealthCheckRequest{}); err != nil || h.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("health before the model: %v %v", h, err)
	}
	if _, err := client.ModelInfer(ctx, &pb.ModelInferRequest{ModelName: "iris"}); status.Code(err) != codes.Unavailable {
		t.Fatalf("infer before the model: %v, want Unavailable", err)
	}
	m, err := LoadXGBoost("testdata/xgboost/multi_softprob.json")
	if err != nil {
		t.Fatal(err)
	}
	s.SetModel(m)
	if r, err := client.ModelReady(ctx, &pb.ModelReadyRequest{Name: "iris"}); err != nil || !r.GetReady() {
		t.Fatalf("model ready: %v %v", r, err)
	}
	if h, err := hc.Check(ctx, &healthpb.HealthCheckRequest{}); err != nil || h.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health: %v %v", h, err)
	}
	md, err := client.ModelMetadata(ctx, &pb.ModelMetadataRequest{Name: "iris"})
	if err != nil || md.GetPlatform() != "xgboost" || md.GetInputs()[0].GetShape()[1] != 4 || md.GetOutputs()[0].GetShape()[1] != 3 {
		t.Fatalf("metadata: %v %v", md, err)
	}
	if sm, err := client.ServerMetadata(ctx, &pb.ServerMetadataRequest{}); err != nil || sm.GetName() != "kfup-modelserver" {
		t.Fatalf("server metadata: %v %v", sm, err)
	}
}

func TestHalfToFloat(t *testing.T) {
	for h, want := range map[uint16]float32{
		0x3c00: 1, 0xc000: -2, 0x3800: 0.5, 0x0000: 0, 0x7bff: 65504, 0x0001: 5.9604645e-08, 0x0400: 6.1035156e-05,
	} {
		if got := halfToFloat(h); got != want {
			t.Errorf("%#04x: %v, want %v", h, got, want)
		}
	}
	if !math.IsInf(float64(halfToFloat(0x7c00)), 1) || !math.IsNaN(float64(halfToFloat(0x7e00))) {
		t.Error("Inf or NaN")
	}
}
