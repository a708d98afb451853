// Package ir holds kfup's own types for the Kubeflow Pipelines intermediate representation
// (PipelineSpec schemaVersion 2.1.0, as the kfp SDK compiles it, plus the kfp-kubernetes
// platform spec), its parser and its validator. The types are JSON/YAML-compatible with
// KFP's protos (camelCase JSON names); kfup does not depend on the KFP Go module.
//
// Decoding is strict by default: a key kfup does not know is an error, because a misspelt
// key in a task (componentRef, dependentTasks, triggerPolicy ...) would silently change
// what runs. Fields whose value KFP itself treats as free-form (metadata structs, the
// platform's config, pipelineConfig) are marked `kfup:"lenient"` and decoded without key
// checks; unknown keys in the kfp-kubernetes executor config are warnings, since that
// plugin grows fields faster than the pipeline schema.
package ir

// SchemaVersions are the PipelineSpec schema versions kfup runs.
var SchemaVersions = []string{"2.1.0", "2.0.0"}

// PipelineSpec is a compiled pipeline: the first YAML document of a kfp IR file.
type PipelineSpec struct {
	PipelineInfo        PipelineInfo             `json:"pipelineInfo"`
	DeploymentSpec      DeploymentSpec           `json:"deploymentSpec"`
	SDKVersion          string                   `json:"sdkVersion,omitempty"`
	SchemaVersion       string                   `json:"schemaVersion"`
	Components          map[string]ComponentSpec `json:"components,omitempty"`
	Root                *ComponentSpec           `json:"root"`
	DefaultPipelineRoot string                   `json:"defaultPipelineRoot,omitempty"`
}

// PipelineInfo names the pipeline.
type PipelineInfo struct {
	Name        string `json:"name"`
	DisplayName string `json:"displayName,omitempty"`
	Description string `json:"description,omitempty"`
}

// ComponentSpec is a component: its interface and either a DAG or an executor label.
type ComponentSpec struct {
	InputDefinitions    *ComponentInputs  `json:"inputDefinitions,omitempty"`
	OutputDefinitions   *ComponentOutputs `json:"outputDefinitions,omitempty"`
	DAG                 *DAGSpec          `json:"dag,omitempty"`
	ExecutorLabel       string            `json:"executorLabel,omitempty"`
	SinglePlatformSpecs []map[string]any  `json:"singlePlatformSpecs,omitempty" kfup:"lenient"`
}

// ComponentInputs declares a component's input parameters and artifacts.
type ComponentInputs struct {
	Artifacts  map[string]InputArtifactDef  `json:"artifacts,omitempty"`
	Parameters map[string]InputParameterDef `json:"parameters,omitempty"`
}

// InputArtifactDef declares one input artifact.
type InputArtifactDef struct {
	ArtifactType   ArtifactType `json:"artifactType"`
	IsArtifactList bool         `json:"isArtifactList,omitempty"`
	IsOptional     bool         `json:"isOptional,omitempty"`
	Description    string       `json:"description,omitempty"`
}

// InputParameterDef declares one input parameter.
type InputParameterDef struct {
	Type          string        `json:"type,omitempty"` // deprecated PrimitiveType
	ParameterType ParameterType `json:"parameterType,omitempty"`
	DefaultValue  any           `json:"defaultValue,omitempty" kfup:"lenient"`
	IsOptional    bool          `json:"isOptional,omitempty"`
	Description   string        `json:"description,omitempty"`
}

// ComponentOutputs declares a component's output parameters and artifacts.
type ComponentOutputs struct {
	Artifacts  map[string]OutputArtifactDef  `json:"artifacts,omitempty"`
	Parameters map[string]OutputParameterDef `json:"parameters,omitempty"`
}

// OutputArtifactDef declares one output artifact.
type OutputArtifactDef struct {
	ArtifactType     ArtifactType   `json:"artifactType"`
	Properties       map[string]any `json:"properties,omitempty" kfup:"lenient"`
	CustomProperties map[string]any `json:"customProperties,omitempty" kfup:"lenient"`
	Metadata         map[string]any `json:"metadata,omitempty" kfup:"lenient"`
	IsArtifactList   bool           `json:"isArtifactList,omitempty"`
	Description      string         `json:"description,omitempty"`
}

