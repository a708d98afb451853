//go:build tools

// Package istiod pins the istio.io/istio module — the same version kfup's go.mod takes the
// Istio charts from — so that `make istiod-image` can build istiod (pilot-discovery) from
// source without a registry: go build istio.io/istio/pilot/cmd/pilot-discovery here. It is a
// module of its own so that kfup's go.mod does not take on istiod's dependencies.
package istiod

import _ "istio.io/istio/pilot/cmd/pilot-discovery"
