package plan

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/kfup/kfup/components/pipelines/ir"
)

// resolve computes a task's input values. missing is set (and the task skipped) when an
// input comes from an upstream task that was skipped and the input has no default.
func (p *planner) resolve(t *ir.TaskSpec, child *ir.ComponentSpec, siblings map[string]result, scopeParams map[string]any, scopeArts map[string][]Artifact) (params map[string]any, arts map[string][]Artifact, missing string, err error) {
	params, arts = map[string]any{}, map[string][]Artifact{}
	var defs map[string]ir.InputParameterDef
	if child.InputDefinitions != nil {
		defs = child.InputDefinitions.Parameters
	}
	var inputs ir.TaskInputs
	if t.Inputs != nil {
		inputs = *t.Inputs
	}
	var constants []string
	for _, k := range keys(inputs.Parameters) {
		in := inputs.Parameters[k]
		var v any
		have := true
		switch {
		case in.ComponentInputParameter != "":
			v, have = scopeParams[in.ComponentInputParameter]
		case in.TaskOutputParameter != nil:
			r := siblings[in.TaskOutputParameter.ProducerTask]
			v, have = r.params[in.TaskOutputParameter.OutputParameterKey]
			if !have && r.phase == Skipped && defs[k].DefaultValue == nil && !defs[k].IsOptional && strings.HasPrefix(k, "pipelinechannel--") == false {
				return nil, nil, fmt.Sprintf("input %s comes from skipped task %s", k, in.TaskOutputParameter.ProducerTask), nil
			}
		case in.RuntimeValue != nil:
			switch {
			case in.RuntimeValue.RuntimeParameter != "":
				v, have = scopeParams[in.RuntimeValue.RuntimeParameter]
			case in.RuntimeValue.Constant != nil:
				v = in.RuntimeValue.Constant
			default:
				v = in.RuntimeValue.ConstantValue
			}
			if s, ok := v.(string); ok && len(ir.FindPlaceholders(s)) > 0 {
				constants = append(constants, k)
			}
		case in.TaskFinalStatus != nil:
			v = finalStatus(in.TaskFinalStatus.ProducerTask, siblings[in.TaskFinalStatus.ProducerTask])
		}
		if have && in.ParameterExpressionSelector != "" {
			if v, err = selectParam(in.ParameterExpressionSelector, v); err != nil {
				return nil, nil, "", fmt.Errorf("input %s: %w", k, err)
			}
		}
		if !have {
			if d, ok := defs[k]; ok && d.DefaultValue != nil {
				v, have = d.DefaultValue, true
			}
		}
		if have {
			params[k] = v
		}
	}
	// Constants such as "heads and {{$.inputs.parameters['pipelinechannel--x']}}" read the
	// task's other inputs.
	for _, k := range constants {
		s := params[k].(string)
		for _, ph := range ir.FindPlaceholders(s) {
			x, err := ir.ParsePlaceholder(ph)
			if err != nil || x.Kind != ir.PHInputValue {
				continue // pipeline-level values are the launcher's to fill
			}
			if v, ok := params[x.Name]; ok {
				s = strings.ReplaceAll(s, ph, formatValue(v))
			}
		}
		params[k] = s
	}
	for k, d := range defs {
		if _, ok := params[k]; !ok && d.DefaultValue != nil {
			params[k] = d.DefaultValue
		}
	}
	for _, k := range keys(inputs.Artifacts) {
		in := inputs.Artifacts[k]
		switch {
		case in.ComponentInputArtifact != "":
			if a, ok := scopeArts[in.ComponentInputArtifact]; ok {
				arts[k] = a
			}
		case in.TaskOutputArtifact != nil:
			r := siblings[in.TaskOutputArtifact.ProducerTask]
			a, ok := r.artifacts[in.TaskOutputArtifact.OutputArtifactKey]
			if ok {
				arts[k] = a
			} else if r.phase == Skipped {
				return nil, nil, fmt.Sprintf("input artifact %s comes from skipped task %s", k, in.TaskOutputArtifact.ProducerTask), nil
			}
		}
	}
	return params, arts, "", nil
}

// finalStatus is the PipelineTaskFinalStatus an exit handler receives.
func finalStatus(task string, r result) map[string]any {
	state := map[Phase]string{Succeeded: "SUCCEEDED", Failed: "FAILED", Skipped: "SKIPPED"}[r.phase]
	st := map[string]any{"state": state, "pipelineTaskName": task}
	if r.err != "" {
		st["error"] = map[string]any{"code": 2, "message": r.err}
	}
	return st
}

// selectParam applies a parameterExpressionSelector. kfup implements the forms the SDK
// writes for indexing JSON values: parseJson(string_value)["key"] and [i].
func selectParam(sel string, v any) (any, error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(sel), "parseJson(string_value)")
	if !ok {
		return nil, fmt.Errorf("parameterExpressionSelector %q: kfup supports parseJson(string_value)[\"key\"] and [i] only", sel)
	}
	if s, isStr := v.(string); isStr {
		if err := json.Unmarshal([]byte(s), &v); err != nil {
			return nil, fmt.Errorf("parameterExpressionSelector %q: value is not JSON: %v", sel, err)
		}
	}
	for rest != "" {
		if !strings.HasPrefix(rest, "[") {
			return nil, fmt.Errorf("parameterExpressionSelector %q: expected [ at %q", sel, rest)
		}
		end := strings.Index(rest, "]")
		if end < 0 {
			return nil, fmt.Errorf("parameterExpressionSelector %q: unclosed [", sel)
		}
		key := strings.Trim(rest[1:end], `"' `)
		rest = rest[end+1:]
		switch x := v.(type) {
		case map[string]any:
			if v, ok = x[key]; !ok {
				return nil, fmt.Errorf("parameterExpressionSelector %q: no key %q", sel, key)
			}
		case []any:
			var i int
			if _, err := fmt.Sscanf(key, "%d", &i); err != nil || i < 0 || i >= len(x) {
				return nil, fmt.Errorf("parameterExpressionSelector %q: bad index %q", sel, key)
			}
			v = x[i]
		default:
			return nil, fmt.Errorf("parameterExpressionSelector %q: cannot index %v", sel, v)
		}
	}
	return v, nil
}

// dagOutputs resolves a finished DAG's outputs from its subtasks.
func dagOutputs(c *ir.ComponentSpec, results map[string]result) (map[string]any, map[string][]Artifact) {
	params, arts := map[string]any{}, map[string][]Artifact{}
	if c.DAG.Outputs == nil {
		return params, arts
	}
	for k, o := range c.DAG.Outputs.Parameters {
		var sels []ir.ParameterSelector
		if o.ValueFromParameter != nil {
			sels = []ir.ParameterSelector{*o.ValueFromParameter}
		} else if o.ValueFromOneof != nil {
			sels = o.ValueFromOneof.ParameterSelectors
		}
		for _, s := range sels {
			if v, ok := results[s.ProducerSubtask].params[s.OutputParameterKey]; ok {
				params[k] = v
				break
			}
		}
	}
	for k, o := range c.DAG.Outputs.Artifacts {
		for _, s := range o.ArtifactSelectors {
			if a, ok := results[s.ProducerSubtask].artifacts[s.OutputArtifactKey]; ok {
				arts[k] = a
				break
			}
		}
	}
	return params, arts
}
