package controller_test

import (
	"context"
	"testing"

	"github.com/kfup/kfup/components"
	"github.com/kfup/kfup/components/tuning"
	"github.com/kfup/kfup/internal/ui"
)

// TestSmoke runs the tuning component's smoke test (what `kfup test` runs) against the
// CRDs as installed: the valid Experiment is accepted, the one with min > max refused.
func TestSmoke(t *testing.T) {
	ce := &components.Env{Client: env.Client, REST: env.Config, Out: ui.Discard()}
	if err := (tuning.Component{}).Smoke(context.Background(), ce); err != nil {
		t.Fatalf("smoke: %v", err)
	}
}
