package errs

import (
	"context"
	"fmt"
	"testing"
)

func TestKindAndHintSurviveWrapping(t *testing.T) {
	base := New(KindPreflight, "start Docker", "docker not reachable")
	wrapped := fmt.Errorf("create cluster: %w", base)
	if got := KindOf(wrapped); got != KindPreflight {
		t.Fatalf("KindOf = %v, want preflight", got)
	}
	if got := HintOf(wrapped); got != "start Docker" {
		t.Fatalf("HintOf = %q", got)
	}
	outer := Wrap(KindTimeout, "", wrapped)
	if got := HintOf(outer); got != "start Docker" {
		t.Fatalf("HintOf through hintless wrapper = %q", got)
	}
	if got := KindOf(outer); got != KindTimeout {
		t.Fatalf("outer kind = %v", got)
	}
}

func TestContextErrors(t *testing.T) {
	if got := KindOf(fmt.Errorf("wait: %w", context.Canceled)); got != KindInterrupted {
		t.Fatalf("canceled -> %v", got)
	}
	if got := KindOf(fmt.Errorf("wait: %w", context.DeadlineExceeded)); got != KindTimeout {
		t.Fatalf("deadline -> %v", got)
	}
	if KindOf(nil) != KindUnknown || Wrap(KindUsage, "x", nil) != nil {
		t.Fatal("nil handling")
	}
}
