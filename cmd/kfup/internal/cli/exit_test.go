package cli

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/kfup/kfup/internal/errs"
)

func TestExitCode(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"nil", nil, ExitOK},
		{"plain error", errors.New("boom"), ExitError},
		{"unknown kind", errs.New(errs.KindUnknown, "", "boom"), ExitError},
		{"usage", errs.Usage("", "bad flag"), ExitUsage},
		{"preflight", errs.New(errs.KindPreflight, "", "docker down"), ExitPreflight},
		{"not found", errs.New(errs.KindNotFound, "", "no cluster"), ExitNotFound},
		{"conflict", errs.New(errs.KindConflict, "", "port busy"), ExitConflict},
		{"timeout", errs.New(errs.KindTimeout, "", "node not ready"), ExitTimeout},
		{"interrupted", errs.New(errs.KindInterrupted, "", "stopped"), ExitInterrupted},
		{"wrapped usage", fmt.Errorf("create: %w", errs.Usage("", "bad")), ExitUsage},
		{"doubly wrapped conflict", fmt.Errorf("a: %w", fmt.Errorf("b: %w", errs.New(errs.KindConflict, "", "x"))), ExitConflict},
		{"errs.Wrap of a plain error", errs.Wrap(errs.KindPreflight, "run 'kfup doctor'", errors.New("docker")), ExitPreflight},
		{"outer kind wins", errs.Wrap(errs.KindTimeout, "", fmt.Errorf("x: %w", errs.Usage("", "y"))), ExitTimeout},
		{"joined", errors.Join(errors.New("cleanup"), errs.New(errs.KindNotFound, "", "gone")), ExitNotFound},
		{"context canceled", context.Canceled, ExitInterrupted},
		{"wrapped context canceled", fmt.Errorf("wait for node: %w", context.Canceled), ExitInterrupted},
		{"deadline exceeded", context.DeadlineExceeded, ExitTimeout},
		{"wrapped deadline exceeded", fmt.Errorf("wait: %w", context.DeadlineExceeded), ExitTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ExitCode(tt.err); got != tt.want {
				t.Errorf("ExitCode(%v) = %d, want %d", tt.err, got, tt.want)
			}
		})
	}
}

// TestExitCodesDistinct guards the contract scripts rely on: one code per kind.
func TestExitCodesDistinct(t *testing.T) {
	seen := map[int]string{}
	for name, code := range map[string]int{
		"ok": ExitOK, "error": ExitError, "usage": ExitUsage, "preflight": ExitPreflight,
		"not-found": ExitNotFound, "conflict": ExitConflict, "timeout": ExitTimeout, "interrupted": ExitInterrupted,
	} {
		if other, dup := seen[code]; dup {
			t.Errorf("exit code %d used by %s and %s", code, name, other)
		}
		seen[code] = name
	}
}
