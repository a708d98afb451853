package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/kfup/kfup/components/pipelines/ir"
)

// presence says whether a parameter has a value.
type presence int

const (
	// undeclared: no such parameter where the reference looks.
	undeclared presence = iota
	// unset: declared, without a value (an optional input left out): KFP's driver skips
	// the feature that names it.
	unset
	// set: it has a value.
	set
)

// scope resolves what the platform spec's InputParameterSpecs name, as KFP's driver does:
// a componentInputParameter or runtimeParameter is an input of the DAG the task runs in,
// a taskOutputParameter an output of a task of that DAG, a constant itself. The DAG's
// inputs come from the run's parameters through the DAG tasks above it, which scope walks
// from the step's ID ("for-loop-1[2]/train": the root's task for-loop-1, its third
// iteration, and in its DAG the task train); upstream outputs from the run's status.
type scope struct {
	in     *PodInput
	walked bool
	err    error
	levels []level      // the DAG tasks from the root down to the task's DAG
	task   *ir.TaskSpec // the task itself, in its DAG
}

// level is one DAG task on the way down.
type level struct {
	id    string // its ID, iteration included
	task  *ir.TaskSpec
	comp  *ir.ComponentSpec // the DAG component it runs
	index int               // the iteration, -1 when it does not iterate
}

// walk finds the task and the DAG tasks above it.
func (s *scope) walk() error {
	if s.walked {
		return s.err
	}
	s.walked = true
	spec := &s.in.Pipeline.Spec
	comp := spec.Root
	segs := strings.Split(s.in.Step.ID, "/")
	for i, seg := range segs {
		name, index, err := parseSegment(seg)
		if err != nil {
			s.err = fmt.Errorf("task ID %q: %w", s.in.Step.ID, err)
			return s.err
		}
		if comp == nil || comp.DAG == nil {
			s.err = fmt.Errorf("task ID %q: %s is not in a DAG", s.in.Step.ID, seg)
			return s.err
		}
		t, ok := comp.DAG.Tasks[name]
		if !ok {
			s.err = fmt.Errorf("task ID %q: the pipeline has no task %s there", s.in.Step.ID, name)
			return s.err
		}
		if i == len(segs)-1 {
			s.task = &t
			return nil
		}
		child, ok := spec.Components[t.ComponentRef.Name]
		if !ok || child.DAG == nil {
			s.err = fmt.Errorf("task ID %q: task %s is not a DAG", s.in.Step.ID, name)
			return s.err
		}
		s.levels = append(s.levels, level{id: strings.Join(segs[:i+1], "/"), task: &t, comp: &child, index: index})
		comp = &child
	}
	return nil
}

// parseSegment splits "name[3]" into name and 3 (-1 without brackets).
func parseSegment(seg string) (string, int, error) {
	name, rest, ok := strings.Cut(seg, "[")
	if !ok {
		return seg, -1, nil
	}
	n, err := strconv.Atoi(strings.TrimSuffix(rest, "]"))
	if err != nil || !strings.HasSuffix(rest, "]") || n < 0 {
		return "", 0, fmt.Errorf("bad iteration %q", seg)
	}
	return name, n, nil
}

// depth is the index of the task's own DAG scope.
func (s *scope) depth() int { return len(s.levels) }

// platformParam resolves an InputParameterSpec of the platform spec: against the task's
// DAG, or, when the DAG has no such input, the task's own inputs (which older SDKs named).
func (s *scope) platformParam(spec ir.InputParameterSpec) (any, presence, error) {
	if err := s.walk(); err != nil {
		return nil, undeclared, err
	}
	v, p, err := s.binding(s.depth(), spec)
	if err == nil && p == undeclared && spec.ComponentInputParameter != "" {
		return s.taskInput(spec.ComponentInputParameter)
	}
	return v, p, err
}

// taskInput is the task's own input parameter name ({{$.inputs.parameters['name']}}):
// the planner's value, or, for the pipelinechannel-- inputs it leaves out of the step,
// the task's binding of it in its DAG.
func (s *scope) taskInput(name string) (any, presence, error) {
	if v, ok := s.in.Step.Parameters[name]; ok {
		return v, present(v), nil
	}
	if err := s.walk(); err != nil {
		return nil, undeclared, err
	}
	if s.task.Inputs != nil {
		if spec, ok := s.task.Inputs.Parameters[name]; ok {
			return s.binding(s.depth(), spec)
		}
	}
	if c, ok := s.in.Pipeline.Spec.Components[s.in.Step.Component]; ok && c.InputDefinitions != nil {
		if _, ok := c.InputDefinitions.Parameters[name]; ok {
			return nil, unset, nil
		}
	}
	return nil, undeclared, nil
}

func present(v any) presence {
	if v == nil {
		return unset
	}
	return set
}

// dagComponent is the component of scope k (0: the root).
func (s *scope) dagComponent(k int) *ir.ComponentSpec {
	if k == 0 {
		return s.in.Pipeline.Spec.Root
	}
	return s.levels[k-1].comp
}

