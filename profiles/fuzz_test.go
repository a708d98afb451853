package profiles

import (
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/kfup/kfup/internal/errs"
)

// fuzzFile is the file name the fuzz targets give parse, so that errors can be checked
// for naming it.
const fuzzFile = "p.yaml"

// maxErrorLen bounds the message of an error about input of n bytes: each problem echoes
// at most a key or a value of the input, and there are a few dozen keys.
func maxErrorLen(n int) int { return 16<<10 + 64*n }

// FuzzParse feeds arbitrary bytes to the profile file parser. It must not panic (or
// hang), and it returns either a valid profile that survives a round trip through YAML,
// or usage errors that each name the file and, for a key, a path under a known key; the
// message stays bounded by the input. The seeds (testdata/fuzz/FuzzParse) run as a normal
// test; go test -run '^$' -fuzz '^FuzzParse$' ./profiles/ explores further.
func FuzzParse(f *testing.F) {
	for _, name := range Builtins() {
		data, err := builtinFS.ReadFile("builtin/" + name + ".yaml")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"",
		"---\n",
		header + "name: lab\nbase: standard\ncomponents:\n  manager:\n    replicas: 2\n    resources:\n      cpuLimit: 1\n",
		header + "name: x\ncomponents:\n  knative:\n    scaletozero: true\n",
		header + "name: x\ncomponents: [1, 2]\n",
		header + "name: x\n---\nname: y\n",
		"[a, b]\n",
		"a: &x [*x]\n",
		header + "name: x\ncomponents:\n  manager:\n    resources:\n      cpuRequest: 1e999999999\n      cpuLimit: 1\n",
		header + "name: x\ncomponents:\n  manager:\n    replicas: 99999999999999999999\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := parse(data, fuzzFile, nil)
		if err != nil {
			checkParseError(t, data, p, err)
			return
		}
		if p == nil {
			t.Fatal("parse returned neither a profile nor an error")
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("parse accepted a profile that Validate rejects: %v", err)
		}
		out, err := p.YAML()
		if err != nil {
			t.Fatalf("YAML: %v", err)
		}
		back, err := parse(out, fuzzFile, nil)
		if err != nil {
			t.Fatalf("parse(YAML(p)): %v\n%s", err, out)
		}
		if !reflect.DeepEqual(p, back) {
			t.Fatalf("parse(YAML(p)) != p:\n%+v\n%+v\n%s", p, back, out)
		}
	})
}

// checkParseError checks what parse returned for data that it rejected.
func checkParseError(t *testing.T, data []byte, p *Profile, err error) {
	t.Helper()
	if p != nil {
		t.Fatalf("parse returned a profile and an error: %v", err)
	}
	if k := errs.KindOf(err); k != errs.KindUsage {
		t.Fatalf("error kind %v, want usage: %v", k, err)
	}
	msg := err.Error()
	if len(msg) > maxErrorLen(len(data)) {
		t.Fatalf("%d-byte error for %d bytes of input", len(msg), len(data))
	}
	for _, line := range strings.Split(msg, "\n") {
		if !strings.HasPrefix(line, fuzzFile+":") {
			t.Fatalf("error line %q does not name the file (error: %q)", line, msg)
		}
	}
	for _, fe := range fieldErrors(err) {
		if fe.File != fuzzFile || fe.Message == "" {
			t.Fatalf("field error %#v: want file %s and a message", fe, fuzzFile)
		}
		if pathExists(fe.Path) {
			continue
		}
		if parent, _, ok := splitLast(fe.Path); !ok || !pathExists(parent) {
			t.Fatalf("field error %q: neither its path nor its parent is a key of a profile", fe)
		}
	}
}

// splitLast splits a dotted path of an error into the path above its last segment and
// that segment's key, unquoting a quoted one; ok is false when the last segment is neither
// plain nor quoted as segment quotes it.
func splitLast(path string) (parent, key string, ok bool) {
	for i := len(path) - 1; i >= -1; i-- {
		if i >= 0 && path[i] != '.' {
			continue
		}
		last := path[i+1:]
		if k, err := strconv.Unquote(last); err == nil && segment(k) == last {
			return path[:max(i, 0)], k, true
		}
		if plainKey.MatchString(last) {
			return path[:max(i, 0)], last, true
		}
	}
	return "", "", false
}

