package controller_test

import (
	"context"
	"testing"

	"github.com/kfup/kfup/components"
	"github.com/kfup/kfup/components/serving"
	"github.com/kfup/kfup/internal/ui"
)

// TestSmoke runs the serving component's smoke test (what `kfup test` runs) against the
// CRDs as installed: the seed-like InferenceService is accepted, the one naming two
// frameworks refused.
func TestSmoke(t *testing.T) {
	ce := &components.Env{Client: env.Client, REST: env.Config, Out: ui.Discard()}
	if err := (serving.Component{}).Smoke(context.Background(), ce); err != nil {
		t.Fatalf("smoke: %v", err)
	}
}
