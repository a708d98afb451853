package bootstrap

import (
	"strings"
	"testing"

	"github.com/kfup/kfup/internal/errs"
)

func TestValidateName(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr string // substring of the error; empty means valid
	}{
		{name: "default", in: DefaultName},
		{name: "with dash and digits", in: "ml-dev-2"},
		{name: "single character", in: "a"},
		{name: "starts with a digit", in: "1cluster"},
		{name: "longest allowed (49)", in: strings.Repeat("a", 49)},
		{name: "empty", in: "", wantErr: "empty"},
		{name: "uppercase", in: "MyCluster", wantErr: "invalid cluster name"},
		{name: "underscore", in: "ml_dev", wantErr: "invalid cluster name"},
		{name: "dot", in: "ml.dev", wantErr: "invalid cluster name"},
		{name: "leading dash", in: "-dev", wantErr: "invalid cluster name"},
		{name: "trailing dash", in: "dev-", wantErr: "invalid cluster name"},
		{name: "space", in: "ml dev", wantErr: "invalid cluster name"},
		{name: "too long (50)", in: strings.Repeat("a", 50), wantErr: "too long"},
		{name: "far too long (64)", in: strings.Repeat("a", 64), wantErr: "invalid cluster name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateName(tt.in)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("ValidateName(%q) = %v, want nil", tt.in, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("ValidateName(%q) = nil, want error containing %q", tt.in, tt.wantErr)
			}
			if k := errs.KindOf(err); k != errs.KindUsage {
				t.Errorf("kind = %v, want usage", k)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not contain %q", err, tt.wantErr)
			}
			if errs.HintOf(err) == "" {
				t.Errorf("error %q has no hint", err)
			}
		})
	}
}

func TestMaxNameLenKeepsNodeNameADNSLabel(t *testing.T) {
	if maxNameLen != 49 {
		t.Fatalf("maxNameLen = %d, want 49 (63 - len(\"-control-plane\"))", maxNameLen)
	}
}

func TestContextName(t *testing.T) {
	if got := ContextName("ml-dev"); got != "kfup-ml-dev" {
		t.Fatalf("ContextName = %q, want kfup-ml-dev", got)
	}
}