// dagInput is the input parameter name of the DAG of scope k.
func (s *scope) dagInput(k int, name string) (any, presence, error) {
	comp := s.dagComponent(k)
	var def *ir.InputParameterDef
	if comp.InputDefinitions != nil {
		if d, ok := comp.InputDefinitions.Parameters[name]; ok {
			def = &d
		}
	}
	if k == 0 {
		if raw, ok := s.in.Run.Spec.Parameters[name]; ok {
			var v any
			if err := json.Unmarshal(raw.Raw, &v); err != nil {
				return nil, undeclared, fmt.Errorf("run parameter %s: %v", name, err)
			}
			return v, present(v), nil
		}
	} else {
		l := s.levels[k-1]
		if it := l.task.ParameterIterator; it != nil && name == it.ItemInput {
			return s.item(k-1, l)
		}
		if l.task.Inputs != nil {
			if spec, ok := l.task.Inputs.Parameters[name]; ok {
				v, p, err := s.binding(k-1, spec)
				if err != nil || p == set {
					return v, p, err
				}
				if def == nil || def.DefaultValue == nil {
					return nil, unset, nil
				}
			}
		}
	}
	switch {
	case def == nil:
		return nil, undeclared, nil
	case def.DefaultValue != nil:
		return def.DefaultValue, set, nil
	}
	return nil, unset, nil
}

// item is the loop item of iteration l of a ParameterIterator task of scope k.
func (s *scope) item(k int, l level) (any, presence, error) {
	it := l.task.ParameterIterator
	var v any = it.Items.Raw
	if it.Items.Raw == "" {
		var spec ir.InputParameterSpec
		if l.task.Inputs != nil {
			spec = l.task.Inputs.Parameters[it.Items.InputParameter]
		}
		var p presence
		var err error
		if v, p, err = s.binding(k, spec); err != nil {
			return nil, undeclared, err
		}
		if p != set {
			return nil, undeclared, fmt.Errorf("the items %s of loop %s have no value", it.Items.InputParameter, l.id)
		}
	}
	if str, ok := v.(string); ok {
		if err := json.Unmarshal([]byte(str), &v); err != nil {
			return nil, undeclared, fmt.Errorf("the items of loop %s are not a JSON list: %v", l.id, err)
		}
	}
	items, ok := v.([]any)
	if !ok || l.index < 0 || l.index >= len(items) {
		return nil, undeclared, fmt.Errorf("loop %s has no item %d", l.id, l.index)
	}
	return items[l.index], present(items[l.index]), nil
}

// binding resolves how an input is bound in the DAG of scope k.
func (s *scope) binding(k int, spec ir.InputParameterSpec) (any, presence, error) {
	if spec.ParameterExpressionSelector != "" {
		return nil, undeclared, errors.New("kfup does not evaluate a parameterExpressionSelector here")
	}
	switch {
	case spec.ComponentInputParameter != "":
		return s.dagInput(k, spec.ComponentInputParameter)
	case spec.RuntimeValue != nil:
		rv := spec.RuntimeValue
		switch {
		case rv.RuntimeParameter != "":
			return s.dagInput(k, rv.RuntimeParameter)
		case rv.Constant != nil:
			return rv.Constant, set, nil
		}
		return rv.ConstantValue, present(rv.ConstantValue), nil
	case spec.TaskOutputParameter != nil:
		return s.output(k, spec.TaskOutputParameter.ProducerTask, spec.TaskOutputParameter.OutputParameterKey)
	case spec.TaskFinalStatus != nil:
		return nil, undeclared, errors.New("a task's final status is no name kfup can use here")
	}
	return nil, undeclared, errors.New("the parameter spec names nothing")
}

// output is the output parameter key of task producer of the DAG of scope k, as the
// run's status holds it.
func (s *scope) output(k int, producer, key string) (any, presence, error) {
	comp := s.dagComponent(k)
	if comp == nil || comp.DAG == nil {
		return nil, undeclared, fmt.Errorf("no DAG holds task %s", producer)
	}
	t, ok := comp.DAG.Tasks[producer]
	if !ok {
		return nil, undeclared, fmt.Errorf("the task's DAG has no task %s", producer)
	}
	if c, ok := s.in.Pipeline.Spec.Components[t.ComponentRef.Name]; ok && c.DAG != nil {
		return nil, undeclared, fmt.Errorf("task %s is a DAG: kfup reads upstream outputs of executor tasks only here", producer)
	}
	id := producer
	if k > 0 {
		id = s.levels[k-1].id + "/" + producer
	}
	st := s.in.Run.Status.Task(id)
	if st == nil {
		return nil, undeclared, fmt.Errorf("task %s has not run: its output %s is not in the run's status", id, key)
	}
	raw, ok := st.Parameters[key]
	if !ok {
		return nil, undeclared, fmt.Errorf("task %s has no output parameter %s in the run's status", id, key)
	}
	var v any
	if err := json.Unmarshal(raw.Raw, &v); err != nil {
		return nil, undeclared, fmt.Errorf("task %s output %s: %v", id, key, err)
	}
	return v, present(v), nil
}

// describe names what spec refers to, for messages.
func describe(spec ir.InputParameterSpec) string {
	switch {
	case spec.ComponentInputParameter != "":
		return "input parameter " + spec.ComponentInputParameter
	case spec.RuntimeValue != nil && spec.RuntimeValue.RuntimeParameter != "":
		return "runtime parameter " + spec.RuntimeValue.RuntimeParameter
	case spec.TaskOutputParameter != nil:
		return "output " + spec.TaskOutputParameter.OutputParameterKey + " of task " + spec.TaskOutputParameter.ProducerTask
	}
	return "the parameter"
}
