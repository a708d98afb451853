package apihost

// RBAC of the manager itself (leader election, events). controller-gen turns these markers,
// and those of each controller, into manifests/rbac/role.yaml (make generate).

// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;list;watch;create;update;patch;delete,namespace=kfup-system
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch,namespace=kfup-system
