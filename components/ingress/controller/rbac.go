package controller

// RBAC of the ingress controller; controller-gen turns these markers into
// manifests/rbac/role.yaml (make generate). Ingresses and KIngresses are read everywhere
// and only their status written; backend Services are read by name (get) and their
// EndpointSlices cached (list, watch), to route to their ready endpoints; the route
// table is published in one ConfigMap of kfup-system, owned by the IngressClass kfup
// (read by name for its UID). TLS entries' Secrets are read by name (get) and their
// metadata watched (list, watch), so that a new or rotated certificate is served; their
// certificates are published in one Secret of kfup-system that the proxy reads.

// +kubebuilder:rbac:groups=networking.k8s.io,resources=ingresses,verbs=get;list;watch
// +kubebuilder:rbac:groups=networking.k8s.io,resources=ingresses/status,verbs=update
// +kubebuilder:rbac:groups=networking.k8s.io,resources=ingressclasses,verbs=get
// +kubebuilder:rbac:groups=networking.internal.knative.dev,resources=ingresses,verbs=get;list;watch
// +kubebuilder:rbac:groups=networking.internal.knative.dev,resources=ingresses/status,verbs=update
// +kubebuilder:rbac:groups="",resources=services,verbs=get
// +kubebuilder:rbac:groups=discovery.k8s.io,resources=endpointslices,verbs=list;watch
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;create;update,namespace=kfup-system
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=create,namespace=kfup-system
// +kubebuilder:rbac:groups="",resources=secrets,resourceNames=kfup-ingress-certs,verbs=update,namespace=kfup-system
