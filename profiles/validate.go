package profiles

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Validate reports every problem with the profile at once (errors.Join of errs.Usage
// errors wrapping *FieldError, each with its path): settings out of range, and settings
// that conflict, such as Knative enabled without its ingress. It returns nil for a valid
// profile. Settings of disabled components are checked too, so that a mistake shows
// before the component is turned on.
func (p *Profile) Validate() error {
	ps := p.fieldProblems()
	ps = append(ps, p.conflictProblems()...)
	return ps.err("")
}

var (
	// imageHub is a registry host (with optional port) and repository path, such as
	// docker.io/istio or localhost:5000/istio; no scheme, no tag.
	imageHub = regexp.MustCompile(`^[A-Za-z0-9.-]+(:[0-9]+)?(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$`)
	// imageTag is the grammar of an image tag.
	imageTag = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
)

// logLevels are the manager's log levels, in the order error messages list them.
var logLevels = []string{LogLevelInfo, LogLevelDebug}

// fieldProblems checks each setting on its own: the checks that Set applies to the key it
// sets.
func (p *Profile) fieldProblems() problems {
	var ps problems
	c := &p.Components

	switch p.APIVersion {
	case APIVersion:
	case "":
		ps.add("apiVersion", requiredHint("apiVersion"), "required")
	default:
		ps.add("apiVersion", "", "must be %s, got %q", APIVersion, p.APIVersion)
	}
	switch p.Kind {
	case Kind:
	case "":
		ps.add("kind", requiredHint("kind"), "required")
	default:
		ps.add("kind", "", "must be %s, got %q", Kind, p.Kind)
	}
	if p.Name == "" {
		ps.add("name", requiredHint("name"), "required")
	} else if msgs := validation.IsDNS1123Label(p.Name); len(msgs) > 0 {
		ps.add("name", "", "%q is not a valid name: %s", p.Name, msgs[0])
	}
	if p.Base != "" && !slices.Contains(builtins, p.Base) {
		ps.add("base", loadHint, "unknown built-in profile %q (known: %s)", p.Base, strings.Join(builtins, ", "))
	}

	if c.Manager.Replicas < 1 || c.Manager.Replicas > MaxManagerReplicas {
		ps.add("components.manager.replicas", "", "must be between 1 and %d, got %d", MaxManagerReplicas, c.Manager.Replicas)
	}
	if !slices.Contains(logLevels, c.Manager.LogLevel) {
		ps.add("components.manager.logLevel", "", "must be one of %s; got %q", strings.Join(logLevels, ", "), c.Manager.LogLevel)
	}
	r := &c.Manager.Resources
	for _, q := range []struct{ key, value string }{
		{"cpuRequest", r.CPURequest}, {"cpuLimit", r.CPULimit},
		{"memoryRequest", r.MemoryRequest}, {"memoryLimit", r.MemoryLimit},
	} {
		if err := checkQuantity(q.value); err != "" {
			ps.add("components.manager.resources."+q.key, "quantities look like 500m, 0.5, 2 (CPU) or 64Mi, 1Gi (memory)", "%s", err)
		}
	}

	if c.Manager.Registry != "" && !imageHub.MatchString(c.Manager.Registry) {
		ps.add("components.manager.registry", "", "%q is not an image repository such as registry.example.com/kfup/manager (no scheme, no tag)", c.Manager.Registry)
	}
	for _, ns := range c.Training.NamespaceList() {
		if len(validation.IsDNS1123Label(ns)) > 0 {
			ps.add("components.training.namespaces", "a comma-separated list of namespace names, such as team-a,team-b",
				"%q is not a namespace name", ns)
		}
	}
	for _, ns := range c.Tuning.NamespaceList() {
		if len(validation.IsDNS1123Label(ns)) > 0 {
			ps.add("components.tuning.namespaces", "a comma-separated list of namespace names, such as team-a,team-b",
				"%q is not a namespace name", ns)
		}
	}
	for _, ns := range c.Serving.NamespaceList() {
		if len(validation.IsDNS1123Label(ns)) > 0 {
			ps.add("components.serving.namespaces", "a comma-separated list of namespace names, such as team-a,team-b",
				"%q is not a namespace name", ns)
		}
	}
	for _, rt := range c.Serving.BundleRuntimeList() {
		if len(validation.IsDNS1123Subdomain(rt)) > 0 {
			ps.add("components.serving.bundleRuntimes", "a comma-separated list of runtime names, such as kserve-sklearnserver,kserve-xgbserver",
				"%q is not a runtime name", rt)
		}
	}
	for _, ns := range c.Ingress.NamespaceList() {
		if len(validation.IsDNS1123Label(ns)) > 0 {
			ps.add("components.ingress.namespaces", "a comma-separated list of namespace names, such as team-a,team-b",
				"%q is not a namespace name", ns)
		}
	}
	for _, ns := range c.Pipelines.NamespaceList() {
		if len(validation.IsDNS1123Label(ns)) > 0 {
			ps.add("components.pipelines.namespaces", "a comma-separated list of namespace names, such as team-a,team-b",
				"%q is not a namespace name", ns)
		}
	}
	switch {
	case !c.Pipelines.Enabled, c.Pipelines.ArtifactStore == "pvc", c.Pipelines.ArtifactStore == "s3":
	default:
		ps.add("components.pipelines.artifactStore", "use pvc (a volume the manager serves) or s3 (a bucket)", "%q is not pvc or s3", c.Pipelines.ArtifactStore)
	}
	if q, err := resource.ParseQuantity(c.Pipelines.ArtifactVolumeSize); c.Pipelines.Enabled && (err != nil || q.Sign() <= 0) {
		ps.add("components.pipelines.artifactVolumeSize", "a size such as 10Gi", "%q is not a positive size", c.Pipelines.ArtifactVolumeSize)
	}
	switch c.Serving.DeploymentMode {
	case "", ServingModeRawDeployment:
	case ServingModeServerless:
		if c.Serving.Enabled && !c.Knative.Enabled {
			ps.add("components.serving.deploymentMode", "set components.knative.enabled=true (the standard profile has it), or RawDeployment",
				"Serverless needs Knative Serving, which is not enabled")
		}
	default:
		ps.add("components.serving.deploymentMode", "RawDeployment or Serverless (empty: Serverless when Knative is enabled)",
			"%q is not a deployment mode", c.Serving.DeploymentMode)
	}
	switch c.Knative.Ingress {
	case KnativeIngressKfup, KnativeIngressIstio:
	default:
		ps.add("components.knative.ingress", "use kfup (kfup's own ingress) or istio (net-istio on Istio's ingress gateway)",
			"%q is not kfup or istio", c.Knative.Ingress)
	}
	for _, r := range strings.Split(c.Knative.RegistriesSkippingTagResolving, ",") {
		if r == "" && c.Knative.RegistriesSkippingTagResolving == "" {
			break // none
		}
		host, port, hasPort := strings.Cut(r, ":")
		if len(validation.IsDNS1123Subdomain(host)) > 0 || (hasPort && len(validation.IsValidPortNum(atoi(port))) > 0) {
			ps.add("components.knative.registriesSkippingTagResolving", "a comma-separated list of registry names, such as kind.local,kfup.local or localhost:5000",
				"%q is not a registry name", r)
		}
	}
	switch c.Knative.Images {
	case "", KnativeImagesUpstream, KnativeImagesKfup: // empty: upstream
	default:
		ps.add("components.knative.images", "use upstream (the release's images) or kfup (built by make knative-images)",
			"%q is not upstream or kfup", c.Knative.Images)
	}
	switch c.Pipelines.Launcher {
	case "auto", "imageVolume", "initContainer":
	case "":
		if c.Pipelines.Enabled {
			ps.add("components.pipelines.launcher", "use auto, imageVolume or initContainer", "is empty")
		}
	default:
		ps.add("components.pipelines.launcher", "use auto, imageVolume or initContainer", "%q is not auto, imageVolume or initContainer", c.Pipelines.Launcher)
	}
	if sc := c.Pipelines.ArtifactStorageClass; sc != "" && len(validation.IsDNS1123Subdomain(sc)) > 0 {
		ps.add("components.pipelines.artifactStorageClass", "the name of a StorageClass (kubectl get storageclass)", "%q is not a storage class name", sc)
	}
	if g := c.Training.GangScheduler; g != "" {
		if len(validation.IsDNS1123Subdomain(g)) > 0 {
			ps.add("components.training.gangScheduler", "use volcano, or the name of a scheduler-plugins scheduler such as scheduler-plugins-scheduler",
				"%q is not a scheduler name (lowercase letters, digits, '-' and '.')", g)
		}
	}

	if c.Istio.Hub != "" && !imageHub.MatchString(c.Istio.Hub) {
		ps.add("components.istio.hub", "", "%q is not an image registry path such as docker.io/istio (no scheme, no tag)", c.Istio.Hub)
	}
	if c.Istio.Tag != "" && !imageTag.MatchString(c.Istio.Tag) {
		ps.add("components.istio.tag", "", "%q is not an image tag such as 1.24.2", c.Istio.Tag)
	}

	if c.Knative.Domain == "" {
		ps.add("components.knative.domain", "", "required (a DNS subdomain such as kfup.localhost)")
	} else if msgs := validation.IsDNS1123Subdomain(c.Knative.Domain); len(msgs) > 0 {
		ps.add("components.knative.domain", "", "%q is not a DNS subdomain: %s", c.Knative.Domain, msgs[0])
	}

	if c.NVIDIA.TimeSlicingReplicas < 0 {
		ps.add("components.nvidia.timeSlicingReplicas", "", "must be at least 0 (0 turns time slicing off), got %d", c.NVIDIA.TimeSlicingReplicas)
	} else if c.NVIDIA.TimeSlicingReplicas > MaxTimeSlicingReplicas {
		ps.add("components.nvidia.timeSlicingReplicas", "", "must be at most %d, got %d", MaxTimeSlicingReplicas, c.NVIDIA.TimeSlicingReplicas)
	}
	if migs := []string{MIGNone, MIGSingle, MIGMixed}; c.NVIDIA.MIGStrategy != "" && !slices.Contains(migs, c.NVIDIA.MIGStrategy) {
		ps.add("components.nvidia.migStrategy", "", "must be one of %s; got %q", strings.Join(migs, ", "), c.NVIDIA.MIGStrategy)
	}
	return ps
}

// Bounds of a request or limit. Comparing two quantities rescales the one with the larger
// exponent (1e999999999 means computing 10^999999999, which takes forever), so
// checkQuantity refuses long and huge quantities before conflictProblems compares any.
const (
	// maxQuantityLen is the longest quantity string accepted; real ones are a few bytes.
	maxQuantityLen = 32
	// maxQuantity is the largest request or limit accepted, 1E (10^18): more than any
	// node has, and below what Kubernetes' int64 arithmetic holds.
	maxQuantity = 1e18
)

// checkQuantity returns what is wrong with s as a request or limit, or "" (an empty s
// leaves it unset).
func checkQuantity(s string) string {
	if s == "" {
		return ""
	}
	if len(s) > maxQuantityLen {
		return fmt.Sprintf("%q... is not a Kubernetes quantity (longer than %d bytes)", s[:maxQuantityLen], maxQuantityLen)
	}
	q, err := resource.ParseQuantity(s)
	if err != nil {
		return fmt.Sprintf("%q is not a Kubernetes quantity", s)
	}
	if q.Sign() < 0 {
		return fmt.Sprintf("must not be negative, got %s", s)
	}
	// The exponent is checked on its own: a zero with a huge one ("e999999999", which
	// ParseQuantity reads as 0) is as slow to compare.
	if q.AsDec().Scale() < -18 || q.AsApproximateFloat64() > maxQuantity {
		return fmt.Sprintf("%s is out of range (at most 1E, 10^18)", s)
	}
	return ""
}

// conflictProblems checks settings against each other: the checks that wait until every
// --set has been applied.
func (p *Profile) conflictProblems() problems {
	var ps problems
	c := &p.Components

	for _, name := range p.Enabled() {
		for _, dep := range p.Requires(name) {
			if !p.IsEnabled(dep) {
				ps.add("components."+name+".enabled",
					fmt.Sprintf("set components.%s.enabled=true, or components.%s.enabled=false", dep, name),
					"needs components.%s.enabled", dep)
			}
		}
	}
	if c.Ingress.Enabled && c.Istio.Enabled && c.Istio.IngressGateway {
		ps.add("components.ingress.enabled", "set components.ingress.enabled=false, or components.istio.ingressGateway=false",
			"the Istio ingress gateway has the host's ingress ports (node ports 31080/31443): only one of them can serve them")
	}
	if c.Knative.Enabled && c.Knative.Ingress == KnativeIngressIstio && c.Istio.Enabled && !c.Istio.IngressGateway {
		ps.add("components.knative.enabled", "set components.istio.ingressGateway=true",
			"needs components.istio.ingressGateway=true (net-istio routes through the Istio ingress gateway)")
	}

	if c.Manager.Replicas > 1 && !c.Manager.LeaderElect {
		ps.add("components.manager.replicas", "set components.manager.leaderElect=true, or components.manager.replicas=1",
			"%d replicas need components.manager.leaderElect=true (without it every replica reconciles the same objects)", c.Manager.Replicas)
	}
	r := &c.Manager.Resources
	for _, pair := range []struct{ res, request, limit string }{
		{"cpu", r.CPURequest, r.CPULimit},
		{"memory", r.MemoryRequest, r.MemoryLimit},
	} {
		if pair.request == "" || pair.limit == "" || checkQuantity(pair.request) != "" || checkQuantity(pair.limit) != "" {
			continue
		}
		req, lim := resource.MustParse(pair.request), resource.MustParse(pair.limit)
		if req.Cmp(lim) > 0 {
			ps.add("components.manager.resources."+pair.res+"Request", "",
				"%s is more than components.manager.resources.%sLimit %s", pair.request, pair.res, pair.limit)
		}
	}

	if c.NVIDIA.TimeSlicingReplicas > 0 && !c.NVIDIA.DevicePlugin {
		ps.add("components.nvidia.timeSlicingReplicas", "set components.nvidia.devicePlugin=true, or components.nvidia.timeSlicingReplicas=0",
			"needs components.nvidia.devicePlugin=true (time slicing is a device plugin setting)")
	}
	return ps
}

// atoi is s as a number; 0 (not a port) when it is not one.
func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0
	}
	return n
}
