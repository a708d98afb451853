// Package manifests holds, in one place, the pinned versions of everything kfup installs,
// and (as components arrive) the go:embed'ed YAML generated from them.
package manifests

import kinddefaults "sigs.k8s.io/kind/pkg/apis/config/defaults"

// KindVersion is the sigs.k8s.io/kind library kfup creates clusters with; go.mod pins the
// same version (a unit test checks they agree).
const KindVersion = "v0.33.0"

// DefaultNodeImage is the kind node image used when neither --node-image nor
// KFUP_NODE_IMAGE is set: the upstream kindest/node image that kind KindVersion defaults to.
const DefaultNodeImage = kinddefaults.Image

// NodeImageEnv names the environment variable that overrides the default node image (CI
// sets it to the offline image built by shared/tools/offline-kind).
const NodeImageEnv = "KFUP_NODE_IMAGE"

// Knative Serving and net-istio come from the release manifests that the Knative operator
// module carries (cmd/operator/kodata), copied by hack/vendor-knative after checking the
// module hash. The operator itself is not a dependency of kfup.
const (
	KnativeOperatorModule  = "knative.dev/operator"
	KnativeOperatorVersion = "v0.42.2"
	KnativeOperatorSum     = "h1:wgAWYHwoSFmV+wPHCt5dZahHTHLy2VCM4G82PEo9iSc="
	KnativeServingVersion  = "1.15.2"
	NetIstioMinor          = "1.15"
)

// KubernetesVersion is the Kubernetes version kfup targets (the offline node image's and
// envtest's; charts are rendered for it).
const (
	KubernetesVersion = "v1.37.2"
	KubernetesMinor   = "37"
)

// Istio's charts come from the istio.io/istio module (its manifests package go:embeds
// them; the module version is pinned in go.mod). The charts default to a testing
// registry, so kfup pins the image hub and tag of the matching release.
const (
	IstioHub = "docker.io/istio"
	IstioTag = "1.31.0"
)

// Pin is one pinned thing kfup installs or builds on.
type Pin struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Pins lists every pinned version, in the order `kfup version` prints them.
func Pins() []Pin {
	return []Pin{
		{Name: "kind (Go library)", Version: KindVersion},
		{Name: "kind node image (default)", Version: DefaultNodeImage},
		{Name: "Istio charts (istio.io/istio module)", Version: "images " + IstioHub + ":" + IstioTag},
		{Name: "Knative Serving (from " + KnativeOperatorModule + " " + KnativeOperatorVersion + ")", Version: KnativeServingVersion},
		{Name: "net-istio", Version: NetIstioMinor},
	}
}
