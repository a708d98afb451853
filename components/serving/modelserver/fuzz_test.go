package modelserver

import (
	"os"
	"testing"

	"google.golang.org/protobuf/proto"

	pb "github.com/kfup/kfup/components/serving/modelserver/inferencepb"
)

// Arbitrary tensor data never panics, and what decodes holds exactly what shape says.
func FuzzDecodeTensor(f *testing.F) {
	f.Add([]byte("[[1,2],[3,4]]"), int64(2), int64(2), "FP32")
	f.Add([]byte("[true,false,null]"), int64(3), int64(1), "BOOL")
	f.Add([]byte("[[[1]]]"), int64(1), int64(1), "INT8")
	f.Add([]byte(`[1e400,-0,"x"]`), int64(3), int64(1), "FP64")
	f.Fuzz(func(t *testing.T, data []byte, rows, cols int64, datatype string) {
		got, err := decodeTensor(data, []int64{rows, cols}, datatype)
		if err == nil && int64(len(got)) != rows*cols {
			t.Fatalf("%d values for shape [%d %d]", len(got), rows, cols)
		}
	})
}

// Arbitrary bytes given as a UBJ model never panic or hang the decoder.
func FuzzDecodeUBJ(f *testing.F) {
	if b, err := os.ReadFile("testdata/xgboost/multi_softprob.ubj"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("{L\x00\x00\x00\x00\x00\x00\x00\x01a[$d#i\x02\x00\x00\x00\x00\x00\x00\x00\x00}"))
	f.Add([]byte("[$Z#L\x7f\xff\xff\xff\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		decodeUBJ(b)
	})
}

// An arbitrary gRPC inference request never panics the decoder, and what decodes holds
// exactly what each input's shape says.
func FuzzGRPCInputs(f *testing.F) {
	seed := func(r *pb.ModelInferRequest) {
		b, err := proto.Marshal(r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	seed(&pb.ModelInferRequest{ModelName: "iris", Inputs: []*pb.ModelInferRequest_InferInputTensor{{
		Name: "x", Datatype: "FP32", Shape: []int64{1, 4}, Contents: &pb.InferTensorContents{Fp32Contents: []float32{1, 2, 3, 4}},
	}}})
	seed(&pb.ModelInferRequest{ModelName: "iris", Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "x", Datatype: "FP16", Shape: []int64{2}}},
		RawInputContents: [][]byte{{0, 0x3c, 0, 0xc0}}})
	f.Fuzz(func(t *testing.T, b []byte) {
		req := &pb.ModelInferRequest{}
		if proto.Unmarshal(b, req) != nil {
			return
		}
		ins, err := grpcInputs(req)
		if err != nil {
			return
		}
		for _, in := range ins {
			n, err := shapeSize(in.shape)
			if err != nil || int64(len(in.data)) != n {
				t.Fatalf("input %q: %d values for shape %v", in.name, len(in.data), in.shape)
			}
		}
	})
}
