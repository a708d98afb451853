package controller

// RBAC of the serving controllers; controller-gen turns these markers into
// manifests/rbac/role.yaml (make generate). Deployments, services and HPAs are each
// InferenceService component's children, pods are read for a model server that failed; runtimes are read to choose the predictor's
// server, and the built-in ClusterServingRuntimes created (and kept) by kfup. For an
// s3:// or hf:// model the predictor's service account and the metadata of the secrets
// it lists are read (get only, by name), to reference their keys from the storage
// initializer as KServe does (docs/security.md). With --serving-ingress-class, each
// InferenceService's Ingress is applied like the other children; with --serving-knative,
// each Serverless component's Knative Service and the DomainMapping of its own host;
// with --serving-istio-gateway, each Standard-mode InferenceService's Istio
// VirtualService.

// +kubebuilder:rbac:groups=serving.kserve.io,resources=inferenceservices,verbs=get;list;watch
// +kubebuilder:rbac:groups=serving.kserve.io,resources=inferenceservices/status,verbs=get;update
// +kubebuilder:rbac:groups=serving.kserve.io,resources=inferenceservices/finalizers,verbs=update
// +kubebuilder:rbac:groups=serving.kserve.io,resources=servingruntimes,verbs=get;list
// +kubebuilder:rbac:groups=serving.kserve.io,resources=clusterservingruntimes,verbs=get;list;create;patch
// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups="",resources=services,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list;watch
// +kubebuilder:rbac:groups=autoscaling,resources=horizontalpodautoscalers,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups="",resources=serviceaccounts,verbs=get
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get
// +kubebuilder:rbac:groups=networking.k8s.io,resources=ingresses,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=serving.knative.dev,resources=services,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=serving.knative.dev,resources=domainmappings,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=networking.istio.io,resources=virtualservices,verbs=get;list;watch;create;patch;delete