// OutputParameterDef declares one output parameter.
type OutputParameterDef struct {
	Type          string        `json:"type,omitempty"` // deprecated PrimitiveType
	ParameterType ParameterType `json:"parameterType,omitempty"`
	Description   string        `json:"description,omitempty"`
}

// ParameterType is a parameter's type (ParameterType.ParameterTypeEnum).
type ParameterType string

// The parameter types of PipelineSpec 2.1.0.
const (
	TypeDouble          ParameterType = "NUMBER_DOUBLE"
	TypeInteger         ParameterType = "NUMBER_INTEGER"
	TypeString          ParameterType = "STRING"
	TypeBoolean         ParameterType = "BOOLEAN"
	TypeList            ParameterType = "LIST"
	TypeStruct          ParameterType = "STRUCT"
	TypeTaskFinalStatus ParameterType = "TASK_FINAL_STATUS"
)

// Known reports whether t is one of the parameter types of the schema.
func (t ParameterType) Known() bool {
	switch t {
	case TypeDouble, TypeInteger, TypeString, TypeBoolean, TypeList, TypeStruct, TypeTaskFinalStatus:
		return true
	}
	return false
}

// ArtifactType is an artifact's type (ArtifactTypeSchema); system.Artifact accepts any.
type ArtifactType struct {
	SchemaTitle    string `json:"schemaTitle,omitempty"`
	SchemaURI      string `json:"schemaUri,omitempty"`
	InstanceSchema string `json:"instanceSchema,omitempty"`
	SchemaVersion  string `json:"schemaVersion,omitempty"`
}

// DAGSpec is a DAG component's tasks and how its outputs come from them.
type DAGSpec struct {
	Tasks   map[string]TaskSpec `json:"tasks,omitempty"`
	Outputs *DAGOutputs         `json:"outputs,omitempty"`
}

// DAGOutputs maps a DAG's outputs to its subtasks' outputs.
type DAGOutputs struct {
	Artifacts  map[string]DAGOutputArtifact  `json:"artifacts,omitempty"`
	Parameters map[string]DAGOutputParameter `json:"parameters,omitempty"`
}

// DAGOutputArtifact selects artifacts of subtasks (the first present wins: dsl.OneOf).
type DAGOutputArtifact struct {
	ArtifactSelectors []ArtifactSelector `json:"artifactSelectors,omitempty"`
}

// ArtifactSelector names one subtask's output artifact.
type ArtifactSelector struct {
	ProducerSubtask   string `json:"producerSubtask"`
	OutputArtifactKey string `json:"outputArtifactKey"`
}

// DAGOutputParameter is one subtask's parameter, or the one present of several.
type DAGOutputParameter struct {
	ValueFromParameter *ParameterSelector  `json:"valueFromParameter,omitempty"`
	ValueFromOneof     *ParameterSelectors `json:"valueFromOneof,omitempty"`
}

// ParameterSelectors lists candidate subtask parameters.
type ParameterSelectors struct {
	ParameterSelectors []ParameterSelector `json:"parameterSelectors,omitempty"`
}

// ParameterSelector names one subtask's output parameter.
type ParameterSelector struct {
	ProducerSubtask    string `json:"producerSubtask"`
	OutputParameterKey string `json:"outputParameterKey"`
}

// TaskSpec is one task of a DAG (PipelineTaskSpec).
type TaskSpec struct {
	TaskInfo          TaskInfo           `json:"taskInfo"`
	Inputs            *TaskInputs        `json:"inputs,omitempty"`
	DependentTasks    []string           `json:"dependentTasks,omitempty"`
	CachingOptions    *CachingOptions    `json:"cachingOptions,omitempty"`
	ComponentRef      ComponentRef       `json:"componentRef"`
	TriggerPolicy     *TriggerPolicy     `json:"triggerPolicy,omitempty"`
	ArtifactIterator  *ArtifactIterator  `json:"artifactIterator,omitempty"`
	ParameterIterator *ParameterIterator `json:"parameterIterator,omitempty"`
	RetryPolicy       *RetryPolicy       `json:"retryPolicy,omitempty"`
	IteratorPolicy    *IteratorPolicy    `json:"iteratorPolicy,omitempty"`
}

