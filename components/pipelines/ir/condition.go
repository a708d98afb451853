package ir

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Condition is a parsed triggerPolicy.condition. kfup implements the subset of CEL the
// kfp SDK emits for dsl.If/Elif/Else: inputs.parameter_values['name'], string, number
// and boolean literals, int()/double()/string()/bool() conversions, the comparisons
// == != < <= > >=, !, && and ||, and parentheses. Anything else is a parse error that
// says so.
type Condition struct {
	src    string
	root   expr
	params []string
}

// ParseCondition parses a triggerPolicy.condition.
func ParseCondition(s string) (*Condition, error) {
	p := &condParser{src: s}
	p.next()
	e, err := p.or()
	if err == nil && p.tok.kind != tEOF {
		err = p.errorf("unexpected %q", p.tok.text)
	}
	if err != nil {
		return nil, err
	}
	return &Condition{src: s, root: e, params: p.params}, nil
}

// Params returns the input parameters the condition reads, in order of appearance.
func (c *Condition) Params() []string { return c.params }

// String returns the condition's source.
func (c *Condition) String() string { return c.src }

// Eval evaluates the condition over the task's resolved input parameter values.
func (c *Condition) Eval(params map[string]any) (bool, error) {
	v, err := c.root.eval(params)
	if err != nil {
		return false, fmt.Errorf("condition %s: %w", c.src, err)
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("condition %s: evaluates to %v, not a boolean", c.src, v)
	}
	return b, nil
}

type expr interface {
	eval(params map[string]any) (any, error)
}

type litExpr struct{ v any }

func (e litExpr) eval(map[string]any) (any, error) { return e.v, nil }

type paramExpr struct{ name string }

func (e paramExpr) eval(params map[string]any) (any, error) {
	v, ok := params[e.name]
	if !ok {
		return nil, fmt.Errorf("input parameter %q has no value", e.name)
	}
	if f, ok := v.(int); ok { // callers may pass Go ints
		return float64(f), nil
	}
	if f, ok := v.(int64); ok {
		return float64(f), nil
	}
	return v, nil
}

type notExpr struct{ x expr }

func (e notExpr) eval(params map[string]any) (any, error) {
	v, err := e.x.eval(params)
	if err != nil {
		return nil, err
	}
	b, ok := v.(bool)
	if !ok {
		return nil, fmt.Errorf("! applied to %v, not a boolean", v)
	}
	return !b, nil
}

type callExpr struct {
	fn string
	x  expr
}

func (e callExpr) eval(params map[string]any) (any, error) {
	v, err := e.x.eval(params)
	if err != nil {
		return nil, err
	}
	switch e.fn {
	case "int", "double":
		var f float64
		switch x := v.(type) {
		case float64:
			f = x
		case string:
			if f, err = strconv.ParseFloat(strings.TrimSpace(x), 64); err != nil {
				return nil, fmt.Errorf("%s(%q): not a number", e.fn, x)
			}
		case bool:
			if x {
				f = 1
			}
		default:
			return nil, fmt.Errorf("%s() of %v", e.fn, v)
		}
		if e.fn == "int" {
			f = math.Trunc(f)
		}
		return f, nil
	case "string":
		switch x := v.(type) {
		case string:
			return x, nil
		case float64:
			return strconv.FormatFloat(x, 'f', -1, 64), nil
		case bool:
			return strconv.FormatBool(x), nil
		}
		return nil, fmt.Errorf("string() of %v", v)
	case "bool":
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			b, err := strconv.ParseBool(x)
			if err != nil {
				return nil, fmt.Errorf("bool(%q): not a boolean", x)
			}
			return b, nil
		}
		return nil, fmt.Errorf("bool() of %v", v)
	}
	return nil, fmt.Errorf("unknown function %s", e.fn)
}

type binExpr struct {
	op   string
	l, r expr
}

