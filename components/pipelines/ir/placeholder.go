package ir

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// PlaceholderKind is what a {{$...}} placeholder of a container's strings stands for.
type PlaceholderKind string

// The placeholders the kfp SDK emits.
const (
	PHExecutorInput       PlaceholderKind = "executor-input"        // {{$}}
	PHInputValue          PlaceholderKind = "input-value"           // {{$.inputs.parameters['x']}}
	PHInputPath           PlaceholderKind = "input-path"            // {{$.inputs.artifacts['x'].path}}
	PHInputURI            PlaceholderKind = "input-uri"             // {{$.inputs.artifacts['x'].uri}}
	PHInputMetadata       PlaceholderKind = "input-metadata"        // {{$.inputs.artifacts['x'].metadata}}
	PHOutputParameterFile PlaceholderKind = "output-parameter-file" // {{$.outputs.parameters['x'].output_file}}
	PHOutputPath          PlaceholderKind = "output-path"           // {{$.outputs.artifacts['x'].path}}
	PHOutputURI           PlaceholderKind = "output-uri"            // {{$.outputs.artifacts['x'].uri}}
	PHOutputMetadata      PlaceholderKind = "output-metadata"       // {{$.outputs.artifacts['x'].metadata}}
	PHOutputMetadataFile  PlaceholderKind = "output-metadata-file"  // {{$.outputs.output_file}}
	PHPipeline            PlaceholderKind = "pipeline"              // {{$.pipeline_job_name}} and friends
)

// PipelinePlaceholders are the run- and task-level values, by placeholder name.
var PipelinePlaceholders = []string{
	"pipeline_job_name", "pipeline_job_resource_name", "pipeline_job_uuid",
	"pipeline_task_name", "pipeline_task_uuid", "pipeline_root",
	"pipeline_job_create_time_utc", "pipeline_job_schedule_time_utc", "workspace_path",
	"pipeline_job_namespace",
}

// Placeholder is one parsed {{$...}} placeholder.
type Placeholder struct {
	Text string          // as written, braces included
	Kind PlaceholderKind //
	Name string          // the input/output name, or the pipeline value's name
	Key  string          // metadata key, for .metadata['k']
}

var (
	placeholderRE = regexp.MustCompile(`\{\{\$[^{}]*\}\}`)
	ioRE          = regexp.MustCompile(`^\{\{\$\.(inputs|outputs)\.(parameters|artifacts)\['((?:[^'\\]|\\.)*)'\](?:\.([a-z_]+)(?:\['([^']*)'\])?)?\}\}$`)
)

// FindPlaceholders returns the {{$...}} placeholders in s, in order.
func FindPlaceholders(s string) []string { return placeholderRE.FindAllString(s, -1) }

// ParsePlaceholder parses one {{$...}} placeholder.
func ParsePlaceholder(text string) (Placeholder, error) {
	ph := Placeholder{Text: text}
	if text == "{{$}}" {
		ph.Kind = PHExecutorInput
		return ph, nil
	}
	if text == "{{$.outputs.output_file}}" {
		ph.Kind = PHOutputMetadataFile
		return ph, nil
	}
	if name, ok := strings.CutPrefix(text, "{{$."); ok {
		name = strings.TrimSuffix(name, "}}")
		for _, p := range PipelinePlaceholders {
			if name == p {
				ph.Kind, ph.Name = PHPipeline, name
				return ph, nil
			}
		}
	}
	m := ioRE.FindStringSubmatch(text)
	if m == nil {
		return ph, fmt.Errorf("unknown placeholder %s", text)
	}
	dir, what, name, attr, key := m[1], m[2], m[3], m[4], m[5]
	ph.Name, ph.Key = name, key
	switch {
	case dir == "inputs" && what == "parameters" && attr == "":
		ph.Kind = PHInputValue
	case dir == "outputs" && what == "parameters" && attr == "output_file":
		ph.Kind = PHOutputParameterFile
	case what == "artifacts" && (attr == "path" || attr == "uri" || attr == "metadata"):
		if key != "" && attr != "metadata" {
			return ph, fmt.Errorf("unknown placeholder %s", text)
		}
		ph.Kind = map[string]map[string]PlaceholderKind{
			"inputs":  {"path": PHInputPath, "uri": PHInputURI, "metadata": PHInputMetadata},
			"outputs": {"path": PHOutputPath, "uri": PHOutputURI, "metadata": PHOutputMetadata},
		}[dir][attr]
	default:
		return ph, fmt.Errorf("unknown placeholder %s", text)
	}
	return ph, nil
}

// StructuredPlaceholder is a container argument the SDK writes as JSON: {"Concat": [...]}
// or {"IfPresent": {"InputName": "x", "Then": [...], "Else": [...]}}.
type StructuredPlaceholder struct {
	Concat    []any      `json:"Concat,omitempty"`
	IfPresent *IfPresent `json:"IfPresent,omitempty"`
}

// IfPresent expands to Then when input InputName has a value, else to Else.
type IfPresent struct {
	InputName string `json:"InputName"`
	Then      any    `json:"Then,omitempty"`
	Else      any    `json:"Else,omitempty"`
}

// ParseStructured parses s as a structured placeholder; ok is false when s is not one.
func ParseStructured(s string) (sp StructuredPlaceholder, ok bool, err error) {
	t := strings.TrimSpace(s)
	if !strings.HasPrefix(t, `{"Concat"`) && !strings.HasPrefix(t, `{"IfPresent"`) {
		return sp, false, nil
	}
	dec := json.NewDecoder(strings.NewReader(t))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sp); err != nil {
		return sp, true, fmt.Errorf("structured placeholder %s: %v", t, err)
	}
	if (sp.Concat == nil) == (sp.IfPresent == nil) {
		return sp, true, fmt.Errorf("structured placeholder %s: want exactly one of Concat and IfPresent", t)
	}
	if sp.IfPresent != nil && sp.IfPresent.InputName == "" {
		return sp, true, fmt.Errorf("structured placeholder %s: IfPresent needs InputName", t)
	}
	return sp, true, nil
}

// walkArg calls str for every plain string of a container argument, descending into
// structured placeholders, and ifPresent for every IfPresent input name.
func walkArg(s string, str func(string), ifPresent func(string)) error {
	sp, ok, err := ParseStructured(s)
	if err != nil {
		return err
	}
	if !ok {
		str(s)
		return nil
	}
	var walk func(v any) error
	walk = func(v any) error {
		switch x := v.(type) {
		case nil:
			return nil
		case string:
			return walkArg(x, str, ifPresent)
		case []any:
			for _, e := range x {
				if err := walk(e); err != nil {
					return err
				}
			}
			return nil
		case map[string]any:
			b, _ := json.Marshal(x)
			return walkArg(string(b), str, ifPresent)
		}
		return fmt.Errorf("structured placeholder: unexpected %v", v)
	}
	if sp.Concat != nil {
		return walk(sp.Concat)
	}
	ifPresent(sp.IfPresent.InputName)
	if err := walk(sp.IfPresent.Then); err != nil {
		return err
	}
	return walk(sp.IfPresent.Else)
}
