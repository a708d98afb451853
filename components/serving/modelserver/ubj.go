package modelserver

import (
	"encoding/binary"
	"fmt"
	"math"
)

// decodeUBJ decodes Universal Binary JSON (what booster.save_model writes for .ubj) into
// the values encoding/json would produce (map[string]any, []any, float64, string, bool,
// nil), so a UBJ model goes through the same parser as a JSON one.
func decodeUBJ(b []byte) (any, error) {
	d := &ubjDecoder{b: b}
	v, err := d.value(d.marker())
	if err == nil && d.err == nil && d.pos != len(b) {
		err = fmt.Errorf("ubj: %d bytes after the value", len(b)-d.pos)
	}
	if err == nil {
		err = d.err
	}
	return v, err
}

type ubjDecoder struct {
	b   []byte
	pos int
	err error
}

const maxUBJDepth = 64

func (d *ubjDecoder) next(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || d.pos+n > len(d.b) {
		d.err = fmt.Errorf("ubj: truncated at byte %d", d.pos)
		return nil
	}
	out := d.b[d.pos : d.pos+n]
	d.pos += n
	return out
}

func (d *ubjDecoder) marker() byte {
	for {
		b := d.next(1)
		if b == nil {
			return 0
		}
		if b[0] != 'N' { // no-op
			return b[0]
		}
	}
}

func (d *ubjDecoder) value(m byte) (any, error) { return d.valueAt(m, 0) }

func (d *ubjDecoder) valueAt(m byte, depth int) (any, error) {
	if d.err != nil {
		return nil, d.err
	}
	switch m {
	case 'Z':
		return nil, nil
	case 'T':
		return true, nil
	case 'F':
		return false, nil
	case 'i', 'U', 'I', 'l', 'L':
		n, err := d.intOf(m)
		return float64(n), err
	case 'd':
		b := d.next(4)
		if b == nil {
			return nil, d.err
		}
		return finite(float64(math.Float32frombits(binary.BigEndian.Uint32(b)))), nil
	case 'D':
		b := d.next(8)
		if b == nil {
			return nil, d.err
		}
		return finite(math.Float64frombits(binary.BigEndian.Uint64(b))), nil
	case 'C':
		b := d.next(1)
		if b == nil {
			return nil, d.err
		}
		return string(b), nil
	case 'S', 'H':
		return d.str()
	case '[', '{':
		if depth >= maxUBJDepth {
			return nil, fmt.Errorf("ubj: nested deeper than %d", maxUBJDepth)
		}
		return d.container(m, depth+1)
	}
	return nil, fmt.Errorf("ubj: unknown type marker %q at byte %d", m, d.pos-1)
}

func (d *ubjDecoder) intOf(m byte) (int64, error) {
	size := map[byte]int{'i': 1, 'U': 1, 'I': 2, 'l': 4, 'L': 8}[m]
	if size == 0 {
		return 0, fmt.Errorf("ubj: want an integer, got marker %q at byte %d", m, d.pos-1)
	}
	b := d.next(size)
	if b == nil {
		return 0, d.err
	}
	switch m {
	case 'i':
		return int64(int8(b[0])), nil
	case 'U':
		return int64(b[0]), nil
	case 'I':
		return int64(int16(binary.BigEndian.Uint16(b))), nil
	case 'l':
		return int64(int32(binary.BigEndian.Uint32(b))), nil
	}
	return int64(binary.BigEndian.Uint64(b)), nil
}

func (d *ubjDecoder) length() (int, error) {
	n, err := d.intOf(d.marker())
	if err != nil {
		return 0, err
	}
	// every element or byte takes at least a byte, so a longer count is a lie (and would
	// make the decoder allocate without bound)
	if n < 0 || n > int64(len(d.b)-d.pos) {
		return 0, fmt.Errorf("ubj: bad length %d at byte %d", n, d.pos)
	}
	return int(n), nil
}

func (d *ubjDecoder) str() (string, error) {
	n, err := d.length()
	if err != nil {
		return "", err
	}
	b := d.next(n)
	if b == nil {
		return "", d.err
	}
	return string(b), nil
}

func (d *ubjDecoder) container(open byte, depth int) (any, error) {
	var elem byte // the one element type of a strongly typed container
	count := -1
	m := d.marker()
	if m == '$' {
		elem = d.marker()
		m = d.marker()
		if m != '#' {
			return nil, fmt.Errorf("ubj: typed container without a count at byte %d", d.pos-1)
		}
	}
	if m == '#' {
		n, err := d.length()
		if err != nil {
			return nil, err
		}
		count = n
	} else {
		d.pos-- // not a header: the first element's marker (or the end)
	}
	item := func() (any, error) {
		mk := elem
		if mk == 0 {
			mk = d.marker()
		}
		return d.valueAt(mk, depth)
	}
	end := byte(']')
	if open == '{' {
		end = '}'
	}
	done := func(i int) bool {
		if count >= 0 {
			return i == count
		}
		if d.pos < len(d.b) && d.b[d.pos] == end {
			d.pos++
			return true
		}
		return d.err != nil || d.pos >= len(d.b)
	}
	if open == '[' {
		arr := []any{}
		for i := 0; !done(i); i++ {
			v, err := item()
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		return arr, d.err
	}
	obj := map[string]any{}
	for i := 0; !done(i); i++ {
		k, err := d.str()
		if err != nil {
			return nil, err
		}
		v, err := item()
		if err != nil {
			return nil, err
		}
		obj[k] = v
	}
	return obj, d.err
}

// finite turns NaN (an unused categorical threshold) into nil, as the JSON path reads it.
func finite(v float64) any {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return v
}
