package profiles

import (
	"reflect"
	"strconv"
	"strings"

	"github.com/kfup/kfup/internal/errs"
)

// setExample is the usage the errors of Set show.
const setExample = "use --set components.<name>.<key>=<value>, e.g. --set components.knative.enabled=false or --set components.manager.resources.memoryLimit=256Mi"

// Set applies one --set override, "components.<name>.<key>=<value>", where <key> may be
// nested with dots (components.manager.resources.memoryLimit=256Mi). The value is parsed
// by the key's type: true or false, an integer, or a string. Set checks the key's own
// value (a log level, a quantity, a domain) and leaves the profile unchanged on error;
// settings that conflict with others (Knative without Istio) are left to Validate, so
// that the order of several --set flags does not matter.
func (p *Profile) Set(expr string) error {
	path, value, ok := strings.Cut(expr, "=")
	if !ok {
		return errs.Usage(setExample, "--set %q: missing \"=\" (want components.<name>.<key>=<value>, e.g. components.knative.enabled=false)", expr)
	}
	path = strings.TrimSpace(path)
	if path != "components" && !strings.HasPrefix(path, "components.") {
		return errs.Usage(setExample, "--set %q: only components can be set (want components.<name>.<key>=<value>, e.g. components.knative.enabled=false)", expr)
	}

	cp := *p // Profile holds only values, so this is a deep copy.
	var ps problems
	v := reflect.ValueOf(&cp).Elem()
	var f field
	segs := strings.Split(path, ".")
	for i, seg := range segs {
		// segs[:i] are known keys, so only seg may need quoting.
		parent := strings.Join(segs[:i], ".")
		if v.Kind() != reflect.Struct {
			ps.add(join(parent, segment(seg)), "", "%s is %s, it has no keys", parent, typeName(v.Kind()))
			return ps.err("")
		}
		if i == 0 {
			f, _ = lookup(v.Type(), seg) // "components", checked above
			v = v.Field(f.index)
			continue
		}
		var found bool
		if f, found = lookup(v.Type(), seg); !found {
			unknownKey(&ps, v.Type(), parent, seg)
			return ps.err("")
		}
		v = v.Field(f.index)
	}
	if v.Kind() == reflect.Struct {
		hint := "e.g. --set " + join(path, fieldsOf(v.Type())[0].name) + "=..."
		if v.Type() == reflect.TypeFor[Components]() {
			hint = setExample
		}
		ps.add(path, hint, "is a group of settings; set one of its keys (%s)", keyNames(v.Type()))
		return ps.err("")
	}

	switch v.Kind() {
	case reflect.Bool:
		switch value {
		case "true":
			v.SetBool(true)
		case "false":
			v.SetBool(false)
		default:
			ps.add(path, "", "expected true or false, got %q", value)
		}
	case reflect.Int:
		n, err := strconv.Atoi(strings.TrimSpace(value))
		if err != nil {
			ps.add(path, "", "expected an integer, got %q", value)
			break
		}
		v.SetInt(int64(n))
	case reflect.String:
		v.SetString(value)
	}
	if len(ps) == 0 {
		ps = cp.fieldProblems().at(path)
	}
	if err := ps.err(""); err != nil {
		return err
	}
	*p = cp
	return nil
}

// typeName names a settable kind in error messages.
func typeName(k reflect.Kind) string {
	switch k {
	case reflect.Bool:
		return "a boolean"
	case reflect.Int:
		return "an integer"
	default:
		return "a string"
	}
}
