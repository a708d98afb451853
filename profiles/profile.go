// Package profiles is kfup's install configuration: a typed, validated Profile that says
// which components `kfup create` installs and how each is set up.
//
// A profile comes from a built-in (minimal, standard, gpu, full; embedded YAML under
// builtin/) or from a file (`--profile FILE`) that may start from a built-in with
// `base: <name>`. The CLI then applies `--set components.<name>.<key>=<value>` overrides
// and validates the result before anything is applied:
//
//	p, err := profiles.Load(nameOrPath) // validated
//	if err != nil { ... }
//	for _, s := range setFlags {
//		if err := p.Set(s); err != nil { ... } // checks the key and its own value
//	}
//	if err := p.Validate(); err != nil { ... } // every problem, conflicts included
//
// Every problem is reported with the dotted path of the bad key (for example
// components.knative.scaletozero) as an errs.Usage error, so the CLI exits with its usage
// code. Parsing is strict: unknown keys and wrong types are errors, not ignored.
//
// Which component needs which is declared once, in Requires; the component engine checks
// its own dependency graph against it.
package profiles

import (
	"reflect"
	"slices"
	"strings"
)

// APIVersion is the apiVersion every profile declares.
const APIVersion = "kfup.dev/v1alpha1"

// Kind is the kind every profile declares.
const Kind = "Profile"

// Component names, as used in profile files, in --set paths and by the component engine.
const (
	// Manager is kfup's controller manager: one Deployment running all our controllers.
	Manager = "manager"
	// Training is the training operator APIs (TFJob, PyTorchJob, MPIJob, ...): their CRDs
	// and controllers, which run inside the manager.
	Training = "training"
	// Tuning is Katib's hyperparameter tuning API (Experiment, Suggestion, Trial): its
	// CRDs and controllers, which run the search inside the manager.
	Tuning = "tuning"
	// Serving is KServe's model serving API (InferenceService, ServingRuntime,
	// ClusterServingRuntime): its CRDs and controller, which deploys models from the
	// manager in Standard mode.
	Serving = "serving"
	// Pipelines is Kubeflow Pipelines v2 (Pipeline, PipelineVersion, PipelineRun,
	// RecurringRun): its CRDs and controllers, which drive each run's DAG from the manager,
	// and the artifact store the manager serves.
	Pipelines = "pipelines"
	// Ingress is kfup's own ingress: a Go reverse proxy on the host's ingress ports that
	// serves Kubernetes Ingresses of class kfup (and Knative's KIngresses), programmed by
	// a controller in the manager.
	Ingress = "ingress"
	// Istio is the Istio control plane and, optionally, its ingress gateway.
	Istio = "istio"
	// Knative is Knative Serving with the net-istio networking layer.
	Knative = "knative"
	// NVIDIA is GPU support: the NVIDIA device plugin and its time-slicing configuration.
	NVIDIA = "nvidia"
)

// MaxManagerReplicas bounds components.manager.replicas: one leader reconciles, the rest
// stand by, so more buys nothing (and a number beyond int32 would not fit a Deployment).
const MaxManagerReplicas = 10

// Manager log levels.
const (
	// LogLevelInfo logs what the controllers do.
	LogLevelInfo = "info"
	// LogLevelDebug also logs every reconcile in detail.
	LogLevelDebug = "debug"
)

// requires is the one dependency table: component -> components that must be enabled
// with it. Every component has an entry, so its keys are the set of components.
var requires = map[string][]string{
	Manager:   nil,
	Training:  {Manager},
	Tuning:    {Manager},
	Serving:   {Manager},
	Pipelines: {Manager},
	Ingress:   {Manager}, // the proxy runs from the manager's image, its controller in the manager
	Istio:     nil,
	Knative:   {Ingress}, // components.knative.ingress=kfup; istio: {Istio} (Profile.Requires)
	NVIDIA:    {Manager}, // the device plugin runs from the manager's image in its namespace
}

// MIG strategies of components.nvidia.migStrategy, as NVIDIA's device plugin names them.
const (
	MIGNone   = "none"
	MIGSingle = "single"
	MIGMixed  = "mixed"
)

// MaxTimeSlicingReplicas is the most pods components.nvidia.timeSlicingReplicas (and
// kfup create --gpu-share) lets share one GPU.
const MaxTimeSlicingReplicas = 64

