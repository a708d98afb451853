package plan

import (
	"encoding/json"
	"fmt"

	"github.com/kfup/kfup/components/pipelines/ir"
)

// iterate expands a ParallelFor task into one instance per item, starting at most
// iteratorPolicy.parallelismLimit at a time, and collects the instances' outputs: each
// output parameter becomes the list of the instances' values (in item order, skipped
// instances left out), each output artifact the concatenation of theirs.
func (p *planner) iterate(id, name string, t *ir.TaskSpec, c *ir.ComponentSpec, params map[string]any, arts map[string][]Artifact) result {
	var items []any
	itemInput := ""
	var artItems []Artifact
	if it := t.ParameterIterator; it != nil {
		itemInput = it.ItemInput
		var err error
		if items, err = parameterItems(it, params); err != nil {
			return p.fail(id, err)
		}
	} else {
		itemInput = t.ArtifactIterator.ItemInput
		artItems = arts[t.ArtifactIterator.Items.InputArtifact]
		for range artItems {
			items = append(items, nil)
		}
	}
	limit := 0
	if t.IteratorPolicy != nil {
		limit = int(t.IteratorPolicy.ParallelismLimit)
	}
	out := result{phase: Succeeded, params: map[string]any{}, artifacts: map[string][]Artifact{}}
	var errs []string
	active := 0
	results := make([]result, len(items))
	for i := range items {
		iid := fmt.Sprintf("%s[%d]", id, i)
		if limit > 0 && active >= limit && !p.started(iid) {
			results[i] = result{phase: Pending}
			continue
		}
		ip, ia := copyParams(params), copyArts(arts)
		if t.ParameterIterator != nil {
			ip[itemInput] = items[i]
		} else {
			ia[itemInput] = []Artifact{artItems[i]}
		}
		r := p.run(iid, name, t, c, ip, ia)
		results[i] = r
		if !r.phase.Final() {
			active++
		}
	}
	for _, r := range results {
		switch r.phase {
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
	var outNames []string
	if c.OutputDefinitions != nil {
		outNames = keys(c.OutputDefinitions.Parameters)
		for _, k := range outNames {
			l := []any{}
			for _, r := range results {
				if v, ok := r.params[k]; ok && r.phase == Succeeded {
					l = append(l, v)
				}
			}
			out.params[k] = l
		}
		for _, k := range keys(c.OutputDefinitions.Artifacts) {
			var l []Artifact
			for _, r := range results {
				l = append(l, r.artifacts[k]...)
			}
			out.artifacts[k] = l
		}
	}
	return out
}

// parameterItems returns the list a parameterIterator iterates over: its raw JSON list,
// or the task input it names, a list or a string holding a JSON list.
func parameterItems(it *ir.ParameterIterator, params map[string]any) ([]any, error) {
	var v any
	if it.Items.Raw != "" {
		v = it.Items.Raw
	} else {
		var ok bool
		if v, ok = params[it.Items.InputParameter]; !ok {
			return nil, fmt.Errorf("iterator input %q has no value", it.Items.InputParameter)
		}
	}
	if s, ok := v.(string); ok {
		if err := json.Unmarshal([]byte(s), &v); err != nil {
			return nil, fmt.Errorf("iterator items %q: not a JSON list: %v", s, err)
		}
	}
	l, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("iterator items: %v is not a list", v)
	}
	return l, nil
}

func copyParams(m map[string]any) map[string]any {
	out := make(map[string]any, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}

func copyArts(m map[string][]Artifact) map[string][]Artifact {
	out := make(map[string][]Artifact, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}
