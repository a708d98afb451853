package components

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kfup/kfup/internal/errs"
	"github.com/kfup/kfup/internal/ui"
)

// fake is a component that records its install and readiness.
type fake struct {
	name    string
	deps    []string
	log     *eventLog
	failing bool
	delay   time.Duration
}

type eventLog struct {
	mu     sync.Mutex
	events []string
}

func (l *eventLog) add(e string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
}

func (f *fake) Name() string                      { return f.name }
func (f *fake) DependsOn() []string               { return f.deps }
func (f *fake) Images(*Env) ([]string, error)     { return nil, nil }
func (f *fake) Smoke(context.Context, *Env) error { return nil }
func (f *fake) Install(ctx context.Context, _ *Env) error {
	f.log.add("install " + f.name)
	select {
	case <-time.After(f.delay):
	case <-ctx.Done():
		return ctx.Err()
	}
	if f.failing {
		return errors.New("boom")
	}
	return nil
}
func (f *fake) Ready(context.Context, *Env) error { f.log.add("ready " + f.name); return nil }
func (f *fake) Uninstall(context.Context, *Env) error {
	f.log.add("uninstall " + f.name)
	return nil
}

func names(cs []Component) []string {
	out := []string{}
	for _, c := range cs {
		out = append(out, c.Name())
	}
	return out
}

func TestNewPlanOrdersDependenciesFirst(t *testing.T) {
	l := &eventLog{}
	all := []Component{
		&fake{name: "knative", deps: []string{"istio"}, log: l},
		&fake{name: "manager", deps: []string{"training"}, log: l},
		&fake{name: "istio", log: l},
		&fake{name: "training", log: l},
	}
	p, err := NewPlan(all, []string{"manager", "training"})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"training", "manager"}, names(p.Install)); d != "" {
		t.Errorf("install order (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"knative", "istio"}, names(p.Remove)); d != "" {
		t.Errorf("remove order: dependents first (-want +got):\n%s", d)
	}
}

func TestNewPlanRejectsBadGraphs(t *testing.T) {
	l := &eventLog{}
	cases := []struct {
		name     string
		all      []Component
		enabled  []string
		want     string
		wantKind errs.Kind
	}{
		{"unknown component", []Component{&fake{name: "a", log: l}}, []string{"b"}, "components.b: unknown component", errs.KindUsage},
		{"disabled dependency", []Component{&fake{name: "a", deps: []string{"b"}, log: l}, &fake{name: "b", log: l}}, []string{"a"},
			"components.a.enabled: a needs b, which is disabled", errs.KindUsage},
		{"cycle", []Component{&fake{name: "a", deps: []string{"b"}, log: l}, &fake{name: "b", deps: []string{"c"}, log: l}, &fake{name: "c", deps: []string{"a"}, log: l}},
			[]string{"a", "b", "c"}, "cycle: a -> b -> c -> a", errs.KindUnknown},
		{"unknown dependency", []Component{&fake{name: "a", deps: []string{"zz"}, log: l}}, nil, `depends on unknown component "zz"`, errs.KindUnknown},
		{"duplicate", []Component{&fake{name: "a", log: l}, &fake{name: "a", log: l}}, nil, "registered twice", errs.KindUnknown},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewPlan(tc.all, tc.enabled)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want error containing %q, got %v", tc.want, err)
			}
			if errs.KindOf(err) != tc.wantKind {
				t.Errorf("kind %v, want %v", errs.KindOf(err), tc.wantKind)
			}
		})
	}
}

func TestRunInstallsIndependentComponentsConcurrently(t *testing.T) {
	l := &eventLog{}
	// a and b are independent and slow; c needs both.
	all := []Component{
		&fake{name: "a", log: l, delay: 200 * time.Millisecond},
		&fake{name: "b", log: l, delay: 200 * time.Millisecond},
		&fake{name: "c", deps: []string{"a", "b"}, log: l},
		&fake{name: "old", log: l},
	}
	p, err := NewPlan(all, []string{"a", "b", "c"})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Run(context.Background(), &Env{Out: ui.Discard()}, time.Minute); err != nil {
		t.Fatal(err)
	}
	ev := l.events
	if ev[0] != "uninstall old" {
		t.Fatalf("disabled components must be removed first: %v", ev)
	}
	pos := map[string]int{}
	for i, e := range ev {
		pos[e] = i
	}
	// both installs start before either is ready: they ran side by side
	if !(pos["install a"] < pos["ready b"] && pos["install b"] < pos["ready a"]) {
		t.Errorf("a and b did not install concurrently: %v", ev)
	}
	if !(pos["install c"] > pos["ready a"] && pos["install c"] > pos["ready b"]) {
		t.Errorf("c installed before its dependencies were ready: %v", ev)
	}
}

func TestRunStopsDependentsOfAFailure(t *testing.T) {
	l := &eventLog{}
	all := []Component{&fake{name: "a", log: l, failing: true}, &fake{name: "b", deps: []string{"a"}, log: l}}
	p, err := NewPlan(all, []string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	err = p.Run(context.Background(), &Env{Out: ui.Discard()}, time.Minute)
	if err == nil || !strings.Contains(err.Error(), "install a: boom") {
		t.Fatalf("want install a: boom, got %v", err)
	}
	for _, e := range l.events {
		if e == "install b" {
			t.Fatalf("b installed although a failed: %v", l.events)
		}
	}
}

func TestDecodeYAML(t *testing.T) {
	objs, err := DecodeYAML("x.yaml", []byte("---\napiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, namespace: a}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 2 || objs[1].GetKind() != "ConfigMap" {
		t.Fatalf("got %d objects", len(objs))
	}
	if _, err := DecodeYAML("bad.yaml", []byte("metadata: {name: a}\n")); err == nil || !strings.Contains(err.Error(), "bad.yaml: document 1 has no kind") {
		t.Fatalf("want kind error, got %v", err)
	}
}