// Requires returns, for every component, the components that must be enabled alongside
// it (Validate rejects a profile that breaks this). The map is a fresh copy, keyed by
// every component name.
func Requires() map[string][]string {
	out := make(map[string][]string, len(requires))
	for name, deps := range requires {
		out[name] = slices.Clone(deps)
	}
	return out
}

// Requires returns what component name needs alongside it in p: Requires' entry, but
// for Knative on Istio (components.knative.ingress=istio), which needs Istio instead of
// kfup's ingress.
func (p *Profile) Requires(name string) []string {
	if name == Knative && p.Components.Knative.Ingress == KnativeIngressIstio {
		return []string{Istio}
	}
	return slices.Clone(requires[name])
}

// Profile is one install configuration: which components kfup installs, and their
// settings.
type Profile struct {
	// APIVersion is always kfup.dev/v1alpha1.
	APIVersion string `json:"apiVersion"`
	// Kind is always Profile.
	Kind string `json:"kind"`
	// Name names the profile (a DNS label), such as "standard".
	Name string `json:"name"`
	// Base is the built-in profile this one started from; empty for a profile that
	// started from kfup's defaults (every component disabled).
	Base string `json:"base,omitempty"`
	// Components holds one entry per component.
	Components Components `json:"components"`
}

// Components holds the configuration of each component, in the order Names returns them
// (each component after the ones it requires).
type Components struct {
	// Manager configures kfup's controller manager.
	Manager ManagerConfig `json:"manager"`
	// Training configures the training operator APIs.
	Training TrainingConfig `json:"training"`
	// Tuning configures Katib's hyperparameter tuning API.
	Tuning TuningConfig `json:"tuning"`
	// Serving configures KServe's model serving API.
	Serving ServingConfig `json:"serving"`
	// Pipelines configures Kubeflow Pipelines.
	Pipelines PipelinesConfig `json:"pipelines"`
	// Ingress configures kfup's ingress.
	Ingress IngressConfig `json:"ingress"`
	// Istio configures the Istio control plane.
	Istio IstioConfig `json:"istio"`
	// Knative configures Knative Serving.
	Knative KnativeConfig `json:"knative"`
	// NVIDIA configures GPU support.
	NVIDIA NVIDIAConfig `json:"nvidia"`
}

// ManagerConfig configures kfup's controller manager Deployment.
type ManagerConfig struct {
	// Enabled installs the manager.
	Enabled bool `json:"enabled"`
	// Replicas is the number of manager pods (at least 1; more than 1 needs LeaderElect).
	Replicas int `json:"replicas"`
	// LogLevel is info or debug.
	LogLevel string `json:"logLevel"`
	// LeaderElect makes the replicas elect a leader so that only one reconciles.
	LeaderElect bool `json:"leaderElect"`
	// Resources are the manager container's requests and limits.
	Resources Resources `json:"resources"`
	// Registry is a repository kfup pushes the manager image to, such as
	// registry.example.com/kfup/manager, for clusters whose nodes kfup cannot load images
	// into (--provider existing); empty: kfup loads it into the kind nodes.
	Registry string `json:"registry,omitempty"`
}

// Resources are a container's CPU and memory requests and limits as Kubernetes quantities
// ("100m", "0.5", "256Mi"); an empty string leaves that request or limit unset.
type Resources struct {
	// CPURequest is the CPU request, such as 50m.
	CPURequest string `json:"cpuRequest" profile:"quantity"`
	// CPULimit is the CPU limit, such as 500m.
	CPULimit string `json:"cpuLimit" profile:"quantity"`
	// MemoryRequest is the memory request, such as 64Mi.
	MemoryRequest string `json:"memoryRequest" profile:"quantity"`
	// MemoryLimit is the memory limit, such as 256Mi.
	MemoryLimit string `json:"memoryLimit" profile:"quantity"`
}

// TrainingConfig configures the training operator APIs.
type TrainingConfig struct {
	// Enabled installs the training CRDs and turns on their controllers in the manager.
	Enabled bool `json:"enabled"`
	// GangScheduler gang-schedules jobs with PodGroups: "volcano", or the name of a
	// scheduler-plugins coscheduling scheduler; empty turns it off. The scheduler itself
	// is installed separately.
	GangScheduler string `json:"gangScheduler,omitempty"`
	// Namespaces, comma-separated, restricts the training controllers to jobs in those
	// namespaces (the manager's --namespace) and binds the manager's RBAC only there; kfup
	// creates the namespaces missing (and never deletes them). Empty: every namespace.
	Namespaces string `json:"namespaces,omitempty"`
}

