package modelserver

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// datatypes are the Open Inference Protocol tensor types, with the range an integer type
// holds (the model takes numbers, so BYTES is refused where the data is read).
var datatypes = map[string]struct{ lo, hi float64 }{
	"BOOL": {}, "FP16": {}, "FP32": {}, "FP64": {}, "BYTES": {},
	"UINT8": {0, math.MaxUint8}, "UINT16": {0, math.MaxUint16}, "UINT32": {0, math.MaxUint32}, "UINT64": {0, math.MaxUint64},
	"INT8": {math.MinInt8, math.MaxInt8}, "INT16": {math.MinInt16, math.MaxInt16}, "INT32": {math.MinInt32, math.MaxInt32}, "INT64": {math.MinInt64, math.MaxInt64},
}

// maxRank bounds a tensor's dimensions (and so how deep nested data is read).
const maxRank = 8

const datatypeList = "BOOL, UINT8, UINT16, UINT32, UINT64, INT8, INT16, INT32, INT64, FP16, FP32, FP64, BYTES"

// decodeTensor reads a tensor's data (flat, or nested row-major along shape) as float32,
// checking that it holds exactly the values shape says and that each fits datatype.
// null stands for a missing value in floating-point tensors (JSON has no NaN).
func decodeTensor(data []byte, shape []int64, datatype string) ([]float32, error) {
	rng, ok := datatypes[datatype]
	if !ok {
		return nil, fmt.Errorf("datatype %q is not an Open Inference Protocol type (%s)", datatype, datatypeList)
	}
	if datatype == "BYTES" {
		return nil, fmt.Errorf("datatype BYTES holds strings; this model takes numeric features (FP32, FP64, INT*, UINT*, BOOL)")
	}
	total, err := shapeSize(shape)
	if err != nil {
		return nil, err
	}
	s := &tensorScanner{b: data, datatype: datatype, rng: rng, shape: shape}
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != '[' {
		return nil, fmt.Errorf("data must be an array")
	}
	if total <= int64(len(data)) {
		s.out = make([]float32, 0, total)
	}
	// nested data follows the shape level by level; flat data is one level of scalars
	s.i++
	s.ws()
	s.nested = s.i < len(s.b) && s.b[s.i] == '['
	s.i--
	if err := s.array(0); err != nil {
		return nil, err
	}
	s.ws()
	if s.i != len(s.b) {
		return nil, fmt.Errorf("data: unexpected %q after the array", s.b[s.i])
	}
	if int64(len(s.out)) != total {
		return nil, fmt.Errorf("shape %v holds %d values, data has %d", shape, total, len(s.out))
	}
	return s.out, nil
}

// shapeSize checks a tensor's shape and returns how many values it holds.
func shapeSize(shape []int64) (int64, error) {
	if len(shape) == 0 {
		return 0, fmt.Errorf("shape is missing")
	}
	if len(shape) > maxRank {
		return 0, fmt.Errorf("shape %v has %d dimensions, at most %d are read", shape, len(shape), maxRank)
	}
	total := int64(1)
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("shape %v has a negative dimension", shape)
		}
		if d > 0 && total > math.MaxInt32/d {
			return 0, fmt.Errorf("shape %v is too large", shape)
		}
		total *= d
	}
	return total, nil
}

type tensorScanner struct {
	b        []byte
	i        int
	datatype string
	rng      struct{ lo, hi float64 }
	shape    []int64
	nested   bool
	out      []float32
}

func (s *tensorScanner) ws() {
	for s.i < len(s.b) && (s.b[s.i] == ' ' || s.b[s.i] == '\n' || s.b[s.i] == '\t' || s.b[s.i] == '\r') {
		s.i++
	}
}

// array reads the array at s.i, depth levels deep.
func (s *tensorScanner) array(depth int) error {
	if depth > len(s.shape) || !s.nested && depth > 0 {
		return fmt.Errorf("data is nested deeper than shape %v", s.shape)
	}
	leaf := !s.nested || depth == len(s.shape)-1
	s.i++ // '['
	n := int64(0)
	for {
		s.ws()
		if s.i >= len(s.b) {
			return fmt.Errorf("data: unexpected end")
		}
		if s.b[s.i] == ']' && n == 0 {
			s.i++
			break
		}
		if leaf {
			if err := s.scalar(); err != nil {
				return err
			}
		} else {
			if s.b[s.i] != '[' {
				return fmt.Errorf("data: nested data must follow shape %v: want an array at depth %d", s.shape, depth+1)
			}
			if err := s.array(depth + 1); err != nil {
				return err
			}
		}
		n++
		s.ws()
		if s.i >= len(s.b) {
			return fmt.Errorf("data: unexpected end")
		}
		if s.b[s.i] == ',' {
			s.i++
			continue
		}
		if s.b[s.i] != ']' {
			return fmt.Errorf("data: unexpected %q", s.b[s.i])
		}
		s.i++
		break
	}
	if s.nested && n != s.shape[depth] {
		return fmt.Errorf("data: an array at depth %d has %d values, shape %v says %d", depth, n, s.shape, s.shape[depth])
	}
	return nil
}

func (s *tensorScanner) scalar() error {
	c := s.b[s.i]
	switch {
	case c == '[':
		return fmt.Errorf("data is nested deeper than shape %v", s.shape)
	case c == 't' || c == 'f' || c == 'n':
		word := "null"
		v := float32(math.NaN())
		if c == 't' {
			word, v = "true", 1
		} else if c == 'f' {
			word, v = "false", 0
		}
		if !strings.HasPrefix(string(s.b[s.i:min(s.i+5, len(s.b))]), word) {
			return fmt.Errorf("data: malformed value at byte %d", s.i)
		}
		s.i += len(word)
		switch {
		case word == "null" && !strings.HasPrefix(s.datatype, "FP"):
			return fmt.Errorf("data[%d]: null (missing) is only allowed in FP16, FP32 and FP64 tensors", len(s.out))
		case word != "null" && s.datatype != "BOOL":
			return fmt.Errorf("data[%d]: %s is not a %s", len(s.out), word, s.datatype)
		}
		s.out = append(s.out, v)
		return nil
	case c == '"':
		return fmt.Errorf("data[%d]: a string is not a %s", len(s.out), s.datatype)
	}
	start := s.i
	isInt := true
	for s.i < len(s.b) {
		c := s.b[s.i]
		if c >= '0' && c <= '9' || c == '-' || c == '+' {
			s.i++
			continue
		}
		if c == '.' || c == 'e' || c == 'E' {
			isInt = false
			s.i++
			continue
		}
		break
	}
	lit := string(s.b[start:s.i])
	if s.datatype == "BOOL" {
		return fmt.Errorf("data[%d]: %s is not a BOOL (true or false)", len(s.out), lit)
	}
	if lit == "" {
		return fmt.Errorf("data: unexpected %q at byte %d", s.b[start], start)
	}
	v, err := strconv.ParseFloat(lit, 64)
	if err != nil {
		return fmt.Errorf("data[%d]: %q is not a number", len(s.out), lit)
	}
	if !strings.HasPrefix(s.datatype, "FP") {
		if !isInt {
			return fmt.Errorf("data[%d]: %s is not an integer, as %s needs", len(s.out), lit, s.datatype)
		}
		if v < s.rng.lo || v > s.rng.hi {
			return fmt.Errorf("data[%d]: %s is out of range for %s", len(s.out), lit, s.datatype)
		}
	}
	s.out = append(s.out, float32(v))
	return nil
}
