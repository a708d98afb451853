package ir

// PlatformSpec is the second YAML document of an IR file: per-platform executor configs.
type PlatformSpec struct {
	Platforms map[string]SinglePlatformSpec `json:"platforms" kfup:"warn"`
}

// SinglePlatformSpec is one platform's config; kfup reads the "kubernetes" one.
type SinglePlatformSpec struct {
	DeploymentSpec *PlatformDeploymentSpec `json:"deploymentSpec,omitempty"`
	Platform       string                  `json:"platform,omitempty"`
	Config         map[string]any          `json:"config,omitempty" kfup:"lenient"`
	PipelineConfig *PipelineConfig         `json:"pipelineConfig,omitempty"`
}

// PlatformDeploymentSpec maps executor labels to their Kubernetes config.
type PlatformDeploymentSpec struct {
	Executors map[string]KubernetesExecutorConfig `json:"executors,omitempty"`
}

// PipelineConfig is the pipeline-wide platform config (kfp-kubernetes workspaces).
type PipelineConfig struct {
	Workspace *WorkspaceConfig `json:"workspace,omitempty"`
}

// WorkspaceConfig is a pipeline's shared workspace volume.
type WorkspaceConfig struct {
	Size       string               `json:"size,omitempty"`
	Kubernetes *KubernetesWorkspace `json:"kubernetes,omitempty"`
}

// KubernetesWorkspace patches the workspace PVC's spec.
type KubernetesWorkspace struct {
	PVCSpecPatch map[string]any `json:"pvcSpecPatch,omitempty" kfup:"lenient"`
}

// KubernetesExecutorConfig is kfp-kubernetes' per-executor pod config. Unknown keys here
// are warnings (see the package comment).
type KubernetesExecutorConfig struct {
	SecretAsVolume         []SecretAsVolume         `json:"secretAsVolume,omitempty"`
	SecretAsEnv            []SecretAsEnv            `json:"secretAsEnv,omitempty"`
	PVCMount               []PVCMount               `json:"pvcMount,omitempty"`
	NodeSelector           *NodeSelector            `json:"nodeSelector,omitempty"`
	PodMetadata            *PodMetadata             `json:"podMetadata,omitempty"`
	ImagePullSecret        []ImagePullSecret        `json:"imagePullSecret,omitempty"`
	ImagePullPolicy        string                   `json:"imagePullPolicy,omitempty"`
	ConfigMapAsVolume      []ConfigMapAsVolume      `json:"configMapAsVolume,omitempty"`
	ConfigMapAsEnv         []ConfigMapAsEnv         `json:"configMapAsEnv,omitempty"`
	ActiveDeadlineSeconds  StringOrInt              `json:"activeDeadlineSeconds,omitempty"`
	FieldPathAsEnv         []FieldPathAsEnv         `json:"fieldPathAsEnv,omitempty"`
	Tolerations            []Toleration             `json:"tolerations,omitempty"`
	GenericEphemeralVolume []GenericEphemeralVolume `json:"genericEphemeralVolume,omitempty"`
	NodeAffinity           []NodeAffinityTerm       `json:"nodeAffinity,omitempty"`
	PodAffinity            []map[string]any         `json:"podAffinity,omitempty" kfup:"lenient"`
	EnabledSharedMemory    *EnabledSharedMemory     `json:"enabledSharedMemory,omitempty"`
	EmptyDirMounts         []EmptyDirMount          `json:"emptyDirMounts,omitempty"`
	SecurityContext        map[string]any           `json:"securityContext,omitempty" kfup:"lenient"`
	InitContainers         []map[string]any         `json:"initContainers,omitempty" kfup:"lenient"`
	PodResourceClaims      []map[string]any         `json:"podResourceClaims,omitempty" kfup:"lenient"`
}

// StringOrInt is an int64 that protobuf's JSON form may write as a string.
type StringOrInt = any

// SecretAsVolume mounts a secret.
type SecretAsVolume struct {
	SecretName          string              `json:"secretName,omitempty"`
	MountPath           string              `json:"mountPath"`
	Optional            *bool               `json:"optional,omitempty"`
	SecretNameParameter *InputParameterSpec `json:"secretNameParameter,omitempty"`
}

// SecretAsEnv maps secret keys to environment variables.
type SecretAsEnv struct {
	SecretName          string              `json:"secretName,omitempty"`
	KeyToEnv            []SecretKeyToEnv    `json:"keyToEnv,omitempty"`
	Optional            *bool               `json:"optional,omitempty"`
	SecretNameParameter *InputParameterSpec `json:"secretNameParameter,omitempty"`
}

