package modelserver

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	pb "github.com/kfup/kfup/components/serving/modelserver/inferencepb"
	"github.com/kfup/kfup/internal/version"
)

// GRPC answers the Open Inference Protocol v2 over gRPC (inference.GRPCInferenceService)
// and gRPC health checking (grpc.health.v1, for Kubernetes' grpc probes) for the same
// model as s, with s's request size limit and metrics.
func (s *Server) GRPC() *grpc.Server {
	g := grpc.NewServer(
		grpc.MaxRecvMsgSize(int(min(s.maxBytes, math.MaxInt32))),
		grpc.ChainUnaryInterceptor(s.observeGRPC),
	)
	pb.RegisterGRPCInferenceServiceServer(g, &grpcInference{s: s})
	hs := health.NewServer()
	s.healthMu.Lock()
	s.health = hs
	st := healthpb.HealthCheckResponse_NOT_SERVING
	if s.model.Load() != nil {
		st = healthpb.HealthCheckResponse_SERVING
	}
	hs.SetServingStatus("", st)
	s.healthMu.Unlock()
	healthpb.RegisterHealthServer(g, hs)
	return g
}

// observeGRPC counts and times gRPC calls as the REST ones (endpoint grpc_<method>, the
// status code's name).
func (s *Server) observeGRPC(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	start := time.Now()
	resp, err := h(ctx, req)
	name := info.FullMethod[strings.LastIndex(info.FullMethod, "/")+1:]
	s.latency.WithLabelValues("grpc_" + name).Observe(time.Since(start).Seconds())
	s.requests.WithLabelValues("grpc_"+name, status.Code(err).String()).Inc()
	return resp, err
}

type grpcInference struct {
	pb.UnimplementedGRPCInferenceServiceServer
	s *Server
}

func (g *grpcInference) ServerLive(context.Context, *pb.ServerLiveRequest) (*pb.ServerLiveResponse, error) {
	return &pb.ServerLiveResponse{Live: true}, nil
}

func (g *grpcInference) ServerReady(context.Context, *pb.ServerReadyRequest) (*pb.ServerReadyResponse, error) {
	return &pb.ServerReadyResponse{Ready: g.s.model.Load() != nil}, nil
}

func (g *grpcInference) ModelReady(_ context.Context, req *pb.ModelReadyRequest) (*pb.ModelReadyResponse, error) {
	if req.GetName() != g.s.name {
		return nil, status.Errorf(codes.NotFound, "model %q is not served here (this server serves %q)", req.GetName(), g.s.name)
	}
	return &pb.ModelReadyResponse{Ready: g.s.model.Load() != nil}, nil
}

func (g *grpcInference) ServerMetadata(context.Context, *pb.ServerMetadataRequest) (*pb.ServerMetadataResponse, error) {
	return &pb.ServerMetadataResponse{Name: "kfup-modelserver", Version: version.Get().Version, Extensions: []string{}}, nil
}

// model returns the model a request names: NotFound for another name, Unavailable while
// it loads.
func (g *grpcInference) model(name string) (*Model, error) {
	if name != g.s.name {
		return nil, status.Errorf(codes.NotFound, "model %q is not served here (this server serves %q)", name, g.s.name)
	}
	m := g.s.model.Load()
	if m == nil {
		return nil, status.Errorf(codes.Unavailable, "model %q is not ready: still loading", name)
	}
	return m, nil
}

func (g *grpcInference) ModelMetadata(_ context.Context, req *pb.ModelMetadataRequest) (*pb.ModelMetadataResponse, error) {
	m, err := g.model(req.GetName())
	if err != nil {
		return nil, err
	}
	out := []int64{-1}
	if m.OutputWidth() > 1 {
		out = append(out, int64(m.OutputWidth()))
	}
	return &pb.ModelMetadataResponse{
		Name: g.s.name, Versions: []string{}, Platform: "xgboost",
		Inputs:  []*pb.ModelMetadataResponse_TensorMetadata{{Name: "input-0", Datatype: "FP32", Shape: []int64{-1, int64(m.NumFeatures())}}},
		Outputs: []*pb.ModelMetadataResponse_TensorMetadata{{Name: outputName, Datatype: "FP32", Shape: out}},
	}, nil
}

