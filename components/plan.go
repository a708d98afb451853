package components

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/kfup/kfup/internal/errs"
)

// Plan is an ordered install of enabled components and the removal of disabled ones.
type Plan struct {
	// Install holds the enabled components, each after its dependencies.
	Install []Component
	// Remove holds the disabled components, dependents before their dependencies.
	Remove []Component
	deps   map[string][]string
}

// NewPlan validates the component graph (unknown or disabled dependencies, cycles) and
// orders it. enabled names the components to install; the other registered components are
// removed.
func NewPlan(all []Component, enabled []string) (*Plan, error) {
	byName := map[string]Component{}
	for _, c := range all {
		if _, dup := byName[c.Name()]; dup {
			return nil, fmt.Errorf("component %q registered twice", c.Name())
		}
		byName[c.Name()] = c
	}
	on := map[string]bool{}
	for _, n := range enabled {
		if _, ok := byName[n]; !ok {
			return nil, errs.Usage("known components: "+strings.Join(sortedKeys(byName), ", "), "components.%s: unknown component", n)
		}
		on[n] = true
	}
	deps := map[string][]string{}
	for _, c := range all {
		deps[c.Name()] = c.DependsOn()
		for _, d := range c.DependsOn() {
			if _, ok := byName[d]; !ok {
				return nil, fmt.Errorf("component %q depends on unknown component %q", c.Name(), d)
			}
			if on[c.Name()] && !on[d] {
				return nil, errs.Usage(fmt.Sprintf("enable it (--set components.%s.enabled=true) or disable %s", d, c.Name()),
					"components.%s.enabled: %s needs %s, which is disabled", c.Name(), c.Name(), d)
			}
		}
	}
	order, err := topoSort(sortedKeys(byName), deps)
	if err != nil {
		return nil, err
	}
	p := &Plan{deps: deps}
	for _, n := range order {
		if on[n] {
			p.Install = append(p.Install, byName[n])
		}
	}
	for i := len(order) - 1; i >= 0; i-- {
		if !on[order[i]] {
			p.Remove = append(p.Remove, byName[order[i]])
		}
	}
	return p, nil
}

// topoSort orders names so that every name comes after its dependencies; a cycle is an
// error that names it.
func topoSort(names []string, deps map[string][]string) ([]string, error) {
	const (
		unvisited = iota
		visiting
		done
	)
	state := map[string]int{}
	var order []string
	var stack []string
	var visit func(n string) error
	visit = func(n string) error {
		switch state[n] {
		case visiting:
			i := 0
			for stack[i] != n {
				i++
			}
			return fmt.Errorf("component dependency cycle: %s -> %s", strings.Join(stack[i:], " -> "), n)
		case done:
			return nil
		}
		state[n] = visiting
		stack = append(stack, n)
		ds := append([]string(nil), deps[n]...)
		sort.Strings(ds)
		for _, d := range ds {
			if err := visit(d); err != nil {
				return err
			}
		}
		stack = stack[:len(stack)-1]
		state[n] = done
		order = append(order, n)
		return nil
	}
	for _, n := range names {
		if err := visit(n); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// Run removes the disabled components, then installs the enabled ones: each starts as
// soon as its dependencies are ready, so independent components install concurrently.
// Each component gets one status line covering install and readiness.
func (p *Plan) Run(ctx context.Context, env *Env, readyTimeout time.Duration) error {
	for _, c := range p.Remove {
		if err := c.Uninstall(ctx, env); err != nil {
			return fmt.Errorf("uninstall %s: %w", c.Name(), err)
		}
	}
	readyCh := map[string]chan struct{}{}
	for _, c := range p.Install {
		readyCh[c.Name()] = make(chan struct{})
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, c := range p.Install {
		g.Go(func() error {
			for _, d := range p.deps[c.Name()] {
				select {
				case <-readyCh[d]:
				case <-gctx.Done():
					return gctx.Err()
				}
			}
			st := env.Out.Step("Installing " + c.Name())
			err := c.Install(gctx, env)
			if err == nil {
				rctx, cancel := context.WithTimeout(gctx, readyTimeout)
				err = c.Ready(rctx, env)
				cancel()
				if err != nil && rctx.Err() == context.DeadlineExceeded && gctx.Err() == nil {
					err = errs.Wrap(errs.KindTimeout, "look at 'kfup status' and the component's pods; raise --wait", fmt.Errorf("not ready after %s: %w", readyTimeout, err))
				}
			}
			st.End(err)
			if err != nil {
				return fmt.Errorf("install %s: %w", c.Name(), err)
			}
			close(readyCh[c.Name()])
			return nil
		})
	}
	return g.Wait()
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
