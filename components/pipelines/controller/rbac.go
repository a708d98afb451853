package controller

// RBAC of the pipelines controllers; controller-gen turns these markers into
// manifests/rbac/role.yaml (make generate). Task pods are the runs' children (created,
// and deleted when a run ends early); runs are RecurringRuns' children; secrets are read
// for the s3 artifact store's settings (the serving slice reads secrets too); claims are
// made for run workspaces and CreatePVC tasks and deleted by DeletePVC tasks.

// +kubebuilder:rbac:groups=pipelines.kubeflow.org,resources=pipelines;pipelineversions,verbs=get;list;watch
// +kubebuilder:rbac:groups=pipelines.kubeflow.org,resources=pipelines/status;pipelineversions/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=pipelines.kfup.dev,resources=pipelineruns;recurringruns,verbs=get;list;watch;create;delete
// +kubebuilder:rbac:groups=pipelines.kfup.dev,resources=pipelineruns/status;recurringruns/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=pipelines.kfup.dev,resources=pipelineruns/finalizers;recurringruns/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list;watch;create;delete
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get
// +kubebuilder:rbac:groups="",resources=persistentvolumeclaims,verbs=get;create;delete
