// Package executor is the contract between kfup's pipeline run controller, its launcher
// (`kfup agent launch`, which runs in every task pod) and the user's component: KFP's
// ExecutorInput and ExecutorOutput, the JSON a kfp SDK component reads from
// --executor_input ({{$}}) and writes to outputs.outputFile, with the JSON names of
// KFP's pipeline_spec.proto.
//
// The controller makes a step's input with [Build] and reads the launcher's report with
// [ParseResult]; the launcher expands the container's placeholders with [Resolve] and
// gathers the outputs with [Collect]. Everything here is pure: no Kubernetes, no store,
// no file system but the readFile Collect is given.
package executor

import (
	"time"

	"github.com/kfup/kfup/components/pipelines/ir"
)

// The layout of a task container: the controller mounts an emptyDir at /kfup-pod.
const (
	// OutputsDir holds the output parameter files (OutputsDir/<name>/data) and the
	// executor output file.
	OutputsDir = "/kfup-pod/outputs"
	// OutputMetadataFile is the executor output file ({{$.outputs.output_file}}), where
	// Python components write their outputs.
	OutputMetadataFile = OutputsDir + "/output_metadata.json"
)

// ExecutorInput is what a component is given (pipelinespec.ExecutorInput).
type ExecutorInput struct {
	Inputs  Inputs  `json:"inputs"`
	Outputs Outputs `json:"outputs"`
}

// Inputs are a task's input values and artifacts (ExecutorInput.Inputs).
type Inputs struct {
	ParameterValues map[string]any          `json:"parameterValues,omitempty"`
	Artifacts       map[string]ArtifactList `json:"artifacts,omitempty"`
}

// Outputs say where a task's outputs go (ExecutorInput.Outputs).
type Outputs struct {
	Parameters map[string]OutputParameter `json:"parameters,omitempty"`
	Artifacts  map[string]ArtifactList    `json:"artifacts,omitempty"`
	// OutputFile is the executor output file the component may write.
	OutputFile string `json:"outputFile"`
}

// OutputParameter is the file an output parameter is written to.
type OutputParameter struct {
	OutputFile string `json:"outputFile"`
}

// ArtifactList is the artifacts of one input or output (pipelinespec.ArtifactList).
type ArtifactList struct {
	Artifacts []RuntimeArtifact `json:"artifacts"`
}

// RuntimeArtifact is one artifact (pipelinespec.RuntimeArtifact).
type RuntimeArtifact struct {
	Name     string          `json:"name,omitempty"`
	Type     ir.ArtifactType `json:"type"`
	URI      string          `json:"uri"`
	Metadata map[string]any  `json:"metadata"`
}

// ExecutorOutput is what a component may write to outputs.outputFile
// (pipelinespec.ExecutorOutput): output values, and artifacts whose metadata (and, rarely,
// URI) it set.
type ExecutorOutput struct {
	ParameterValues map[string]any          `json:"parameterValues,omitempty"`
	Artifacts       map[string]ArtifactList `json:"artifacts,omitempty"`
}

// RunInfo carries the run- and task-level placeholder values ({{$.pipeline_job_name}} and
// the others of ir.PipelinePlaceholders). The controller sets it on the task pod as JSON.
type RunInfo struct {
	// JobName is {{$.pipeline_job_name}}, JobResourceName {{$.pipeline_job_resource_name}}
	// and JobUID {{$.pipeline_job_uuid}}.
	JobName         string `json:"jobName,omitempty"`
	JobResourceName string `json:"jobResourceName,omitempty"`
	JobUID          string `json:"jobUID,omitempty"`
	// TaskName is {{$.pipeline_task_name}} and TaskUID {{$.pipeline_task_uuid}}.
	TaskName string `json:"taskName,omitempty"`
	TaskUID  string `json:"taskUID,omitempty"`
	// PipelineRoot is {{$.pipeline_root}}.
	PipelineRoot string `json:"pipelineRoot,omitempty"`
	// Namespace is {{$.pipeline_job_namespace}}.
	Namespace string `json:"namespace,omitempty"`
	// WorkspacePath is {{$.workspace_path}}, the run's workspace in the container; empty
	// when the pipeline has none (the placeholder is then an error).
	WorkspacePath string `json:"workspacePath,omitempty"`
	// CreateTime is {{$.pipeline_job_create_time_utc}} and ScheduleTime
	// {{$.pipeline_job_schedule_time_utc}} (the create time when zero: a run that no
	// schedule started), both RFC 3339 in UTC.
	CreateTime   time.Time `json:"createTime,omitzero"`
	ScheduleTime time.Time `json:"scheduleTime,omitzero"`
}