// ServingRoutesByIstio says Standard-mode InferenceServices are routed by an Istio
// VirtualService each, through Istio's ingress gateway: serving and Istio with its
// gateway are enabled, kfup's ingress (which routes them by an Ingress otherwise) is not.
func (c Components) ServingRoutesByIstio() bool {
	return c.Serving.Enabled && !c.Ingress.Enabled && c.Istio.Enabled && c.Istio.IngressGateway
}

// NamespaceList returns the namespaces of Namespaces, in order; none when it is empty
// (every namespace). Validate checks each one.
func (c TrainingConfig) NamespaceList() []string {
	if c.Namespaces == "" {
		return nil
	}
	return strings.Split(c.Namespaces, ",")
}

// TuningConfig configures Katib's hyperparameter tuning API (kubeflow.org/v1beta1
// Experiment, Suggestion, Trial).
type TuningConfig struct {
	// Enabled installs the tuning CRDs and turns on their controllers in the manager.
	Enabled bool `json:"enabled"`
	// Namespaces, comma-separated, restricts the tuning controllers to experiments in
	// those namespaces (the manager's --tuning-namespace) and binds the manager's RBAC
	// only there; kfup creates the namespaces missing. Empty: every namespace.
	Namespaces string `json:"namespaces,omitempty"`
}

// NamespaceList returns the namespaces of Namespaces, in order; none when it is empty
// (every namespace). Validate checks each one.
func (c TuningConfig) NamespaceList() []string {
	if c.Namespaces == "" {
		return nil
	}
	return strings.Split(c.Namespaces, ",")
}

// ServingConfig configures KServe's model serving API (serving.kserve.io
// InferenceService, ServingRuntime, ClusterServingRuntime).
type ServingConfig struct {
	// Enabled installs the serving CRDs and turns on the InferenceService controller in
	// the manager (Standard mode: a Deployment, Service and HPA per component).
	Enabled bool `json:"enabled"`
	// Namespaces, comma-separated, restricts the serving controller to InferenceServices
	// in those namespaces (the manager's --serving-namespace) and binds the manager's RBAC
	// only there; kfup creates the namespaces missing. Empty: every namespace.
	Namespaces string `json:"namespaces,omitempty"`
	// BundleRuntimes, comma-separated, names KServe's upstream runtimes (such as
	// kserve-sklearnserver) whose images `kfup images save` puts into the bundle, for
	// clusters that cannot pull them; kfup's own runtime needs none. Empty: none.
	BundleRuntimes string `json:"bundleRuntimes,omitempty"`
	// DeploymentMode is the deployment mode of InferenceServices without KServe's
	// serving.kserve.io/deploymentMode annotation: RawDeployment (a Deployment, Service
	// and HPA per component) or Serverless (a Knative Service per component; needs
	// components.knative). Empty: Serverless when Knative is enabled, as on a KServe
	// install with Knative, else RawDeployment.
	DeploymentMode string `json:"deploymentMode,omitempty"`
}

// The values of components.serving.deploymentMode.
const (
	ServingModeRawDeployment = "RawDeployment"
	ServingModeServerless    = "Serverless"
)

// DefaultDeploymentMode is components.serving.deploymentMode, or its default when empty:
// Serverless where Knative is enabled, else RawDeployment.
func (c Components) DefaultDeploymentMode() string {
	switch {
	case c.Serving.DeploymentMode != "":
		return c.Serving.DeploymentMode
	case c.Knative.Enabled:
		return ServingModeServerless
	default:
		return ServingModeRawDeployment
	}
}

// NamespaceList returns the namespaces of Namespaces, in order; none when it is empty
// (every namespace). Validate checks each one.
func (c ServingConfig) NamespaceList() []string {
	if c.Namespaces == "" {
		return nil
	}
	return strings.Split(c.Namespaces, ",")
}

