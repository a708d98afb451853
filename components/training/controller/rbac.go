package controller

// RBAC of the training job controllers; controller-gen turns these markers into
// manifests/rbac/role.yaml (make generate). pods/exec is not used by the manager itself:
// the API server lets it create MPI launchers' Roles granting it only if it holds it.

// +kubebuilder:rbac:groups=kubeflow.org,resources=tfjobs;pytorchjobs;mpijobs;xgboostjobs;jaxjobs;paddlejobs,verbs=get;list;watch;patch;delete
// +kubebuilder:rbac:groups=kubeflow.org,resources=tfjobs/status;pytorchjobs/status;mpijobs/status;xgboostjobs/status;jaxjobs/status;paddlejobs/status,verbs=update
// +kubebuilder:rbac:groups=kubeflow.org,resources=tfjobs/finalizers;pytorchjobs/finalizers;mpijobs/finalizers;xgboostjobs/finalizers;jaxjobs/finalizers;paddlejobs/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=pods;services,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups="",resources=pods/ephemeralcontainers,verbs=update
// +kubebuilder:rbac:groups="",resources=pods/exec,verbs=create
// +kubebuilder:rbac:groups="",resources=configmaps;serviceaccounts,verbs=get;create;patch;delete
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=roles;rolebindings,verbs=get;create;patch;delete
// +kubebuilder:rbac:groups=scheduling.volcano.sh;scheduling.x-k8s.io,resources=podgroups,verbs=get;create;patch;delete
// +kubebuilder:rbac:groups=scheduling.k8s.io,resources=priorityclasses,verbs=get
// +kubebuilder:rbac:groups=autoscaling,resources=horizontalpodautoscalers,verbs=get;create;patch;delete
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