// SecretKeyToEnv maps one secret key to one variable.
type SecretKeyToEnv struct {
	SecretKey string `json:"secretKey"`
	EnvVar    string `json:"envVar"`
}

// PVCMount mounts a PVC.
type PVCMount struct {
	TaskOutputParameter     *TaskOutputParameter `json:"taskOutputParameter,omitempty"`
	Constant                string               `json:"constant,omitempty"`
	ComponentInputParameter string               `json:"componentInputParameter,omitempty"`
	MountPath               string               `json:"mountPath"`
	PVCNameParameter        *InputParameterSpec  `json:"pvcNameParameter,omitempty"`
	SubPath                 string               `json:"subPath,omitempty"`
}

// NodeSelector constrains the pod's node by labels or a JSON parameter.
type NodeSelector struct {
	Labels           map[string]string   `json:"labels,omitempty"`
	NodeSelectorJSON *InputParameterSpec `json:"nodeSelectorJson,omitempty"`
}

// PodMetadata adds labels and annotations to the pod.
type PodMetadata struct {
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// ImagePullSecret names a pull secret.
type ImagePullSecret struct {
	SecretName          string              `json:"secretName,omitempty"`
	SecretNameParameter *InputParameterSpec `json:"secretNameParameter,omitempty"`
}

// ConfigMapAsVolume mounts a config map.
type ConfigMapAsVolume struct {
	ConfigMapName          string              `json:"configMapName,omitempty"`
	MountPath              string              `json:"mountPath"`
	Optional               *bool               `json:"optional,omitempty"`
	ConfigMapNameParameter *InputParameterSpec `json:"configMapNameParameter,omitempty"`
}

// ConfigMapAsEnv maps config map keys to environment variables.
type ConfigMapAsEnv struct {
	ConfigMapName          string              `json:"configMapName,omitempty"`
	KeyToEnv               []ConfigMapKeyToEnv `json:"keyToEnv,omitempty"`
	ConfigMapNameParameter *InputParameterSpec `json:"configMapNameParameter,omitempty"`
	Optional               *bool               `json:"optional,omitempty"`
}

// ConfigMapKeyToEnv maps one config map key to one variable.
type ConfigMapKeyToEnv struct {
	ConfigMapKey string `json:"configMapKey"`
	EnvVar       string `json:"envVar"`
}

// FieldPathAsEnv exposes a pod field (downward API) as a variable.
type FieldPathAsEnv struct {
	Name      string `json:"name"`
	FieldPath string `json:"fieldPath"`
}

// Toleration is a pod toleration, literal or from a JSON parameter.
type Toleration struct {
	Key               string              `json:"key,omitempty"`
	Operator          string              `json:"operator,omitempty"`
	Value             string              `json:"value,omitempty"`
	Effect            string              `json:"effect,omitempty"`
	TolerationSeconds StringOrInt         `json:"tolerationSeconds,omitempty"`
	TolerationJSON    *InputParameterSpec `json:"tolerationJson,omitempty"`
}

// GenericEphemeralVolume is a per-pod PVC.
type GenericEphemeralVolume struct {
	VolumeName          string       `json:"volumeName"`
	MountPath           string       `json:"mountPath"`
	AccessModes         []string     `json:"accessModes,omitempty"`
	Size                string       `json:"size,omitempty"`
	DefaultStorageClass bool         `json:"defaultStorageClass,omitempty"`
	StorageClassName    string       `json:"storageClassName,omitempty"`
	Metadata            *PodMetadata `json:"metadata,omitempty"`
}

// NodeAffinityTerm is a node affinity rule, literal or from a JSON parameter.
type NodeAffinityTerm struct {
	MatchExpressions []SelectorRequirement `json:"matchExpressions,omitempty"`
	MatchFields      []SelectorRequirement `json:"matchFields,omitempty"`
	Weight           *int32                `json:"weight,omitempty"`
	NodeAffinityJSON *InputParameterSpec   `json:"nodeAffinityJson,omitempty"`
}

// SelectorRequirement is a label selector requirement.
type SelectorRequirement struct {
	Key      string   `json:"key"`
	Operator string   `json:"operator"`
	Values   []string `json:"values,omitempty"`
}

// EnabledSharedMemory mounts /dev/shm.
type EnabledSharedMemory struct {
	VolumeName string `json:"volumeName,omitempty"`
	Size       string `json:"size,omitempty"`
}

// EmptyDirMount mounts an emptyDir volume.
type EmptyDirMount struct {
	VolumeName string  `json:"volumeName"`
	MountPath  string  `json:"mountPath"`
	Medium     *string `json:"medium,omitempty"`
	SizeLimit  *string `json:"sizeLimit,omitempty"`
}
