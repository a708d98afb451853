package controller

// RBAC of the tuning controllers; controller-gen turns these markers into
// manifests/rbac/role.yaml (make generate). Trials run as batch Jobs or kubeflow.org/v1
// training jobs (the kinds DefaultTrialResources lists); pods/log is how the StdOut
// collector reads metrics; config maps hold trial templates; persistent volume claims are
// the pbt experiments' checkpoint volumes.

// +kubebuilder:rbac:groups=kubeflow.org,resources=experiments;suggestions;trials,verbs=get;list;watch;create;patch
// +kubebuilder:rbac:groups=kubeflow.org,resources=experiments/status;suggestions/status;trials/status,verbs=update
// +kubebuilder:rbac:groups=kubeflow.org,resources=experiments/finalizers;suggestions/finalizers;trials/finalizers,verbs=update
// +kubebuilder:rbac:groups=batch,resources=jobs,verbs=get;create;patch;delete
// +kubebuilder:rbac:groups=kubeflow.org,resources=tfjobs;pytorchjobs;mpijobs;xgboostjobs;jaxjobs;paddlejobs,verbs=get;create;patch;delete
// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=pods/log,verbs=get
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get
// +kubebuilder:rbac:groups="",resources=persistentvolumeclaims,verbs=get;create
