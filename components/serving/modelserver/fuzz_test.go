package modelserver

import (
	"os"
	"testing"
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