// TaskInfo is a task's display name.
type TaskInfo struct {
	Name string `json:"name,omitempty"`
}

// ComponentRef names a key of PipelineSpec.components.
type ComponentRef struct {
	Name string `json:"name"`
}

// CachingOptions turns the cache on for a task (off when unset, as in KFP).
type CachingOptions struct {
	EnableCache bool `json:"enableCache,omitempty"`
}

// TaskInputs binds a task's inputs.
type TaskInputs struct {
	Parameters map[string]InputParameterSpec `json:"parameters,omitempty"`
	Artifacts  map[string]InputArtifactSpec  `json:"artifacts,omitempty"`
}

// InputParameterSpec is where one input parameter's value comes from; exactly one kind
// is set. It is also the kfp-kubernetes way to name a secret, config map or PVC.
type InputParameterSpec struct {
	TaskOutputParameter         *TaskOutputParameter `json:"taskOutputParameter,omitempty"`
	RuntimeValue                *ValueOrParameter    `json:"runtimeValue,omitempty"`
	ComponentInputParameter     string               `json:"componentInputParameter,omitempty"`
	TaskFinalStatus             *TaskFinalStatus     `json:"taskFinalStatus,omitempty"`
	ParameterExpressionSelector string               `json:"parameterExpressionSelector,omitempty"`
}

// TaskOutputParameter is an upstream task's output parameter.
type TaskOutputParameter struct {
	ProducerTask       string `json:"producerTask"`
	OutputParameterKey string `json:"outputParameterKey"`
}

// TaskFinalStatus is an upstream task's final status (exit handlers).
type TaskFinalStatus struct {
	ProducerTask string `json:"producerTask"`
}

// ValueOrParameter is a constant or a reference to a parent input parameter.
type ValueOrParameter struct {
	Constant         any    `json:"constant,omitempty" kfup:"lenient"`
	ConstantValue    any    `json:"constantValue,omitempty" kfup:"lenient"` // deprecated
	RuntimeParameter string `json:"runtimeParameter,omitempty"`
}

// InputArtifactSpec is where one input artifact comes from; exactly one kind is set.
type InputArtifactSpec struct {
	TaskOutputArtifact     *TaskOutputArtifact `json:"taskOutputArtifact,omitempty"`
	ComponentInputArtifact string              `json:"componentInputArtifact,omitempty"`
}

// TaskOutputArtifact is an upstream task's output artifact.
type TaskOutputArtifact struct {
	ProducerTask      string `json:"producerTask"`
	OutputArtifactKey string `json:"outputArtifactKey"`
}

// TriggerPolicy says when a task runs: a strategy over its upstream tasks, then a condition.
type TriggerPolicy struct {
	Condition string          `json:"condition,omitempty"`
	Strategy  TriggerStrategy `json:"strategy,omitempty"`
}

// TriggerStrategy is TriggerPolicy.TriggerStrategy.
type TriggerStrategy string

// The trigger strategies; unset behaves as AllUpstreamSucceeded.
const (
	StrategyUnspecified          TriggerStrategy = "TRIGGER_STRATEGY_UNSPECIFIED"
	StrategyAllUpstreamSucceeded TriggerStrategy = "ALL_UPSTREAM_TASKS_SUCCEEDED"
	StrategyAllUpstreamCompleted TriggerStrategy = "ALL_UPSTREAM_TASKS_COMPLETED"
)

// ParameterIterator fans a task out over a JSON list of parameter values.
type ParameterIterator struct {
	Items     ParameterItems `json:"items"`
	ItemInput string         `json:"itemInput"`
}

// ParameterItems is a raw JSON list or a task input parameter holding one.
type ParameterItems struct {
	Raw            string `json:"raw,omitempty"`
	InputParameter string `json:"inputParameter,omitempty"`
}

// ArtifactIterator fans a task out over a list of artifacts.
type ArtifactIterator struct {
	Items     ArtifactItems `json:"items"`
	ItemInput string        `json:"itemInput"`
}

// ArtifactItems names the task input artifact holding the list.
type ArtifactItems struct {
	InputArtifact string `json:"inputArtifact"`
}

// IteratorPolicy bounds an iterator's concurrency; 0 is unbounded.
type IteratorPolicy struct {
	ParallelismLimit int32 `json:"parallelismLimit,omitempty"`
}