func (e binExpr) eval(params map[string]any) (any, error) {
	l, err := e.l.eval(params)
	if err != nil {
		return nil, err
	}
	if e.op == "&&" || e.op == "||" {
		lb, ok := l.(bool)
		if !ok {
			return nil, fmt.Errorf("%s applied to %v, not a boolean", e.op, l)
		}
		if (e.op == "&&" && !lb) || (e.op == "||" && lb) {
			return lb, nil
		}
		r, err := e.r.eval(params)
		if err != nil {
			return nil, err
		}
		rb, ok := r.(bool)
		if !ok {
			return nil, fmt.Errorf("%s applied to %v, not a boolean", e.op, r)
		}
		return rb, nil
	}
	r, err := e.r.eval(params)
	if err != nil {
		return nil, err
	}
	switch lv := l.(type) {
	case float64:
		rv, ok := r.(float64)
		if !ok {
			return nil, fmt.Errorf("%v %s %v compares a number with %T", l, e.op, r, r)
		}
		return compare(e.op, cmpFloat(lv, rv))
	case string:
		rv, ok := r.(string)
		if !ok {
			return nil, fmt.Errorf("%q %s %v compares a string with %T; convert one side with int(), double() or string()", lv, e.op, r, r)
		}
		return compare(e.op, strings.Compare(lv, rv))
	case bool:
		rv, ok := r.(bool)
		if !ok || (e.op != "==" && e.op != "!=") {
			return nil, fmt.Errorf("%v %s %v: booleans compare only with == and != to booleans", l, e.op, r)
		}
		return (lv == rv) == (e.op == "=="), nil
	}
	return nil, fmt.Errorf("%v %s %v: cannot compare %T", l, e.op, r, l)
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func compare(op string, c int) (bool, error) {
	switch op {
	case "==":
		return c == 0, nil
	case "!=":
		return c != 0, nil
	case "<":
		return c < 0, nil
	case "<=":
		return c <= 0, nil
	case ">":
		return c > 0, nil
	case ">=":
		return c >= 0, nil
	}
	return false, fmt.Errorf("unknown operator %s", op)
}

type tokKind int

const (
	tEOF tokKind = iota
	tIdent
	tString
	tNumber
	tOp
)

type token struct {
	kind tokKind
	text string
	pos  int
}

type condParser struct {
	src    string
	pos    int
	tok    token
	err    error
	params []string
}

func (p *condParser) errorf(format string, args ...any) error {
	return fmt.Errorf("at offset %d: %s (kfup supports the conditions the kfp SDK emits: inputs.parameter_values['x'] compared with literals, int()/double()/string()/bool(), !, &&, ||)", p.tok.pos, fmt.Sprintf(format, args...))
}

func (p *condParser) next() {
	s := p.src
	for p.pos < len(s) && (s[p.pos] == ' ' || s[p.pos] == '\t' || s[p.pos] == '\n') {
		p.pos++
	}
	start := p.pos
	if p.pos >= len(s) {
		p.tok = token{kind: tEOF, pos: start}
		return
	}
	ch := s[p.pos]
	switch {
	case ch == '\'' || ch == '"':
		var b strings.Builder
		p.pos++
		for p.pos < len(s) && s[p.pos] != ch {
			if s[p.pos] == '\\' && p.pos+1 < len(s) {
				p.pos++
			}
			b.WriteByte(s[p.pos])
			p.pos++
		}
		if p.pos >= len(s) {
			p.err = fmt.Errorf("at offset %d: unterminated string", start)
			p.tok = token{kind: tEOF, pos: start}
			return
		}
		p.pos++
		p.tok = token{kind: tString, text: b.String(), pos: start}
	case ch >= '0' && ch <= '9' || (ch == '-' && p.pos+1 < len(s) && s[p.pos+1] >= '0' && s[p.pos+1] <= '9'):
		p.pos++
		for p.pos < len(s) && (s[p.pos] >= '0' && s[p.pos] <= '9' || s[p.pos] == '.' || s[p.pos] == 'e' || s[p.pos] == 'E') {
			p.pos++
		}
		p.tok = token{kind: tNumber, text: s[start:p.pos], pos: start}
	case ch == '_' || ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z':
		for p.pos < len(s) && (s[p.pos] == '_' || s[p.pos] == '.' || s[p.pos] >= 'a' && s[p.pos] <= 'z' || s[p.pos] >= 'A' && s[p.pos] <= 'Z' || s[p.pos] >= '0' && s[p.pos] <= '9') {
			p.pos++
		}
		p.tok = token{kind: tIdent, text: s[start:p.pos], pos: start}
	default:
		for _, op := range []string{"==", "!=", "<=", ">=", "&&", "||", "<", ">", "!", "(", ")", "[", "]"} {
			if strings.HasPrefix(s[p.pos:], op) {
				p.pos += len(op)
				p.tok = token{kind: tOp, text: op, pos: start}
				return
			}
		}
		p.pos++
		p.tok = token{kind: tOp, text: string(ch), pos: start}
	}
}

func (p *condParser) isOp(op string) bool { return p.tok.kind == tOp && p.tok.text == op }

func (p *condParser) or() (expr, error) {
	l, err := p.and()
	for err == nil && p.isOp("||") {
		p.next()
		var r expr
		if r, err = p.and(); err == nil {
			l = binExpr{op: "||", l: l, r: r}
		}
	}
	return l, err
}

func (p *condParser) and() (expr, error) {
	l, err := p.cmp()
	for err == nil && p.isOp("&&") {
		p.next()
		var r expr
		if r, err = p.cmp(); err == nil {
			l = binExpr{op: "&&", l: l, r: r}
		}
	}
	return l, err
}

func (p *condParser) cmp() (expr, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for _, op := range []string{"==", "!=", "<=", ">=", "<", ">"} {
		if p.isOp(op) {
			p.next()
			r, err := p.unary()
			if err != nil {
				return nil, err
			}
			return binExpr{op: op, l: l, r: r}, nil
		}
	}
	return l, nil
}

func (p *condParser) unary() (expr, error) {
	if p.err != nil {
		return nil, p.err
	}
	if p.isOp("!") {
		p.next()
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return notExpr{x}, nil
	}
	return p.primary()
}

func (p *condParser) primary() (expr, error) {
	if p.err != nil {
		return nil, p.err
	}
	t := p.tok
	switch t.kind {
	case tString:
		p.next()
		return litExpr{t.text}, nil
	case tNumber:
		f, err := strconv.ParseFloat(t.text, 64)
		if err != nil {
			return nil, p.errorf("bad number %q", t.text)
		}
		p.next()
		return litExpr{f}, nil
	case tOp:
		if t.text == "(" {
			p.next()
			e, err := p.or()
			if err != nil {
				return nil, err
			}
			if !p.isOp(")") {
				return nil, p.errorf("expected )")
			}
			p.next()
			return e, nil
		}
		return nil, p.errorf("unexpected %q", t.text)
	case tIdent:
		p.next()
		switch t.text {
		case "true", "false":
			return litExpr{t.text == "true"}, nil
		case "int", "double", "string", "bool":
			if !p.isOp("(") {
				return nil, p.errorf("expected ( after %s", t.text)
			}
			p.next()
			x, err := p.or()
			if err != nil {
				return nil, err
			}
			if !p.isOp(")") {
				return nil, p.errorf("expected ) closing %s(", t.text)
			}
			p.next()
			return callExpr{fn: t.text, x: x}, nil
		case "inputs.parameter_values", "inputs.parameters":
			if !p.isOp("[") {
				return nil, p.errorf("expected [ after %s", t.text)
			}
			p.next()
			if p.tok.kind != tString {
				return nil, p.errorf("expected a quoted parameter name in %s[...]", t.text)
			}
			name := p.tok.text
			p.next()
			if !p.isOp("]") {
				return nil, p.errorf("expected ] after %s['%s'", t.text, name)
			}
			p.next()
			p.params = append(p.params, name)
			return paramExpr{name}, nil
		}
		return nil, p.errorf("unknown name %q", t.text)
	}
	return nil, p.errorf("unexpected end of condition")
}
