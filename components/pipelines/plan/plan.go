// Package plan is the pipelines slice's DAG planner: a pure function from a validated IR,
// the run's parameters and what is known of its tasks to what happens next — which
// executor tasks are ready (with their resolved inputs and cache key), which are skipped
// by a condition, how ParallelFor expands, how fan-in collects, when exit handlers run,
// when a failed task retries, and whether the run is over. The controller calls it on
// every change and acts on the answer; the planner itself touches nothing.
package plan

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kfup/kfup/components/pipelines/ir"
)

// Phase is the state of a task, a DAG or the run.
type Phase string

// The phases. Pending and Running are not final; the others are.
const (
	Pending   Phase = "Pending"
	Running   Phase = "Running"
	Succeeded Phase = "Succeeded"
	Failed    Phase = "Failed"
	// Skipped: the task's condition was false, or it could not run because an upstream
	// task failed or was skipped.
	Skipped Phase = "Skipped"
)

// Final reports whether p is a final phase.
func (p Phase) Final() bool { return p == Succeeded || p == Failed || p == Skipped }

// Artifact is one artifact as the run stores it.
type Artifact struct {
	URI      string         `json:"uri"`
	Type     string         `json:"type,omitempty"`
	Metadata map[string]any `json:"metadata,omitempty"`
}

// TaskStatus is what the run knows of one executor task, by its ID. A task Pending with
// attempts is one a retry of the run sent back: its next attempt is ready at once.
type TaskStatus struct {
	Phase Phase
	// Attempts is how many attempts have started (1 after the first).
	Attempts int
	// PriorAttempts are those started before the run's latest retry: the retry policy
	// counts only the others.
	PriorAttempts int
	Parameters    map[string]any
	Artifacts     map[string][]Artifact
	Error         string
	FinishedAt    time.Time
}

// Input is everything the planner reads.
type Input struct {
	Pipeline *ir.Pipeline
	// Parameters are the run's parameters (the root's inputs); defaults fill the rest.
	Parameters map[string]any
	// Status holds the executor tasks that have started, by Step.ID.
	Status map[string]TaskStatus
	// DisableCache turns the cache off for the whole run.
	DisableCache bool
}

// Step is an executor task to start now (or, for a retry, at NotBefore).
type Step struct {
	// ID names the task within the run: DAG tasks joined by "/", iterations as [i]
	// ("for-loop-1[2]/train").
	ID            string
	Task          string
	Component     string
	ExecutorLabel string
	Parameters    map[string]any
	Artifacts     map[string][]Artifact
	// Attempt is 1 for the first try, 2 for the first retry, ...
	Attempt   int
	NotBefore time.Time
	// CacheKey fingerprints the component and its resolved inputs; empty when the task
	// or the run has caching off.
	CacheKey string
}

// Skip is a task that will not run, and why.
type Skip struct {
	ID     string
	Reason string
}

// Plan is what should happen next.
type Plan struct {
	Ready   []Step
	Skipped []Skip
	// Failed are tasks the planner itself fails (an input that cannot be resolved, a
	// condition that cannot be evaluated), with their errors.
	Failed []Skip
	// Phase is Running while anything remains, else the run's final phase.
	Phase Phase
	// Error names the failed task and why, when Phase is Failed.
	Error string
	// Outputs are the root DAG's output parameters once the run succeeded.
	Outputs map[string]any
}

// Compute returns the plan for in. It errs only when the run cannot start at all: a
// required parameter missing or of the wrong type.
func Compute(in Input) (*Plan, error) {
	spec := &in.Pipeline.Spec
	if spec.Root == nil || spec.Root.DAG == nil {
		return nil, fmt.Errorf("the pipeline has no root DAG")
	}
	params, err := runParameters(spec.Root, in.Parameters)
	if err != nil {
		return nil, err
	}
	p := &planner{in: in, spec: spec, plan: &Plan{}}
	r := p.dag("", spec.Root, params, map[string][]Artifact{})
	p.plan.Phase = r.phase
	if r.phase == Pending {
		p.plan.Phase = Running
	}
	switch r.phase {
	case Failed:
		p.plan.Error = r.err
	case Succeeded:
		p.plan.Outputs = r.params
	}
	return p.plan, nil
}