func (g *grpcInference) ModelInfer(_ context.Context, req *pb.ModelInferRequest) (*pb.ModelInferResponse, error) {
	m, err := g.model(req.GetModelName())
	if err != nil {
		return nil, err
	}
	ins, err := grpcInputs(req)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	rows, n, err := modelRows(m, ins)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	for _, o := range req.GetOutputs() {
		if o.GetName() != outputName {
			return nil, status.Errorf(codes.InvalidArgument, "unknown output %q: the model has one output, %q", o.GetName(), outputName)
		}
	}
	out, shape := predictRows(m, rows, n)
	o := &pb.ModelInferResponse_InferOutputTensor{Name: outputName, Datatype: "FP32", Shape: make([]int64, len(shape))}
	for i, d := range shape {
		o.Shape[i] = int64(d)
	}
	resp := &pb.ModelInferResponse{ModelName: g.s.name, ModelVersion: req.GetModelVersion(), Id: req.GetId(), Outputs: []*pb.ModelInferResponse_InferOutputTensor{o}}
	if len(req.GetRawInputContents()) > 0 {
		// a client that sends raw bytes reads raw bytes back (tritonclient's as_numpy)
		raw := make([]byte, 4*len(out))
		for i, v := range out {
			binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
		}
		resp.RawOutputContents = [][]byte{raw}
	} else {
		o.Contents = &pb.InferTensorContents{Fp32Contents: out}
	}
	return resp, nil
}

// grpcInputs decodes a request's input tensors as float32: from raw_input_contents
// (little-endian, one entry per input) or from each input's typed contents, checking
// that the values fill the shape and fit the datatype.
func grpcInputs(req *pb.ModelInferRequest) ([]tensor, error) {
	raw := req.GetRawInputContents()
	if len(raw) > 0 && len(raw) != len(req.GetInputs()) {
		return nil, fmt.Errorf("raw_input_contents has %d entries for %d inputs: send one per input, or none", len(raw), len(req.GetInputs()))
	}
	out := make([]tensor, len(req.GetInputs()))
	for i, in := range req.GetInputs() {
		rng, ok := datatypes[in.GetDatatype()]
		if !ok {
			return nil, fmt.Errorf("input %q: datatype %q is not an Open Inference Protocol type (%s)", in.GetName(), in.GetDatatype(), datatypeList)
		}
		if in.GetDatatype() == "BYTES" {
			return nil, fmt.Errorf("input %q: datatype BYTES holds strings; this model takes numeric features (FP32, FP64, INT*, UINT*, BOOL)", in.GetName())
		}
		total, err := shapeSize(in.GetShape())
		if err != nil {
			return nil, fmt.Errorf("input %q: %w", in.GetName(), err)
		}
		var data []float32
		if len(raw) > 0 {
			if in.GetContents() != nil {
				return nil, fmt.Errorf("input %q: has contents, and the request has raw_input_contents: send one or the other", in.GetName())
			}
			data, err = rawValues(raw[i], in.GetDatatype(), total)
		} else {
			data, err = typedValues(in.GetContents(), in.GetDatatype(), rng.lo, rng.hi)
		}
		if err != nil {
			return nil, fmt.Errorf("input %q: %w", in.GetName(), err)
		}
		if int64(len(data)) != total {
			return nil, fmt.Errorf("input %q: shape %v holds %d values, contents have %d", in.GetName(), in.GetShape(), total, len(data))
		}
		out[i] = tensor{in.GetName(), in.GetShape(), data}
	}
	return out, nil
}

// elemSize is the raw size of one value of each numeric datatype.
var elemSize = map[string]int{
	"BOOL": 1, "INT8": 1, "UINT8": 1, "INT16": 2, "UINT16": 2, "FP16": 2,
	"INT32": 4, "UINT32": 4, "FP32": 4, "INT64": 8, "UINT64": 8, "FP64": 8,
}

// rawValues decodes total little-endian values of datatype from b.
func rawValues(b []byte, datatype string, total int64) ([]float32, error) {
	size := elemSize[datatype]
	if int64(len(b)) != total*int64(size) {
		return nil, fmt.Errorf("raw contents are %d bytes; shape and datatype %s need %d (%d × %d)", len(b), datatype, total*int64(size), total, size)
	}
	out := make([]float32, total)
	le := binary.LittleEndian
	for i := range out {
		p := b[i*size:]
		switch datatype {
		case "BOOL", "UINT8":
			out[i] = float32(p[0])
			if datatype == "BOOL" && p[0] > 1 {
				return nil, fmt.Errorf("raw BOOL value %d at %d is not 0 or 1", p[0], i)
			}
		case "INT8":
			out[i] = float32(int8(p[0]))
		case "INT16":
			out[i] = float32(int16(le.Uint16(p)))
		case "UINT16":
			out[i] = float32(le.Uint16(p))
		case "FP16":
			out[i] = halfToFloat(le.Uint16(p))
		case "INT32":
			out[i] = float32(int32(le.Uint32(p)))
		case "UINT32":
			out[i] = float32(le.Uint32(p))
		case "FP32":
			out[i] = math.Float32frombits(le.Uint32(p))
		case "INT64":
			out[i] = float32(int64(le.Uint64(p)))
		case "UINT64":
			out[i] = float32(le.Uint64(p))
		case "FP64":
			out[i] = float32(math.Float64frombits(le.Uint64(p)))
		}
	}
	return out, nil
}

