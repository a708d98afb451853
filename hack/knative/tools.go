//go:build tools

// Package knative pins Knative Serving's module (the release whose manifests kfup
// vendors) so that `make knative-images` builds its binaries — controller, webhook,
// activator, autoscaler, autoscaler-hpa and queue-proxy — at exactly that version. It is
// a module of its own: Knative 1.15 needs Kubernetes libraries 0.29, kfup's main module
// 0.37. The knative.dev/networking version that Serving's pin brings holds the KIngress
// conformance suite and its test images, which `make knative-conformance-images` and
// `make e2e-conformance` build from here.
package knative

import (
	_ "knative.dev/serving/cmd/activator"
	_ "knative.dev/serving/cmd/autoscaler"
	_ "knative.dev/serving/cmd/autoscaler-hpa"
	_ "knative.dev/serving/cmd/controller"
	_ "knative.dev/serving/cmd/queue"
	_ "knative.dev/serving/cmd/webhook"

	// The test images of Knative's KIngress conformance suite (conformance/), built by
	// `make knative-conformance-images`.
	_ "knative.dev/networking/test/test_images/grpc-ping"
	_ "knative.dev/networking/test/test_images/httpproxy"
	_ "knative.dev/networking/test/test_images/retry"
	_ "knative.dev/networking/test/test_images/runtime"
	_ "knative.dev/networking/test/test_images/timeout"
	_ "knative.dev/networking/test/test_images/wsserver"
)
