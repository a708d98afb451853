package executor

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/kfup/kfup/components/pipelines/ir"
	"github.com/kfup/kfup/components/pipelines/store"
)

// placeholderRE is the pattern of ir.FindPlaceholders; Resolve needs the positions, so
// that one pass replaces each placeholder and a value that holds "{{$...}}" stays as it is.
var placeholderRE = regexp.MustCompile(`\{\{\$[^{}]*\}\}`)

// Resolve expands the placeholders of a container's command and args (or of one env value)
// against executor input in and run values info, as KFP's launcher does:
//
//   - {{$}} is the whole executor input as JSON;
//   - {{$.inputs.parameters['x']}} is the value: a string as it is, a number in plain
//     decimal, a boolean as true/false, a list or struct as JSON;
//   - {{$.inputs.artifacts['x'].path}} is store.LocalPath of its URI (an error when the
//     URI has none), .uri the URI, .metadata the metadata as JSON, .metadata['k'] one key;
//     the first artifact of a list;
//   - {{$.outputs.parameters['x'].output_file}}, {{$.outputs.artifacts['x'].path|uri|
//     metadata}} and {{$.outputs.output_file}} likewise for the outputs, which must exist;
//   - {{$.pipeline_job_name}} and the other run values come from info;
//   - {"Concat": [...]} is one argument, its items joined; {"IfPresent": {"InputName": x,
//     "Then": ..., "Else": ...}} is Then's arguments when input x has a (non-null) value,
//     else Else's (none when unset).
//
// An input without a value (an optional one left out) expands to "", since the validator
// allows placeholders only for declared inputs and the planner sets every required one.
// Run values in string input parameters ("{{$.pipeline_job_uuid}}" as a constant) are
// replaced too, in {{$}} as well, because the planner leaves them to the launcher. An
// unknown placeholder is an error naming it.
func Resolve(args []string, in *ExecutorInput, info RunInfo) ([]string, error) {
	r := &resolver{info: info}
	var err error
	if r.in, err = withRunValues(in, info); err != nil {
		return nil, err
	}
	out := []string{}
	for _, a := range args {
		vs, err := r.arg(a)
		if err != nil {
			return nil, err
		}
		out = append(out, vs...)
	}
	return out, nil
}

type resolver struct {
	in     *ExecutorInput
	info   RunInfo
	inJSON string // {{$}}, made on first use
}

// arg expands one argument: a structured placeholder to any number of arguments, a plain
// string to one.
func (r *resolver) arg(s string) ([]string, error) {
	sp, ok, err := ir.ParseStructured(s)
	if err != nil {
		return nil, err
	}
	if !ok {
		v, err := r.str(s)
		if err != nil {
			return nil, err
		}
		return []string{v}, nil
	}
	if sp.Concat != nil {
		var b strings.Builder
		for _, item := range sp.Concat {
			vs, err := r.item(item)
			if err != nil {
				return nil, err
			}
			b.WriteString(strings.Join(vs, ""))
		}
		return []string{b.String()}, nil
	}
	branch := sp.IfPresent.Else
	if r.present(sp.IfPresent.InputName) {
		branch = sp.IfPresent.Then
	}
	if list, isList := branch.([]any); isList {
		out := []string{}
		for _, item := range list {
			vs, err := r.item(item)
			if err != nil {
				return nil, err
			}
			out = append(out, vs...)
		}
		return out, nil
	}
	return r.item(branch)
}

// item expands one item of a Concat or an IfPresent branch: a string (maybe itself a
// structured placeholder), a nested structured placeholder as a JSON object, or nothing.
func (r *resolver) item(v any) ([]string, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		return r.arg(x)
	case map[string]any:
		b, err := json.Marshal(x)
		if err != nil {
			return nil, err
		}
		return r.arg(string(b))
	}
	return nil, fmt.Errorf("structured placeholder: unexpected %s in Concat or IfPresent", jsonString(v))
}

// present reports whether input name has a value: a parameter that is not null, or an
// artifact.
func (r *resolver) present(name string) bool {
	if v, ok := r.in.Inputs.ParameterValues[name]; ok && v != nil {
		return true
	}
	return len(r.in.Inputs.Artifacts[name].Artifacts) > 0
}

// str replaces the placeholders of s.
func (r *resolver) str(s string) (string, error) {
	var firstErr error
	out := placeholderRE.ReplaceAllStringFunc(s, func(text string) string {
		if firstErr != nil {
			return text
		}
		v, err := r.value(text)
		if err != nil {
			firstErr = err
		}
		return v
	})
	return out, firstErr
}