// contentsField is the InferTensorContents field each datatype's values travel in (FP16
// and BYTES have none this server reads).
var contentsField = map[string]string{
	"BOOL": "bool_contents", "INT8": "int_contents", "INT16": "int_contents", "INT32": "int_contents", "INT64": "int64_contents",
	"UINT8": "uint_contents", "UINT16": "uint_contents", "UINT32": "uint_contents", "UINT64": "uint64_contents",
	"FP32": "fp32_contents", "FP64": "fp64_contents",
}

// typedValues reads the contents field of datatype, refusing values in another field
// and integers outside the datatype's range.
func typedValues(c *pb.InferTensorContents, datatype string, lo, hi float64) ([]float32, error) {
	if c == nil {
		return nil, errors.New("contents are missing (and the request has no raw_input_contents)")
	}
	want := contentsField[datatype]
	if want == "" {
		return nil, fmt.Errorf("datatype %s has no contents field: send it in raw_input_contents", datatype)
	}
	// in the proto's field order, so the message is always the same
	for _, f := range [...]struct {
		name string
		n    int
	}{
		{"bool_contents", len(c.BoolContents)}, {"int_contents", len(c.IntContents)}, {"int64_contents", len(c.Int64Contents)},
		{"uint_contents", len(c.UintContents)}, {"uint64_contents", len(c.Uint64Contents)}, {"fp32_contents", len(c.Fp32Contents)},
		{"fp64_contents", len(c.Fp64Contents)}, {"bytes_contents", len(c.BytesContents)},
	} {
		if f.n > 0 && f.name != want {
			return nil, fmt.Errorf("datatype %s takes its values in %s, not %s", datatype, want, f.name)
		}
	}
	var out []float32
	inRange := func(v float64, i int) error {
		if v < lo || v > hi {
			return fmt.Errorf("value %v at %d is out of range for %s", v, i, datatype)
		}
		return nil
	}
	switch want {
	case "bool_contents":
		for _, v := range c.BoolContents {
			out = append(out, float32(boolFloat(v)))
		}
	case "int_contents":
		for i, v := range c.IntContents {
			if err := inRange(float64(v), i); err != nil {
				return nil, err
			}
			out = append(out, float32(v))
		}
	case "int64_contents":
		for _, v := range c.Int64Contents {
			out = append(out, float32(v))
		}
	case "uint_contents":
		for i, v := range c.UintContents {
			if err := inRange(float64(v), i); err != nil {
				return nil, err
			}
			out = append(out, float32(v))
		}
	case "uint64_contents":
		for _, v := range c.Uint64Contents {
			out = append(out, float32(v))
		}
	case "fp32_contents":
		out = append(out, c.Fp32Contents...)
	case "fp64_contents":
		for _, v := range c.Fp64Contents {
			out = append(out, float32(v))
		}
	}
	return out, nil
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// halfToFloat converts an IEEE 754 half-precision value.
func halfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf, NaN
		return math.Float32frombits(sign | 0xff<<23 | frac<<13)
	case exp == 0 && frac == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: normalise
		e := uint32(127 - 15 + 1)
		for frac&0x400 == 0 {
			frac <<= 1
			e--
		}
		return math.Float32frombits(sign | e<<23 | (frac&0x3ff)<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | frac<<13)
}

// ServeGRPC answers g on ln until ctx ends, then stops gracefully (calls in flight may
// finish within grace).
func ServeGRPC(ctx context.Context, ln net.Listener, g *grpc.Server, grace time.Duration) error {
	done := make(chan error, 1)
	go func() { done <- g.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("serve gRPC: %w", err)
	case <-ctx.Done():
	}
	stopped := make(chan struct{})
	go func() { g.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(grace):
		g.Stop()
	}
	<-done
	return nil
}