// runParameters checks the run's parameters against the root's inputs and fills defaults.
func runParameters(root *ir.ComponentSpec, given map[string]any) (map[string]any, error) {
	out := map[string]any{}
	var defs map[string]ir.InputParameterDef
	if root.InputDefinitions != nil {
		defs = root.InputDefinitions.Parameters
	}
	for k, v := range given {
		d, ok := defs[k]
		if !ok {
			return nil, fmt.Errorf("parameter %q: the pipeline has no such input (it has %s)", k, strings.Join(keys(defs), ", "))
		}
		v = normalize(v)
		if !ir.ValueHasType(v, d.ParameterType) {
			return nil, fmt.Errorf("parameter %q: %v is not a %s", k, v, d.ParameterType)
		}
		out[k] = v
	}
	for _, k := range keys(defs) {
		d := defs[k]
		if _, ok := out[k]; ok {
			continue
		}
		switch {
		case d.DefaultValue != nil:
			out[k] = d.DefaultValue
		case !d.IsOptional:
			return nil, fmt.Errorf("parameter %q (%s) is required: set it with -p %s=VALUE", k, d.ParameterType, k)
		}
	}
	return out, nil
}

// normalize turns Go numbers into the float64 JSON decoding gives.
func normalize(v any) any {
	switch x := v.(type) {
	case int:
		return float64(x)
	case int32:
		return float64(x)
	case int64:
		return float64(x)
	case float32:
		return float64(x)
	}
	return v
}

type planner struct {
	in   Input
	spec *ir.PipelineSpec
	plan *Plan
}

// result is a task's or DAG's phase and outputs as far as known.
type result struct {
	phase     Phase
	params    map[string]any
	artifacts map[string][]Artifact
	err       string
}

func joinID(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "/" + name
}

// started reports whether any executor task at or under id has a status.
func (p *planner) started(id string) bool {
	for k := range p.in.Status {
		if k == id || strings.HasPrefix(k, id+"/") || strings.HasPrefix(k, id+"[") {
			return true
		}
	}
	return false
}

// dag plans the tasks of DAG component c, run under id with the given inputs.
func (p *planner) dag(id string, c *ir.ComponentSpec, params map[string]any, arts map[string][]Artifact) result {
	tasks := c.DAG.Tasks
	results := map[string]result{}
	failedTask := ""
	for _, name := range topoOrder(tasks) {
		t := tasks[name]
		tid := joinID(id, name)
		r := p.task(tid, name, &t, results, params, arts, failedTask != "")
		results[name] = r
		if r.phase == Failed && failedTask == "" {
			failedTask = name
		}
	}
	out := result{phase: Succeeded}
	var errs []string
	for _, name := range keys(tasks) {
		switch r := results[name]; r.phase {
		case Pending, Running:
			out.phase = Running
		case Failed:
			errs = append(errs, r.err)
		}
	}
	if out.phase == Running {
		return out
	}
	if len(errs) > 0 {
		return result{phase: Failed, err: errs[0]}
	}
	out.params, out.artifacts = dagOutputs(c, results)
	return out
}

// task plans one task of a DAG.
func (p *planner) task(id, name string, t *ir.TaskSpec, siblings map[string]result, scopeParams map[string]any, scopeArts map[string][]Artifact, dagFailed bool) result {
	completed := t.TriggerPolicy != nil && t.TriggerPolicy.Strategy == ir.StrategyAllUpstreamCompleted
	for _, u := range ir.Upstream(t) {
		r := siblings[u]
		if !r.phase.Final() {
			return result{phase: Pending}
		}
		if r.phase == Failed && !completed {
			return p.skip(id, fmt.Sprintf("upstream task %s failed", u))
		}
	}
	if dagFailed && !completed && !p.started(id) {
		return p.skip(id, "another task of the same DAG failed")
	}
	child := p.spec.Components[t.ComponentRef.Name]
	params, arts, missing, err := p.resolve(t, &child, siblings, scopeParams, scopeArts)
	if err != nil {
		return p.fail(id, err)
	}
	if missing != "" {
		return p.skip(id, missing)
	}
	if tp := t.TriggerPolicy; tp != nil && tp.Condition != "" {
		cond, err := ir.ParseCondition(tp.Condition)
		if err != nil {
			return p.fail(id, err)
		}
		ok, err := cond.Eval(params)
		if err != nil {
			return p.fail(id, err)
		}
		if !ok {
			return p.skip(id, "condition is false: "+tp.Condition)
		}
	}
	if t.ParameterIterator != nil || t.ArtifactIterator != nil {
		return p.iterate(id, name, t, &child, params, arts)
	}
	return p.run(id, name, t, &child, params, arts)
}