// FuzzSet applies an arbitrary --set expression to a built-in profile. It must not panic;
// on error the profile is unchanged and the error, bounded by the expression, names the
// path or the expression; on success exactly the key named changed, to the value given,
// its own checks pass, and a profile that validates survives a round trip through YAML.
func FuzzSet(f *testing.F) {
	for _, s := range []string{
		"components.knative.enabled=false",
		"components.manager.replicas=3",
		"components.manager.replicas= 07",
		"components.manager.replicas=-1",
		"components.manager.resources.memoryLimit=512Mi",
		"components.manager.resources.cpuRequest=1e999999999",
		"components.manager.resources=1Gi",
		"components.manager.replicas.max=3",
		"components.istio.tag=1.24",
		"components.istio.hub=localhost:5000/istio",
		"components.training.namespaces=a,b",
		"components.kserve.enabled=true",
		"components.=x",
		"components=x",
		" components.manager.enabled =true",
		"name=mine",
		"components.knative.enabled",
	} {
		f.Add(uint8(0), s)
	}
	f.Add(uint8(3), "components.nvidia.timeSlicingReplicas=4")
	f.Fuzz(func(t *testing.T, which uint8, expr string) {
		name := Builtins()[int(which)%len(Builtins())]
		p := mustLoad(t, name)
		before := *p
		err := p.Set(expr)
		if err != nil {
			checkSetError(t, expr, p, &before, err)
			return
		}
		path, value, _ := strings.Cut(expr, "=")
		path = strings.TrimSpace(path)
		want := before
		v := reflect.ValueOf(&want).Elem()
		for _, seg := range strings.Split(path, ".") {
			fld, ok := lookup(v.Type(), seg)
			if !ok {
				t.Fatalf("Set(%q) succeeded, but %q is not a key", expr, path)
			}
			v = v.Field(fld.index)
		}
		switch v.Kind() {
		case reflect.Bool:
			v.SetBool(value == "true")
		case reflect.Int:
			n, err := strconv.Atoi(strings.TrimSpace(value))
			if err != nil {
				t.Fatalf("Set(%q) accepted %q for an integer", expr, value)
			}
			v.SetInt(int64(n))
		case reflect.String:
			v.SetString(value)
		default:
			t.Fatalf("Set(%q) set a %s", expr, v.Kind())
		}
		if !reflect.DeepEqual(p, &want) {
			t.Fatalf("Set(%q) changed more or less than %s:\n got %+v\nwant %+v", expr, path, p, &want)
		}
		if ps := p.fieldProblems(); len(ps) > 0 {
			t.Fatalf("Set(%q) accepted a value its own checks reject: %v", expr, ps.err(""))
		}
		if p.Validate() != nil {
			return // a conflict, left to Validate after every --set
		}
		out, err := p.YAML()
		if err != nil {
			t.Fatalf("YAML: %v", err)
		}
		back, err := parse(out, fuzzFile, nil)
		if err != nil {
			t.Fatalf("parse(YAML(p)) after Set(%q): %v\n%s", expr, err, out)
		}
		if !reflect.DeepEqual(p, back) {
			t.Fatalf("parse(YAML(p)) != p after Set(%q):\n%+v\n%+v\n%s", expr, p, back, out)
		}
	})
}

// checkSetError checks what Set left behind when it refused expr.
func checkSetError(t *testing.T, expr string, p, before *Profile, err error) {
	t.Helper()
	if !reflect.DeepEqual(p, before) {
		t.Fatalf("Set(%q) failed (%v) but changed the profile", expr, err)
	}
	if k := errs.KindOf(err); k != errs.KindUsage {
		t.Fatalf("Set(%q): error kind %v, want usage: %v", expr, k, err)
	}
	// %q may spell each byte of expr as \xNN.
	if msg := err.Error(); len(msg) > 16<<10+8*len(expr) {
		t.Fatalf("Set(%q): %d-byte error", expr, len(msg))
	}
	path, _, _ := strings.Cut(expr, "=")
	path = strings.TrimSpace(path)
	fes := fieldErrors(err)
	if len(fes) == 0 && !strings.HasPrefix(err.Error(), "--set "+strconv.Quote(expr)+": ") {
		t.Fatalf("Set(%q): error %q names neither a key nor the expression", expr, err)
	}
	for _, fe := range fes {
		if fe.Path == path || strings.HasPrefix(path, fe.Path+".") {
			continue // a known key, or a key above it
		}
		// an unknown key, or a key under a scalar: the known keys, then the one named
		parent, key, ok := splitLast(fe.Path)
		if !ok || (path != join(parent, key) && !strings.HasPrefix(path, join(parent, key)+".")) {
			t.Fatalf("Set(%q): field error %q is not at %q or a key above it", expr, fe, path)
		}
	}
}
