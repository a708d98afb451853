package executor

import (
	"fmt"
	"maps"
	"path"
	"sort"
	"strings"

	"github.com/kfup/kfup/components/pipelines/ir"
	"github.com/kfup/kfup/components/pipelines/plan"
)

// Build makes the executor input of step s of pipeline p: its inputs are s.Parameters and
// s.Artifacts (typed by the component's inputDefinitions, each artifact named by its
// URI's last segment); each output parameter goes to OutputsDir/<name>/data; each output
// artifact is one artifact at outputURI(name), typed by the outputDefinitions, with the
// metadata they declare (usually none), as KFP's driver provisions it. A required input
// without a value is an error: the planner should not have made the step.
func Build(p *ir.Pipeline, s plan.Step, outputURI func(output string) string) (*ExecutorInput, error) {
	c, err := Component(p, s)
	if err != nil {
		return nil, err
	}
	ins, outs := ir.ComponentInputs{}, ir.ComponentOutputs{}
	if c.InputDefinitions != nil {
		ins = *c.InputDefinitions
	}
	if c.OutputDefinitions != nil {
		outs = *c.OutputDefinitions
	}
	in := &ExecutorInput{Outputs: Outputs{OutputFile: OutputMetadataFile}}
	if len(s.Parameters) > 0 {
		in.Inputs.ParameterValues = maps.Clone(s.Parameters)
	}
	for _, name := range sortedKeys(ins.Parameters) {
		if d := ins.Parameters[name]; !d.IsOptional && d.DefaultValue == nil {
			if _, ok := s.Parameters[name]; !ok {
				return nil, fmt.Errorf("input parameter %q has no value", name)
			}
		}
	}
	for _, name := range sortedKeys(s.Artifacts) {
		list := s.Artifacts[name]
		if len(list) == 0 {
			continue
		}
		def, declared := ins.Artifacts[name]
		var arts []RuntimeArtifact
		for _, a := range list {
			t := def.ArtifactType
			if !declared {
				t = ir.ArtifactType{SchemaTitle: a.Type}
			}
			arts = append(arts, RuntimeArtifact{Name: path.Base(a.URI), Type: t, URI: a.URI, Metadata: cloneMetadata(a.Metadata)})
		}
		if in.Inputs.Artifacts == nil {
			in.Inputs.Artifacts = map[string]ArtifactList{}
		}
		in.Inputs.Artifacts[name] = ArtifactList{Artifacts: arts}
	}
	for _, name := range sortedKeys(ins.Artifacts) {
		if _, ok := in.Inputs.Artifacts[name]; !ok && !ins.Artifacts[name].IsOptional {
			return nil, fmt.Errorf("input artifact %q has no value", name)
		}
	}
	for _, name := range sortedKeys(outs.Parameters) {
		if err := fileName(name); err != nil {
			return nil, fmt.Errorf("output parameter %q: %w", name, err)
		}
		if in.Outputs.Parameters == nil {
			in.Outputs.Parameters = map[string]OutputParameter{}
		}
		in.Outputs.Parameters[name] = OutputParameter{OutputFile: OutputsDir + "/" + name + "/data"}
	}
	for _, name := range sortedKeys(outs.Artifacts) {
		uri := outputURI(name)
		if uri == "" {
			return nil, fmt.Errorf("output artifact %q has no URI", name)
		}
		if in.Outputs.Artifacts == nil {
			in.Outputs.Artifacts = map[string]ArtifactList{}
		}
		d := outs.Artifacts[name]
		in.Outputs.Artifacts[name] = ArtifactList{Artifacts: []RuntimeArtifact{{
			Name: name, Type: d.ArtifactType, URI: uri, Metadata: cloneMetadata(d.Metadata),
		}}}
	}
	return in, nil
}

// Component returns the executor component step s of p runs.
func Component(p *ir.Pipeline, s plan.Step) (*ir.ComponentSpec, error) {
	c, ok := p.Spec.Components[s.Component]
	if !ok {
		return nil, fmt.Errorf("step %s: the pipeline has no component %q", s.ID, s.Component)
	}
	if c.ExecutorLabel == "" {
		return nil, fmt.Errorf("step %s: component %q is not an executor", s.ID, s.Component)
	}
	return &c, nil
}

// fileName checks that an output's name can name a directory under OutputsDir.
func fileName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\\\x00") {
		return fmt.Errorf("the name cannot name a file")
	}
	return nil
}

// cloneMetadata copies m, never nil: the kfp SDK reads metadata as a dict.
func cloneMetadata(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return maps.Clone(m)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
