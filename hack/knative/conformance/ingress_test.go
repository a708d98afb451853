//go:build conformance

// Package conformance runs Knative's own KIngress conformance suite
// (knative.dev/networking/test/conformance/ingress, at the version Knative Serving's pin
// brings) against the cluster its flags name. It lives in hack/knative, Knative's module,
// so that kfup's main module gains no Knative dependency; `make e2e-conformance` (through
// hack/knative-conformance) points it at kfup's ingress on a kind cluster.
package conformance

import (
	"testing"

	"knative.dev/networking/test/conformance/ingress"
)

// TestIngressConformance is Knative's RunConformance: the suite's own flags
// (-ingressClass, -ingressendpoint, -dockerrepo, -tag, -skip-tests, -enable-beta, ...)
// say which ingress it tests and which images its backends run.
func TestIngressConformance(t *testing.T) {
	ingress.RunConformance(t)
}