// value is what one placeholder expands to.
func (r *resolver) value(text string) (string, error) {
	ph, err := ir.ParsePlaceholder(text)
	if err != nil {
		return "", err
	}
	in := r.in
	switch ph.Kind {
	case ir.PHExecutorInput:
		if r.inJSON == "" {
			r.inJSON = jsonString(in)
		}
		return r.inJSON, nil
	case ir.PHInputValue:
		return formatValue(in.Inputs.ParameterValues[ph.Name]), nil
	case ir.PHInputPath, ir.PHInputURI, ir.PHInputMetadata:
		list := in.Inputs.Artifacts[ph.Name].Artifacts
		if len(list) == 0 {
			return "", nil
		}
		return artifactValue(text, "input", ph, list[0])
	case ir.PHOutputParameterFile:
		o, ok := in.Outputs.Parameters[ph.Name]
		if !ok {
			return "", fmt.Errorf("%s: the task has no output parameter %q", text, ph.Name)
		}
		return o.OutputFile, nil
	case ir.PHOutputPath, ir.PHOutputURI, ir.PHOutputMetadata:
		list := in.Outputs.Artifacts[ph.Name].Artifacts
		if len(list) == 0 {
			return "", fmt.Errorf("%s: the task has no output artifact %q", text, ph.Name)
		}
		return artifactValue(text, "output", ph, list[0])
	case ir.PHOutputMetadataFile:
		return in.Outputs.OutputFile, nil
	case ir.PHPipeline:
		return runValue(text, ph.Name, r.info)
	}
	return "", fmt.Errorf("unknown placeholder %s", text)
}

// artifactValue is the path, URI or metadata of artifact a.
func artifactValue(text, dir string, ph ir.Placeholder, a RuntimeArtifact) (string, error) {
	switch ph.Kind {
	case ir.PHInputPath, ir.PHOutputPath:
		p, ok := store.LocalPath(a.URI)
		if !ok {
			return "", fmt.Errorf("%s: %s artifact %q has URI %s, which has no local path (kfup maps minio://, s3:// and gs:// URIs)", text, dir, ph.Name, a.URI)
		}
		return p, nil
	case ir.PHInputURI, ir.PHOutputURI:
		return a.URI, nil
	}
	if ph.Key != "" {
		return formatValue(a.Metadata[ph.Key]), nil
	}
	if a.Metadata == nil {
		return "{}", nil
	}
	return jsonString(a.Metadata), nil
}

// runValue is the value of run placeholder name ({{$.pipeline_job_name}} ...).
func runValue(text, name string, info RunInfo) (string, error) {
	rfc3339 := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	var v string
	switch name {
	case "pipeline_job_name":
		v = info.JobName
	case "pipeline_job_resource_name":
		v = info.JobResourceName
	case "pipeline_job_uuid":
		v = info.JobUID
	case "pipeline_task_name":
		v = info.TaskName
	case "pipeline_task_uuid":
		v = info.TaskUID
	case "pipeline_root":
		v = info.PipelineRoot
	case "pipeline_job_namespace":
		v = info.Namespace
	case "pipeline_job_create_time_utc":
		v = rfc3339(info.CreateTime)
	case "pipeline_job_schedule_time_utc":
		v = rfc3339(info.ScheduleTime)
		if v == "" {
			v = rfc3339(info.CreateTime)
		}
	case "workspace_path":
		if info.WorkspacePath == "" {
			return "", fmt.Errorf("%s: the run has no workspace (set pipelineConfig.workspace in the pipeline)", text)
		}
		return info.WorkspacePath, nil
	default:
		return "", fmt.Errorf("unknown placeholder %s", text)
	}
	if v == "" {
		return "", fmt.Errorf("%s: the task's run info has no value for it", text)
	}
	return v, nil
}

// withRunValues returns in with the run placeholders in its string input parameters
// replaced (a copy when there are any).
func withRunValues(in *ExecutorInput, info RunInfo) (*ExecutorInput, error) {
	var params map[string]any
	for _, k := range sortedKeys(in.Inputs.ParameterValues) {
		s, ok := in.Inputs.ParameterValues[k].(string)
		if !ok || !strings.Contains(s, "{{$.") {
			continue
		}
		var firstErr error
		out := placeholderRE.ReplaceAllStringFunc(s, func(text string) string {
			ph, err := ir.ParsePlaceholder(text)
			if err != nil || ph.Kind != ir.PHPipeline || firstErr != nil {
				return text // not a run value: the user's own text
			}
			v, err := runValue(text, ph.Name, info)
			if err != nil {
				firstErr = fmt.Errorf("input parameter %q: %w", k, err)
			}
			return v
		})
		if firstErr != nil {
			return nil, firstErr
		}
		if out != s {
			if params == nil {
				params = maps.Clone(in.Inputs.ParameterValues)
			}
			params[k] = out
		}
	}
	if params == nil {
		return in, nil
	}
	cp := *in
	cp.Inputs.ParameterValues = params
	return &cp, nil
}

// formatValue renders a parameter value as KFP's launcher does: a string as it is, a
// number in plain decimal (3, 0.5, never 3e+06), a boolean as true/false, a list or
// struct as JSON; nothing (nil) as "".
func formatValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	return jsonString(v)
}

// jsonString is v as compact JSON, with <, > and & left as they are (the text lands in
// a command line, not in HTML).
func jsonString(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSuffix(b.String(), "\n")
}