// BundleRuntimeList returns the runtimes of BundleRuntimes, in order; none when empty.
func (c ServingConfig) BundleRuntimeList() []string {
	if c.BundleRuntimes == "" {
		return nil
	}
	return strings.Split(c.BundleRuntimes, ",")
}

// PipelinesConfig configures Kubeflow Pipelines v2 (pipelines.kubeflow.org Pipeline and
// PipelineVersion, pipelines.kfup.dev PipelineRun and RecurringRun).
type PipelinesConfig struct {
	// Enabled installs the pipelines CRDs and turns on the run controller in the manager.
	Enabled bool `json:"enabled"`
	// Namespaces, comma-separated, restricts the controllers to those namespaces (the
	// manager's --pipelines-namespace) and binds the manager's RBAC only there; kfup
	// creates the namespaces missing. Empty: every namespace.
	Namespaces string `json:"namespaces,omitempty"`
	// ArtifactStore is where artifacts live: "pvc" (a volume of the manager, which serves
	// it to task pods; the default) or "s3" (a bucket named, with its credentials, by the
	// Secret kfup-artifact-s3 in the manager's namespace and in each run's namespace).
	ArtifactStore string `json:"artifactStore"`
	// ArtifactVolumeSize is the size of the pvc store's volume, such as 10Gi.
	ArtifactVolumeSize string `json:"artifactVolumeSize"`
	// ArtifactStorageClass is the storage class of the pvc store's volume; empty: the
	// cluster's default.
	ArtifactStorageClass string `json:"artifactStorageClass,omitempty"`
	// Launcher is how task pods get kfup's launcher: "auto" (the default: "imageVolume"
	// on Kubernetes 1.35 and later), "imageVolume" (kfup's image mounted read-only: no
	// init container; the nodes' runtime must support image volumes: containerd 2.1 or
	// CRI-O 1.31) or "initContainer" (an init container copies kfup in: any cluster).
	Launcher string `json:"launcher"`
}

// NamespaceList returns the namespaces of Namespaces, in order; none when it is empty
// (every namespace). Validate checks each one.
func (c PipelinesConfig) NamespaceList() []string {
	if c.Namespaces == "" {
		return nil
	}
	return strings.Split(c.Namespaces, ",")
}

// IstioConfig configures the Istio control plane (istiod) and its ingress gateway.
type IstioConfig struct {
	// Enabled installs Istio.
	Enabled bool `json:"enabled"`
	// IngressGateway installs istio-ingressgateway in istio-system (Knative needs it).
	IngressGateway bool `json:"ingressGateway"`
	// Hub is the image registry path of the Istio images, such as docker.io/istio; empty
	// means the release pinned in kfup's manifests.
	Hub string `json:"hub"`
	// Tag is the Istio image tag, such as 1.24.2; empty means the pinned release.
	Tag string `json:"tag"`
}

// IngressConfig configures kfup's ingress (the kfup-ingress proxy and its controller).
type IngressConfig struct {
	// Enabled installs the proxy on the host's HTTP ingress port (node port 31080), the
	// IngressClass kfup, and turns on its controller in the manager.
	Enabled bool `json:"enabled"`
	// Namespaces, comma-separated, restricts the controller to Ingresses and KIngresses
	// in those namespaces (the manager's --ingress-serve-namespace) and binds the
	// manager's RBAC only there; kfup creates the namespaces missing. Empty: every
	// namespace. Like every slice's, it takes part in the manager's RBAC: that is
	// cluster-wide as soon as one enabled slice serves every namespace.
	Namespaces string `json:"namespaces,omitempty"`
}

// NamespaceList returns the namespaces of Namespaces, in order; none when it is empty
// (every namespace). Validate checks each one.
func (c IngressConfig) NamespaceList() []string {
	if c.Namespaces == "" {
		return nil
	}
	return strings.Split(c.Namespaces, ",")
}