// RetryPolicy retries a failed task with exponential backoff. Durations are protobuf
// Duration strings ("30s", "1.5s").
type RetryPolicy struct {
	MaxRetryCount      int32   `json:"maxRetryCount,omitempty"`
	BackoffDuration    string  `json:"backoffDuration,omitempty"`
	BackoffFactor      float64 `json:"backoffFactor,omitempty"`
	BackoffMaxDuration string  `json:"backoffMaxDuration,omitempty"`
}

// DeploymentSpec holds the executors, by label.
type DeploymentSpec struct {
	Executors map[string]ExecutorSpec `json:"executors,omitempty"`
}

// ExecutorSpec is one executor; exactly one kind is set.
type ExecutorSpec struct {
	Container *ContainerSpec `json:"container,omitempty"`
	Importer  *ImporterSpec  `json:"importer,omitempty"`
	Resolver  *ResolverSpec  `json:"resolver,omitempty"`
	CustomJob map[string]any `json:"customJob,omitempty" kfup:"lenient"` // Vertex only; rejected
}

// ContainerSpec runs a container; its strings may hold placeholders.
type ContainerSpec struct {
	Image     string        `json:"image"`
	Command   []string      `json:"command,omitempty"`
	Args      []string      `json:"args,omitempty"`
	Lifecycle *Lifecycle    `json:"lifecycle,omitempty"`
	Resources *ResourceSpec `json:"resources,omitempty"`
	Env       []EnvVar      `json:"env,omitempty"`
}

// Lifecycle holds the pre-cache-check hook.
type Lifecycle struct {
	PreCacheCheck *Exec `json:"preCacheCheck,omitempty"`
}

// Exec is a command and its args.
type Exec struct {
	Command []string `json:"command,omitempty"`
	Args    []string `json:"args,omitempty"`
}

// ResourceSpec is a container's resources (the numeric fields are deprecated).
type ResourceSpec struct {
	CPULimit              float64      `json:"cpuLimit,omitempty"`
	MemoryLimit           float64      `json:"memoryLimit,omitempty"`
	CPURequest            float64      `json:"cpuRequest,omitempty"`
	MemoryRequest         float64      `json:"memoryRequest,omitempty"`
	ResourceCPULimit      string       `json:"resourceCpuLimit,omitempty"`
	ResourceMemoryLimit   string       `json:"resourceMemoryLimit,omitempty"`
	ResourceCPURequest    string       `json:"resourceCpuRequest,omitempty"`
	ResourceMemoryRequest string       `json:"resourceMemoryRequest,omitempty"`
	Accelerator           *Accelerator `json:"accelerator,omitempty"`
}

// Accelerator asks for accelerators (GPUs).
type Accelerator struct {
	Type          string `json:"type,omitempty"`
	Count         int64  `json:"count,omitempty"`
	ResourceType  string `json:"resourceType,omitempty"`
	ResourceCount string `json:"resourceCount,omitempty"`
}

// EnvVar is one environment variable of the container.
type EnvVar struct {
	Name  string `json:"name"`
	Value string `json:"value,omitempty"`
}

// ImporterSpec imports an existing artifact by URI.
type ImporterSpec struct {
	ArtifactURI         ValueOrParameter `json:"artifactUri"`
	TypeSchema          ArtifactType     `json:"typeSchema"`
	Properties          map[string]any   `json:"properties,omitempty" kfup:"lenient"`
	CustomProperties    map[string]any   `json:"customProperties,omitempty" kfup:"lenient"`
	Metadata            map[string]any   `json:"metadata,omitempty" kfup:"lenient"`
	Reimport            bool             `json:"reimport,omitempty"`
	DownloadToWorkspace bool             `json:"downloadToWorkspace,omitempty"`
}

// ResolverSpec queries existing artifacts (kfup has no metadata store to query yet).
type ResolverSpec struct {
	OutputArtifactQueries map[string]ArtifactQuery `json:"outputArtifactQueries,omitempty"`
}

// ArtifactQuery is one resolver query.
type ArtifactQuery struct {
	Filter string `json:"filter,omitempty"`
	Limit  int32  `json:"limit,omitempty"`
}