// run plans one instance (a task, or one iteration of it) of component c.
func (p *planner) run(id, name string, t *ir.TaskSpec, c *ir.ComponentSpec, params map[string]any, arts map[string][]Artifact) result {
	if c.DAG != nil {
		return p.dag(id, c, params, arts)
	}
	st, ok := p.in.Status[id]
	step := Step{ID: id, Task: name, Component: t.ComponentRef.Name, ExecutorLabel: c.ExecutorLabel,
		Parameters: declaredOnly(params, c), Artifacts: arts, Attempt: 1}
	if t.CachingOptions != nil && t.CachingOptions.EnableCache && !p.in.DisableCache {
		step.CacheKey = CacheKey(c, p.spec.DeploymentSpec.Executors[c.ExecutorLabel], step.Parameters, arts)
	}
	if !ok {
		p.plan.Ready = append(p.plan.Ready, step)
		return result{phase: Running}
	}
	switch st.Phase {
	case Succeeded:
		return result{phase: Succeeded, params: st.Parameters, artifacts: st.Artifacts}
	case Skipped:
		return result{phase: Skipped}
	case Pending:
		step.Attempt = st.Attempts + 1
		p.plan.Ready = append(p.plan.Ready, step)
		return result{phase: Running}
	case Failed:
		if d, retry := Backoff(t.RetryPolicy, st.Attempts-st.PriorAttempts); retry {
			step.Attempt = st.Attempts + 1
			step.NotBefore = st.FinishedAt.Add(d)
			p.plan.Ready = append(p.plan.Ready, step)
			return result{phase: Running}
		}
		msg := st.Error
		if msg == "" {
			msg = "failed"
		}
		if st.Attempts > 1 {
			msg = fmt.Sprintf("%s (after %d attempts)", msg, st.Attempts)
		}
		return result{phase: Failed, err: fmt.Sprintf("task %s: %s", id, msg)}
	}
	return result{phase: Running}
}

// declaredOnly drops the pipelinechannel-- inputs the SDK passes only for conditions and
// constants, which the executor does not declare.
func declaredOnly(params map[string]any, c *ir.ComponentSpec) map[string]any {
	out := map[string]any{}
	for k, v := range params {
		if c.InputDefinitions != nil {
			if _, ok := c.InputDefinitions.Parameters[k]; ok {
				out[k] = v
			}
		}
	}
	return out
}

func (p *planner) skip(id, reason string) result {
	p.plan.Skipped = append(p.plan.Skipped, Skip{ID: id, Reason: reason})
	return result{phase: Skipped}
}

func (p *planner) fail(id string, err error) result {
	p.plan.Failed = append(p.plan.Failed, Skip{ID: id, Reason: err.Error()})
	return result{phase: Failed, err: fmt.Sprintf("task %s: %v", id, err)}
}

// topoOrder returns tasks upstream first, ties by name (the IR is validated acyclic).
func topoOrder(tasks map[string]ir.TaskSpec) []string {
	done := map[string]bool{}
	var out []string
	var visit func(string)
	visit = func(n string) {
		if done[n] {
			return
		}
		done[n] = true
		t := tasks[n]
		for _, u := range ir.Upstream(&t) {
			if _, ok := tasks[u]; ok {
				visit(u)
			}
		}
		out = append(out, n)
	}
	for _, n := range keys(tasks) {
		visit(n)
	}
	return out
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// formatValue renders a parameter value as a placeholder prints it: strings as they are,
// everything else as JSON.
func formatValue(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	b, _ := json.Marshal(v)
	return string(b)
}