// KnativeConfig configures Knative Serving and its networking layer.
type KnativeConfig struct {
	// Enabled installs Knative Serving.
	Enabled bool `json:"enabled"`
	// Ingress is Knative's networking layer: kfup (the default: kfup's own ingress serves
	// Knative's KIngresses on the host's ingress port; needs components.ingress) or istio
	// (net-istio, routing through Istio's ingress gateway; needs components.istio with
	// ingressGateway).
	Ingress string `json:"ingress"`
	// RegistriesSkippingTagResolving, comma-separated, are the registries whose image tags
	// Knative does not resolve to digests (config-deployment): images loaded into the
	// nodes have no registry to ask. kind.local, ko.local, dev.local and kfup.local by
	// default.
	RegistriesSkippingTagResolving string `json:"registriesSkippingTagResolving"`
	// ScaleToZero lets idle revisions scale to zero pods.
	ScaleToZero bool `json:"scaleToZero"`
	// Domain is the DNS subdomain under which services get their URLs.
	Domain string `json:"domain"`
	// Images is where Knative's images come from: upstream (the release's references,
	// pulled by the nodes) or kfup (built by `make knative-images` from the pinned
	// knative.dev/serving module, loaded into the nodes: offline).
	Images string `json:"images"`
}

// The values of components.knative.ingress.
const (
	KnativeIngressKfup  = "kfup"
	KnativeIngressIstio = "istio"
)

// The values of components.knative.images.
const (
	KnativeImagesUpstream = "upstream"
	KnativeImagesKfup     = "kfup"
)

// NVIDIAConfig configures GPU support.
type NVIDIAConfig struct {
	// Enabled installs GPU support.
	Enabled bool `json:"enabled"`
	// DevicePlugin installs the NVIDIA device plugin, which advertises nvidia.com/gpu.
	DevicePlugin bool `json:"devicePlugin"`
	// TimeSlicingReplicas shares each GPU among this many pods (0 turns time slicing
	// off); it configures the device plugin.
	TimeSlicingReplicas int `json:"timeSlicingReplicas"`
	// RenameByDefault advertises shared GPUs as nvidia.com/gpu.shared, as NVIDIA's
	// plugin does with renameByDefault.
	RenameByDefault bool `json:"renameByDefault"`
	// MIGStrategy is how MIG devices are advertised: none (MIG must be off), single (as
	// nvidia.com/gpu) or mixed (as nvidia.com/mig-<profile>).
	MIGStrategy string `json:"migStrategy"`
}

// defaults is the profile a file without base starts from: every component disabled,
// every setting at its default. Built-ins build on it too, so this is the one place
// default settings live.
func defaults() Profile {
	return Profile{
		APIVersion: APIVersion,
		Kind:       Kind,
		Components: Components{
			Manager: ManagerConfig{
				Replicas:    1,
				LogLevel:    LogLevelInfo,
				LeaderElect: true,
				Resources: Resources{
					CPURequest:    "50m",
					CPULimit:      "500m",
					MemoryRequest: "64Mi",
					MemoryLimit:   "256Mi",
				},
			},
			Pipelines: PipelinesConfig{ArtifactStore: "pvc", ArtifactVolumeSize: "10Gi", Launcher: "auto"},
			Istio:     IstioConfig{IngressGateway: true},
			Knative: KnativeConfig{ScaleToZero: true, Domain: "kfup.localhost", Images: KnativeImagesUpstream,
				Ingress: KnativeIngressKfup, RegistriesSkippingTagResolving: "kind.local,ko.local,dev.local,kfup.local"},
			NVIDIA: NVIDIAConfig{DevicePlugin: true, MIGStrategy: MIGNone},
		},
	}
}

// Defaults returns a fresh profile with every component disabled and every setting at
// its default: the settings components use when no profile is given.
func Defaults() *Profile {
	p := defaults()
	return &p
}

// componentNames lists the components in the order of the Components fields.
var componentNames = func() []string {
	var names []string
	for _, f := range fieldsOf(reflect.TypeFor[Components]()) {
		names = append(names, f.name)
	}
	return names
}()

// Names returns every component name, each after the components it requires.
func Names() []string { return slices.Clone(componentNames) }

// Enabled returns the names of the enabled components, in the order of Names.
func (p *Profile) Enabled() []string {
	var out []string
	for _, name := range componentNames {
		if p.IsEnabled(name) {
			out = append(out, name)
		}
	}
	return out
}

// IsEnabled reports whether the named component is enabled; it is false for a name that
// is not a component.
func (p *Profile) IsEnabled(name string) bool {
	v := reflect.ValueOf(&p.Components).Elem()
	for _, f := range fieldsOf(v.Type()) {
		if f.name == name {
			return v.Field(f.index).FieldByName("Enabled").Bool()
		}
	}
	return false
}
